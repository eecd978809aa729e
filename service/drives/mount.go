package drives

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/keepsake/keepsake/service/repo"
	"github.com/keepsake/keepsake/shared/kerr"
	"golang.org/x/sys/unix"
)

// DefaultBase is where the service mounts drives.
const DefaultBase = "/run/keepsake"

// mountable are the filesystem types Mount passes to the kernel. FAT and
// exFAT mount, so a user can restore from one, but the repository probe
// refuses them as backup targets (no hardlinks).
var mountable = map[string]bool{
	"ext4": true, "ext3": true, "ext2": true, "xfs": true, "btrfs": true,
	"f2fs": true, "vfat": true, "exfat": true, "ntfs3": true, "ntfs": true,
}

// kernelType maps blkid's name of a filesystem to the kernel driver that
// mounts it when they differ.
var kernelType = map[string]string{"ntfs": "ntfs3"}

func driver(fstype string) string {
	if k, ok := kernelType[fstype]; ok {
		return k
	}
	return fstype
}

// mountFlags keep a drive someone else wrote from becoming a way to root:
// no setuid binaries, no device nodes, nothing executed from it.
const mountFlags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC

func validUUID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Mount mounts d at base/<uuid> with nosuid,nodev,noexec (read-only if the
// device is) and returns the mount point. Mounting a drive already mounted
// there returns the same mount point. Before mounting it checks, through
// the udev database, that the device still holds the filesystem d names:
// device names are reused from plug to plug.
func Mount(d Drive, base string) (string, error) {
	if !strings.HasPrefix(d.Device, "/dev/") || filepath.Clean(d.Device) != d.Device {
		return "", kerr.New(kerr.InvalidArgs, "mount: %q is not a device path under /dev", d.Device)
	}
	if !validUUID(d.UUID) {
		return "", kerr.New(kerr.InvalidArgs, "mount: invalid filesystem UUID %q", d.UUID)
	}
	if d.Locked {
		return "", kerr.New(kerr.UnsupportedFilesystem, "mount: drive %s is encrypted (%s): unlock it first", d.UUID, d.FSType)
	}
	if !mountable[d.FSType] {
		return "", kerr.New(kerr.UnsupportedFilesystem, "mount: filesystem type %q is not supported", d.FSType)
	}
	if !filepath.IsAbs(base) || filepath.Clean(base) != base {
		return "", kerr.New(kerr.InvalidArgs, "mount: base %q is not a clean absolute path", base)
	}
	devno, err := checkDevice(d)
	if err != nil {
		return "", err
	}
	if err := makeBase(base); err != nil {
		return "", err
	}
	mnt := filepath.Join(base, d.UUID)
	if err := os.Mkdir(mnt, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", kerr.Wrap(kerr.MountFailed, err, "mount: create mount point")
	}
	if fi, err := os.Lstat(mnt); err != nil || !fi.IsDir() {
		return "", kerr.New(kerr.UnsafePath, "mount: %s is not a directory", mnt)
	}
	if me, ok := mountAt(mnt); ok {
		if me.DevNo == devno || me.Source == d.Device {
			return mnt, nil
		}
		return "", kerr.New(kerr.MountFailed, "mount: %s already has %s mounted", mnt, me.Source)
	}
	err = unix.Mount(d.Device, mnt, driver(d.FSType), mountFlags, "")
	if errors.Is(err, unix.EROFS) || errors.Is(err, unix.EACCES) {
		// A write-protected drive can still be browsed and restored from.
		err = unix.Mount(d.Device, mnt, driver(d.FSType), mountFlags|unix.MS_RDONLY, "")
	}
	if err != nil {
		_ = os.Remove(mnt)
		return "", kerr.Wrap(kerr.MountFailed, err, "mount %s (%s) on %s", d.Device, d.FSType, mnt)
	}
	return mnt, nil
}

// checkDevice makes sure d.Device is a block device that still holds the
// filesystem d describes, and returns its "major:minor".
func checkDevice(d Drive) (string, error) {
	var st unix.Stat_t
	if err := unix.Stat(d.Device, &st); err != nil {
		return "", kerr.Wrap(kerr.DriveNotFound, err, "drive %s is not plugged in", d.UUID)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return "", kerr.New(kerr.InvalidArgs, "mount: %s is not a block device", d.Device)
	}
	devno := fmt.Sprintf("%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
	props, err := hostPaths.udevProps(devno)
	if err != nil {
		return "", kerr.Wrap(kerr.DriveNotFound, err, "drive %s: no udev data for %s", d.UUID, d.Device)
	}
	if props["ID_FS_UUID"] != d.UUID || props["ID_FS_TYPE"] != d.FSType {
		return "", kerr.New(kerr.DriveNotFound, "drive %s is not on %s any more", d.UUID, d.Device)
	}
	return devno, nil
}

// makeBase creates base (mode 0700) if needed and refuses one another user
// could write to: a planted symlink below it would redirect mounts.
func makeBase(base string) error {
	if err := os.MkdirAll(base, 0o700); err != nil {
		return kerr.Wrap(kerr.MountFailed, err, "mount: create %s", base)
	}
	var st unix.Stat_t
	if err := unix.Lstat(base, &st); err != nil {
		return kerr.Wrap(kerr.MountFailed, err, "mount: %s", base)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || int(st.Uid) != os.Geteuid() || st.Mode&0o022 != 0 {
		return kerr.New(kerr.UnsafePath, "mount: %s must be a directory owned by uid %d and writable only by it", base, os.Geteuid())
	}
	return nil
}

// mountAt returns the last (topmost) mount on dir, if any.
func mountAt(dir string) (mountEntry, bool) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return mountEntry{}, false
	}
	var found mountEntry
	ok := false
	for _, me := range parseMountinfo(string(b)) {
		if me.MountPoint == dir {
			found, ok = me, true
		}
	}
	return found, ok
}

// Unmount flushes and unmounts a drive Mount mounted below base, then
// removes its directory. It never detaches lazily: a drive still in use
// stays mounted and Unmount reports Busy, so nobody pulls a drive whose
// writes are still pending. A mount point that is not mounted is only
// removed.
func Unmount(mountPoint, base string) error {
	if !filepath.IsAbs(base) || filepath.Clean(base) != base {
		return kerr.New(kerr.InvalidArgs, "unmount: base %q is not a clean absolute path", base)
	}
	if filepath.Clean(mountPoint) != mountPoint || filepath.Dir(mountPoint) != base || !validUUID(filepath.Base(mountPoint)) {
		return kerr.New(kerr.InvalidArgs, "unmount: %q is not a drive mount point below %s", mountPoint, base)
	}
	if _, ok := mountAt(mountPoint); ok {
		if err := syncFS(mountPoint); err != nil {
			return kerr.Wrap(kerr.MountFailed, err, "unmount %s: flush", mountPoint)
		}
		// UMOUNT_NOFOLLOW: the last component must be the directory Mount
		// made, not a link elsewhere. Busy is asked again for a second: a
		// desktop's indexer or a probe may hold a drive for a moment.
		err := unix.Unmount(mountPoint, unix.UMOUNT_NOFOLLOW)
		for try := 0; try < 10 && errors.Is(err, unix.EBUSY); try++ {
			time.Sleep(100 * time.Millisecond)
			err = unix.Unmount(mountPoint, unix.UMOUNT_NOFOLLOW)
		}
		if err != nil {
			if errors.Is(err, unix.EBUSY) {
				return kerr.Wrap(kerr.Busy, err, "unmount %s: the drive is in use", mountPoint)
			}
			return kerr.Wrap(kerr.MountFailed, err, "unmount %s", mountPoint)
		}
	}
	if err := os.Remove(mountPoint); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return kerr.Wrap(kerr.MountFailed, err, "unmount: remove %s", mountPoint)
	}
	return nil
}

func syncFS(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Syncfs(fd)
}

// Free reports the bytes available to the service and the total size of
// the filesystem mounted at mountPoint.
func Free(mountPoint string) (free, size int64, err error) { return repo.Space(mountPoint) }

// MountedAt says whether something is mounted on dir now. The drive
// monitor reports mounts as it reads the mount table, so a mount point
// it gives may have gone a moment ago.
func MountedAt(dir string) bool {
	_, ok := mountAt(dir)
	return ok
}
