package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/exclude"
	"github.com/keepsake/keepsake/service/fsmeta"
	"github.com/keepsake/keepsake/service/internal/longpath"
	"github.com/keepsake/keepsake/shared/kerr"
	"golang.org/x/sys/unix"
)

// walkMode says how a directory's entries are found.
type walkMode int

const (
	// scan reads the directory from the source.
	scan walkMode = iota
	// reuse takes the entries from the previous snapshot (dirty-dir mode,
	// a directory the watcher did not report).
	reuse
	// mountPoint records a folder where another filesystem is mounted,
	// and nothing in it: a backup stays on its sources' filesystems
	// unless told to include that one.
	mountPoint
	// ancestor lists only the children on the way to a source: "/" and
	// "/home" when "/home/u" is backed up.
	ancestor
)

// entry is one directory entry and what the run decided and did for it.
type entry struct {
	name  string
	path  string // absolute source path
	dir   *dirFds
	dirID int64
	meta  fsmeta.Meta
	prev  *catalog.Version
	// mode for a directory: how to walk it.
	mode walkMode
	// from, for a directory, is where the previous snapshot had it: its
	// own path, the old path of a folder that moved here (movedIn), or ""
	// for a folder that is new.
	from    string
	movedIn bool
	// replaced: at from, the previous snapshot had a folder of another
	// inode (recreated in place, or another folder took the name).
	replaced bool
	// withFolder: in a folder that moved, e came along with it.
	withFolder bool

	// outcome
	op       op
	sum      []byte
	cands    []catalog.Stored
	linked   bool // hardlinked to stored content
	copied   bool
	hashed   bool // its content was read this run
	keptPrev bool // skipped, previous version kept in the snapshot
	// kept: a folder the snapshot already held (btrfs), entries and all,
	// at its place or renamed there from where it was (a move).
	kept bool
	// cleared: what the snapshot held at this name was removed this run
	// (or never was); only an entry of an inPlace folder may be left as
	// it is.
	cleared bool
	// clearLater: a later name of a source hardlink, in an inPlace folder.
	clearLater bool
	// asIs: unchanged and left as the snapshot already held it (btrfs):
	// nothing was linked.
	asIs bool
	// metaOnly: a pulled file that is the previous snapshot's, data and
	// all, whose metadata rsync set anew in place (btrfs updates).
	metaOnly  bool
	skip      string
	err       error
	inodeFrom string // stored path of an earlier name of the same source inode
}

// op is the file system work an entry needs from the worker pool.
type op int

const (
	opNone      op = iota
	opLinkPrev     // hardlink the previous snapshot's copy
	opCopy         // copy from the source and hash the copy
	opHash         // hash the source, then decide
	opLinkFound    // hardlink stored content found by hash
	opSymlink      // create a symlink
	opLinkInode    // hardlink an earlier name of the same source inode
)

func (b *backup) walkAll(ctx context.Context) error {
	w := &walker{b: b, ctx: ctx, ancestors: b.ancestors()}
	return w.run()
}

// ancestors maps each ancestor directory of the sources to the names
// leading to a source; a source inside another source is walked as part
// of it. The walk and the count (count.go) start from it.
func (b *backup) ancestors() map[string]map[string]bool {
	children := map[string]map[string]bool{}
	var roots []string
	for _, s := range b.opts.Sources {
		nested := false
		for _, r := range roots {
			if s == r || strings.HasPrefix(s, strings.TrimSuffix(r, "/")+"/") {
				nested = true
			}
		}
		if nested {
			continue
		}
		roots = append(roots, s)
		for p := s; p != "/"; p = filepath.Dir(p) {
			parent := filepath.Dir(p)
			if children[parent] == nil {
				children[parent] = map[string]bool{}
			}
			children[parent][filepath.Base(p)] = true
		}
	}
	return children
}

// complete reads what a stat leaves out of e (xattrs, a symlink's
// target) through its folder's descriptor, which the walk holds open
// meanwhile: no lookup of the whole path and no open of its folder for
// each file, and nothing renamed along the path can redirect it.
func (e *entry) complete() error {
	if e.dir != nil && e.dir.src >= 0 {
		return e.meta.CompleteAt(e.dir.src, e.name)
	}
	return e.meta.Complete(e.path)
}

// dirFds are descriptors of one directory in the source, the previous
// snapshot and the snapshot being written (-1 where there is none).
// Working relative to them spares the kernel a full path lookup for each
// of the hundreds of thousands of stat, link and open calls of a run.
type dirFds struct {
	src, prev, dst int
	// inPlace: dst came whole from the previous snapshot's folder from
	// (btrfs): an unchanged entry is already there.
	inPlace bool
	from    string
	// names serializes creating names in dst. Creating entries takes the
	// folder's inode lock, on which the kernel spins: several workers
	// creating in one folder burn both cores spinning (seen on ext4 right
	// after a large delete) instead of copying.
	names sync.Mutex
}

func (d *dirFds) close() {
	for _, fd := range []int{d.src, d.prev, d.dst} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

func openDir(p string) int {
	fd, err := longpath.Open(p, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return -1
	}
	return fd
}

// openList opens folder p for listing: through src, the O_PATH descriptor
// the walk holds for it, when there is one (so the listing is of the
// folder that was checked, at any depth), else by path.
func openList(p string, src int) (*os.File, error) {
	var fd int
	var err error
	if src >= 0 {
		fd, err = unix.Openat(src, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	} else {
		fd, err = longpath.Open(p, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	return os.NewFile(uintptr(fd), p), nil
}

type walker struct {
	b         *backup
	ctx       context.Context
	ancestors map[string]map[string]bool

	// batches go from the walker to the recorder in walk order; queue
	// bounds the entries they hold.
	batches chan *batch
	queue   entryBudget
	// seenInodes are source inodes with several names met so far (walker
	// only); later names are linked in the last phase, once the first
	// name's copy exists.
	seenInodes map[[2]uint64]bool
	later      []*entry
	// dirMetas are applied at the very end, children before parents: a
	// folder's mtime moves whenever something is created in it.
	dirMetas []dirMeta

	errMu sync.Mutex
	err   error // the first error that ends the run

	prefetch *catalog.Prefetch

	// Where the snapshot began as the previous one (moves_btrfs.go): the
	// partial's root, movingDir once made, the folders set aside there
	// (by their path in the previous snapshot) and the folders entered.
	partialFd, movingFd int
	aside               map[string]string
	asideMu             sync.Mutex // aside is read by file moves on the pool
	entered             map[string]bool
}

// batch is one directory's work: the walker decides and starts it, the
// recorder waits for it and writes the catalog rows in walk order.
// maxQueued is how many entries may wait for the recorder: when the walk
// runs ahead (an unchanged backup reads the disk faster than the catalog
// takes rows), it waits rather than holding a big folder in memory.
const maxQueued = 8192

// entryBudget counts the entries handed to the recorder and not recorded.
type entryBudget struct {
	mu   sync.Mutex
	cond *sync.Cond
	used int
}

// acquire waits until n more entries fit (a batch bigger than the budget
// goes when nothing else waits).
func (q *entryBudget) acquire(n int) {
	q.mu.Lock()
	for q.used > 0 && q.used+n > maxQueued {
		q.cond.Wait()
	}
	q.used += n
	q.mu.Unlock()
}

func (q *entryBudget) release(n int) {
	q.mu.Lock()
	q.used -= n
	q.cond.Broadcast()
	q.mu.Unlock()
}

type batch struct {
	dirID   int64
	entries []*entry
	gone    []catalog.Version // previous entries no longer there
	fds     *dirFds
	last    bool // the folder's last slice: fds close after it
	queued  int  // entries counted in the walker's queue
	wg      sync.WaitGroup
}

func (w *walker) rel(p string) string { return w.b.partial + p }

func (w *walker) fail(err error) {
	w.errMu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.errMu.Unlock()
}

func (w *walker) failed() error {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	return w.err
}

// run walks from / in one goroutine while the pool copies and links and a
// recorder goroutine writes the catalog rows, so reading the catalog,
// file system calls and hashing overlap.
func (w *walker) run() error {
	b := w.b
	w.batches = make(chan *batch, 64)
	w.queue.cond = sync.NewCond(&w.queue.mu)
	w.seenInodes = map[[2]uint64]bool{}
	w.partialFd, w.movingFd = -1, -1
	if b.inPlace {
		if w.partialFd = openDir(b.partial); w.partialFd < 0 {
			return targetError(unix.ENOENT, "open the snapshot folder")
		}
		defer func() {
			unix.Close(w.partialFd)
			if w.movingFd >= 0 {
				unix.Close(w.movingFd)
			}
		}()
		w.aside, w.entered = map[string]string{}, map[string]bool{}
	}
	pf, err := b.txn.Prefetch(w.ctx)
	if err != nil {
		return err
	}
	w.prefetch = pf
	defer pf.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for bt := range w.batches {
			bt.wg.Wait()
			if w.failed() == nil {
				if err := w.record(bt); err != nil {
					w.fail(err)
				}
			}
			if bt.last {
				bt.fds.close()
			}
			w.queue.release(bt.queued)
		}
	}()
	err = w.dir("/", "/", ancestor, b.inPlace)
	close(w.batches)
	<-done
	if err != nil {
		return err
	}
	if err := w.failed(); err != nil {
		return err
	}
	if err := w.linkLater(); err != nil {
		return err
	}
	if b.opts.DryRun {
		return nil
	}
	for _, d := range w.dirMetas {
		dirfd, name, done, err := longpath.Split(w.rel(d.path))
		if err == nil {
			if !(d.kept && sameDirMeta(dirfd, name, d.meta, b.chown)) {
				err = fsmeta.ApplyAt(dirfd, name, d.meta, fsmeta.ApplyOptions{Owner: b.chown, Xattrs: true, ExactXattrs: d.held})
			}
			done()
		}
		if err != nil {
			return targetError(err, "set metadata of "+d.path)
		}
	}
	if w.movingFd >= 0 {
		if err := removeAt(w.partialFd, movingDir); err != nil {
			return targetError(err, "remove deleted folders from the snapshot")
		}
	}
	return nil
}

// dir lists one directory, decides what each entry needs, starts that
// work, hands the batch to the recorder and goes on into the
// subdirectories without waiting. from is where the previous snapshot
// had the folder ("" if it did not). kept says the snapshot already holds
// the previous snapshot's folder from at p (btrfs).
func (w *walker) dir(p, from string, mode walkMode, kept bool) error {
	b := w.b
	if err := w.failed(); err != nil {
		return err
	}
	if err := w.ctx.Err(); err != nil {
		return kerr.Wrap(kerr.Cancelled, err, "backup cancelled")
	}
	dirID, existed, err := b.enterDir(p, from)
	if err != nil {
		return err
	}
	if !existed {
		from = ""
	}
	inPlace := kept && from != ""
	if w.entered != nil {
		w.entered[p] = true
	}
	if kept && !inPlace && !b.opts.DryRun {
		// The folder at p in the snapshot is another one's (one that moved
		// away, or was recreated): start it empty.
		fd, err := longpath.Open(w.rel(p), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
		if err == nil {
			err = emptyDir(fd)
		}
		if err != nil {
			return targetError(err, "empty snapshot folder "+p)
		}
	}
	// A folder the previous snapshot did not have has no previous entries;
	// a small one's come from the prefetcher, all at once; a big one's are
	// read a slice of names at a time (prevAll nil).
	prevAll := map[string]catalog.Version{}
	// Patched: only the names reported changed are looked at (carry.go),
	// with their previous entries alone (read with the rest of the
	// folder's by the prefetcher, which costs the walk less than a query
	// per name).
	patched := w.patched(p, from, mode, inPlace)
	if existed {
		kids, ok, err := w.prefetch.Get(p)
		if err != nil {
			return err
		}
		prevAll = nil
		if ok {
			prevAll = kids
		}
	}
	b.stats.current.Store(p)
	fds := &dirFds{src: -1, prev: -1, dst: -1, inPlace: inPlace, from: from}
	if mode != reuse && mode != mountPoint {
		fds.src = openDir(p)
	}
	if b.prevDir != "" && from != "" {
		fds.prev = openDir(b.prevDir + from)
	}
	if !b.opts.DryRun {
		if fds.dst = openDir(w.rel(p)); fds.dst < 0 {
			fds.close()
			return targetError(unix.ENOENT, "open snapshot folder "+p)
		}
	}
	names, mode, err := w.names(p, from, dirID, mode, patched, prevAll, fds)
	if err != nil {
		fds.close()
		return err
	}
	// The folder goes to the recorder in slices of names, each with the
	// previous entries of its name range: a folder of 500 000 entries
	// costs the memory of a slice, not of the folder.
	sent := false
	fail := func(err error) error {
		if sent {
			// Slices sent before may still be at work with fds: an empty
			// last slice has the recorder close them after those.
			w.batches <- &batch{dirID: dirID, fds: fds, last: true}
		} else {
			fds.close()
		}
		return err
	}
	var subdirs []*entry
	for start := 0; ; start += sliceSize {
		end := min(start+sliceSize, len(names))
		last := end == len(names)
		lo, hi := "", ""
		if start > 0 {
			lo = names[start]
		}
		if !last {
			hi = names[end]
		}
		var prevKids map[string]catalog.Version
		switch {
		case patched && prevAll == nil:
			// A folder too big to prefetch: its changed names' entries
			// alone, not the whole listing.
			if prevKids, err = w.namedKids(from, dirID, names[start:end]); err != nil {
				return fail(err)
			}
		case prevAll == nil && start == 0 && last:
			if prevKids, err = b.txn.Children(from, dirID); err != nil {
				return fail(err)
			}
		case prevAll == nil:
			if prevKids, err = b.txn.ChildrenRange(from, dirID, lo, hi, last); err != nil {
				return fail(err)
			}
		case start == 0 && last:
			prevKids = prevAll
		default:
			prevKids = map[string]catalog.Version{}
			for n, v := range prevAll {
				if n >= lo && (last || n < hi) {
					prevKids[n] = v
				}
			}
		}
		if patched {
			prevKids = onlyNames(prevKids, names[start:end])
		}
		if b.byListing {
			b.notePrev(from, prevKids)
		}
		entries, err := w.entries(p, from, names[start:end], mode, prevKids, fds)
		if err != nil {
			return fail(err)
		}
		bt := &batch{dirID: dirID, fds: fds, last: last}
		seen := make(map[string]bool, len(entries))
		for _, e := range entries {
			seen[e.name] = true
			e.dirID = dirID
		}
		bt.gone = goneOf(prevKids, seen)
		if fds.inPlace {
			for _, v := range bt.gone {
				fds.names.Lock()
				var err error
				if w.mayMove(v) {
					// It may have moved: kept until the walk ends.
					err = w.setAside(fds.dst, v.Name, filepath.Join(from, v.Name))
				} else {
					err = removeAt(fds.dst, v.Name)
				}
				fds.names.Unlock()
				if err != nil {
					return fail(targetError(err, "remove "+v.Path()+" from the snapshot"))
				}
			}
		}
		var dirs []*entry
		bt.entries, dirs, err = w.decide(bt, entries)
		if err != nil {
			bt.wg.Wait()
			return fail(err)
		}
		subdirs = append(subdirs, dirs...)
		// Only folders are read from here on: the pool may be writing the
		// other entries' results.
		bt.queued = len(bt.entries)
		w.queue.acquire(bt.queued)
		w.batches <- bt
		sent = true
		if last {
			break
		}
	}
	if b.carry {
		subdirs = b.carryOver(subdirs)
	}
	var ahead []string
	var listings []int64
	for _, e := range subdirs {
		if hadDir(e) {
			ahead = append(ahead, e.path)
			listings = append(listings, b.txn.PrevListing(e.from))
		}
	}
	w.prefetch.Want(ahead, listings)
	for _, e := range subdirs {
		if e.movedIn {
			b.plan(Moved, e.path, e.from)
		}
		if e.replaced && e.mode == scan {
			same, err := w.sameFolder(e.path, e.from)
			if err != nil {
				return err
			}
			if !same {
				e.from = ""
			}
		}
		if err := w.dir(e.path, e.from, e.mode, e.kept); err != nil {
			return err
		}
		kept := e.kept && e.prev != nil && sameStat(&e.prev.Meta, &e.meta)
		w.dirMetas = append(w.dirMetas, dirMeta{path: e.path, meta: e.meta, kept: kept, held: e.kept})
	}
	return nil
}

// hadDir says the previous snapshot had this folder (here or elsewhere).
func hadDir(e *entry) bool { return e.from != "" }

// folderFrom says where the previous snapshot had folder e, found in a
// folder it had at parentFrom: at e's name when that was a folder with
// the same inode; else where a folder with e's inode was that is gone
// from there (it moved here: its entries come along as they are, and an
// unchanged file in it costs nothing); else at e's name if that was a
// folder (recreated in place); else nowhere.
func (w *walker) folderFrom(e *entry, parentFrom string) (string, error) {
	b := w.b
	here := ""
	if e.prev != nil && e.prev.Meta.Type == fsmeta.Dir && parentFrom != "" {
		here = filepath.Join(parentFrom, e.name)
		if e.prev.Meta.Ino == e.meta.Ino {
			return here, nil
		}
	}
	cands, err := b.txn.MovedFrom(e.meta)
	if err != nil {
		return "", err
	}
	for _, cand := range cands {
		c := cand.Path
		if c == here {
			continue
		}
		if l := b.txn.PrevListing(c); l == 0 || b.claimed[l] {
			continue
		}
		// Still there (a bind mount shows one folder at two paths): not
		// a move. Another folder there now: a move only to a path that
		// had no folder, since on a filesystem whose inode numbers do not
		// last (some FUSE ones) two folders that stayed put can look
		// like that too.
		if exists, same := inodeAt(c, e.meta); same || exists && here != "" {
			continue
		}
		// An inode number freed by a deleted folder and given to a new
		// one: the folder's time moved and it holds other names.
		if cand.MtimeNs != e.meta.MtimeNs {
			same, err := w.sameFolder(e.path, c)
			if err != nil {
				return "", err
			}
			if !same {
				continue
			}
		}
		e.movedIn = true
		return c, nil
	}
	e.replaced = here != ""
	return here, nil
}

// inodeAt says whether path p (of any length) exists and whether it is
// the inode m describes.
func inodeAt(p string, m fsmeta.Meta) (exists, same bool) {
	dirfd, name, done, err := longpath.Split(p)
	if err != nil {
		return false, false
	}
	defer done()
	var st unix.Stat_t
	if unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
		return false, false
	}
	return true, st.Ino == m.Ino && uint64(st.Dev) == m.Dev
}

// sameFolder says whether the folder at p is the one the previous
// snapshot had at from, where its inode alone cannot say: at least half
// of the names it holds now were there. It tells a folder recreated in
// place (an archive extracted again) from another that took the path of
// one that moved away (whose entries are then left for the move to take
// along), and a moved folder from a new one that was given the inode
// number of a deleted one.
func (w *walker) sameFolder(p, from string) (bool, error) {
	f, err := openList(p, -1)
	if err != nil {
		return true, nil // the walk says why
	}
	now, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return true, nil
	}
	before, err := w.b.txn.ChildNames(from, w.b.txn.PrevListing(from))
	if err != nil {
		return false, err
	}
	had := make(map[string]bool, len(before))
	for _, n := range before {
		had[n] = true
	}
	common := 0
	for _, n := range now {
		if had[n] {
			common++
		}
	}
	return common > 0 && 2*common >= len(now), nil
}

// sliceSize is how many entries of one folder go to the recorder at once.
const sliceSize = 1024

// names lists directory p, sorted, and says how its entries are found:
// mode, or reuse when the folder cannot be read (then the previous
// snapshot's names stand in, rather than losing them). prevAll is the
// previous entries when they were read whole, else nil.
func (w *walker) names(p, from string, dirID int64, mode walkMode, patched bool, prevAll map[string]catalog.Version, fds *dirFds) ([]string, walkMode, error) {
	b := w.b
	var names []string
	prevNames := func() ([]string, error) {
		if from == "" {
			return nil, nil
		}
		if prevAll == nil {
			return b.txn.ChildNames(from, dirID)
		}
		ns := make([]string, 0, len(prevAll))
		for n := range prevAll {
			ns = append(ns, n)
		}
		return ns, nil
	}
	var err error
	switch mode {
	case ancestor:
		for n := range w.ancestors[p] {
			names = append(names, n)
		}
	case mountPoint:
		// Recorded empty: what is mounted here is not this backup's.
	case reuse:
		b.res.ReusedDirs++
		if names, err = prevNames(); err != nil {
			return nil, mode, err
		}
	case scan:
		if patched {
			b.res.PatchedDirs++
			names = b.patchNames(p)
			break
		}
		b.res.ReadDirs++
		f, err := openList(p, fds.src)
		if err != nil {
			b.warn(p, "cannot read folder: "+err.Error())
			// Keep what the previous snapshot had rather than losing it.
			names, err = prevNames()
			if err != nil {
				return nil, mode, err
			}
			mode = reuse
			break
		}
		names, err = f.Readdirnames(-1)
		f.Close()
		if err != nil {
			return nil, mode, fmt.Errorf("read folder %s: %w", p, err)
		}
	}
	sort.Strings(names)
	return names, mode, nil
}

// entries makes the entries of names, found in directory p as mode says,
// with their previous versions from prevKids (of the folder's listing,
// at from in the previous snapshot).
func (w *walker) entries(p, from string, names []string, mode walkMode, prevKids map[string]catalog.Version, fds *dirFds) ([]*entry, error) {
	b := w.b
	out := make([]*entry, 0, len(names))
	var stats []statResult
	if mode != reuse {
		stats = statNames(fds.src, p, names)
	}
	for i, n := range names {
		e := &entry{name: n, path: filepath.Join(p, n), dir: fds, withFolder: from != "" && from != p}
		if v, ok := prevKids[n]; ok {
			v := v
			e.prev = &v
		}
		if mode == reuse {
			if t := e.prev.Meta.Type; t != fsmeta.File {
				// Folders get their metadata applied and symlinks may be
				// recreated: they need the whole record.
				if err := b.txn.Full(e.prev); err != nil {
					return nil, err
				}
			}
			e.meta = e.prev.Meta
			e.mode = reuse
			if e.meta.Type == fsmeta.Dir {
				e.from = filepath.Join(from, n)
			}
			if e.meta.Type == fsmeta.Dir && b.dirty[e.path] {
				// A reported directory below an unreported one: read
				// its own metadata fresh.
				if err := w.stat(e); err != nil {
					continue
				}
				e.mode = scan
				if b.otherMount(e.path) {
					e.mode = mountPoint
					b.skipMount(e.path)
				}
			}
			out = append(out, e)
			continue
		}
		if err := stats[i].err; err != nil {
			if !errors.Is(err, unix.ENOENT) {
				b.warn(e.path, "cannot read: "+err.Error())
			}
			if mode == ancestor && b.isSource(e.path) {
				b.warn(e.path, "source folder is missing: "+err.Error())
			}
			continue
		}
		e.meta = stats[i].meta
		if e.meta.Type == fsmeta.Dir {
			var err error
			if e.from, err = w.folderFrom(e, from); err != nil {
				return nil, err
			}
		}
		var keep bool
		if e.mode, keep = b.admit(mode, e.path, e.meta, hadDir(e)); !keep {
			continue
		}
		if e.mode == mountPoint {
			b.skipMount(e.path)
		}
		out = append(out, e)
	}
	return out, nil
}

func (b *backup) isSource(p string) bool {
	for _, s := range b.opts.Sources {
		if s == p {
			return true
		}
	}
	return false
}

// srcAt is where to find the entry in the source: relative to its
// directory when that is open, else by full path.
func (e *entry) srcAt() (int, string) {
	if e.dir.src >= 0 {
		return e.dir.src, e.name
	}
	return unix.AT_FDCWD, e.path
}

// statResult is one name's lstat.
type statResult struct {
	meta fsmeta.Meta
	err  error
}

// statsPerPart is the fewest stat calls worth a goroutine of their own
// (a call costs a few microseconds; waking a goroutine on another core,
// about as much as a few calls).
const statsPerPart = 16

// statNames lstats names in folder p (open as src, or -1). An unchanged
// backup is mostly these calls; the walk is otherwise one goroutine, so a
// big folder's are shared among the cores.
func statNames(src int, p string, names []string) []statResult {
	out := make([]statResult, len(names))
	statRange := func(lo, hi int) {
		var st unix.Stat_t
		for i := lo; i < hi; i++ {
			dirfd, name := src, names[i]
			if src < 0 {
				dirfd, name = unix.AT_FDCWD, filepath.Join(p, names[i])
			}
			if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				out[i].err = err
				continue
			}
			out[i].meta = fsmeta.FromStat(&st)
		}
	}
	parts := min(runtime.GOMAXPROCS(0), len(names)/statsPerPart)
	if parts < 2 {
		statRange(0, len(names))
		return out
	}
	var wg sync.WaitGroup
	for k := 1; k < parts; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statRange(len(names)*k/parts, len(names)*(k+1)/parts)
		}()
	}
	statRange(0, len(names)/parts)
	wg.Wait()
	return out
}

func (w *walker) stat(e *entry) error {
	var st unix.Stat_t
	dirfd, name := e.srcAt()
	if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if !errors.Is(err, unix.ENOENT) {
			w.b.warn(e.path, "cannot read: "+err.Error())
		}
		return err
	}
	e.meta = fsmeta.FromStat(&st)
	return nil
}

// admit says whether an entry found (and stat'ed) in a folder walked in
// mode goes into the snapshot and, for a folder, how it is walked itself.
// hadDir says the previous snapshot had it as a folder. The walk and the
// count both ask it, so that the count's totals are the walk's work.
func (b *backup) admit(mode walkMode, path string, meta fsmeta.Meta, hadDir bool) (walkMode, bool) {
	if mode == scan && b.excluded(path, meta) {
		return scan, false
	}
	if meta.Type != fsmeta.Dir {
		return scan, true
	}
	switch {
	case mode == ancestor && !b.isSource(path):
		return ancestor, true
	case b.otherMount(path):
		return mountPoint, true
	case b.dirty != nil && !b.dirty[path] && hadDir:
		return reuse, true
	}
	return scan, true
}

// otherMount says whether the folder path, below a source, is where
// another filesystem is mounted that the profile does not include. The
// sources themselves are always entered.
func (b *backup) otherMount(path string) bool {
	if b.includeMounts[path] || b.isSource(path) {
		return false
	}
	_, other := b.mounts.otherFS(path)
	return other
}

// skipMount reports a mount point left out of the snapshot.
func (b *backup) skipMount(path string) {
	fstype, _ := b.mounts.otherFS(path)
	b.warnMu.Lock()
	b.res.SkippedMounts = append(b.res.SkippedMounts, path)
	b.warnMu.Unlock()
	b.warn(path, fmt.Sprintf("another filesystem (%s) is mounted here: kept as an empty folder, not backed up (include it with the profile's include-mount setting)", fstype))
}

func (b *backup) excluded(path string, meta fsmeta.Meta) bool {
	isDir := meta.Type == fsmeta.Dir
	if isDir && meta.Dev == b.repoDev && meta.Ino == b.repoIno {
		return true // the repository itself: never back up into itself
	}
	if b.match.Excluded(path, isDir) {
		return true
	}
	return isDir && exclude.CacheDirTagged(path)
}

// enterDir picks the listing (folder instance, see the catalog's doc)
// this run records folder p in, and marks it seen: the first catalog step
// of every folder, walked or pulled. from is where the previous snapshot
// had the folder ("" if it did not): its listing comes along to p, and
// existed says its previous entries are the folder's. A listing serves
// one folder of a run: one already taken (a folder recreated at the old
// path of one that moved) gives way to a new one.
func (b *backup) enterDir(p, from string) (listing int64, existed bool, err error) {
	t := b.txn
	if from != "" {
		if l := t.PrevListing(from); l != 0 && !b.claimed[l] {
			if from != p {
				if err := t.Place(l, p); err != nil {
					return 0, false, err
				}
			}
			listing, existed = l, true
		}
	}
	if listing == 0 {
		if listing, err = t.FreeListing(p, b.claimed); err != nil {
			return 0, false, err
		}
	}
	b.claimed[listing] = true
	return listing, existed, t.Visit(listing)
}

// goneOf lists, by name, the previous entries whose names are no longer
// present.
func goneOf(prevKids map[string]catalog.Version, present map[string]bool) []catalog.Version {
	var names []string
	for name := range prevKids {
		if !present[name] {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	out := make([]catalog.Version, len(names))
	for i, name := range names {
		out[i] = prevKids[name]
	}
	return out
}

// sameDirMeta says the folder name in dirfd already has m's mode, times
// and (with owner) owner; its xattrs are the previous snapshot's, which
// the source's unchanged ctime vouches for.
func sameDirMeta(dirfd int, name string, m fsmeta.Meta, owner bool) bool {
	var st unix.Stat_t
	if unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
		return false
	}
	return st.Mode&07777 == m.Mode&07777 && unix.TimespecToNsec(st.Mtim) == m.MtimeNs &&
		(!owner || st.Uid == m.UID && st.Gid == m.GID)
}
