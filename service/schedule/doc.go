// Package schedule decides when a profile's next backup is due. It is pure:
// every function takes the times it needs, so the service owns the clock
// and the tests pin it.
//
// Timed backups follow the last success: a profile with a one-hour interval
// is due one hour after its last successful backup, whenever that was, so a
// machine that was off or asleep catches up once rather than running every
// missed slot. After failures, Retry spaces attempts out (5m, 10m, 20m, 40m,
// then hourly) so a missing or full drive does not cause a retry storm.
package schedule
