package dbusapi

import (
	"strconv"
	"strings"

	"github.com/godbus/dbus/v5"
)

// Bus name, object paths and interface names (see DESIGN.md).
const (
	BusName = "io.github.keepsake.Keepsake1"

	RootPath     dbus.ObjectPath = "/io/github/keepsake/Keepsake1"
	ManagerPath  dbus.ObjectPath = RootPath + "/Manager"
	profilesPath                 = string(RootPath) + "/profiles/"
	drivesPath                   = string(RootPath) + "/drives/"
	jobsPath                     = string(RootPath) + "/jobs/"

	ManagerInterface = BusName + ".Manager"
	ProfileInterface = BusName + ".Profile"
	DriveInterface   = BusName + ".Drive"
	JobInterface     = BusName + ".Job"

	ObjectManagerInterface = "org.freedesktop.DBus.ObjectManager"
	PropertiesInterface    = "org.freedesktop.DBus.Properties"

	// NoPath is the object path meaning "none".
	NoPath dbus.ObjectPath = "/"
)

// Polkit action ids (data/io.github.keepsake.keepsake1.policy).
const (
	ActionBackup          = "io.github.keepsake.keepsake1.backup"
	ActionBrowse          = "io.github.keepsake.keepsake1.browse"
	ActionRestore         = "io.github.keepsake.keepsake1.restore"
	ActionManageOwn       = "io.github.keepsake.keepsake1.manage-own-folders"
	ActionConfigure       = "io.github.keepsake.keepsake1.configure"
	ActionBrowseAll       = "io.github.keepsake.keepsake1.browse-all"
	ActionDeleteSnapshots = "io.github.keepsake.keepsake1.delete-snapshots"
	// ActionPrepareDrive erases a drive and makes it a backup drive.
	ActionPrepareDrive = "io.github.keepsake.keepsake1.prepare-drive"
	// ActionUnlockDrive unlocks an encrypted drive with its passphrase or
	// recovery key: knowing the secret is the proof, so an active
	// session needs nothing more.
	ActionUnlockDrive = "io.github.keepsake.keepsake1.unlock-drive"
)

// Signals of the Drive interface, as a match rule's member and as
// dbus.Signal.Name has them.
const (
	SignalSafeToRemove = DriveInterface + ".SafeToRemove"
	// SignalUnlockNeeded: a backup to the drive was due or asked for
	// while it is locked and no key is remembered.
	SignalUnlockNeeded = DriveInterface + ".UnlockNeeded"
)

// Option keys every method understands.
const (
	OptNoUserInteraction = "auth.no_user_interaction"
	OptAllUsers          = "all-users"
)

// ProfileState is the Profile.State enum.
type ProfileState uint32

const (
	StateUnknown ProfileState = iota
	StateIdle
	StateRunning
	StateWaitingForDrive
	StateFailed
	StateNoDrive
	StateDegraded
)

func (s ProfileState) String() string {
	switch s {
	case StateIdle:
		return "idle"
	case StateRunning:
		return "running"
	case StateWaitingForDrive:
		return "waiting-for-drive"
	case StateFailed:
		return "failed"
	case StateNoDrive:
		return "no-drive"
	case StateDegraded:
		return "watching-degraded"
	}
	return "unknown"
}

// ProfilePath is the object of the profile called name. The name is
// escaped (see escape), so distinct names have distinct paths.
func ProfilePath(name string) dbus.ObjectPath {
	return dbus.ObjectPath(profilesPath + escape(name))
}

// DrivePath is the object of the drive with filesystem UUID uuid, escaped
// like a profile name.
func DrivePath(uuid string) dbus.ObjectPath {
	return dbus.ObjectPath(drivesPath + escape(uuid))
}

// JobPath is the object of job number n.
func JobPath(n uint64) dbus.ObjectPath {
	return dbus.ObjectPath(jobsPath + strconv.FormatUint(n, 10))
}

// IsProfilePath, IsDrivePath and IsJobPath tell which kind of object a path names.
func IsProfilePath(p dbus.ObjectPath) bool { return strings.HasPrefix(string(p), profilesPath) }
func IsDrivePath(p dbus.ObjectPath) bool   { return strings.HasPrefix(string(p), drivesPath) }
func IsJobPath(p dbus.ObjectPath) bool     { return strings.HasPrefix(string(p), jobsPath) }

// ProfileName is the name of the profile whose object is p (the inverse
// of ProfilePath); false when p is not such a path.
func ProfileName(p dbus.ObjectPath) (string, bool) {
	return unescape(strings.TrimPrefix(string(p), profilesPath), IsProfilePath(p))
}

// DriveUUID is the filesystem UUID of the drive whose object is p (the
// inverse of DrivePath); false when p is not such a path.
func DriveUUID(p dbus.ObjectPath) (string, bool) {
	return unescape(strings.TrimPrefix(string(p), drivesPath), IsDrivePath(p))
}

// escape makes any string a valid object path element, reversibly, the
// way systemd's bus_label_escape does: ASCII letters and digits stay,
// every other byte becomes '_' and its two lowercase hex digits ("work-2"
// is "work_2d2", "work_2" is "work_5f2"), and the empty string is "_".
func escape(s string) string {
	if s == "" {
		return "_"
	}
	const hex = "0123456789abcdef"
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; isAlnum(c) {
			b = append(b, c)
		} else {
			b = append(b, '_', hex[c>>4], hex[c&0xf])
		}
	}
	return string(b)
}

// unescape is the inverse of escape. It accepts only what escape makes
// (lowercase hex, no escaped letter or digit), so that each name has one
// path; ok is false for anything else, or when ok is passed false.
func unescape(e string, ok bool) (string, bool) {
	if !ok || e == "" {
		return "", false
	}
	if e == "_" {
		return "", true
	}
	b := make([]byte, 0, len(e))
	for i := 0; i < len(e); i++ {
		c := e[i]
		switch {
		case isAlnum(c):
			b = append(b, c)
		case c == '_' && i+2 < len(e):
			hi, ok1 := unhex(e[i+1])
			lo, ok2 := unhex(e[i+2])
			if !ok1 || !ok2 || isAlnum(hi<<4|lo) {
				return "", false
			}
			b = append(b, hi<<4|lo)
			i += 2
		default:
			return "", false
		}
	}
	return string(b), true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
