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

// ProfilePath is the object of the profile called name. Names are
// [A-Za-z0-9_-]; '-' is not allowed in object paths and becomes '_'.
func ProfilePath(name string) dbus.ObjectPath {
	return dbus.ObjectPath(profilesPath + escape(name))
}

// DrivePath is the object of the drive with filesystem UUID uuid.
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

// escape maps every byte outside [A-Za-z0-9_] to '_' so any name is a
// valid path element; an empty name becomes "_".
func escape(s string) string {
	if s == "" {
		return "_"
	}
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}
