// Package status publishes the service's state for scripts, as plain files
// the service rewrites whenever something changes, and runs the
// administrator's on-failure command.
//
// Write puts two files in the directory the service passes, normally
// /run/keepsake: status, plain text for grep, awk and shell, and
// status.json, the same for jq and programs. Both are replaced atomically
// and are world-readable (0644).
//
// The text file starts with a comment line holding the time it was
// written, then one line per profile, in the service's order, of
// space-separated key=value fields in a fixed order. Values never contain
// blanks; "-" means never or unknown.
//
//	# keepsake status 2026-11-23T10:00:00Z
//	profile=home state=idle result=ok last-success=2026-11-23T09:00:00Z last-attempt=2026-11-23T09:00:00Z next-due=2026-11-23T10:00:00Z drive=2f7c1b3e-9a4d-4f0e-8c1a-0123456789ab drive-present=yes target-free=123456789 host=desk remote=no age-hours=1 overdue=no received=-
//	profile=work state=failed result=NoSpace last-success=- last-attempt=2026-11-23T09:30:00Z next-due=2026-11-23T09:35:00Z drive=1234-ABCD drive-present=no target-free=- host=desk remote=no age-hours=- overdue=no received=-
//	message.work=the drive "Backup" is full: 12 GiB needed, 3 GiB free
//	profile=laptop state=idle result=HostUnreachable last-success=2026-11-20T08:00:00Z last-attempt=2026-11-23T09:55:00Z next-due=2026-11-23T10:00:00Z drive=2f7c1b3e-9a4d-4f0e-8c1a-0123456789ab drive-present=yes target-free=123456789 host=laptop remote=yes age-hours=74 overdue=yes received=52428800
//
// The fields: state (idle, running, waiting-for-drive, failed,
// watching-degraded, ...), result (ok or the error name of the last
// attempt, "never" before the first), the last success, last attempt and next
// due time (RFC 3339, UTC), the drive's filesystem UUID, whether it is
// plugged in (yes/no), the free bytes on it, the computer backed up (its
// folder on the drive), whether that is another computer pulled over ssh
// (yes/no), the whole hours since the last success, whether that is
// longer than the profile's overdue-days (yes/no), the bytes the last
// pull of another computer received, how many entries the last successful
// backup could not take (problems; result is then "partial": the backup
// completed without them) and how many other filesystems mounted inside
// the sources it left out (skipped-mounts). The file is plain ASCII. A
// profile's last message, if any, follows on its own line
// "message.NAME=TEXT", the text running to the end of the line (control
// characters become spaces); then up to 10 lines "problem.NAME=PATH: what
// happened" and a line "skipped-mount.NAME=PATH" per filesystem left out.
// Examples:
//
//	awk '/^profile=/ && !/ result=(ok|-) /' /run/keepsake/status    # profiles whose last backup failed
//	sed -n 's/^message\.work=//p' /run/keepsake/status             # the work profile's message
//	jq -r '.profiles[] | select(.result != null and .result != "ok") | .name' /run/keepsake/status.json
//	grep -E ' overdue=yes ' /run/keepsake/status                        # computers not backed up for too long
//	grep -E ' result=partial ' /run/keepsake/status                     # backups that left files out
//
// status.json is {"updated": TIME, "profiles": [{"name", "state", "result",
// "message", "last_success", "last_attempt", "next_due", "drive",
// "drive_present", "target_free", "host", "remote", "age_hours",
// "overdue", "received", "problems", "problem_list", "skipped_mounts"}]},
// with times in RFC 3339 and null for never or
// unknown (times, result, target_free, age_hours, received).
package status
