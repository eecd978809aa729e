package btrfs

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The ioctls of linux/btrfs.h (magic 0x94), with their argument sizes:
// btrfs_ioctl_vol_args and btrfs_ioctl_vol_args_v2 are 4096 bytes each.
const (
	iocSubvolCreate  = 0x5000940e // _IOW(0x94, 14, btrfs_ioctl_vol_args)
	iocSnapDestroy   = 0x5000940f // _IOW(0x94, 15, btrfs_ioctl_vol_args)
	iocSnapCreateV2  = 0x50009417 // _IOW(0x94, 23, btrfs_ioctl_vol_args_v2)
	iocSubvolGetflag = 0x80089419 // _IOR(0x94, 25, __u64)
	iocSubvolSetflag = 0x4008941a // _IOW(0x94, 26, __u64)

	subvolReadOnly = 1 << 1 // BTRFS_SUBVOL_RDONLY

	// firstFreeObjectID is the inode number of every subvolume's root
	// folder (BTRFS_FIRST_FREE_OBJECTID).
	firstFreeObjectID = 256
)

// volArgs is struct btrfs_ioctl_vol_args.
type volArgs struct {
	fd   int64
	name [4088]byte
}

// volArgsV2 is struct btrfs_ioctl_vol_args_v2.
type volArgsV2 struct {
	fd      int64
	transid uint64
	flags   uint64
	unused  [4]uint64
	name    [4040]byte
}

// Both argument structs are 4096 bytes, as the ioctl numbers say.
var (
	_ [4096 - unsafe.Sizeof(volArgs{})]byte
	_ [unsafe.Sizeof(volArgs{}) - 4096]byte
	_ [4096 - unsafe.Sizeof(volArgsV2{})]byte
	_ [unsafe.Sizeof(volArgsV2{}) - 4096]byte
)

// Errors are wrapped kernel errors; ErrNotBtrfs when the folder is not on
// btrfs at all.
var ErrNotBtrfs = errors.New("not on a btrfs filesystem")

// Is says whether the folder fd is on btrfs.
func Is(fd int) (bool, error) {
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		return false, err
	}
	return st.Type == unix.BTRFS_SUPER_MAGIC, nil
}

// IsSubvolume says whether name in the folder dirfd is a subvolume (not
// following a symlink).
func IsSubvolume(dirfd int, name string) (bool, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return false, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || st.Ino != firstFreeObjectID {
		return false, nil
	}
	fd, err := openDir(dirfd, name)
	if err != nil {
		return false, err
	}
	defer unix.Close(fd)
	return Is(fd)
}

// Create makes an empty subvolume name in the folder dirfd.
func Create(dirfd int, name string) error {
	var a volArgs
	if err := setName(a.name[:], name); err != nil {
		return err
	}
	return ioctl(dirfd, iocSubvolCreate, unsafe.Pointer(&a), "create subvolume "+name)
}

// Snapshot makes name in the folder dirfd a snapshot of the subvolume
// srcfd (a descriptor of its root folder), read-only if readOnly. It
// takes O(1) time: the snapshot shares every block with its source until
// one of them changes.
func Snapshot(srcfd, dirfd int, name string, readOnly bool) error {
	a := volArgsV2{fd: int64(srcfd)}
	if readOnly {
		a.flags = subvolReadOnly
	}
	if err := setName(a.name[:], name); err != nil {
		return err
	}
	return ioctl(dirfd, iocSnapCreateV2, unsafe.Pointer(&a), "snapshot into "+name)
}

// Delete removes the subvolume name in the folder dirfd, with everything
// in it, at once; nested subvolumes inside it must be deleted first
// (ENOTEMPTY). A read-only subvolume is deleted all the same.
func Delete(dirfd int, name string) error {
	var a volArgs
	if err := setName(a.name[:], name); err != nil {
		return err
	}
	return ioctl(dirfd, iocSnapDestroy, unsafe.Pointer(&a), "delete subvolume "+name)
}

// ReadOnly says whether the subvolume fd (its root folder) is read-only.
func ReadOnly(fd int) (bool, error) {
	var flags uint64
	if err := ioctl(fd, iocSubvolGetflag, unsafe.Pointer(&flags), "read subvolume flags"); err != nil {
		return false, err
	}
	return flags&subvolReadOnly != 0, nil
}

// SetReadOnly makes the subvolume fd (its root folder) read-only, or
// writable again.
func SetReadOnly(fd int, ro bool) error {
	var flags uint64
	if err := ioctl(fd, iocSubvolGetflag, unsafe.Pointer(&flags), "read subvolume flags"); err != nil {
		return err
	}
	if ro {
		flags |= subvolReadOnly
	} else {
		flags &^= subvolReadOnly
	}
	return ioctl(fd, iocSubvolSetflag, unsafe.Pointer(&flags), "set subvolume flags")
}

// fsNoCOWFlag is FS_NOCOW_FL, the inode flag chattr +C sets.
const fsNoCOWFlag = 0x00800000

// SetNoCOW turns copy-on-write off for the empty file fd (chattr +C): its
// blocks are then rewritten in place. It has effect on an empty file only.
func SetNoCOW(fd int) error {
	flags, err := unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
	if err != nil {
		return fmt.Errorf("read file flags: %w", err)
	}
	if err := unix.IoctlSetPointerInt(fd, unix.FS_IOC_SETFLAGS, int(flags|fsNoCOWFlag)); err != nil {
		return fmt.Errorf("set no copy-on-write: %w", err)
	}
	return nil
}

// NoCOW says whether the file fd has copy-on-write off.
func NoCOW(fd int) (bool, error) {
	flags, err := unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
	if err != nil {
		return false, fmt.Errorf("read file flags: %w", err)
	}
	return flags&fsNoCOWFlag != 0, nil
}

// Clone makes the file dst share all of src's data (FICLONE): no data is
// written, and the two stay independent files. Both must be on the same
// btrfs filesystem; dst is truncated to src's size.
func Clone(dst, src int) error {
	if err := unix.IoctlFileClone(dst, src); err != nil {
		return fmt.Errorf("clone file data: %w", err)
	}
	return nil
}

func setName(buf []byte, name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") || len(name) >= len(buf) || len(name) > 255 {
		return fmt.Errorf("subvolume name %q: %w", name, unix.EINVAL)
	}
	copy(buf, name)
	return nil
}

func ioctl(fd int, req uintptr, arg unsafe.Pointer, what string) error {
	for {
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
		switch errno {
		case 0:
			return nil
		case unix.EINTR:
			continue
		case unix.ENOTTY, unix.EOPNOTSUPP:
			if ok, _ := Is(fd); !ok {
				return fmt.Errorf("%s: %w", what, ErrNotBtrfs)
			}
		}
		return fmt.Errorf("%s: %w", what, errno)
	}
}

func openDir(dirfd int, name string) (int, error) {
	return unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
}

// The root tree (BTRFS_ROOT_TREE_OBJECTID) lists a deleted subvolume as an
// orphan item (BTRFS_ORPHAN_OBJECTID, BTRFS_ORPHAN_ITEM_KEY, offset the
// subvolume's id) until the cleaner has dropped it.
const (
	iocSync        = 0x9408     // _IO(0x94, 8)
	iocTreeSearch  = 0xd0009411 // _IOWR(0x94, 17, btrfs_ioctl_search_args)
	rootTreeID     = 1
	orphanObjectID = ^uint64(4) // -5
	orphanItemKey  = 48
)

// searchArgs is struct btrfs_ioctl_search_args: a search key, then the
// buffer the kernel fills.
type searchArgs struct {
	treeID, minObjectID, maxObjectID, minOffset, maxOffset, minTransID, maxTransID uint64
	minType, maxType, nrItems, unused                                              uint32
	unused1, unused2, unused3, unused4                                             uint64
	buf                                                                            [4096 - 104]byte
}

var (
	_ [4096 - unsafe.Sizeof(searchArgs{})]byte
	_ [unsafe.Sizeof(searchArgs{}) - 4096]byte
)

// WaitCleaned commits the filesystem of fd and waits until the subvolumes
// deleted on it are dropped, then commits again: only then does the space
// they alone held show as free (statfs). Deleting a subvolume returns at
// once and leaves the work to the kernel's cleaner, as `btrfs subvolume
// sync` waits for. It needs CAP_SYS_ADMIN (the tree search).
func WaitCleaned(fd int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if err := ioctl(fd, iocSync, nil, "commit"); err != nil {
			return err
		}
		a := searchArgs{treeID: rootTreeID, minObjectID: orphanObjectID, maxObjectID: orphanObjectID,
			maxOffset: ^uint64(0), maxTransID: ^uint64(0), minType: orphanItemKey, maxType: orphanItemKey, nrItems: 1}
		if err := ioctl(fd, iocTreeSearch, unsafe.Pointer(&a), "list deleted subvolumes"); err != nil {
			return err
		}
		if a.nrItems == 0 {
			return ioctl(fd, iocSync, nil, "commit")
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("deleted subvolumes not dropped after %s: %w", timeout, unix.ETIMEDOUT)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
