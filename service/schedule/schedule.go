package schedule

import (
	"time"

	"github.com/keepsake/keepsake/service/config"
)

// Reason says why a backup runs; the service shows it in job records and
// logs.
type Reason string

const (
	NotDue   Reason = ""         // no backup is due
	Interval Reason = "interval" // the interval since the last success has passed
	Change   Reason = "change"   // files changed and have been quiet for the profile's quiet time
	Plug     Reason = "plug"     // the drive was plugged in while a backup was due
	Manual   Reason = "manual"   // someone asked for it
	Missed   Reason = "missed"   // due by interval for longer than an interval: the machine was off or asleep, or the drive away
)

// never is the due time of a profile that has not succeeded yet: long
// past, so it is due at once, yet distinct from the zero time, which
// NextDue uses for "never by interval".
var never = time.Unix(0, 0).UTC()

// NextDue is when p is next due by its interval: an interval after
// lastSuccess. A profile that never succeeded (zero lastSuccess) is due now,
// reported as the Unix epoch; one with the interval off (0) is never due by
// interval, reported as the zero time.
func NextDue(p config.Profile, lastSuccess time.Time) time.Time {
	switch {
	case p.Interval <= 0:
		return time.Time{}
	case lastSuccess.IsZero():
		return never
	}
	return lastSuccess.Add(p.Interval)
}

// clockSkew is how far in the future a last success may lie before Due
// trusts now over it. Beyond it the clock was wrong when the backup ran or
// is wrong now (a reset RTC, a bad NTP step), and waiting for a time that
// may be years away would stop backups silently.
const clockSkew = 5 * time.Minute

// Due reports whether p should back up by interval at now: its last success
// is older than its interval, it never succeeded, or the last success lies
// in the future (the clock moved back). Never true with the interval off.
func Due(p config.Profile, lastSuccess, now time.Time) bool {
	return Why(p, lastSuccess, now) != NotDue
}

// Why is Due with the reason: Interval when the interval has passed,
// Missed when it passed more than an interval ago (a slot was skipped),
// NotDue otherwise. A profile that never succeeded is due by Interval.
func Why(p config.Profile, lastSuccess, now time.Time) Reason {
	next := NextDue(p, lastSuccess)
	switch {
	case next.IsZero():
		return NotDue
	case next.Equal(never), lastSuccess.After(now.Add(clockSkew)):
		return Interval
	case now.Before(next):
		return NotDue
	case now.Sub(next) >= p.Interval:
		return Missed
	}
	return Interval
}

// Backoff after failures: FirstRetry, doubling up to MaxRetry.
const (
	FirstRetry = 5 * time.Minute
	MaxRetry   = time.Hour
)

// Retry is the earliest time to try again after failures consecutive
// failures, the last at lastAttempt: 5m after the first, then 10m, 20m,
// 40m and 1h from then on. With no failures there is no wait: it returns
// lastAttempt.
func Retry(lastAttempt time.Time, failures int) time.Time {
	if failures <= 0 {
		return lastAttempt
	}
	wait := FirstRetry
	for i := 1; i < failures && wait < MaxRetry; i++ {
		wait *= 2
	}
	return lastAttempt.Add(min(wait, MaxRetry))
}

// NextRun is when the service should next start a timed backup of p, seen
// at now: when it is due by interval, but not before Retry allows after
// failures. A time not after now means at once; zero means never (interval
// off). Times recorded in the future (the clock moved back) count as now,
// so a wrong clock delays nothing. Change and plug backups are the caller's
// events; they should wait for Retry too.
func NextRun(p config.Profile, lastSuccess, lastAttempt time.Time, failures int, now time.Time) time.Time {
	next := NextDue(p, lastSuccess)
	if next.IsZero() {
		return next
	}
	if lastSuccess.After(now.Add(clockSkew)) {
		next = now
	}
	if failures <= 0 {
		return next
	}
	if lastAttempt.After(now.Add(clockSkew)) {
		lastAttempt = now
	}
	if r := Retry(lastAttempt, failures); r.After(next) {
		return r
	}
	return next
}

// Overdue reports whether p's last success is older than its overdue-days
// (never with 0, or before a first success: that is "never", not late).
func Overdue(p config.Profile, lastSuccess, now time.Time) bool {
	return p.OverdueDays > 0 && !lastSuccess.IsZero() && now.Sub(lastSuccess) > time.Duration(p.OverdueDays)*24*time.Hour
}
