package drives

import "fmt"

// Drive is a block device holding a filesystem that could be a backup
// target. The UUID is its identity: device names change from plug to plug.
type Drive struct {
	UUID   string
	Label  string // the filesystem label as written, decoded from udev's escaping
	FSType string // as blkid names it: ext4, xfs, btrfs, vfat, crypto_LUKS...
	Device string // e.g. /dev/loop3
	Size   int64  // bytes
	// Present is false only in the Drive passed with a Removed event.
	Present bool
	// MountPoint is the first mount of the filesystem's root in
	// /proc/self/mountinfo, "" if it is not mounted (a bind mount of a
	// subdirectory alone does not count: the repository would not be
	// found there).
	MountPoint string
	// ReadOnly is set when the kernel marks the device read-only (a
	// write-protect switch, a read-only loop device).
	ReadOnly bool
	// Locked is set for encrypted containers (LUKS, BitLocker): they are
	// shown so a user recognises the drive, but must be unlocked, which
	// makes a separate device with the real filesystem, before use.
	Locked bool
}

// Event says what happened to a drive.
type Event int

// Events start at 1 so that 0 stays "unknown", as in the D-Bus enums.
const (
	Added     Event = iota + 1 // plugged in (or present at start, if enumerated later)
	Changed                    // label, size or read-only state changed, or a mount moved
	Removed                    // unplugged, wiped, or its loop device detached
	Mounted                    // its filesystem root got mounted
	Unmounted                  // its last root mount went away
)

func (e Event) String() string {
	switch e {
	case Added:
		return "Added"
	case Changed:
		return "Changed"
	case Removed:
		return "Removed"
	case Mounted:
		return "Mounted"
	case Unmounted:
		return "Unmounted"
	}
	return fmt.Sprintf("Event(%d)", int(e))
}
