package longpath

import (
	"os"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Max is the longest path the kernel takes in one call: PATH_MAX less the
// terminating NUL.
const Max = unix.PathMax - 1

// Open is unix.Open for a path of any length. Every step but the last
// follows symlinks as a one-call open of the whole path would; flags apply
// to the last step only.
func Open(path string, flags int, mode uint32) (int, error) {
	return OpenAt(unix.AT_FDCWD, path, flags, mode)
}

// OpenAt is unix.Openat for a path of any length.
func OpenAt(dirfd int, path string, flags int, mode uint32) (int, error) {
	if len(path) <= Max {
		return unix.Openat(dirfd, path, flags|unix.O_CLOEXEC, mode)
	}
	dir, name, done, err := splitAt(dirfd, path)
	if err != nil {
		return -1, err
	}
	defer done()
	return unix.Openat(dir, name, flags|unix.O_CLOEXEC, mode)
}

// Split gives a directory descriptor and a name within it for path, for
// the *at system calls. A short path comes back as AT_FDCWD and itself; a
// long one as its opened parent folder and its last element. done closes
// what Split opened and must be called once the name has been used.
func Split(path string) (dirfd int, name string, done func(), err error) {
	if len(path) <= Max {
		return unix.AT_FDCWD, path, func() {}, nil
	}
	return splitAt(unix.AT_FDCWD, path)
}

// splitAt opens the folder holding path (relative to dirfd) in steps and
// returns it with the last element of path.
func splitAt(dirfd int, path string) (int, string, func(), error) {
	i := strings.LastIndexByte(path, '/')
	if i < 0 {
		return dirfd, path, func() {}, nil
	}
	parent, name := path[:i], path[i+1:]
	if parent == "" {
		parent = "/"
	}
	fd, err := openDirSteps(dirfd, parent)
	if err != nil {
		return -1, "", nil, err
	}
	return fd, name, func() { unix.Close(fd) }, nil
}

// openDirSteps opens the folder path as O_PATH, at most Max bytes of path
// per step.
func openDirSteps(dirfd int, path string) (int, error) {
	const flags = unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC
	cur, owned := dirfd, false
	for {
		step, rest := path, ""
		if len(path) > Max {
			// Cut at the last slash that leaves a step the kernel takes.
			j := strings.LastIndexByte(path[:Max+1], '/')
			if j <= 0 {
				// One element longer than a path may be: no file system
				// has such a name (NAME_MAX is 255).
				if owned {
					unix.Close(cur)
				}
				return -1, unix.ENAMETOOLONG
			}
			step, rest = path[:j], strings.TrimLeft(path[j+1:], "/")
		}
		fd, err := unix.Openat(cur, step, flags, 0)
		if owned {
			unix.Close(cur)
		}
		if err != nil {
			return -1, err
		}
		if rest == "" {
			return fd, nil
		}
		cur, owned, path = fd, true, rest
	}
}

// Lstat is unix.Lstat for a path of any length.
func Lstat(path string, st *unix.Stat_t) error {
	dirfd, name, done, err := Split(path)
	if err != nil {
		return err
	}
	defer done()
	return unix.Fstatat(dirfd, name, st, unix.AT_SYMLINK_NOFOLLOW)
}

// ReadDir is os.ReadDir for a folder path of any length.
func ReadDir(path string) ([]os.DirEntry, error) {
	fd, err := Open(path, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	ents, err := f.ReadDir(-1)
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	return ents, err
}
