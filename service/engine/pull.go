package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/exclude"
	"github.com/keepsake/keepsake/service/fsmeta"
	"github.com/keepsake/keepsake/shared/kerr"
	"golang.org/x/sys/unix"
)

// Fetch fills req.Dest, an empty private folder, with another computer's
// files at their absolute paths (Dest/home/u/...), hardlinking the files
// that did not change from req.LinkDest. It reports what arrives and
// returns the problems that did not stop it (a file that vanished or
// could not be read there). service/remote's rsync over ssh is the real
// one.
type Fetch func(ctx context.Context, req FetchRequest) ([]Warning, error)

// FetchRequest is what a Fetch is asked for, and how it tells the engine
// what is arriving (each callback from one goroutine at a time).
type FetchRequest struct {
	Dest string
	// LinkDest is the host's previous snapshot, "" for none.
	LinkDest string
	// Update: Dest already holds the previous snapshot (on a btrfs drive,
	// a snapshot of its subvolume): the Fetch brings it up to date in
	// place, deleting what the other computer no longer has below the
	// sources, and writing only what changed. LinkDest is "" then.
	Update bool
	// Gone is told each source the other computer does not have (any
	// more): an Update leaves it out of the snapshot, as a pull into an
	// empty folder would.
	Gone func(source string)
	// Excludes are what the backup leaves out (package exclude's
	// patterns, with the defaults unless they are turned off). A Fetch may
	// leave out on the other side what they surely exclude
	// (exclude.RsyncPatterns); the engine removes the rest on arrival.
	Excludes []string
	// Received is the bytes received so far.
	Received func(bytes int64)
	// Arrived names a file (its path below dest, "/home/u/x") whose data
	// is in: the engine may read it while rsync receives the rest. It is
	// a hint, checked before use; a Fetch may name any file or none.
	Arrived func(path string)
}

// pull fills the snapshot folder with Fetch and indexes what arrived into
// the catalog: a file that is the previous snapshot's inode is unchanged
// (not read); any other file is hashed, and when the same content with
// the same inode metadata is already stored (from any host, or earlier in
// this tree) the received copy is replaced by a hardlink to it, so a
// renamed folder or a file two computers share costs no space after the
// run even though it came over the wire again.
//
// Everything from the other side is data: the tree is walked with
// descriptors, never through a symlink, and only names inside the
// snapshot being made are created or replaced.
func (b *backup) pull(ctx context.Context) error {
	root, err := unix.Open(b.partial, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return targetError(err, "open snapshot folder")
	}
	defer unix.Close(root)
	var gone []string
	req := FetchRequest{Dest: b.partial, LinkDest: b.prevDir, Excludes: b.opts.excludePatterns(),
		Received: func(n int64) { b.stats.copied.Store(n) }, Arrived: func(string) {},
		Gone: func(p string) { gone = append(gone, p) }}
	// In a subvolume stored content is reflinked, not hardlinked: a
	// hardlink cannot leave the subvolume, and the previous snapshot is
	// there already (inPlace), or there is none.
	_, clone := b.store.(btrfsStore)
	if clone {
		req.LinkDest, req.Update = "", b.inPlace
	}
	if req.Update {
		if err := keepOnlySources(root, b.opts.Sources); err != nil {
			return targetError(err, "remove dropped sources from the snapshot")
		}
	}
	// Likely kept: no version on the drive has its size and mtime (as
	// the indexer asks before it searches for a stored copy).
	pre := startPrehash(root, b.txn.HasTwin)
	if pre != nil {
		req.Arrived = pre.arrived
	}
	stop := b.reportProgress(false)
	warns, err := b.opts.Fetch(ctx, req)
	stop()
	if pre != nil {
		pre.stop()
	}
	if err != nil {
		if ctx.Err() != nil && !kerr.Is(err, kerr.Cancelled) {
			return kerr.Wrap(kerr.Cancelled, err, "backup cancelled")
		}
		return err
	}
	for _, w := range warns {
		b.warn(w.Path, w.Message)
	}
	if req.Update && len(gone) > 0 {
		kept := slices.DeleteFunc(slices.Clone(b.opts.Sources), func(s string) bool { return slices.Contains(gone, s) })
		if err := keepOnlySources(root, kept); err != nil {
			return targetError(err, "remove sources the other computer no longer has")
		}
	}
	received := b.stats.copied.Load()
	b.stats.copied.Store(0)
	// What rsync wrote is still in the page cache. The indexer starts
	// writing each file it keeps while it indexes the rest, so that the
	// commit's syncfs finds little left to do; a file it replaces with a
	// link to a stored copy is never written at all (a syncfs of the
	// whole tree here would write every duplicate once).
	stop = b.reportProgress(true)
	defer stop()
	// "~/" in an exclusion means the other computer's homes: /root and
	// the folders of /home there, not this computer's.
	match, err := exclude.New(req.Excludes, remoteHomes(root))
	if err != nil {
		return kerr.Wrap(kerr.InvalidArgs, err, "exclusions")
	}
	ix := &indexer{b: b, ctx: ctx, pre: pre, match: match, seen: map[uint64]storedInode{}, busy: map[uint64]chan struct{}{}, kept: map[keptKey]string{}, keeping: map[keptKey]chan struct{}{},
		wb: startWriteback(), clone: clone, update: req.Update}
	err = ix.run()
	ix.wb.stop()
	if err != nil {
		return err
	}
	if indexed != nil {
		indexed(ix)
	}
	b.res.HashedInTransfer = ix.preHashed.Load()
	b.res.ReceivedBytes = received
	return nil
}

// indexed, when set (by tests), is shown each pull's indexer once it
// is done: what it still holds is what a pull's memory grows with.
var indexed func(*indexer)

// indexer walks a pulled tree and records it.
//
// The catalog work of a folder (the versions it ends and the rows of its
// entries) runs in the background while the indexer lists the next
// folder and hashes its files, so that on two cores hashing and SQLite
// overlap; the next folder's own catalog work waits for it, which keeps
// the catalog's writes in the order of the walk.
type indexer struct {
	b    *backup
	ctx  context.Context
	root int // the snapshot folder
	prev int // the previous snapshot's folder, -1 if none
	// pre holds the sums of files read during the transfer (nil: none).
	pre       *prehasher
	match     *exclude.Matcher
	preHashed atomic.Int64
	// seen are inodes with several names this run already recorded, by
	// inode: a second name of one (a hardlink rsync kept) is not hashed
	// again.
	mu   sync.Mutex
	seen map[uint64]storedInode
	// busy are the inodes a worker is indexing now, closed when it is
	// done: another name of one waits for it instead of being counted
	// and kept as a second copy (the two names of a hardlink are in one
	// folder, indexed side by side).
	busy map[uint64]chan struct{}
	// keeping are the contents (with their metadata) a worker is about
	// to keep or link: a second file of one, often beside it in the same
	// folder, waits to become a link to the first instead of being kept
	// too.
	keeping map[keptKey]chan struct{}
	// kept are files of shareMin bytes or more received this run and kept
	// as they came, by content and inode metadata: a second one (two
	// copies of a file on the other computer) becomes a link to the
	// first. (A renamed folder's files are found in the catalog.)
	kept map[keptKey]string
	// dirTimes are the folders' times as rsync left them.
	dirTimes []dirMeta
	// pending is the background catalog work of the last folder, nil when
	// none; only the walking goroutine starts and waits for it.
	pending chan error
	// wb writes the files kept to the drive while the rest is indexed.
	wb *writeback
	// clone: the snapshot is a btrfs subvolume, where stored content is
	// reflinked rather than hardlinked (a hardlink cannot leave the
	// subvolume, and a later pull updating the snapshot in place must not
	// change another name's metadata through a shared inode).
	clone bool
	// update: rsync brought a snapshot of the previous one up to date
	// (FetchRequest.Update).
	update bool
}

// keptKey is what two files must share to be one inode on the drive:
// content and inode metadata.
type keptKey struct {
	sum            [32]byte
	mode, uid, gid uint32
	mtime          int64
	xattrs         string
}

func keptKeyOf(sum []byte, m fsmeta.Meta) keptKey {
	return keptKey{sum: [32]byte(sum), mode: m.Mode, uid: m.UID, gid: m.GID, mtime: m.MtimeNs, xattrs: string(fsmeta.EncodeXattrs(m.Xattrs))}
}

func (ix *indexer) run() error {
	b := ix.b
	fd, err := unix.Open(b.partial, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return targetError(err, "open snapshot folder")
	}
	ix.root = fd
	defer unix.Close(fd)
	ix.prev = -1
	if b.prevDir != "" {
		if ix.prev = openDir(b.prevDir); ix.prev >= 0 {
			defer unix.Close(ix.prev)
		}
	}
	err = ix.dir("/", ix.root, ix.prev, "/")
	// Nothing may touch the transaction once the walk returns.
	if perr := ix.settle(); err == nil {
		err = perr
	}
	if err != nil {
		return err
	}
	// Replacing copies with links moved folders' mtimes: once nothing is
	// written any more, put back the other computer's.
	for _, d := range ix.dirTimes {
		mt := unix.NsecToTimespec(d.meta.MtimeNs)
		var st unix.Stat_t
		if unix.Fstatat(unix.AT_FDCWD, b.partial+d.path, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mtim == mt {
			// Untouched: setting it anyway would rewrite every folder's
			// inode of a snapshot that shares them with the previous one.
			continue
		}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, b.partial+d.path, []unix.Timespec{mt, mt}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return targetError(err, "set the time of "+d.path)
		}
	}
	return nil
}

// settle waits for the last folder's catalog work.
func (ix *indexer) settle() error {
	if ix.pending == nil {
		return nil
	}
	err := <-ix.pending
	ix.pending = nil
	return err
}

// later runs a folder's catalog work in the background, after the work
// before it.
func (ix *indexer) later(work func() error) error {
	if err := ix.settle(); err != nil {
		return err
	}
	done := make(chan error, 1)
	ix.pending = done
	go func() { done <- work() }()
	return nil
}

// dir indexes one folder of the pulled tree; dst and prev are descriptors
// of it in the snapshot and in the previous snapshot (-1: none there);
// from is where the previous snapshot had it ("" if it did not).
func (ix *indexer) dir(p string, dst, prev int, from string) error {
	b := ix.b
	if err := ix.ctx.Err(); err != nil {
		return kerr.Wrap(kerr.Cancelled, err, "backup cancelled")
	}
	b.stats.current.Store(p)
	b.res.ReadDirs++
	names, err := readNames(dst)
	if err != nil {
		return targetError(err, "read snapshot folder "+p)
	}
	fds := &dirFds{src: dst, prev: prev, dst: dst}
	var entries, subdirs, unchanged []*entry
	var wg sync.WaitGroup
	jobs := make(chan *entry)
	for i := 0; i < b.opts.Workers; i++ {
		wg.Add(1)
		go func(jobs <-chan *entry) {
			defer wg.Done()
			for e := range jobs {
				ix.file(e)
			}
		}(jobs)
	}
	stopWorkers := func() {
		if jobs != nil {
			close(jobs)
			jobs = nil
		}
		wg.Wait()
	}
	defer stopWorkers()
	// The files first, from the file system alone: those rsync did not
	// link from the previous snapshot are hashed while the catalog is
	// asked about the folder.
	for _, name := range names {
		if p == "/" && name == catalog.ExtraDir {
			continue
		}
		e := &entry{name: name, path: filepath.Join(p, name), dir: fds}
		var st unix.Stat_t
		if err := unix.Fstatat(dst, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return targetError(err, "read "+e.path)
		}
		e.meta = remoteMeta(&st)
		if ix.match.Excluded(e.path, e.meta.Type == fsmeta.Dir) {
			// Excluded, but sent all the same (a pattern rsync could not
			// be given): gone from the snapshot as if never there.
			if err := ix.remove(dst, e); err != nil {
				return err
			}
			continue
		}
		switch e.meta.Type {
		case fsmeta.File:
			if same, untouched := ix.samePrevInode(prev, name, &st); same {
				e.op = opLinkPrev // if the catalog knows it; see below
				e.metaOnly = !untouched
				unchanged = append(unchanged, e)
			} else {
				e.op = opHash
				jobs <- e
			}
		case fsmeta.Dir, fsmeta.Symlink:
			if err := e.complete(); err != nil {
				b.warn(e.path, err.Error())
			}
			e.meta.User, e.meta.Group = "", ""
			if e.meta.Type == fsmeta.Dir {
				subdirs = append(subdirs, e)
			}
		default:
			// Device files and fifos are not asked for (rsync --no-D); a
			// peer that sends one anyway does not get it kept.
			if err := unix.Unlinkat(dst, name, 0); err != nil {
				b.warn(e.path, "cannot remove a special file: "+err.Error())
			}
			b.warn(e.path, "special files (devices, fifos, sockets) of other computers are not kept")
			continue
		}
		entries = append(entries, e)
	}
	// The folder's catalog work, after the previous folder's.
	if err := ix.settle(); err != nil {
		return err
	}
	if from == "" && len(unchanged) == 0 {
		// A folder new at this path: once its files are hashed, it may
		// turn out to be one that moved here.
		stopWorkers()
		for _, e := range entries {
			if e.err != nil {
				return e.err
			}
		}
		if from, err = ix.movedFolder(entries); err != nil {
			return err
		}
		if from != "" {
			b.plan(Moved, p, from)
		}
	}
	dirID, existed, err := b.enterDir(p, from)
	if err != nil {
		return err
	}
	prevKids := map[string]catalog.Version{}
	if existed {
		if prevKids, err = b.txn.Children(from, dirID); err != nil {
			return err
		}
	}
	// The previous snapshot's inode that the catalog does not know as
	// this name is read like a new file.
	for _, e := range unchanged {
		v, ok := prevKids[e.name]
		switch {
		case !ok || e.metaOnly && v.SHA256 == nil:
			e.op = opHash
			jobs <- e
		case e.metaOnly:
			// The previous snapshot's data under new metadata (a chmod on
			// the other computer): recorded anew, not read.
			if err := e.complete(); err != nil {
				b.warn(e.path, err.Error())
			}
			e.meta.User, e.meta.Group = "", ""
			e.op, e.sum, e.linked = opLinkFound, v.SHA256, true
		}
	}
	stopWorkers()
	for _, e := range entries {
		if e.err != nil {
			return e.err
		}
		e.dirID = dirID
		e.withFolder = existed && from != p
		if v, ok := prevKids[e.name]; ok {
			e.prev = &v
			if v.Meta.Type == fsmeta.Dir && e.meta.Type == fsmeta.Dir {
				e.from = filepath.Join(from, e.name)
			}
		}
	}
	err = ix.later(func() error {
		seen := make(map[string]bool, len(entries))
		for _, e := range entries {
			seen[e.name] = true
		}
		for _, v := range goneOf(prevKids, seen) {
			if err := b.txn.End(v.ID); err != nil {
				return err
			}
			b.noteDeleted(v)
		}
		return (&walker{b: b}).recordEntries(dirID, entries)
	})
	if err != nil {
		return err
	}
	for _, e := range subdirs {
		sub, err := unix.Openat(dst, e.name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return targetError(err, "open snapshot folder "+e.path)
		}
		subPrev := -1
		if prev >= 0 {
			subPrev, _ = unix.Openat(prev, e.name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		}
		err = ix.dir(e.path, sub, subPrev, e.from)
		unix.Close(sub)
		if subPrev >= 0 {
			unix.Close(subPrev)
		}
		if err != nil {
			return err
		}
		ix.dirTimes = append(ix.dirTimes, dirMeta{path: e.path, meta: e.meta})
	}
	return nil
}

// remove takes an excluded entry out of the snapshot being made.
func (ix *indexer) remove(dst int, e *entry) error {
	var err error
	if e.meta.Type == fsmeta.Dir {
		err = RemoveTree(ix.b.partial+e.path, 2)
	} else {
		err = unix.Unlinkat(dst, e.name, 0)
	}
	if err != nil {
		return targetError(err, "leave out the excluded "+e.path)
	}
	return nil
}

// remoteHomes are the other computer's home folders in a pulled tree:
// /root and every real folder in /home.
func remoteHomes(root int) []string {
	homes := []string{"/root"}
	fd, err := unix.Openat(root, "home", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return homes
	}
	defer unix.Close(fd)
	names, _ := readNames(fd)
	for _, n := range names {
		var st unix.Stat_t
		if unix.Fstatat(fd, n, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
			homes = append(homes, "/home/"+n)
		}
	}
	return homes
}

// movedFolder finds where the previous snapshot had a folder, new at its
// path in this pull, that moved there: rsync tells nothing of moves and
// the other computer's inodes are not kept, so the folder is known by
// what it holds. A folder of the previous snapshot that is gone from the
// pulled tree and held exactly these entries (names, types, contents,
// mode, owner, mtime, symlink targets) is taken to be it; its subfolders
// come along by name, compared entry by entry as usual. entries' files
// must be hashed. "" when there is none.
func (ix *indexer) movedFolder(entries []*entry) (string, error) {
	b := ix.b
	var probe *entry
	for _, e := range entries {
		if e.meta.Type == fsmeta.File && e.sum != nil && (probe == nil || probe.meta.Size == 0) {
			probe = e
		}
	}
	if probe == nil {
		return "", nil // no file to find it by; a folder of folders costs little anyway
	}
	cands, err := b.txn.FoldersWith(probe.name, probe.sum, probe.meta)
	if err != nil {
		return "", err
	}
	for _, c := range cands {
		if b.claimed[c.Listing] || b.txn.PrevListing(c.Path) != c.Listing {
			continue
		}
		var st unix.Stat_t
		if c.Path == "/" || unix.Fstatat(ix.root, strings.TrimPrefix(c.Path, "/"), &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
			continue // still there: a copy, not a move
		}
		kids, err := b.txn.Children(c.Path, c.Listing)
		if err != nil {
			return "", err
		}
		same, err := ix.sameEntries(entries, kids)
		if err != nil {
			return "", err
		}
		if same {
			return c.Path, nil
		}
	}
	return "", nil
}

// sameEntries says a folder's entries are exactly a listing's.
func (ix *indexer) sameEntries(entries []*entry, kids map[string]catalog.Version) (bool, error) {
	if len(entries) != len(kids) {
		return false, nil
	}
	for _, e := range entries {
		v, ok := kids[e.name]
		if !ok || v.Meta.Type != e.meta.Type {
			return false, nil
		}
		switch e.meta.Type {
		case fsmeta.File:
			if !sameSum(v.SHA256, e.sum) || v.Meta.Mode != e.meta.Mode || v.Meta.UID != e.meta.UID ||
				v.Meta.GID != e.meta.GID || v.Meta.MtimeNs != e.meta.MtimeNs {
				return false, nil
			}
		case fsmeta.Symlink:
			if err := ix.b.txn.Full(&v); err != nil {
				return false, err
			}
			if v.Meta.LinkTarget != e.meta.LinkTarget {
				return false, nil
			}
		}
	}
	return true, nil
}

// samePrevInode says rsync linked this name to the previous snapshot's
// copy of it, or (updating a snapshot of it) kept that copy: the data did
// not change, and nothing needs reading. untouched: nor did the metadata.
func (ix *indexer) samePrevInode(prev int, name string, st *unix.Stat_t) (same, untouched bool) {
	if prev < 0 {
		return false, false
	}
	var pst unix.Stat_t
	if unix.Fstatat(prev, name, &pst, unix.AT_SYMLINK_NOFOLLOW) != nil {
		return false, false
	}
	if ix.update {
		// A subvolume's snapshot has its own device number and the same
		// inodes. rsync (without --inplace) writes changed data to a new
		// file renamed over the name, so the same inode holds the same
		// data; setting its mode, owner or xattrs changes its ctime.
		same = pst.Ino == st.Ino && pst.Size == st.Size
		return same, same && pst.Ctim == st.Ctim && pst.Mtim == st.Mtim
	}
	same = pst.Dev == st.Dev && pst.Ino == st.Ino
	return same, same
}

// file hashes a received file and, when its content and inode metadata
// are stored already, replaces it with a hardlink to the stored copy.
func (ix *indexer) file(e *entry) {
	b := ix.b
	if err := e.complete(); err != nil {
		b.warn(e.path, err.Error())
	}
	e.meta.User, e.meta.Group = "", ""
	var st unix.Stat_t
	if err := unix.Fstatat(e.dir.dst, e.name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		e.err = targetError(err, "read "+e.path)
		return
	}
	ix.mu.Lock()
	in, ok := await(&ix.mu, ix.seen, ix.busy, st.Ino)
	ix.mu.Unlock()
	if ok {
		// Another name of an inode this run already recorded.
		e.sum, e.linked = in.sum, true
		return
	}
	defer release(&ix.mu, ix.busy, st.Ino)
	sum, known := ix.pre.take(&st)
	if sum != nil {
		ix.preHashed.Add(1)
	} else {
		fd, err := unix.Openat(e.dir.dst, e.name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			e.err = targetError(err, "open "+e.path)
			return
		}
		sum, err = hashFd(fd, st.Size)
		unix.Close(fd)
		if err != nil {
			e.err = targetError(err, "read "+e.path)
			return
		}
	}
	e.sum, e.hashed = sum, true
	// Only copies of shareMin bytes or more are remembered, as in a local
	// backup: the memory stays bounded by the data, not the file count.
	remember := st.Size >= shareMin
	key := keptKeyOf(sum, e.meta)
	var first string
	var keptBefore bool // a copy of this run's has the key
	if remember {
		ix.mu.Lock()
		first, keptBefore = await(&ix.mu, ix.kept, ix.keeping, key)
		ix.mu.Unlock()
		if !keptBefore {
			defer release(&ix.mu, ix.keeping, key)
		}
	}
	if keptBefore && ix.replaceWithLink(b.partial+first, e, &st) {
		e.linked = true
		return
	}
	// A stored copy to link must have this size and mtime. This run's
	// own copies are in kept; the rest of the drive's are in the committed
	// catalog, which HasTwin reads without waiting for the transaction.
	// Only when some version there has both is the (slower) search by
	// content worth it: a computer's first pull of files new to the drive
	// asks nothing. A kept first copy that could not be linked (its link
	// count is full) leaves the search to find another.
	// The prehasher asked it already of most files it read (the
	// committed catalog does not change during the run).
	twin := known == twinsStored
	if known == twinsUnknown {
		var err error
		if twin, err = b.txn.HasTwin(st.Size, e.meta.MtimeNs); err != nil {
			e.err = err
			return
		}
	}
	var cands []catalog.Stored
	var err error
	switch {
	case keptBefore:
		// This run's other copies too: the transaction's view.
		cands, err = b.txn.Linkable(sum, e.meta, 4)
	case twin:
		// This run's copies are in kept: the committed catalog holds
		// the rest, read without waiting for the transaction.
		cands, err = b.txn.LinkableStored(sum, e.meta, 4)
	}
	if err != nil {
		e.err = err
		return
	}
	for _, c := range cands {
		from := b.r.SnapshotDir(c.Host, c.Snapshot)
		if c.Current {
			from = b.partial
		}
		if ix.replaceWithLink(from+c.Path, e, &st) {
			e.linked = true
			return
		}
	}
	e.copied = true
	if known != twinsNone { // else its writing was started already
		ix.wb.add(e.dir.dst, e.name, st.Size)
	}
	ix.mu.Lock()
	if st.Nlink > 1 {
		ix.seen[st.Ino] = storedInode{path: e.path, sum: sum}
	}
	if _, ok := ix.kept[key]; remember && !ok {
		ix.kept[key] = e.path
	}
	ix.mu.Unlock()
}

// await is key's entry in done, waiting while another worker holds key
// in busy; when done has none and nobody holds it, the caller holds it
// now and must release it once its entry is in done (or never will be).
// mu, which guards both maps, is held on entry and on return.
func await[K comparable, V any](mu *sync.Mutex, done map[K]V, busy map[K]chan struct{}, key K) (V, bool) {
	for {
		if v, ok := done[key]; ok {
			return v, true
		}
		wait, ok := busy[key]
		if !ok {
			busy[key] = make(chan struct{})
			var none V
			return none, false
		}
		mu.Unlock()
		<-wait
		mu.Lock()
	}
}

// release ends a hold that await gave.
func release[K comparable](mu *sync.Mutex, busy map[K]chan struct{}, key K) {
	mu.Lock()
	done := busy[key]
	delete(busy, key)
	mu.Unlock()
	close(done)
}

// replaceWithLink puts a hardlink to the stored file from in place of the
// received copy of e (a reflink on btrfs): made under a temporary name in
// the same folder, then renamed over it, so the name is never missing.
func (ix *indexer) replaceWithLink(from string, e *entry, received *unix.Stat_t) bool {
	var st unix.Stat_t
	if unix.Lstat(from, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size != received.Size {
		return false
	}
	if st.Dev == received.Dev && st.Ino == received.Ino {
		return true // already that inode
	}
	if ix.clone {
		return ix.replaceWithClone(from, e, received)
	}
	if ix.b.linkMax > 0 && uint64(st.Nlink) >= ix.b.linkMax {
		return false
	}
	tmp := ".keepsake-link-" + strconv.FormatUint(received.Ino, 10)
	e.dir.names.Lock()
	defer e.dir.names.Unlock()
	if err := unix.Linkat(unix.AT_FDCWD, from, e.dir.dst, tmp, 0); err != nil {
		return false
	}
	if err := unix.Renameat(e.dir.dst, tmp, e.dir.dst, e.name); err != nil {
		unix.Unlinkat(e.dir.dst, tmp, 0)
		return false
	}
	return true
}

// replaceWithClone puts a reflink of the stored file from, with the
// received copy's metadata, in place of that copy. The received copy's
// data, unlinked before it is written back, never reaches the disk.
func (ix *indexer) replaceWithClone(from string, e *entry, received *unix.Stat_t) bool {
	src, err := unix.Open(from, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(src)
	tmp := &entry{name: ".keepsake-clone-" + strconv.FormatUint(received.Ino, 10), path: e.path, dir: e.dir}
	// The metadata rsync gave the received copy; ids as numbers.
	m := e.meta
	m.User, m.Group = "", ""
	w := &walker{b: ix.b}
	if !cloneInto(w, src, m, tmp) {
		return false
	}
	e.dir.names.Lock()
	defer e.dir.names.Unlock()
	if err := unix.Renameat(e.dir.dst, tmp.name, e.dir.dst, e.name); err != nil {
		unix.Unlinkat(e.dir.dst, tmp.name, 0)
		return false
	}
	return true
}

// keepOnlySources removes from a snapshot being brought up to date what
// lies outside the sources (one dropped from the profile since): rsync
// deletes only below the folders it sends.
func keepOnlySources(root int, sources []string) error {
	return keepOnlyBelow(root, "/", sources)
}

func keepOnlyBelow(dirfd int, dir string, sources []string) error {
	names, err := readNames(dirfd)
	if err != nil {
		return err
	}
	for _, n := range names {
		p := filepath.Join(dir, n)
		if dir == "/" && n == catalog.ExtraDir {
			continue
		}
		whole, onPath := false, false
		for _, s := range sources {
			if s == p || s == "/" || strings.HasPrefix(p, strings.TrimSuffix(s, "/")+"/") {
				whole = true
			} else if strings.HasPrefix(s, p+"/") {
				onPath = true
			}
		}
		switch {
		case whole:
		case onPath:
			sub, err := unix.Openat(dirfd, n, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
				err = removeAt(dirfd, n)
			} else if err == nil {
				err = keepOnlyBelow(sub, p, sources)
				unix.Close(sub)
			}
			if err != nil {
				return err
			}
		default:
			if err := removeAt(dirfd, n); err != nil {
				return err
			}
		}
	}
	return nil
}

// remoteMeta is what the catalog keeps of a pulled entry. Inode numbers,
// link counts and ctimes are this drive's, not the other computer's, so
// they are left out: every pulled file is restored as its own file, and
// user and group ids are kept as numbers only (uid 1000 there is not a
// user here).
func remoteMeta(st *unix.Stat_t) fsmeta.Meta {
	m := fsmeta.FromStat(st)
	m.Dev, m.Ino, m.CtimeNs, m.Nlink = 0, 0, 0, 1
	return m
}

// readNames lists a folder by descriptor, sorted.
func readNames(fd int) ([]string, error) {
	dup, err := unix.Openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(dup), "dir")
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}

// checkPullOptions validates what a pull needs instead of local sources.
func checkPullOptions(opts BackupOptions) error {
	if opts.DryRun {
		return kerr.New(kerr.InvalidArgs, "a dry run of another computer's backup is not supported: it would transfer the files")
	}
	if opts.ChangedDirs != nil {
		return errors.New("changed folders are for local sources only")
	}
	for _, s := range opts.Sources {
		if !filepath.IsAbs(s) || filepath.Clean(s) != s {
			return kerr.New(kerr.InvalidArgs, "source %q on the other computer is not a clean absolute path", s)
		}
	}
	return nil
}

// excludePatterns are the backup's exclusions, the defaults first unless
// they are turned off.
func (o BackupOptions) excludePatterns() []string {
	patterns := append([]string(nil), o.Excludes...)
	if !o.NoDefaultExcludes {
		patterns = append(exclude.DefaultPatterns(), patterns...)
	}
	return patterns
}

// writeback starts the drive writing the files a pull keeps, one at a
// time on a goroutine of its own: sync_file_range may wait for the
// device's queue, and the indexer must not. It is only a head start for
// the commit's syncfs, which writes whatever it skipped and reports any
// error.
type writeback struct {
	fds  chan int
	done chan struct{}
}

func startWriteback() *writeback {
	w := &writeback{fds: make(chan int, 1024), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for fd := range w.fds {
			unix.SyncFileRange(fd, 0, 0, unix.SYNC_FILE_RANGE_WRITE)
			unix.Close(fd)
		}
	}()
	return w
}

// writebackMin is the least size of a file whose writing is started
// early: the bytes that make the commit's syncfs wait are in bigger
// files, and a call per small file (most of a home's files) costs more
// than it saves, as many tiny writes instead of the syncfs's few large
// ones, while rsync is still writing.
const writebackMin = 64 << 10

// add queues the file name in dirfd, when it is writebackMin bytes or
// more; a full queue skips it.
func (w *writeback) add(dirfd int, name string, size int64) {
	if size < writebackMin {
		return
	}
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	select {
	case w.fds <- fd:
	default:
		unix.Close(fd)
	}
}

// stop waits for the queued files; nothing may be added after.
func (w *writeback) stop() {
	close(w.fds)
	<-w.done
}
