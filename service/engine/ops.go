package engine

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/keepsake/keepsake/service/fsmeta"
	"golang.org/x/sys/unix"
)

// pool runs file work on a few goroutines: copies overlap with hashing and
// with the walker's stat calls.
type pool struct {
	jobs chan func()
	wg   sync.WaitGroup
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

// runOps does the entries' work and returns the first error about the
// target (a full or vanished drive), which ends the run.
func (w *walker) runOps(es []*entry) error {
	if len(es) == 0 {
		return nil
	}
	var wg sync.WaitGroup
	for _, e := range es {
		if e.op == opNone || (w.b.opts.DryRun && e.op != opHash) {
			continue
		}
		e := e
		wg.Add(1)
		w.b.pool.jobs <- func() {
			defer wg.Done()
			w.do(e)
		}
	}
	wg.Wait()
	for _, e := range es {
		if e.err != nil {
			return e.err
		}
	}
	return nil
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

func (w *walker) do(e *entry) {
	b := w.b
	dst := w.rel(e.path)
	switch e.op {
	case opLinkPrev:
		from := b.prevDir + e.path
		if e.mode == reuse || b.prevDir == "" {
			// nothing else to fall back on than the previous copy
		}
		if w.link(from, dst) {
			return
		}
		if e.meta.Type == fsmeta.Symlink {
			if e.mode == reuse {
				e.meta = e.prev.Meta
			}
			w.symlink(e, dst)
			return
		}
		w.copy(e, dst)
	case opLinkFound:
		for _, c := range e.cands {
			from := b.r.SnapshotDir(c.Host, c.Snapshot)
			if c.Current {
				from = b.partial
			}
			if w.link(from+c.Path, dst) {
				e.linked = true
				return
			}
		}
		w.copy(e, dst)
	case opLinkInode:
		if w.link(e.inodeFrom, dst) {
			e.linked = true
			return
		}
		w.copy(e, dst)
	case opCopy:
		w.copy(e, dst)
	case opHash:
		sum, st, err := hashSource(e.path)
		if err != nil {
			e.skip = "cannot read: " + err.Error()
			return
		}
		if !sameStat(fsmeta.FromStat(st), e.meta) {
			e.op = opCopy // changed since the walk looked: copy it
			return
		}
		e.sum = sum
	case opSymlink:
		w.symlink(e, dst)
	}
}

// link makes a hardlink and reports success. Running out of links (EMLINK,
// or the configured limit) or a missing previous copy is not an error: the
// caller copies instead.
func (w *walker) link(from, to string) bool {
	if w.b.linkMax > 0 {
		var st unix.Stat_t
		if unix.Lstat(from, &st) != nil || uint64(st.Nlink) >= w.b.linkMax {
			return false
		}
	}
	return os.Link(from, to) == nil
}

func (w *walker) symlink(e *entry, dst string) {
	if err := os.Symlink(e.meta.LinkTarget, dst); err != nil {
		e.err = w.b.targetErr(err, "create symlink "+e.path)
		return
	}
	if err := fsmeta.ApplyAt(unix.AT_FDCWD, dst, e.meta, fsmeta.ApplyOptions{Owner: w.b.chown, Xattrs: true}); err != nil {
		e.err = w.b.targetErr(err, "set metadata of "+e.path)
	}
}

// copy copies a file from the source, hashes the copy and checks that the
// source did not change meanwhile. A file that keeps changing is skipped
// (keeping its previous version when there is one), never recorded as a
// good copy.
func (w *walker) copy(e *entry, dst string) {
	const attempts = 3
	for i := 0; i < attempts; i++ {
		m, sum, stable, err := w.copyOnce(e, dst)
		if err != nil {
			return
		}
		if stable {
			m.User, m.Group, m.Xattrs = e.meta.User, e.meta.Group, e.meta.Xattrs
			if m.User == "" && m.Group == "" {
				m.User, m.Group = fsmeta.UserName(m.UID), fsmeta.GroupName(m.GID)
			}
			e.meta, e.sum, e.copied = m, sum, true
			if err := fsmeta.ApplyAt(unix.AT_FDCWD, dst, e.meta, fsmeta.ApplyOptions{Owner: w.b.chown, Xattrs: true}); err != nil {
				e.err = w.b.targetErr(err, "set metadata of "+e.path)
			}
			return
		}
		os.Remove(dst)
	}
	e.skip = fmt.Sprintf("changed while being copied (%d attempts)", attempts)
	if e.prev != nil && e.prev.Meta.Type == fsmeta.File && w.b.prevDir != "" && w.link(w.b.prevDir+e.path, dst) {
		e.keptPrev = true
		e.skip += "; the previous version is kept in this snapshot"
	}
}

func (w *walker) copyOnce(e *entry, dst string) (fsmeta.Meta, []byte, bool, error) {
	src, err := openSource(e.path)
	if err != nil {
		e.skip = "cannot read: " + err.Error()
		return fsmeta.Meta{}, nil, false, err
	}
	defer src.Close()
	var before, after unix.Stat_t
	if err := unix.Fstat(int(src.Fd()), &before); err != nil || before.Mode&unix.S_IFMT != unix.S_IFREG {
		e.skip = "no longer a regular file"
		return fsmeta.Meta{}, nil, false, errors.New(e.skip)
	}
	out, err := os.OpenFile(dst, os.O_RDWR|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		e.err = w.b.targetErr(err, "create "+e.path)
		return fsmeta.Meta{}, nil, false, err
	}
	defer out.Close()
	// ReadFrom between two files is copy_file_range: the kernel copies
	// (or reflinks) without the data passing through this process.
	n, err := out.ReadFrom(src)
	if err != nil {
		if isTargetErr(err) {
			e.err = w.b.targetErr(err, "copy "+e.path)
		} else {
			e.skip = "cannot read: " + err.Error()
		}
		return fsmeta.Meta{}, nil, false, err
	}
	w.b.stats.copied.Add(n)
	h := sha256.New()
	bp := bufPool.Get().(*[]byte)
	_, err = io.CopyBuffer(h, io.NewSectionReader(out, 0, n), *bp)
	bufPool.Put(bp)
	if err != nil {
		e.err = w.b.targetErr(err, "read back "+e.path)
		return fsmeta.Meta{}, nil, false, err
	}
	if err := unix.Fstat(int(src.Fd()), &after); err != nil {
		e.skip = "cannot read: " + err.Error()
		return fsmeta.Meta{}, nil, false, err
	}
	stable := n == before.Size && after.Size == before.Size && after.Mtim == before.Mtim && after.Ctim == before.Ctim
	return fsmeta.FromStat(&before), h.Sum(nil), stable, nil
}

// isTargetErr tells errors of the drive we write to from errors reading the
// source during a copy (copy_file_range reports both).
func isTargetErr(err error) bool {
	return errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT) || errors.Is(err, unix.EROFS) ||
		errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENXIO) || errors.Is(err, unix.EIO)
}

func openSource(p string) (*os.File, error) {
	// O_NOATIME keeps backups from touching atime; only the owner or root
	// may ask for it, so fall back without.
	f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NOATIME|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.EPERM) {
		f, err = os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	}
	return f, err
}

// hashSource hashes a source file and returns the stat taken before.
func hashSource(p string) ([]byte, *unix.Stat_t, error) {
	f, err := openSource(p)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil, nil, err
	}
	h := sha256.New()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	if _, err := io.CopyBuffer(h, f, *bp); err != nil {
		return nil, nil, err
	}
	var after unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &after); err != nil {
		return nil, nil, err
	}
	if after.Mtim != st.Mtim || after.Size != st.Size || after.Ctim != st.Ctim {
		after.Ctim.Nsec++ // make the caller see a change
		return h.Sum(nil), &after, nil
	}
	return h.Sum(nil), &st, nil
}
