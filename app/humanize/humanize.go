package humanize

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/dbusapi"
	"github.com/keepsake/keepsake/shared/i18n"
	"github.com/keepsake/keepsake/shared/kerr"
)

// sentences say what went wrong and what to do, for every named error.
// The service's own message follows as the detail: it names the file,
// drive or line concerned.
var sentences = map[kerr.Name]string{
	kerr.Failed:                i18n.Noop("Something went wrong."),
	kerr.Busy:                  i18n.Noop("Another backup or restore is using the drive. Try again when it has finished."),
	kerr.NotARepository:        i18n.Noop("This drive does not hold Keepsake backups yet. Set it up as a backup drive first."),
	kerr.UnsupportedFilesystem: i18n.Noop("This drive cannot hold backups. Reformat it as ext4, XFS or Btrfs to use it."),
	kerr.NoSpace:               i18n.Noop("The backup drive is full. Free some space, or let Keepsake remove old backups by lowering how many it keeps."),
	kerr.SnapshotNotFound:      i18n.Noop("That backup no longer exists. It may have been removed to free space."),
	kerr.PathNotFound:          i18n.Noop("A folder to back up could not be found. Check that it exists and its disk is connected."),
	kerr.UnsafePath:            i18n.Noop("The place to restore to leads somewhere unsafe (a link or a folder outside it). Choose another place."),
	kerr.InvalidArgs:           i18n.Noop("Keepsake did not understand the request."),
	kerr.CatalogCorrupt:        i18n.Noop("The backup drive's index is damaged. Run a verification to repair it."),
	kerr.Cancelled:             i18n.Noop("The backup was cancelled."),
	kerr.SourceChanged:         i18n.Noop("Some files changed while they were being copied. They will be copied next time."),
	kerr.DeviceGone:            i18n.Noop("The backup drive was disconnected during the backup. Plug it in again to finish."),
	kerr.Damaged:               i18n.Noop("Some backed-up files are damaged. Run a repair from the drive's settings."),
	kerr.DriveNotFound:         i18n.Noop("The backup drive is not connected. Plug it in and the backup starts by itself."),
	kerr.MountFailed:           i18n.Noop("The backup drive could not be opened. Check the drive and try again."),
	kerr.InvalidConfig:         i18n.Noop("Keepsake's settings file has a mistake. An administrator must correct it."),
	kerr.NotAuthorized:         i18n.Noop("You are not allowed to do this. An administrator can."),
	kerr.NotFound:              i18n.Noop("It is no longer there: it may have been removed meanwhile."),
	kerr.ServiceNotRunning:     serviceMissing,
	kerr.HostUnreachable:       i18n.Noop("The other computer cannot be reached. Check that it is on and connected to the network."),
	kerr.HostKeyUnknown:        i18n.Noop("Keepsake does not know this computer yet. Check its fingerprint and accept it first."),
	kerr.HostKeyChanged:        i18n.Noop("The other computer’s identity has changed. It may be reinstalled, or another machine may be posing as it: nothing was copied. Accept the new fingerprint only if you know why it changed."),
	kerr.RemoteRefused:         i18n.Noop("The other computer refused Keepsake. Add Keepsake’s key to its authorized_keys as shown when it was set up."),
	kerr.TransferFailed:        i18n.Noop("Copying from the other computer failed."),
	kerr.SystemDisk:            i18n.Noop("This disk holds the computer's system. It is never erased: choose a removable drive."),
	kerr.DeviceInUse:           i18n.Noop("The drive is in use. Eject or unmount it everywhere first; nothing was erased."),
	kerr.NotWholeDisk:          i18n.Noop("This is only a part (partition) of a drive. Keepsake erases whole drives: choose the drive itself."),
	kerr.NotRemovable:          i18n.Noop("This is an internal disk. Keepsake only erases removable drives."),
	kerr.ConfirmationStale:     i18n.Noop("The drive changed since it was shown (or another drive was plugged in). Nothing was erased: look at it again."),
	kerr.Locked:                i18n.Noop("The backup drive is encrypted and locked. Unlock it with its passphrase or recovery key first."),
	kerr.WrongPassphrase:       i18n.Noop("That passphrase does not unlock this backup drive."),
	kerr.WrongRecoveryKey:      i18n.Noop("That recovery key belongs to another backup drive."),
	kerr.MistypedRecoveryKey:   i18n.Noop("That is not a recovery key: check it for a typo (groups of eight letters and digits)."),
}

// serviceMissing is ServiceNotRunning: nothing answers for the service.
// It says all there is to say, so no detail follows it.
var serviceMissing = i18n.Noop("The backup service is not running. Start it with “systemctl start keepsake”.")

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
		return i18n.T(serviceMissing)
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
	s = i18n.T(s)
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

// Size is a byte count the way GNOME shows it, through GLib's
// g_format_size: decimal units with one decimal ("1.2 GB", "52.0 GB"),
// the decimal mark of the user's locale and the units as GLib
// translates them.
func Size(b int64) string {
	if b < 0 {
		// TRANSLATORS: a size that is not known.
		return i18n.P("size", "unknown")
	}
	return glibSize(uint64(b))
}

// Duration is a remaining time: "about 3 minutes".
func Duration(d time.Duration) string {
	switch {
	case d < 0:
		return ""
	case d < time.Minute:
		return i18n.T("less than a minute")
	case d < time.Hour:
		n := int(math.Round(d.Minutes()))
		return fmt.Sprintf(i18n.N("about %d minute", "about %d minutes", n), n)
	}
	h := int(d / time.Hour)
	m := int((d % time.Hour).Round(time.Minute) / time.Minute)
	if m == 0 {
		return fmt.Sprintf(i18n.N("about %s hour", "about %s hours", h), Count(h))
	}
	// TRANSLATORS: a remaining time in hours and minutes ("about 1 hour 30 minutes"): the first %s is the hours (“%s hour”), the second the minutes (“%d minute”).
	return fmt.Sprintf(i18n.T("about %s %s"),
		fmt.Sprintf(i18n.N("%s hour", "%s hours", h), Count(h)),
		fmt.Sprintf(i18n.N("%d minute", "%d minutes", m), m))
}

// Interval is a schedule: "every hour", "every 30 minutes", "every day";
// zero is "only when you ask".
func Interval(d time.Duration) string {
	switch {
	case d <= 0:
		// TRANSLATORS: how often backups run, when they run only when asked ("Backs up only when you ask").
		return i18n.T("only when you ask")
	case d%(24*time.Hour) == 0:
		if d == 24*time.Hour {
			return i18n.T("every day")
		}
		n := int(d / (24 * time.Hour))
		return fmt.Sprintf(i18n.N("every %s day", "every %s days", n), Count(n))
	case d%time.Hour == 0:
		if d == time.Hour {
			return i18n.T("every hour")
		}
		n := int(d / time.Hour)
		return fmt.Sprintf(i18n.N("every %s hour", "every %s hours", n), Count(n))
	}
	n := int(d.Round(time.Minute) / time.Minute)
	return fmt.Sprintf(i18n.N("every %s minute", "every %s minutes", n), Count(n))
}

// Operation names a job's work as a heading.
func Operation(op string) string {
	switch op {
	case "backup":
		return i18n.T("Backing up")
	case "restore":
		return i18n.T("Restoring")
	case "prune":
		return i18n.T("Removing old backups")
	case "verify":
		return i18n.T("Checking backups")
	case "flatpak-restore":
		return i18n.T("Reinstalling apps")
	case "app-data-restore":
		return i18n.T("Restoring app data")
	}
	return i18n.T("Working")
}

// phases are the steps the service names in a job's Phase, as the line
// under a fresh job's progress bar shows them. A phase not here (one
// naming a computer or a profile, or a new one) shows as the service
// wrote it.
var phases = map[string]string{
	"backing up":            i18n.Noop("Backing up…"),
	"copying":               i18n.Noop("Copying…"),
	"enrolling":             i18n.Noop("Setting up encryption…"),
	"erasing":               i18n.Noop("Erasing…"),
	"finishing":             i18n.Noop("Finishing…"),
	"installing":            i18n.Noop("Installing…"),
	"making the filesystem": i18n.Noop("Making the filesystem…"),
	"mounting":              i18n.Noop("Mounting…"),
	"pruning":               i18n.Noop("Removing old backups…"),
	"restoring":             i18n.Noop("Restoring…"),
	"restoring app data":    i18n.Noop("Restoring app data…"),
	"scanning":              i18n.Noop("Scanning…"),
	"sending":               i18n.Noop("Sending…"),
	"unmounting":            i18n.Noop("Unmounting…"),
	"verifying":             i18n.Noop("Checking…"),
}

// Progress is the line under a job's progress bar: files, bytes, rate
// and time left, whatever the job knows.
func Progress(j client.Job, now time.Time) string {
	var parts []string
	// A total is counted as a backup starts, or until then estimated from
	// the previous snapshot; files can also grow past a count. Once the
	// work outgrows a total, only what is done is worth saying.
	if j.FilesTotal > 0 && j.FilesDone <= j.FilesTotal {
		// TRANSLATORS: a job's progress: files done of the files in all ("120 of 400 files").
		parts = append(parts, fmt.Sprintf(i18n.N("%s of %s file", "%s of %s files", int(j.FilesTotal)), Count(j.FilesDone), Count(j.FilesTotal)))
	} else if j.FilesDone > 0 {
		parts = append(parts, fmt.Sprintf(i18n.N("%s file", "%s files", int(j.FilesDone)), Count(j.FilesDone)))
	}
	if j.BytesTotal > 0 && j.BytesDone <= j.BytesTotal {
		// TRANSLATORS: a job's progress: the size copied of the size in all ("5.0 MB of 20.0 MB").
		parts = append(parts, fmt.Sprintf(i18n.T("%s of %s"), Size(int64(j.BytesDone)), Size(int64(j.BytesTotal))))
	} else if j.BytesDone > 0 {
		parts = append(parts, Size(int64(j.BytesDone)))
	}
	if j.Rate > 0 {
		// TRANSLATORS: a transfer rate: %s is a size ("2.5 MB/s").
		parts = append(parts, fmt.Sprintf(i18n.T("%s/s"), Size(int64(j.Rate))))
	}
	if j.ExpectedEnd > 0 {
		if left := client.Time(j.ExpectedEnd).Sub(now); left > 0 {
			// TRANSLATORS: the time a job still needs: %s is “about 3 minutes”, “less than a minute” or “about 1 hour 30 minutes”.
			parts = append(parts, fmt.Sprintf(i18n.T("%s left"), Duration(left)))
		}
	}
	if len(parts) == 0 {
		if s, ok := phases[j.Phase]; ok {
			return i18n.T(s)
		}
		if j.Phase != "" {
			return upperFirst(j.Phase) + "…"
		}
		return i18n.T("Starting…")
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
			return fmt.Sprintf(i18n.N("Backed up, with %s problem", "Backed up, with %s problems", n), Count(n))
		}
		return i18n.T("Backups are up to date")
	case dbusapi.StateRunning:
		return i18n.T("Backing up…")
	case dbusapi.StateWaitingForDrive:
		return i18n.T("Waiting for the backup drive")
	case dbusapi.StateFailed:
		return i18n.T("The last backup failed")
	case dbusapi.StateNoDrive:
		return i18n.T("No backup drive chosen")
	case dbusapi.StateDegraded:
		return i18n.T("Backups run, but changes are not watched")
	}
	return i18n.T("Not backed up yet")
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
			n := len(dirs) - most
			// TRANSLATORS: a list of folders cut short: the first %s is the folders shown ("~/nas, ~/Mounts/photos"), the second how many more there are.
			return fmt.Sprintf(i18n.N("%s and %s more", "%s and %s more", n), strings.Join(shown, ", "), Count(n))
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

var markupEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "'", "&apos;", "\"", "&quot;")
