package repo

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/keepsake/keepsake/shared/kerr"
	"golang.org/x/sys/unix"
)

// AsideName is the folder a plain repository is moved to when an
// encrypted one takes its place on the drive. Its backups stay as they
// were, browsable and readable with --repo "<drive>/Keepsake (not
// encrypted)"; a second one gets " 2", and so on.
const AsideName = DirName + " (not encrypted)"

// SetAside renames the plain repository of the drive at dir to
// AsideName (or AsideName + " N" when that is taken) so that an
// encrypted one can be made in its place: a repository cannot be
// encrypted in place. It holds the repository's writer lock while it
// renames, so a backup running on it fails the rename with Busy instead
// of losing its snapshot. It returns the new folder.
func SetAside(dir string) (string, error) {
	drive := filepath.Clean(dir)
	root := filepath.Join(drive, DirName)
	if _, err := os.Stat(filepath.Join(drive, MarkerName)); err == nil {
		return "", kerr.New(kerr.InvalidArgs, "%s is a repository folder: set aside the repository of the drive that holds it (%s)", drive, filepath.Dir(drive))
	}
	m, err := ReadMarker(root)
	if err != nil {
		return "", err
	}
	if m.Encryption != nil {
		return "", kerr.New(kerr.InvalidArgs, "the repository in %s is encrypted already", root)
	}
	r, err := Open(root)
	if err != nil {
		return "", err
	}
	if err := r.Lock(); err != nil {
		return "", err
	}
	defer r.Unlock()
	for n := 1; ; n++ {
		name := AsideName
		if n > 1 {
			name += " " + strconv.Itoa(n)
		}
		to := filepath.Join(drive, name)
		// RENAME_NOREPLACE: a folder of that name made meanwhile is never
		// replaced; the next number is tried instead.
		err := unix.Renameat2(unix.AT_FDCWD, root, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE)
		if err == unix.EEXIST {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("set aside %s as %s: %w", root, to, err)
		}
		if err := SyncDir(drive); err != nil {
			return to, err
		}
		return to, nil
	}
}

// PutBack undoes SetAside: the folder it returned goes back to the
// drive's Keepsake folder, unless something is there now.
func PutBack(drive, aside string) error {
	root := filepath.Join(filepath.Clean(drive), DirName)
	if err := unix.Renameat2(unix.AT_FDCWD, aside, unix.AT_FDCWD, root, unix.RENAME_NOREPLACE); err != nil {
		return fmt.Errorf("put %s back as %s: %w", aside, root, err)
	}
	return SyncDir(drive)
}
