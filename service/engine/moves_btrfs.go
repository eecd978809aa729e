package engine

import (
	"errors"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/fsmeta"
	"github.com/keepsake/keepsake/service/internal/longpath"
	"golang.org/x/sys/unix"
)

// Moves by rename, where the snapshot began as a copy of the previous one
// (btrfs): a folder that moved is renamed from its old place in the
// snapshot, entries and all, instead of being filled anew. A folder gone
// from its place is set aside in movingDir until the end of the walk, as
// a moved folder may be met after its old parent.

// movingDir holds, in the snapshot being written, the folders gone from
// their place this run; it is removed before the snapshot is sealed.
const movingDir = ".keepsake-moving"

// setAside moves the gone folder name of the snapshot folder dst (the
// previous snapshot's folder at source path p) into movingDir.
func (w *walker) setAside(dst int, name, p string) error {
	if w.movingFd < 0 {
		if err := unix.Mkdirat(w.partialFd, movingDir, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
			return err
		}
		fd, err := unix.Openat(w.partialFd, movingDir, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		w.movingFd = fd
	}
	w.asideMu.Lock()
	defer w.asideMu.Unlock()
	slot := strconv.Itoa(len(w.aside))
	if err := unix.Renameat(dst, name, w.movingFd, slot); errors.Is(err, unix.ENOENT) {
		return nil // renamed to where it moved already
	} else if err != nil {
		return err
	}
	w.aside[p] = "/" + movingDir + "/" + slot
	return nil
}

// maxAsideFiles bounds the gone files set aside in one run (and the
// memory their names take); the rest are removed at once.
const maxAsideFiles = 100_000

// mayMove says whether the gone entry v is set aside rather than removed:
// a folder always (it may have moved, see renameIn), a file while there is
// room, so that a file moved to a folder walked later (or earlier: the
// new name may be met first) can still be renamed into place
// (renameFileIn). What is left in movingDir goes at the end of the walk.
func (w *walker) mayMove(v catalog.Version) bool {
	switch v.Meta.Type {
	case fsmeta.Dir:
		return true
	case fsmeta.File:
		return v.Meta.Nlink == 1 && len(w.aside) < maxAsideFiles
	}
	return false
}

// whereNow is where the previous snapshot's folder at source path from is
// in the snapshot being written: at from, or below a folder set aside.
func (w *walker) whereNow(from string) string {
	w.asideMu.Lock()
	defer w.asideMu.Unlock()
	for a := from; ; a = filepath.Dir(a) {
		if at, ok := w.aside[a]; ok {
			return at + strings.TrimPrefix(from, a)
		}
		if a == "/" {
			return from
		}
	}
}

// renameIn moves the previous snapshot's folder e.from to e's place, if
// the snapshot still holds it untouched: the same inode as in the
// previous snapshot (a snapshot keeps inode numbers), not a folder this
// run has entered or kept for its own place. Whatever e's place held is set aside first.
func (w *walker) renameIn(e *entry) bool {
	b := w.b
	if w.entered[e.from] {
		return false
	}
	at := w.whereNow(e.from)
	var was, now unix.Stat_t
	if longpath.Lstat(b.prevDir+e.from, &was) != nil || longpath.Lstat(b.partial+at, &now) != nil ||
		was.Ino != now.Ino || now.Mode&unix.S_IFMT != unix.S_IFDIR {
		return false
	}
	var here unix.Stat_t
	if unix.Fstatat(e.dir.dst, e.name, &here, unix.AT_SYMLINK_NOFOLLOW) == nil {
		var err error
		if here.Mode&unix.S_IFMT == unix.S_IFDIR && e.dir.inPlace {
			err = w.setAside(e.dir.dst, e.name, filepath.Join(e.dir.from, e.name))
		} else {
			err = removeAt(e.dir.dst, e.name)
		}
		if err != nil {
			return false
		}
		// Set aside, the old folder may have been the moved one's parent.
		at = w.whereNow(e.from)
	}
	dirfd, name, done, err := longpath.Split(b.partial + at)
	if err != nil {
		return false
	}
	defer done()
	return unix.Renameat(dirfd, name, e.dir.dst, e.name) == nil
}

// renameFileIn moves the previous snapshot's file at source path from to
// e's place (a file renamed or moved in the source, with the same inode
// metadata), where the snapshot still holds that file untouched: the same
// inode number as in the previous snapshot, which a btrfs snapshot keeps.
// Nothing may be at from in the source any more (else it is a second
// name, or a new file there), and from's folder must be walked this run,
// as a folder carried over unwalked keeps all it had. False: nothing
// moved, the caller reflinks instead.
func (w *walker) renameFileIn(from string, e *entry) bool {
	b := w.b
	if !e.dir.inPlace || e.meta.Nlink != 1 || b.dirty != nil && !b.dirty[filepath.Dir(from)] {
		return false
	}
	var src unix.Stat_t
	if err := longpath.Lstat(from, &src); !errors.Is(err, unix.ENOENT) {
		return false
	}
	at := w.whereNow(from)
	var was, now unix.Stat_t
	if longpath.Lstat(b.prevDir+from, &was) != nil || longpath.Lstat(b.partial+at, &now) != nil ||
		was.Ino != now.Ino || now.Mode&unix.S_IFMT != unix.S_IFREG || now.Nlink != 1 {
		return false
	}
	dirfd, name, done, err := longpath.Split(b.partial + at)
	if err != nil {
		return false
	}
	defer done()
	e.dir.names.Lock()
	defer e.dir.names.Unlock()
	if unix.Renameat2(dirfd, name, e.dir.dst, e.name, unix.RENAME_NOREPLACE) != nil {
		return false
	}
	var moved unix.Stat_t
	if unix.Fstatat(e.dir.dst, e.name, &moved, unix.AT_SYMLINK_NOFOLLOW) != nil || moved.Ino != was.Ino {
		// The walk of the old folder put a new file at its name
		// meanwhile: that one goes back.
		unix.Renameat2(e.dir.dst, e.name, dirfd, name, unix.RENAME_NOREPLACE)
		return false
	}
	return true
}
