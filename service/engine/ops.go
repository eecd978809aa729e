package engine

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/keepsake/keepsake/service/fsmeta"
	"github.com/keepsake/keepsake/service/internal/longpath"
	"golang.org/x/sys/unix"
)

// pool runs file work on a few goroutines: copies overlap with hashing and
// with the walker's stat calls.
type pool struct {
	jobs chan func()
}

func newPool(n int) *pool {
	p := &pool{jobs: make(chan func())}
	for i := 0; i < n; i++ {
		go func() {
			for f := range p.jobs {
				f()
			}
		}()
	}
	return p
}

func (p *pool) close() { close(p.jobs) }

// The process's identity and umask, read once: they decide which calls a
// freshly created copy still needs.
var (
	euid, egid = os.Geteuid(), os.Getegid()
	umask      = func() uint32 { old := unix.Umask(0o022); unix.Umask(old); return uint32(old) }()
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// do is one entry's work on a pool goroutine.
func (w *walker) do(e *entry) {
	b := w.b
	switch e.op {
	case opLinkPrev:
		// Called when linking the previous copy failed.
		if e.meta.Type == fsmeta.Symlink {
			w.symlink(e)
			return
		}
		w.copy(e)
	case opLinkInode:
		if !w.linkPath(e.inodeFrom, e) {
			w.copy(e)
			return
		}
		e.linked = true
	case opCopy:
		if !b.opts.DryRun {
			w.copy(e)
		}
	case opHash:
		w.hashThenLink(e)
	case opSymlink:
		w.symlink(e)
	}
}

// hashThenLink hashes a changed or new file whose size and mtime some
// stored version shares, and links that stored copy when content and inode
// metadata match (a moved, renamed or copied file); otherwise it copies.
func (w *walker) hashThenLink(e *entry) {
	b := w.b
	if !b.opts.Rehash {
		v, ok, err := b.txn.Renamed(e.meta)
		if err != nil {
			e.err = err
			return
		}
		if ok {
			if sameInodeMeta(v.Meta, e.meta) && !b.opts.DryRun &&
				(b.store.move(w, v.Path(), e) || b.store.reuse(w, b.prevDir+v.Path(), e)) {
				e.sum, e.op, e.linked = v.SHA256, opLinkFound, true
				return
			}
			w.linkFound(e, v.SHA256)
			return
		}
	}
	dirfd, name := e.srcAt()
	sum, st, err := hashSource(dirfd, name)
	if err != nil {
		w.skipEntry(e, "cannot read: "+err.Error())
		return
	}
	e.hashed = true
	if now := fsmeta.FromStat(st); !sameStat(&now, &e.meta) {
		e.op = opCopy // changed since the walk looked
		if !b.opts.DryRun {
			w.copy(e)
		}
		return
	}
	e.sum = sum
	if b.opts.Rehash && e.prev != nil && sameStat(&e.prev.Meta, &e.meta) && sameSum(e.prev.SHA256, sum) {
		e.op = opLinkPrev
		if !b.opts.DryRun && !w.linkPrev(e) {
			w.copy(e)
		}
		return
	}
	w.linkFound(e, sum)
}

// linkFound links a stored copy of content sum whose inode metadata
// matches, or copies.
func (w *walker) linkFound(e *entry, sum []byte) {
	b := w.b
	e.sum = sum
	cands, err := b.txn.Linkable(sum, e.meta, 4)
	if err != nil {
		e.err = err
		return
	}
	e.op = opLinkFound
	if b.opts.DryRun {
		e.linked = len(cands) > 0
		return
	}
	for _, c := range cands {
		from := b.r.SnapshotDir(c.Host, c.Snapshot)
		if c.Current {
			from = b.partial
		}
		if b.store.reuse(w, from+c.Path, e) {
			e.linked = true
			return
		}
	}
	// The same content as the previous version, other metadata (a chmod,
	// a touch): where the store can, the previous copy's data is reused.
	if e.prev != nil && sameSum(e.prev.SHA256, sum) && e.dir.prev >= 0 && e.dir.from != "" &&
		b.store.reuseContent(w, b.prevDir+filepath.Join(e.dir.from, e.name), e) {
		e.linked = true
		return
	}
	w.copy(e)
}

// tooManyLinks applies a configured link limit below the filesystem's.
func (w *walker) tooManyLinks(dirfd int, name string) bool {
	if w.b.linkMax == 0 {
		return false
	}
	var st unix.Stat_t
	return unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil || uint64(st.Nlink) >= w.b.linkMax
}

// linkPrev keeps the previous snapshot's copy of the unchanged entry e
// (a hardlink, or nothing at all on btrfs) and reports success; false is
// not an error: the caller copies instead.
func (w *walker) linkPrev(e *entry) bool { return w.b.store.keepPrev(w, e) }

// linkPath hardlinks a stored file given by path as e.
func (w *walker) linkPath(from string, e *entry) bool {
	dirfd, name, done, err := longpath.Split(from)
	if err != nil {
		return false
	}
	defer done()
	if w.tooManyLinks(dirfd, name) {
		return false
	}
	e.dir.names.Lock()
	defer e.dir.names.Unlock()
	return unix.Linkat(dirfd, name, e.dir.dst, e.name, 0) == nil
}

func (w *walker) symlink(e *entry) {
	if e.mode == reuse {
		e.meta = e.prev.Meta
	}
	e.dir.names.Lock()
	err := unix.Symlinkat(e.meta.LinkTarget, e.dir.dst, e.name)
	e.dir.names.Unlock()
	if nameRefused(err) {
		w.skipEntry(e, "the backup drive refuses this name: "+err.Error())
		return
	}
	if err != nil {
		e.err = targetError(err, "create symlink "+e.path)
		return
	}
	if err := fsmeta.ApplyAt(e.dir.dst, e.name, e.meta, fsmeta.ApplyOptions{Owner: w.b.chown, Xattrs: true}); err != nil {
		e.err = targetError(err, "set metadata of "+e.path)
	}
}

// copy copies a file from the source, hashes the copy and checks that the
// source did not change meanwhile. A file that keeps changing is skipped
// (keeping its previous version when there is one), never recorded as a
// good copy.
func (w *walker) copy(e *entry) {
	const attempts = 3
	for i := 0; i < attempts; i++ {
		stable, err := w.copyOnce(e)
		if stable && e.err == nil {
			w.shareRunCopy(e)
		}
		if stable || e.err != nil {
			return
		}
		if err != nil {
			// The source side failed (unreadable, vanished, no longer a
			// file) or the drive refused the name: this entry only.
			w.skipEntry(e, e.skip)
			return
		}
		w.unlinkDst(e)
	}
	w.skipEntry(e, fmt.Sprintf("changed while being copied (%d attempts)", attempts))
}

// shareRunCopy makes e, a file this run just copied, share the data of
// an earlier copy of the same run with the same content and inode
// metadata (a hardlink to it, or a reflink on btrfs), and otherwise notes
// e as that copy. Both were new to the drive, so neither was found stored
// when it was looked for: without this, a file and its copy that arrive
// in one backup would be stored twice, in that snapshot and every later
// one. The copy is set aside first and put back if the link fails.
//
// Only files of shareMin bytes or more are remembered: the memory stays
// bounded by the data (a tree of 500 000 small files remembers none),
// and a duplicate smaller than that costs the drive a few blocks.
func (w *walker) shareRunCopy(e *entry) {
	b := w.b
	if b.opts.DryRun || e.meta.Size < shareMin || len(e.sum) != 32 {
		return
	}
	key := keptKeyOf(e.sum, e.meta)
	b.runMu.Lock()
	first, ok := b.runCopies[key]
	if !ok {
		if b.runCopies == nil {
			b.runCopies = map[keptKey]string{}
		}
		b.runCopies[key] = e.path
	}
	b.runMu.Unlock()
	if !ok {
		return
	}
	aside := ".keepsake-copy-" + strconv.FormatUint(b.asideSeq.Add(1), 10)
	e.dir.names.Lock()
	err := unix.Renameat2(e.dir.dst, e.name, e.dir.dst, aside, unix.RENAME_NOREPLACE)
	e.dir.names.Unlock()
	if err != nil {
		return
	}
	if b.store.reuse(w, w.rel(first), e) {
		unix.Unlinkat(e.dir.dst, aside, 0)
		e.op, e.copied, e.linked = opLinkFound, false, true
		return
	}
	e.dir.names.Lock()
	if err := unix.Renameat2(e.dir.dst, aside, e.dir.dst, e.name, unix.RENAME_NOREPLACE); err != nil {
		e.err = targetError(err, "put back the copy of "+e.path)
	}
	e.dir.names.Unlock()
}

// shareMin is the least size of a copy shareRunCopy remembers.
const shareMin = 64 << 10

// skipEntry gives up on e for this run, saying why. What a failed attempt
// left in the snapshot goes; the previous snapshot's version of the file,
// when there is one, takes its place (and stays current in the catalog),
// so a file that cannot be read today is not missing from the newest
// snapshot.
func (w *walker) skipEntry(e *entry, why string) {
	w.unlinkDst(e)
	e.skip = why
	if e.prev != nil && e.prev.Meta.Type == e.meta.Type && (e.meta.Type == fsmeta.File || e.meta.Type == fsmeta.Symlink) && w.linkPrev(e) {
		e.keptPrev = true
		e.skip += "; the previous version is kept in this snapshot"
	}
}

func (w *walker) unlinkDst(e *entry) {
	if w.b.opts.DryRun || e.dir.dst < 0 {
		return
	}
	e.dir.names.Lock()
	unix.Unlinkat(e.dir.dst, e.name, 0)
	e.dir.names.Unlock()
	e.cleared = true
}

// clearDst removes what the snapshot holds at e's name, in a folder that
// came whole from the previous snapshot, before the run writes e anew.
func (w *walker) clearDst(e *entry) error {
	e.dir.names.Lock()
	err := removeAt(e.dir.dst, e.name)
	e.dir.names.Unlock()
	e.cleared = true
	if err != nil {
		return targetError(err, "replace "+e.path)
	}
	return nil
}

// nameRefused says the drive's filesystem will not take a name the source
// has (EILSEQ, EINVAL: invalid UTF-8 in a strict case-folding folder;
// ENAMETOOLONG: a longer encoded name): only that entry is left out.
func nameRefused(err error) bool {
	return errors.Is(err, unix.EILSEQ) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENAMETOOLONG)
}

func (w *walker) copyOnce(e *entry) (stable bool, err error) {
	dirfd, name := e.srcAt()
	src, err := openSource(dirfd, name)
	if err != nil {
		e.skip = "cannot read: " + err.Error()
		return false, err
	}
	defer unix.Close(src)
	var before, after unix.Stat_t
	if err := unix.Fstat(src, &before); err != nil || before.Mode&unix.S_IFMT != unix.S_IFREG {
		e.skip = "no longer a regular file"
		return false, errors.New(e.skip)
	}
	// Created with its final permissions when the umask lets it be, which
	// spares a chmod per file. The snapshot folder is private (0700) until
	// the end, so nobody else can open the file meanwhile.
	perm := before.Mode & 0o777
	e.dir.names.Lock()
	out, err := unix.Openat(e.dir.dst, e.name, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
	e.dir.names.Unlock()
	if nameRefused(err) {
		e.skip = "the backup drive refuses this name: " + err.Error()
		return false, err
	}
	if err != nil {
		e.err = targetError(err, "create "+e.path)
		return false, err
	}
	defer unix.Close(out)
	n, err := copyData(src, out, before.Size)
	if err != nil {
		if isTargetErr(err) {
			e.err = targetError(err, "copy "+e.path)
		} else {
			e.skip = "cannot read: " + err.Error()
		}
		return false, err
	}
	w.b.stats.copied.Add(n)
	sum, err := hashFd(out, n)
	if err != nil {
		e.err = targetError(err, "read back "+e.path)
		return false, err
	}
	if err := unix.Fstat(src, &after); err != nil {
		e.skip = "cannot read: " + err.Error()
		return false, err
	}
	if n != before.Size || after.Size != before.Size || after.Mtim != before.Mtim || after.Ctim != before.Ctim {
		return false, nil
	}
	m := fsmeta.FromStat(&before)
	m.User, m.Group, m.Xattrs = e.meta.User, e.meta.Group, e.meta.Xattrs
	if m.User == "" && m.Group == "" {
		m.User, m.Group = fsmeta.UserName(m.UID), fsmeta.GroupName(m.GID)
	}
	e.meta, e.sum, e.copied, e.hashed = m, sum, true, true
	opt := fsmeta.ApplyOptions{
		// A new file already belongs to this process's user and group.
		Owner:   w.b.chown && (m.UID != uint32(euid) || m.GID != uint32(egid)),
		Xattrs:  true,
		ModeSet: m.Mode == perm&^umask,
	}
	if err := fsmeta.ApplyFile(out, e.meta, opt); err != nil {
		e.err = targetError(err, "set metadata of "+e.path)
		return false, err
	}
	return true, nil
}

// copyData copies the first size bytes of src into the empty file dst and
// returns how many of them it found; fewer than size means src shrank
// meanwhile. Only the data ranges that SEEK_DATA and SEEK_HOLE report are
// copied, at their own offsets, and dst gets its length from ftruncate:
// a sparse file (a disk image, a VM disk) keeps its holes on the drive
// instead of filling it with zeros, a trailing hole included. Nothing is
// ever written for a hole, so no kernel's copy_file_range gets the chance
// to fill one. Ranges go with copy_file_range: the kernel moves (or
// reflinks) the data without it passing through this process; where it
// cannot (different filesystems), with pread and pwrite.
func copyData(src, dst int, size int64) (int64, error) {
	plain := false
	var written int64 // end of the last data range
	for off := int64(0); off < size; {
		start, end, err := dataRange(src, off, size)
		if err != nil {
			return off, &readError{err}
		}
		if start < end {
			written = end
		}
		for start < end {
			var c int64
			if plain {
				c, err = copyRangePlain(src, dst, start, end-start)
			} else {
				c, err = copyRange(src, dst, start, end-start)
				if errors.Is(err, unix.EXDEV) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP) {
					plain = true // offsets are explicit: go on from here
					continue
				}
				if err != nil {
					// copy_file_range does not say which side failed:
					// the same range through a buffer does.
					c, err = copyRangePlain(src, dst, start, end-start)
				}
			}
			if err != nil {
				return start, err
			}
			if c == 0 {
				return start, nil // shorter than it was: the caller sees the change
			}
			start += c
		}
		off = end
	}
	// Stop at the size stat gave: a file that grew meanwhile shows a new
	// size and mtime afterwards and is copied again. A trailing hole
	// (or a file that is all hole) is only a length.
	if written < size {
		if err := unix.Ftruncate(dst, size); err != nil {
			return 0, fmt.Errorf("set the length of the copy: %w", err)
		}
	}
	return size, nil
}

// dataRange finds the first range of data of fd at or after off, cut at
// size; start == end == size when only a hole is left. A file system
// without SEEK_DATA gets the generic answer (all data, one hole at the
// end); one that refuses it is read as all data.
func dataRange(fd int, off, size int64) (start, end int64, err error) {
	start, err = unix.Seek(fd, off, unix.SEEK_DATA)
	switch {
	case errors.Is(err, unix.ENXIO):
		// Only a hole up to the end, or the end of a file that shrank
		// since stat: the caller's checks of size and times see that.
		return size, size, nil
	case errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP):
		return off, size, nil
	case err != nil:
		return 0, 0, fmt.Errorf("find data (SEEK_DATA): %w", err)
	}
	if start >= size {
		return size, size, nil
	}
	end, err = unix.Seek(fd, start, unix.SEEK_HOLE)
	if err != nil || end > size {
		// A file that shrank meanwhile ends the copy short, which the
		// caller notices.
		end = size
	}
	return start, end, nil
}

// copyRange copies up to n bytes at off of src to the same offset of dst
// with one copy_file_range call.
func copyRange(src, dst int, off, n int64) (int64, error) {
	roff, woff := off, off
	for {
		c, err := unix.CopyFileRange(src, &roff, dst, &woff, int(min(n, 1<<30)), 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return int64(c), err
	}
}

// copyRangePlain copies up to n bytes at off of src to the same offset of
// dst through a buffer.
func copyRangePlain(src, dst int, off, n int64) (int64, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	if n < int64(len(buf)) {
		buf = buf[:n]
	}
	r, err := unix.Pread(src, buf, off)
	for errors.Is(err, unix.EINTR) {
		r, err = unix.Pread(src, buf, off)
	}
	if err != nil {
		return 0, &readError{err}
	}
	for w := 0; w < r; {
		c, err := unix.Pwrite(dst, buf[w:r], off+int64(w))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return 0, err
		}
		w += c
	}
	return int64(r), nil
}

// zeros stands for the content of holes while hashing.
var zeros [256 << 10]byte

// hashFd hashes the first n bytes of fd (fewer if it is shorter) with
// pread. Holes count as the zeros they read as, so the sum is that of the
// whole logical content, the same for a sparse file and a filled-in copy
// of it (dedup and verify rely on that), but they are hashed from memory:
// reading 2 GiB of hole through the page cache costs seconds.
func hashFd(fd int, n int64) ([]byte, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	n = min(n, st.Size)
	h := sha256.New()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	for off := int64(0); off < n; {
		start, end, err := dataRange(fd, off, n)
		if err != nil {
			return nil, err
		}
		for off < start {
			c := min(start-off, int64(len(zeros)))
			h.Write(zeros[:c])
			off += c
		}
		for off < end {
			r, err := unix.Pread(fd, buf[:min(end-off, int64(len(buf)))], off)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if r == 0 {
				return h.Sum(nil), nil // shrank meanwhile: the caller's stat sees it
			}
			h.Write(buf[:r])
			off += int64(r)
		}
	}
	return h.Sum(nil), nil
}

// isTargetErr tells errors of the drive we write to from errors reading the
// source during a copy (copy_file_range reports both).
func isTargetErr(err error) bool {
	var re *readError
	if errors.As(err, &re) {
		return false
	}
	return errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT) || errors.Is(err, unix.EROFS) ||
		errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENXIO) || errors.Is(err, unix.EIO)
}

// openSource opens a source file for reading, never through a symlink.
// O_NOATIME keeps backups from touching atime; only the owner or root may
// ask for it, so fall back without.
func openSource(dirfd int, name string) (int, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NOATIME|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.EPERM) {
		fd, err = unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	}
	return fd, err
}

// hashSource hashes a source file and returns its stat; a file that
// changed while being read is reported with a ctime that cannot match.
func hashSource(dirfd int, name string) ([]byte, *unix.Stat_t, error) {
	fd, err := openSource(dirfd, name)
	if err != nil {
		return nil, nil, err
	}
	defer unix.Close(fd)
	var st, after unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, nil, err
	}
	sum, err := hashFd(fd, st.Size)
	if err != nil {
		return nil, nil, err
	}
	if err := unix.Fstat(fd, &after); err != nil {
		return nil, nil, err
	}
	if after.Mtim != st.Mtim || after.Size != st.Size || after.Ctim != st.Ctim {
		after.Ctim.Nsec++
		return sum, &after, nil
	}
	return sum, &st, nil
}

// readError is a failure to read the source during a copy: that file's
// problem (a failing disk, a FUSE filesystem's error), not the drive's.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }
