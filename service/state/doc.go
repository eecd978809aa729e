// Package state keeps the service's own memory between runs, in one JSON
// file (state.json) in the directory the service passes, normally
// /var/lib/keepsake: per profile the last success, attempt and result; per
// drive when it was last seen; and the last MaxJobs jobs.
//
// The file is small and rewritten whole on every change, atomically
// (temporary file, fsync, rename, fsync of the directory), so a crash
// leaves the old state or the new one. A damaged file must not stop the
// service from starting: Open moves it aside as state.json.corrupt-<time>,
// starts fresh and returns a warning to log. The catalog on each drive
// remains the truth about backups; this state only drives scheduling,
// warnings and history.
package state
