package config

import (
	"time"
)

// Config is the whole configuration file.
type Config struct {
	// MissingDriveDays is how long an enrolled drive may stay away before
	// the service warns; 0 never warns.
	MissingDriveDays int
	// OnFailure is a command run by /bin/sh when a backup fails; empty
	// runs nothing.
	OnFailure string
	// Profiles in file order. Names are unique.
	Profiles []Profile
}

// Profile says what to back up, where to and when.
type Profile struct {
	Name string
	// Owner is the uid that created the profile; 0 is an administrator.
	Owner uint32
	// Sources are absolute, clean folder paths.
	Sources []string
	// Excludes are gitignore-style patterns (see service/exclude).
	Excludes []string
	// IncludeMounts are mount points below the sources whose other
	// filesystems are backed up too; any other filesystem mounted inside
	// a source (a NAS share, a USB stick, a tmpfs) is kept as an empty
	// folder. Absolute, clean paths.
	IncludeMounts []string
	// Drive is the filesystem UUID of the backup drive; empty until one
	// is chosen.
	Drive string
	// Interval between backups; 0 means off (no timed backups).
	Interval time.Duration
	// OnChange backs up after files change, once they have been quiet for
	// Quiet.
	OnChange bool
	Quiet    time.Duration
	// OnPlug backs up when the drive appears and a backup is due.
	OnPlug bool
	// SkipOnBattery waits for mains power before timed and change backups.
	SkipOnBattery bool
	// Flatpak records the installed Flatpak apps, runtimes, remotes and
	// overrides with each snapshot (on by default).
	Flatpak bool
	// FlatpakOffline also keeps an offline copy of the apps on the drive
	// (flatpak create-usb), so they reinstall with no network; off by
	// default: it costs the apps' size.
	FlatpakOffline bool
	// Retention is the canonical policy text (see RetentionText);
	// "time-machine" is the default.
	Retention string
	// MinFree is the space to leave free on the drive: "2%" or a size such
	// as "20GiB" (see MinFreeBytes). Empty leaves nothing free.
	MinFree string
	// Host names another computer's folder on the drive when the sources
	// are ssh:// addresses (see Remote); "" takes the address's host.
	Host string
	// OverdueDays makes a profile not backed up for this many days a
	// warning in status, the app and a notification (0 = never).
	OverdueDays int
	// Viewers are local uids that may browse, search and restore another
	// computer's files besides administrators (its owner, say).
	Viewers []uint32
	// RestoreTo is the folder of another computer that restores may be
	// sent back to, as an ssh:// address with one path; the service's key
	// must be allowed to write there and only there (rrsync -wo, see
	// RestoreTarget). "" offers no restore to the other computer.
	RestoreTo string
}

// DefaultOverdueDays is DefaultProfile().OverdueDays.
const DefaultOverdueDays = 7

// DefaultMissingDriveDays is Default().MissingDriveDays.
const DefaultMissingDriveDays = 14

// Default is the configuration used when there is no file: no profiles.
func Default() *Config {
	return &Config{MissingDriveDays: DefaultMissingDriveDays}
}

// DefaultProfile is a new profile with the usual settings: hourly backups,
// backups after changes once quiet for five minutes and when the drive is
// plugged in, Time Machine retention and 2% of the drive left free.
func DefaultProfile(name string) Profile {
	return Profile{
		Name:        name,
		Interval:    time.Hour,
		OnChange:    true,
		Quiet:       5 * time.Minute,
		OnPlug:      true,
		Flatpak:     true,
		Retention:   TimeMachine,
		MinFree:     "2%",
		OverdueDays: DefaultOverdueDays,
	}
}

// Profile returns the named profile, a pointer into c.Profiles so the
// caller can change it.
func (c *Config) Profile(name string) (*Profile, bool) {
	for i := range c.Profiles {
		if c.Profiles[i].Name == name {
			return &c.Profiles[i], true
		}
	}
	return nil, false
}
