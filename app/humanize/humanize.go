package humanize

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/dbusapi"
	"github.com/keepsake/keepsake/shared/grammar"
	"github.com/keepsake/keepsake/shared/kerr"
)

// sentences say what went wrong and what to do, for every named error.
// The service's own message follows as the detail: it names the file,
// drive or line concerned.
var sentences = map[kerr.Name]string{
	kerr.Failed:                "Something went wrong.",
	kerr.Busy:                  "Another backup or restore is using the drive. Try again when it has finished.",
	kerr.NotARepository:        "This drive does not hold Keepsake backups yet. Set it up as a backup drive first.",
	kerr.UnsupportedFilesystem: "This drive cannot hold backups. Reformat it as ext4, XFS or Btrfs to use it.",
	kerr.NoSpace:               "The backup drive is full. Free some space, or let Keepsake remove old backups by lowering how many it keeps.",
	kerr.SnapshotNotFound:      "That backup no longer exists. It may have been removed to free space.",
	kerr.PathNotFound:          "A folder to back up could not be found. Check that it exists and its disk is connected.",
	kerr.UnsafePath:            "The place to restore to leads somewhere unsafe (a link or a folder outside it). Choose another place.",
	kerr.InvalidArgs:           "Keepsake did not understand the request.",
	kerr.CatalogCorrupt:        "The backup drive's index is damaged. Run a verification to repair it.",
	kerr.Cancelled:             "The backup was cancelled.",
	kerr.SourceChanged:         "Some files changed while they were being copied. They will be copied next time.",
	kerr.DeviceGone:            "The backup drive was disconnected during the backup. Plug it in again to finish.",
	kerr.Damaged:               "Some backed-up files are damaged. Run a repair from the drive's settings.",
	kerr.DriveNotFound:         "The backup drive is not connected. Plug it in and the backup starts by itself.",
	kerr.MountFailed:           "The backup drive could not be opened. Check the drive and try again.",
	kerr.InvalidConfig:         "Keepsake's settings file has a mistake. An administrator must correct it.",
	kerr.NotAuthorized:         "You are not allowed to do this. An administrator can.",
	kerr.NotFound:              "It is no longer there: it may have been removed meanwhile.",
	kerr.ServiceNotRunning:     serviceMissing,
	kerr.HostUnreachable:       "The other computer cannot be reached. Check that it is on and connected to the network.",
	kerr.HostKeyUnknown:        "Keepsake does not know this computer yet. Check its fingerprint and accept it first.",
	kerr.HostKeyChanged:        "The other computer’s identity has changed. It may be reinstalled, or another machine may be posing as it: nothing was copied. Accept the new fingerprint only if you know why it changed.",
	kerr.RemoteRefused:         "The other computer refused Keepsake. Add Keepsake’s key to its authorized_keys as shown when it was set up.",
	kerr.TransferFailed:        "Copying from the other computer failed.",
	kerr.SystemDisk:            "This disk holds the computer's system. It is never erased: choose a removable drive.",
	kerr.DeviceInUse:           "The drive is in use. Eject or unmount it everywhere first; nothing was erased.",
	kerr.NotWholeDisk:          "This is only a part (partition) of a drive. Keepsake erases whole drives: choose the drive itself.",
	kerr.NotRemovable:          "This is an internal disk. Keepsake only erases removable drives.",
	kerr.ConfirmationStale:     "The drive changed since it was shown (or another drive was plugged in). Nothing was erased: look at it again.",
	kerr.Locked:                "The backup drive is encrypted and locked. Unlock it with its passphrase or recovery key first.",
	kerr.WrongPassphrase:       "That passphrase does not unlock this backup drive.",
	kerr.WrongRecoveryKey:      "That recovery key belongs to another backup drive.",
	kerr.MistypedRecoveryKey:   "That is not a recovery key: check it for a typo (groups of eight letters and digits).",
}

// serviceMissing is ServiceNotRunning: nothing answers for the service.
// It says all there is to say, so no detail follows it.
const serviceMissing = "The backup service is not running. Start it with “systemctl start keepsake”."

// ErrNoService is the error of a call made while the app has no
// connection to the service.
var ErrNoService = kerr.New(kerr.ServiceNotRunning, "no connection to the backup service")

// Error turns any error from the service into a sentence for a person:
// never a raw D-Bus error name. The service's message follows when it
// adds something (a path, a drive, a line of the settings file).
func Error(err error) string {
	if err == nil {
		return ""
	}
	// The client's errors are named already; a raw D-Bus error is named
	// here the same way.
	err = dbusapi.FromDBus(err)
	name := kerr.NameOf(err)
	if name == kerr.ServiceNotRunning {
		return serviceMissing
	}
	detail := err.Error()
	var ke *kerr.Error
	if errors.As(err, &ke) {
		detail = ke.Message
	}
	return ErrorText(string(name), detail)
}

// ErrorText is Error for a name and message already apart (a Job's
// ErrorName and Message, a Profile's LastResult and LastMessage).
func ErrorText(name, message string) string {
	if name == "" {
		return ""
	}
	n := kerr.Name(strings.TrimPrefix(name, kerr.DBusPrefix))
	if name == dbusapi.InvalidArgsError {
		n = kerr.InvalidArgs
	}
	s, ok := sentences[n]
	if !ok {
		s = sentences[kerr.Failed]
	}
	if n == kerr.ServiceNotRunning {
		return s
	}
	message = strings.TrimSpace(message)
	if message == "" || strings.Contains(message, "org.freedesktop.DBus.Error") || strings.Contains(message, kerr.DBusPrefix) {
		return s
	}
	return s + " (" + upperFirst(message) + ")"
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Size is a byte count the way GNOME shows it (decimal units: "1.2 GB").
func Size(b int64) string {
	if b < 0 {
		return "unknown"
	}
	if b < 1000 {
		if b == 1 {
			return "1 byte"
		}
		return Count(b) + " bytes"
	}
	units := []string{"kB", "MB", "GB", "TB", "PB"}
	v := float64(b)
	for _, u := range units {
		v /= 1000
		if v < 999.95 || u == "PB" {
			if v < 10 {
				return fmt.Sprintf("%.1f %s", v, u)
			}
			return fmt.Sprintf("%.0f %s", math.Round(v), u)
		}
	}
	return ""
}

// When says when something happened relative to now: "just now",
// "5 minutes ago", "yesterday at 14:05", "12 March at 09:00"; a zero time
// is "never". t is shown in now's time zone (the service's times are UTC).
func When(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	t = t.In(now.Location())
	d := now.Sub(t)
	switch {
	case d < 0:
		return Until(t, now)
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case sameDay(t, now):
		return "today at " + t.Format("15:04")
	case sameDay(t, now.AddDate(0, 0, -1)):
		return "yesterday at " + t.Format("15:04")
	case t.Year() == now.Year():
		return t.Format("2 January at 15:04")
	}
	return t.Format("2 January 2006")
}

// Until says when something will happen: "now", "in 5 minutes",
// "today at 15:00", "tomorrow at 09:00".
func Until(t, now time.Time) string {
	if t.IsZero() {
		return "not scheduled"
	}
	t = t.In(now.Location())
	d := t.Sub(now)
	switch {
	case d <= 30*time.Second:
		return "now"
	case d < 45*time.Minute:
		return "in " + plural(int(math.Ceil(d.Minutes())), "minute")
	case sameDay(t, now):
		return "today at " + t.Format("15:04")
	case sameDay(t, now.AddDate(0, 0, 1)):
		return "tomorrow at " + t.Format("15:04")
	}
	return t.Format("2 January at 15:04")
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.In(a.Location()).Date()
	return ay == by && am == bm && ad == bd
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return Count(n) + " " + unit + "s"
}

// Duration is a remaining time: "about 3 minutes left".
func Duration(d time.Duration) string {
	switch {
	case d < 0:
		return ""
	case d < time.Minute:
		return "less than a minute"
	case d < time.Hour:
		return "about " + plural(int(math.Round(d.Minutes())), "minute")
	}
	h := int(d / time.Hour)
	m := int((d % time.Hour).Round(time.Minute) / time.Minute)
	if m == 0 {
		return "about " + plural(h, "hour")
	}
	return fmt.Sprintf("about %s %s", plural(h, "hour"), plural(m, "minute"))
}

// Interval is a schedule: "every hour", "every 30 minutes", "every day";
// zero is "only when you ask".
func Interval(d time.Duration) string {
	switch {
	case d <= 0:
		return "only when you ask"
	case d%(24*time.Hour) == 0:
		if d == 24*time.Hour {
			return "every day"
		}
		return "every " + plural(int(d/(24*time.Hour)), "day")
	case d%time.Hour == 0:
		if d == time.Hour {
			return "every hour"
		}
		return "every " + plural(int(d/time.Hour), "hour")
	}
	return "every " + plural(int(d.Round(time.Minute)/time.Minute), "minute")
}

// Operation names a job's work as a heading.
func Operation(op string) string {
	switch op {
	case "backup":
		return "Backing up"
	case "restore":
		return "Restoring"
	case "prune":
		return "Removing old backups"
	case "verify":
		return "Checking backups"
	case "flatpak-restore":
		return "Reinstalling apps"
	case "app-data-restore":
		return "Restoring app data"
	}
	return "Working"
}

// Progress is the line under a job's progress bar: files, bytes, rate
// and time left, whatever the job knows.
func Progress(j client.Job, now time.Time) string {
	var parts []string
	// A total is counted as a backup starts, or until then estimated from
	// the previous snapshot; files can also grow past a count. Once the
	// work outgrows a total, only what is done is worth saying.
	if j.FilesTotal > 0 && j.FilesDone <= j.FilesTotal {
		parts = append(parts, fmt.Sprintf("%s of %s files", Count(j.FilesDone), Count(j.FilesTotal)))
	} else if j.FilesDone > 0 {
		parts = append(parts, plural(int(j.FilesDone), "file"))
	}
	if j.BytesTotal > 0 && j.BytesDone <= j.BytesTotal {
		parts = append(parts, fmt.Sprintf("%s of %s", Size(int64(j.BytesDone)), Size(int64(j.BytesTotal))))
	} else if j.BytesDone > 0 {
		parts = append(parts, Size(int64(j.BytesDone)))
	}
	if j.Rate > 0 {
		parts = append(parts, Size(int64(j.Rate))+"/s")
	}
	if j.ExpectedEnd > 0 {
		if left := client.Time(j.ExpectedEnd).Sub(now); left > 0 {
			parts = append(parts, Duration(left)+" left")
		}
	}
	if len(parts) == 0 {
		if j.Phase != "" {
			return upperFirst(j.Phase) + "…"
		}
		return "Starting…"
	}
	return strings.Join(parts, " · ")
}

// State is a profile's state in words, for the overview's headline. A
// backup that completed without some entries it could not read says how
// many: "Backed up, with 3 problems".
func State(p client.Profile) string {
	switch dbusapi.ProfileState(p.State) {
	case dbusapi.StateIdle:
		if n := ProblemCount(p); n > 0 && p.LastSuccess != 0 {
			return "Backed up, with " + grammar.Count(int64(n), "problem", "problems")
		}
		return "Backups are up to date"
	case dbusapi.StateRunning:
		return "Backing up…"
	case dbusapi.StateWaitingForDrive:
		return "Waiting for the backup drive"
	case dbusapi.StateFailed:
		return "The last backup failed"
	case dbusapi.StateNoDrive:
		return "No backup drive chosen"
	case dbusapi.StateDegraded:
		return "Backups run, but changes are not watched"
	}
	return "Not backed up yet"
}

// ProblemCount is how many entries the last successful backup could not
// take: the service lists at most 100, and counts them all.
func ProblemCount(p client.Profile) int {
	return max(int(p.LastProblemCount), len(p.LastProblems))
}

// Folder shows a folder the way the Files app does: the home folder as ~.
// It is for display only (see Display).
func Folder(dir, home string) string {
	home = strings.TrimSuffix(home, "/")
	switch {
	case home == "" || home == "/":
		return Display(dir)
	case dir == home:
		return "~"
	case strings.HasPrefix(dir, home+"/"):
		return "~" + Display(dir[len(home):])
	}
	return Display(dir)
}

// Folders shows folders in a sentence, each as Folder does: "~/nas,
// ~/Mounts/photos"; past most of them, "and 2 more".
func Folders(dirs []string, home string, most int) string {
	shown := make([]string, 0, len(dirs))
	for i, d := range dirs {
		if i == most && len(dirs) > most+1 {
			return strings.Join(shown, ", ") + fmt.Sprintf(" and %s more", Count(len(dirs)-most))
		}
		shown = append(shown, Folder(d, home))
	}
	return strings.Join(shown, ", ")
}

// Display is a file name or path as a label can show it. A Linux name is
// bytes and the app keeps it so, for every call back to the service; GTK
// shows UTF-8 only, so bytes that are not UTF-8 show as U+FFFD (as GLib's
// g_filename_display_name does). Never pass the result back to the
// service.
func Display(name string) string { return strings.ToValidUTF8(name, "\uFFFD") }

// Escape makes text safe to show where libadwaita reads Pango markup (the
// titles and descriptions of rows, groups, status pages and toasts): file
// names and messages can hold & and <, and bytes that are not UTF-8
// (see Display).
func Escape(s string) string { return markupEscaper.Replace(Display(s)) }

var markupEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "'", "&apos;", `"`, "&quot;")

// DateTitle is a moment as a row's title: "Today at 10:00", "Yesterday
// at 09:15", "2 March at 14:00", "2 March 2025 at 14:00". clock is the
// time's layout: "15:04", or "15:04:05" to tell two in one minute apart.
func DateTitle(t, now time.Time, clock string) string {
	if t.IsZero() {
		return "Unknown Time"
	}
	t = t.In(now.Location())
	switch {
	case sameDay(t, now):
		return "Today at " + t.Format(clock)
	case sameDay(t, now.AddDate(0, 0, -1)):
		return "Yesterday at " + t.Format(clock)
	case t.Year() == now.Year():
		return t.Format("2 January at " + clock)
	}
	return t.Format("2 January 2006 at " + clock)
}

// DateInSentence is DateTitle inside a sentence ("from today at 10:00").
func DateInSentence(t, now time.Time, clock string) string {
	s := DateTitle(t, now, clock)
	if strings.HasPrefix(s, "Today") || strings.HasPrefix(s, "Yesterday") || strings.HasPrefix(s, "Unknown") {
		return strings.ToLower(s[:1]) + s[1:]
	}
	return s
}
