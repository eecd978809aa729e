package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/keepsake/keepsake/service/internal/longpath"
	"github.com/keepsake/keepsake/shared/kerr"
	"golang.org/x/sys/unix"
)

// beneath is how every path below a restore destination is resolved: no
// symlink (whoever made it), no "..", no magic /proc link, nothing outside
// the directory the descriptor stands for.
var beneath = unix.OpenHow{Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS}

// openBeneath opens rel below dirfd with openat2 and the rules above. A
// rel longer than the kernel takes in one call is resolved in steps, each
// beneath the folder the step before opened, so the whole stays beneath
// dirfd.
func openBeneath(dirfd int, rel string, flags uint64, mode uint64) (int, error) {
	cur, owned := dirfd, false
	for len(rel) > longpath.Max {
		j := strings.LastIndexByte(rel[:longpath.Max+1], '/')
		if j <= 0 {
			if owned {
				unix.Close(cur)
			}
			return -1, unix.ENAMETOOLONG
		}
		next, err := openBeneath1(cur, rel[:j], unix.O_PATH|unix.O_DIRECTORY, 0)
		if owned {
			unix.Close(cur)
		}
		if err != nil {
			return -1, err
		}
		cur, owned, rel = next, true, strings.TrimLeft(rel[j+1:], "/")
	}
	fd, err := openBeneath1(cur, rel, flags, mode)
	if owned {
		unix.Close(cur)
	}
	return fd, err
}

// openBeneath1 is one openat2 call of openBeneath.
func openBeneath1(dirfd int, rel string, flags uint64, mode uint64) (int, error) {
	how := beneath
	how.Flags = flags | unix.O_CLOEXEC
	how.Mode = mode
	for {
		fd, err := unix.Openat2(dirfd, rel, &how)
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
			continue
		}
		return fd, err
	}
}

// unsafePathErr turns openat2's refusals into the named error users see.
func unsafePathErr(err error, p string) error {
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EXDEV) || errors.Is(err, unix.ENOTDIR) {
		return kerr.Wrap(kerr.UnsafePath, err, "refusing to restore through %s: a symlink or an escape from the destination is in the way", p)
	}
	return err
}

// checkName refuses names that are not a single path component.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return kerr.New(kerr.UnsafePath, "refusing entry name %q", name)
	}
	return nil
}

// checkAbs refuses paths that are not absolute and clean ("..", "//").
func checkAbs(p string) error {
	if !filepath.IsAbs(p) || filepath.Clean(p) != p || strings.Contains(p, "\x00") {
		return kerr.New(kerr.InvalidArgs, "%q is not a clean absolute path (no \"..\", no trailing or double slash)", p)
	}
	return nil
}

// openDestRoot opens a restore destination directory. A destination the
// user named (--to) is resolved as the caller's own path; an in-place
// restore walks from / without following any symlink, because the folder
// being restored into may have been replaced by one. Missing directories
// are created plainly: only restored items get their recorded metadata.
func openDestRoot(dir string, followSymlinks bool) (int, error) {
	if followSymlinks {
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return -1, fmt.Errorf("create destination %s: %w", dir, err)
		}
		fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, fmt.Errorf("open destination %s: %w", dir, err)
		}
		return fd, nil
	}
	root, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	fd, err := mkdirBeneath(root, strings.TrimPrefix(dir, "/"))
	unix.Close(root)
	if err != nil {
		return -1, unsafePathErr(err, dir)
	}
	return fd, nil
}

// mkdirBeneath walks rel below dirfd one component at a time, creating
// missing directories, and returns a descriptor of the last. Each step is
// relative to the descriptor of the step before, so no component can be
// swapped for a symlink in between.
func mkdirBeneath(dirfd int, rel string) (int, error) {
	cur, err := unix.Dup(dirfd)
	if err != nil {
		return -1, err
	}
	for _, c := range strings.Split(rel, "/") {
		if c == "" {
			continue
		}
		if err := checkName(c); err != nil {
			unix.Close(cur)
			return -1, err
		}
		if err := unix.Mkdirat(cur, c, 0o777); err != nil && !errors.Is(err, unix.EEXIST) {
			unix.Close(cur)
			return -1, fmt.Errorf("create folder %s: %w", c, err)
		}
		next, err := openBeneath(cur, c, unix.O_PATH|unix.O_DIRECTORY, 0)
		unix.Close(cur)
		if err != nil {
			return -1, err
		}
		cur = next
	}
	return cur, nil
}
