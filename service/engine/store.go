package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/keepsake/keepsake/service/btrfs"
	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/fsmeta"
	"github.com/keepsake/keepsake/service/internal/longpath"
	"github.com/keepsake/keepsake/service/repo"
	"golang.org/x/sys/unix"
)

// store is how snapshot folders are made, filled from the previous
// snapshot, published and deleted. The walk, the catalog and the names on
// the drive are the same for every store; what differs is the cost of a
// snapshot: a hardlink tree (linkStore) pays a mkdir per folder and a link
// per file however little changed, a btrfs subvolume snapshot of the
// previous one (btrfsStore) pays only for what changed.
type store interface {
	// begin makes partial, the folder of a new snapshot, from prev (the
	// folder of the host's previous snapshot, "" for none). inPlace says
	// the partial already holds prev's whole tree: an unchanged entry is
	// then kept by doing nothing, and the run removes what is gone.
	begin(partial, prev string) (inPlace bool, err error)
	// mkdir makes folder name in the snapshot folder dst. keep says the
	// one there, if any, is the previous snapshot's folder at the same
	// path: it is kept (kept true), entries and all.
	mkdir(dst int, name string, keep bool) (kept bool, err error)
	// keepPrev puts the previous snapshot's copy of the unchanged entry e
	// (e.name in e.dir.prev) into the snapshot; false: there is none to
	// keep, and the caller copies or recreates e.
	keepPrev(w *walker, e *entry) bool
	// reuse puts the stored file at path from into the snapshot as e:
	// content already on the drive costs no data. False: copy instead.
	reuse(w *walker, from string, e *entry) bool
	// move puts the previous snapshot's file at source path from, gone
	// from there in the source, into the snapshot as e, by renaming the
	// snapshot's own copy: a moved file costs no new inode. False: reuse
	// instead.
	move(w *walker, from string, e *entry) bool
	// reuseContent is reuse of a stored file whose metadata differs from
	// e's (a chmod): false where a reused file shares the stored one's
	// metadata (a hardlink).
	reuseContent(w *walker, from string, e *entry) bool
	// seal makes the finished partial unchangeable; it runs before the
	// catalog commit, so a resumed snapshot is sealed too.
	seal(partial string) error
	// remove deletes a snapshot folder (published, partial or set aside
	// for deletion) with everything in it.
	remove(dir string) error
	// settle waits until the space that removes freed on the drive at
	// root shows as free.
	settle(root string) error
}

// storeFor picks the store of a repository. Snapshots as btrfs subvolumes
// need root: deleting a subvolume is refused to other users unless the
// drive is mounted with user_subvol_rm_allowed. A btrfs repository can
// hold both kinds (pulls, snapshots from before), and btrfsStore.remove
// tells them apart.
func storeFor(r *repo.Repo) store {
	if testStore != nil {
		return testStore
	}
	if os.Geteuid() == 0 && onBtrfs(r.Root) {
		return btrfsStore{}
	}
	return linkStore{}
}

// testStore, when set, is every repository's store: tests make the
// snapshots an older Keepsake left on a btrfs drive.
var testStore store

func onBtrfs(dir string) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && st.Type == unix.BTRFS_SUPER_MAGIC
}

// linkStore makes each snapshot a new folder tree whose unchanged files
// are hardlinks to the previous snapshot's: it works on any filesystem
// with hardlinks.
type linkStore struct{}

func (linkStore) begin(partial, prev string) (bool, error) {
	return false, os.Mkdir(partial, 0o700)
}

func (linkStore) mkdir(dst int, name string, keep bool) (bool, error) {
	return false, unix.Mkdirat(dst, name, 0o700)
}

// keepPrev hardlinks the previous snapshot's copy of e. Running out of
// links (EMLINK, or the configured limit) or a missing previous copy is
// not an error: the caller copies instead.
func (linkStore) keepPrev(w *walker, e *entry) bool {
	if e.dir.prev < 0 || w.tooManyLinks(e.dir.prev, e.name) {
		return false
	}
	e.dir.names.Lock()
	defer e.dir.names.Unlock()
	return unix.Linkat(e.dir.prev, e.name, e.dir.dst, e.name, 0) == nil
}

func (linkStore) reuse(w *walker, from string, e *entry) bool { return w.linkPath(from, e) }

func (linkStore) reuseContent(*walker, string, *entry) bool { return false }

// move is reuse: a new tree holds nothing of the previous one to rename.
func (linkStore) move(*walker, string, *entry) bool { return false }

func (linkStore) seal(string) error { return nil }

func (linkStore) remove(dir string) error { return RemoveTree(dir, 4) }

func (linkStore) settle(string) error { return nil }

// btrfsStore makes each snapshot a btrfs subvolume: a writable snapshot of
// the host's previous one (O(1), sharing every block), to which the run
// applies only the changes, then made read-only. Content already on the
// drive is reflinked (FICLONE) rather than hardlinked: hardlinks cannot
// cross subvolumes, and a reflink is a file of its own, whose metadata may
// differ from the stored copy's.
type btrfsStore struct{}

func (btrfsStore) begin(partial, prev string) (bool, error) {
	host, err := unix.Open(filepath.Dir(partial), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, err
	}
	defer unix.Close(host)
	name := filepath.Base(partial)
	inPlace := false
	if sub, _ := isSubvolumeDir(prev); sub {
		src, err := unix.Open(prev, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return false, err
		}
		err = btrfs.Snapshot(src, host, name, false)
		unix.Close(src)
		if err != nil {
			return false, err
		}
		inPlace = true
	} else if err := btrfs.Create(host, name); err != nil {
		// The first snapshot, or one after hardlink snapshots: an empty
		// subvolume, filled by reflinks from the previous folder.
		return false, err
	}
	// The extra files are the previous run's; this one writes its own.
	if err := os.RemoveAll(filepath.Join(partial, catalog.ExtraDir)); err != nil {
		return inPlace, err
	}
	// Private until published, as a new folder is (its files may be
	// readable by others before their metadata is applied).
	return inPlace, os.Chmod(partial, 0o700)
}

// isSubvolumeDir says whether the folder at p is a btrfs subvolume.
func isSubvolumeDir(p string) (bool, error) {
	if p == "" {
		return false, nil
	}
	parent, err := unix.Open(filepath.Dir(p), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, err
	}
	defer unix.Close(parent)
	return btrfs.IsSubvolume(parent, filepath.Base(p))
}

func (btrfsStore) mkdir(dst int, name string, keep bool) (bool, error) {
	err := unix.Mkdirat(dst, name, 0o700)
	if !errors.Is(err, unix.EEXIST) {
		return false, err
	}
	var st unix.Stat_t
	if keep && unix.Fstatat(dst, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return true, nil
	}
	if err := removeAt(dst, name); err != nil {
		return false, err
	}
	return false, unix.Mkdirat(dst, name, 0o700)
}

// keepPrev does nothing for an entry the snapshot already holds; in a
// folder made anew (a folder that moved, or the first subvolume after
// hardlink snapshots) it reflinks the previous snapshot's file with its
// metadata, or makes its symlink again.
func (btrfsStore) keepPrev(w *walker, e *entry) bool {
	if e.dir.inPlace && !e.cleared {
		e.asIs = true
		return true
	}
	if e.dir.prev < 0 {
		return false
	}
	if e.meta.Type == fsmeta.Symlink {
		return symlinkPrev(w, e)
	}
	if e.meta.Type != fsmeta.File {
		return false
	}
	src, err := unix.Openat(e.dir.prev, e.name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(src)
	var st unix.Stat_t
	if unix.Fstat(src, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return false
	}
	m := fsmeta.FromStat(&st)
	if m.CompleteAt(e.dir.prev, e.name) != nil {
		return false
	}
	return cloneInto(w, src, m, e)
}

// symlinkPrev makes symlink e in the snapshot as the previous snapshot
// has it: the walk knows an unchanged symlink by its stat alone, without
// its target.
func symlinkPrev(w *walker, e *entry) bool {
	var st unix.Stat_t
	if unix.Fstatat(e.dir.prev, e.name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil || st.Mode&unix.S_IFMT != unix.S_IFLNK {
		return false
	}
	m := fsmeta.FromStat(&st)
	if m.CompleteAt(e.dir.prev, e.name) != nil {
		return false
	}
	e.dir.names.Lock()
	err := unix.Symlinkat(m.LinkTarget, e.dir.dst, e.name)
	e.dir.names.Unlock()
	if err == nil {
		err = fsmeta.ApplyAt(e.dir.dst, e.name, m, fsmeta.ApplyOptions{Owner: w.b.chown, Xattrs: true})
	}
	if err != nil {
		w.unlinkDst(e)
		return false
	}
	return true
}

func (btrfsStore) reuse(w *walker, from string, e *entry) bool {
	dirfd, name, done, err := longpath.Split(from)
	if err != nil {
		return false
	}
	defer done()
	src, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(src)
	return cloneInto(w, src, e.meta, e)
}

func (btrfsStore) move(w *walker, from string, e *entry) bool { return w.renameFileIn(from, e) }

// reuseContent is reuse: a reflink is a file of its own.
func (s btrfsStore) reuseContent(w *walker, from string, e *entry) bool { return s.reuse(w, from, e) }

// cloneInto makes e in the snapshot a reflink of the open stored file src,
// with metadata m. Nothing is left behind when it fails.
func cloneInto(w *walker, src int, m fsmeta.Meta, e *entry) bool {
	e.dir.names.Lock()
	out, err := unix.Openat(e.dir.dst, e.name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	e.dir.names.Unlock()
	if err != nil {
		return false
	}
	err = btrfs.Clone(out, src)
	if err == nil {
		err = fsmeta.ApplyFile(out, m, fsmeta.ApplyOptions{Owner: w.b.chown, Xattrs: true})
	}
	unix.Close(out)
	if err != nil {
		w.unlinkDst(e)
		return false
	}
	return true
}

func (btrfsStore) seal(partial string) error {
	fd, err := unix.Open(partial, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return btrfs.SetReadOnly(fd, true)
}

// remove deletes a subvolume at once, whatever it holds; a plain folder
// (a pull's snapshot, one from before) is removed file by file.
func (btrfsStore) remove(dir string) error {
	sub, err := isSubvolumeDir(dir)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !sub {
		return RemoveTree(dir, 4)
	}
	parent, err := unix.Open(filepath.Dir(dir), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(parent)
	return btrfs.Delete(parent, filepath.Base(dir))
}

// settle waits for the kernel's cleaner: a deleted subvolume's space is
// freed after the deletion returns.
func (btrfsStore) settle(root string) error {
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return btrfs.WaitCleaned(fd, 10*time.Minute)
}

// removeAt removes name from the folder dirfd, whatever it is: a folder
// with everything in it. Symlinks are removed, never followed.
func removeAt(dirfd int, name string) error {
	err := unix.Unlinkat(dirfd, name, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	if err := emptyDir(fd); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	if err := unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	return nil
}

// emptyDir removes everything in the open folder fd and closes it.
func emptyDir(fd int) error {
	f := os.NewFile(uintptr(fd), "")
	defer f.Close()
	// All names first: removing while reading a folder may skip some.
	names, err := f.Readdirnames(-1)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := removeAt(fd, n); err != nil {
			return err
		}
	}
	return nil
}

// unseal makes a published snapshot writable for a repair, if it is a
// read-only subvolume; reseal makes it read-only again.
func unseal(dir string) (reseal func() error, err error) {
	none := func() error { return nil }
	if sub, err := isSubvolumeDir(dir); err != nil || !sub {
		return none, nil
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return none, err
	}
	ro, err := btrfs.ReadOnly(fd)
	if err == nil && ro {
		err = btrfs.SetReadOnly(fd, false)
	}
	if err != nil || !ro {
		unix.Close(fd)
		return none, err
	}
	return func() error {
		defer unix.Close(fd)
		return btrfs.SetReadOnly(fd, true)
	}, nil
}
