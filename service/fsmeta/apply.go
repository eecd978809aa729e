package fsmeta

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ApplyOptions says which parts of a Meta to apply.
type ApplyOptions struct {
	// Owner sets uid and gid. Only root may give files away; a user
	// restoring their own files leaves it off.
	Owner bool
	// Xattrs writes the recorded extended attributes and ACLs. Attributes
	// the target filesystem or the caller cannot set are skipped.
	Xattrs bool
	// ExactXattrs (with Xattrs) also removes the attributes the target has
	// and m has not: for an entry that already carries an older record's
	// (a btrfs snapshot changed in place), not for one just made.
	ExactXattrs bool
	// ModeSet says the file was created with its final mode already, so
	// ApplyFile need not chmod (ignored when xattrs carry an ACL, which
	// rewrites the group bits).
	ModeSet bool
}

// ApplyAt applies m to the entry name inside the directory dirfd, never
// following a symlink: a symlink itself gets owner and times, nothing else.
// Order matters: chown clears setuid bits and an ACL rewrites the group
// bits, so owner comes first, then xattrs, then mode, then times last
// (every other change touches ctime, and a later write would move mtime).
func ApplyAt(dirfd int, name string, m Meta, opt ApplyOptions) error {
	if m.Type == Symlink {
		return applySymlink(dirfd, name, m, opt)
	}
	fd, err := unix.Openat(dirfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s for metadata: %w", name, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat %s: %w", name, err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return fmt.Errorf("apply metadata to %s: it is a symlink", name)
	}
	return ApplyFd(fd, m, opt)
}

// ApplyFd applies m to an open file or directory (an O_PATH descriptor is
// enough). The descriptor pins the inode, so nothing can swap the entry for
// a symlink between the checks and the changes.
func ApplyFd(fd int, m Meta, opt ApplyOptions) error {
	proc := "/proc/self/fd/" + strconv.Itoa(fd)
	if opt.Owner {
		if err := unix.Fchownat(fd, "", int(m.UID), int(m.GID), unix.AT_EMPTY_PATH); err != nil {
			return fmt.Errorf("chown: %w", err)
		}
	}
	if opt.Xattrs && opt.ExactXattrs {
		if err := removeOtherXattrs(proc, m.Xattrs); err != nil {
			return err
		}
	}
	if opt.Xattrs {
		if err := setXattrs(proc, m.Xattrs, unix.Setxattr); err != nil {
			return err
		}
	}
	if err := unix.Chmod(proc, m.Mode&07777); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	ts := []unix.Timespec{unix.NsecToTimespec(m.MtimeNs), unix.NsecToTimespec(m.MtimeNs)}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, proc, ts, 0); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

func applySymlink(dirfd int, name string, m Meta, opt ApplyOptions) error {
	if opt.Owner {
		if err := unix.Fchownat(dirfd, name, int(m.UID), int(m.GID), unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("chown %s: %w", name, err)
		}
	}
	if opt.Xattrs && len(m.Xattrs) > 0 {
		p := "/proc/self/fd/" + strconv.Itoa(dirfd) + "/" + name
		if err := setXattrs(p, m.Xattrs, unix.Lsetxattr); err != nil {
			return err
		}
	}
	ts := []unix.Timespec{unix.NsecToTimespec(m.MtimeNs), unix.NsecToTimespec(m.MtimeNs)}
	if err := unix.UtimesNanoAt(dirfd, name, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times of %s: %w", name, err)
	}
	return nil
}

// removeOtherXattrs removes from the file at path (a /proc/self/fd link,
// followed) the attributes that keep is without.
func removeOtherXattrs(path string, keep []Xattr) error {
	size, err := unix.Listxattr(path, nil)
	if err != nil || size == 0 {
		if err != nil && !unsupported(err) {
			return fmt.Errorf("list xattrs: %w", err)
		}
		return nil
	}
	names := make([]byte, size)
	if size, err = unix.Listxattr(path, names); err != nil {
		return fmt.Errorf("list xattrs: %w", err)
	}
	for _, n := range bytes.Split(names[:size], []byte{0}) {
		name := string(n)
		wanted := name == ""
		for _, k := range keep {
			wanted = wanted || k.Name == name
		}
		if wanted {
			continue
		}
		if err := unix.Removexattr(path, name); err != nil && !unsupported(err) && !errors.Is(err, unix.ENODATA) &&
			!errors.Is(err, unix.EPERM) && !errors.Is(err, unix.EACCES) {
			return fmt.Errorf("remove xattr %s: %w", name, err)
		}
	}
	return nil
}

func setXattrs(path string, xs []Xattr, set func(string, string, []byte, int) error) error {
	for _, x := range xs {
		err := set(path, x.Name, x.Value, 0)
		if err == nil {
			continue
		}
		// A target without xattrs, a namespace only root may write
		// (trusted.*, security.*), or a label the kernel refuses is not a
		// reason to fail a backup or a restore: the catalog keeps the value.
		if unsupported(err) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) ||
			(errors.Is(err, unix.EINVAL) && !strings.HasPrefix(x.Name, "user.")) {
			continue
		}
		return fmt.Errorf("set xattr %s: %w", x.Name, err)
	}
	return nil
}

// ApplyFile applies m to a regular file or directory open for reading or
// writing (not O_PATH), with the descriptor calls that need no path lookup:
// the fast path for files the engine has just written.
func ApplyFile(fd int, m Meta, opt ApplyOptions) error {
	if opt.Owner {
		if err := unix.Fchown(fd, int(m.UID), int(m.GID)); err != nil {
			return fmt.Errorf("chown: %w", err)
		}
	}
	if opt.Xattrs && len(m.Xattrs) > 0 {
		set := func(_ string, name string, v []byte, flags int) error { return unix.Fsetxattr(fd, name, v, flags) }
		if err := setXattrs("", m.Xattrs, set); err != nil {
			return err
		}
	}
	if !opt.ModeSet || len(m.Xattrs) > 0 {
		if err := unix.Fchmod(fd, m.Mode&07777); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	ts := [2]unix.Timespec{unix.NsecToTimespec(m.MtimeNs), unix.NsecToTimespec(m.MtimeNs)}
	// utimensat(fd, NULL, ...) is futimens(3): times of the open file.
	if _, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0); e != 0 {
		return fmt.Errorf("set times: %w", e)
	}
	return nil
}
