package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/exclude"
	"github.com/keepsake/keepsake/service/fsmeta"
	"github.com/keepsake/keepsake/service/repo"
	"github.com/keepsake/keepsake/shared/kerr"
	"golang.org/x/sys/unix"
)

// Backup writes one snapshot of opts.Sources into r. It takes the
// repository's lock, resumes or cleans what a crash left, and returns only
// after the snapshot is durable and visible (or, on error, after removing
// every trace of it).
func Backup(ctx context.Context, r *repo.Repo, opts BackupOptions) (*Result, error) {
	for _, x := range opts.Extras {
		if x.Name == "" || x.Name == "." || x.Name == ".." || strings.ContainsAny(x.Name, "/\x00") {
			return nil, kerr.New(kerr.InvalidArgs, "extra file name %q: a plain file name please", x.Name)
		}
	}
	cat, unlock, err := lockCatalog(r)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := Recover(r, cat, opts.Host); err != nil {
		return nil, err
	}
	b, err := newBackup(r, cat, opts)
	if err != nil {
		return nil, err
	}
	var pruned []PrunedSnapshot
	if free, err := FreeSpace(r.Root); err == nil && opts.MinFree > 0 && free < opts.MinFree && !opts.DryRun {
		pr, err := prune(ctx, r, cat, PruneOptions{Host: opts.Host, Free: opts.MinFree, Actor: opts.Actor, Now: opts.Now})
		if err != nil {
			return nil, targetError(err, "make room")
		}
		pruned = pr.Removed
		for _, p := range pruned {
			b.warn(p.Name, "removed to make room: "+p.Reason)
		}
	}
	res, err := b.run(ctx)
	if res != nil {
		res.Pruned = pruned
	}
	// A cancel can land in any step (opening a catalog reader, a copy, a
	// walk); whichever one noticed it, the caller asked for it.
	if err != nil && ctx.Err() != nil && !kerr.Is(err, kerr.Cancelled) {
		err = kerr.Wrap(kerr.Cancelled, err, "backup cancelled")
	}
	if err != nil && kerr.NameOf(err) == kerr.Failed && catalog.IsFull(err) {
		err = kerr.Wrap(kerr.NoSpace, err, "the backup drive is full (catalog)")
	}
	return res, err
}

// lockCatalog takes the repository's writer lock and opens its catalog;
// unlock undoes both.
func lockCatalog(r *repo.Repo) (cat *catalog.Catalog, unlock func(), err error) {
	if err := r.Lock(); err != nil {
		return nil, nil, err
	}
	if cat, err = catalog.Open(r.CatalogPath()); err != nil {
		r.Unlock()
		return nil, nil, err
	}
	return cat, func() { cat.Close(); r.Unlock() }, nil
}

// Recover finishes or removes what an interrupted run left for host: a
// snapshot whose catalog transaction committed is renamed into place
// (resumed); a .partial folder the catalog does not know is deleted. The
// caller holds the lock.
func Recover(r *repo.Repo, cat *catalog.Catalog, host string) error {
	inc, err := cat.Incomplete(host)
	if err != nil {
		return err
	}
	for _, s := range inc {
		final := r.SnapshotDir(host, s.Name)
		partial := final + repo.PartialSuffix
		if _, err := os.Lstat(partial); err == nil {
			if err := os.Rename(partial, final); err != nil {
				return fmt.Errorf("resume snapshot %s: %w", s.Name, err)
			}
			if err := repo.SyncDir(r.HostDir(host)); err != nil {
				return err
			}
		}
		if _, err := os.Lstat(final); err != nil {
			// Neither folder exists: the snapshot is lost; forget it.
			if err := cat.DeleteSnapshotRow(s.ID); err != nil {
				return err
			}
			continue
		}
		if err := cat.MarkComplete(s.ID); err != nil {
			return err
		}
		if err := cat.Audit(catalog.CurrentActor(), "resumed", host, s.Name, "", "snapshot committed before an interruption, renamed into place"); err != nil {
			return err
		}
	}
	if err := finishDeletions(r, cat, host); err != nil {
		return err
	}
	partials, err := r.Partials(host)
	if err != nil {
		return err
	}
	st := storeFor(r)
	for _, name := range partials {
		if err := st.remove(r.SnapshotDir(host, name) + repo.PartialSuffix); err != nil {
			return fmt.Errorf("clean interrupted snapshot %s: %w", name, err)
		}
		if err := cat.Audit(catalog.CurrentActor(), "cleaned", host, name, "", "removed an interrupted snapshot"); err != nil {
			return err
		}
	}
	if len(partials) > 0 {
		// A deleted subvolume's space comes back once the kernel has
		// cleaned it up (btrfs): the run that follows may need it.
		if err := st.settle(r.Root); err != nil {
			return fmt.Errorf("clean interrupted snapshots: %w", err)
		}
	}
	if snaps, err := cat.Snapshots(host); err == nil && len(snaps) > 0 {
		last := snaps[len(snaps)-1].Name
		if t, err := os.Readlink(filepath.Join(r.HostDir(host), repo.LatestName)); err != nil || t != last {
			return r.SetLatest(host, last)
		}
	}
	return nil
}

// finishDeletions completes prunes that a crash interrupted: folders of
// snapshots the catalog already forgot are removed.
func finishDeletions(r *repo.Repo, cat *catalog.Catalog, host string) error {
	pending, err := cat.PendingDeletes(host)
	if err != nil {
		return err
	}
	for _, name := range pending {
		if err := removeSnapshotDir(r, cat, host, name); err != nil {
			return err
		}
	}
	return nil
}

type backup struct {
	r       *repo.Repo
	cat     *catalog.Catalog
	opts    BackupOptions
	txn     *catalog.Txn
	prev    catalog.Snapshot // zero if none
	name    string
	partial string // the snapshot being written; "" in a dry run
	prevDir string // the previous snapshot's folder
	match   *exclude.Matcher
	dirty   map[string]bool
	// patch holds, by folder, the names changed in the folders that only
	// ChangedNames reported (see patchNames).
	patch map[string][]string
	// mounts and includeMounts keep the walk on the sources' filesystems
	// (mounts.go): nil mounts crosses every mount point.
	mounts        *mountTable
	includeMounts map[string]bool
	repoDev       uint64
	repoIno       uint64
	linkMax       uint64
	chown         bool
	start         time.Time

	res   Result
	stats progressCounters
	// claimed are the catalog listings this run has given a folder to
	// (walker or indexer only): each serves one folder of a snapshot.
	claimed map[int64]bool
	inodes  map[[2]uint64]storedInode // recorder only // source (dev, ino) of multi-link files -> stored copy
	// For telling moved files from duplicates at the end; memory grows with
	// the changes only, and paths are kept only for a plan.
	newSums   []pendingMove         // new paths whose content already existed
	goneN     map[[32]byte]int32    // content of deleted files -> how many
	gonePaths map[[32]byte][]string // and where, for the plan
	warnMu    sync.Mutex
	// runCopies are the files this run copied, by content and inode
	// metadata (see shareRunCopy).
	runMu     sync.Mutex
	runCopies map[keptKey]string
	asideSeq  atomic.Uint64 // names a copy set aside
	// planMu: the walker plans moved-in folders while the recorder plans
	// the entries it records.
	planMu sync.Mutex
	pool   *pool
	// store makes, fills and publishes the snapshot's folder; inPlace
	// says the partial began as a copy of the previous snapshot (btrfs).
	store   store
	inPlace bool
	// carry: the snapshot began whole (inPlace) and only the changed
	// folders are read (ChangedDirs): a folder with no change at or below
	// it is not entered at all (carry.go).
	carry bool
	// byListing: the sweep ends the listings of the folders seen to leave
	// instead of every listing not visited (carry.go): on btrfs, where a
	// full scan needs no query over every entry of the catalog either.
	byListing bool
	carrying
	// counted is the count of the work (count.go) once it is done.
	counted atomic.Pointer[workCount]
}

type pendingMove struct {
	sum  [32]byte
	path string // only when a plan is asked for
}

type dirMeta struct {
	path string
	meta fsmeta.Meta
	// kept: the folder came from the previous snapshot (btrfs) with the
	// same metadata in the source; it is set only if the copy's differs
	// (something was written in it): touching every folder would make
	// btrfs copy every metadata block of the snapshot.
	kept bool
	// held: the snapshot's folder is the previous snapshot's (btrfs),
	// with its attributes: those the source no longer has are removed.
	held bool
}

type progressCounters struct {
	files, bytes, copied atomic.Int64
	current              atomic.Value
}

func newBackup(r *repo.Repo, cat *catalog.Catalog, opts BackupOptions) (*backup, error) {
	if opts.Host == "" || strings.ContainsAny(opts.Host, "/\x00") || opts.Host == "." || opts.Host == ".." {
		return nil, kerr.New(kerr.InvalidArgs, "invalid host name %q", opts.Host)
	}
	if len(opts.Sources) == 0 {
		return nil, kerr.New(kerr.InvalidArgs, "nothing to back up: give at least one source folder")
	}
	if opts.Fetch != nil {
		if err := checkPullOptions(opts); err != nil {
			return nil, err
		}
	}
	var sources []string
	for _, s := range opts.Sources {
		if opts.Fetch != nil {
			sources = append(sources, s) // on the other computer
			continue
		}
		if !filepath.IsAbs(s) {
			return nil, kerr.New(kerr.InvalidArgs, "source %q is not an absolute path", s)
		}
		// A missing source (a typo, a home on a disk that is not mounted)
		// must not become a snapshot in which everything was deleted.
		if _, err := os.Lstat(s); err != nil {
			return nil, kerr.Wrap(kerr.PathNotFound, err, "source %s cannot be read (not mounted?); nothing was backed up", s)
		}
		sources = append(sources, filepath.Clean(s))
	}
	sort.Strings(sources)
	opts.Sources = sources
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.ProgressInterval <= 0 {
		opts.ProgressInterval = 250 * time.Millisecond
	}
	if opts.DryRun {
		opts.Plan = true
	}
	m, err := exclude.New(opts.excludePatterns(), exclude.Homes())
	if err != nil {
		return nil, kerr.Wrap(kerr.InvalidArgs, err, "exclusions")
	}
	b := &backup{r: r, cat: cat, opts: opts, match: m, inodes: map[[2]uint64]storedInode{}, claimed: map[int64]bool{},
		goneN: map[[32]byte]int32{}, gonePaths: map[[32]byte][]string{}}
	b.includeMounts = map[string]bool{}
	for _, m := range opts.IncludeMounts {
		if !filepath.IsAbs(m) {
			return nil, kerr.New(kerr.InvalidArgs, "mount point to include %q is not an absolute path", m)
		}
		b.includeMounts[filepath.Clean(m)] = true
	}
	if opts.Fetch == nil {
		if b.mounts, err = readMounts(); err != nil {
			return nil, err
		}
	}
	if opts.ChangedDirs != nil {
		b.dirty = map[string]bool{}
		for _, d := range opts.ChangedDirs {
			b.dirty[filepath.Clean(d)] = true
		}
		b.patch = map[string][]string{}
		peers, err := linkedPeers(cat, opts.Host, opts.ChangedNames)
		if err != nil {
			return nil, err
		}
		for _, n := range slices.Concat(opts.ChangedNames, peers) {
			n = filepath.Clean(n)
			d := filepath.Dir(n)
			if d == n || !filepath.IsAbs(n) {
				continue
			}
			if !b.dirty[d] || b.patch[d] != nil {
				b.patch[d] = append(b.patch[d], filepath.Base(n))
			}
			b.dirty[d] = true
		}
		for d := range b.dirty {
			b.dirtySorted = append(b.dirtySorted, d)
		}
		sort.Strings(b.dirtySorted)
	}
	var st unix.Stat_t
	if err := unix.Stat(r.Root, &st); err != nil {
		return nil, fmt.Errorf("stat repository %s: %w", r.Root, err)
	}
	b.repoDev, b.repoIno = st.Dev, st.Ino
	b.linkMax = opts.LinkMax
	b.store = storeFor(r)
	b.chown = os.Geteuid() == 0 && r.Marker.Caps.Chown
	b.res.Host, b.res.DryRun = opts.Host, opts.DryRun
	return b, nil
}

func (b *backup) run(ctx context.Context) (res *Result, err error) {
	b.start = time.Now()
	snaps, err := b.cat.Snapshots(b.opts.Host)
	if err != nil {
		return nil, err
	}
	t := b.opts.Now().UTC().Truncate(time.Second)
	if len(snaps) > 0 {
		b.prev = snaps[len(snaps)-1]
		b.prevDir = b.r.SnapshotDir(b.opts.Host, b.prev.Name)
		// Names sort by time; never go back or reuse a name, even if the
		// clock did.
		if pt, err := repo.ParseSnapshotName(b.prev.Name); err == nil && !t.After(pt) {
			t = pt.Add(time.Second)
		}
	}
	b.name = repo.SnapshotName(t)
	b.res.Snapshot = b.name
	if _, ok := b.store.(btrfsStore); ok && b.opts.Fetch != nil && b.prevDir != "" {
		// A pull after pulls made as plain folders (rsync's --link-dest:
		// hardlinks into the previous one) goes on that way: a new
		// subvolume could not link to them, and rsync would send and
		// store every file again.
		if sub, err := isSubvolumeDir(b.prevDir); err != nil || !sub {
			b.store = linkStore{}
		}
	}

	b.txn, err = b.cat.BeginSnapshot(b.opts.Host, b.name, b.start, b.opts.Sources, b.opts.Actor)
	if err != nil {
		return nil, err
	}
	committed := false
	defer func() {
		if !committed {
			b.txn.Rollback()
			if b.partial != "" {
				b.store.remove(b.partial)
				if kerr.Is(err, kerr.NoSpace) {
					// The space comes back once the kernel has cleaned a
					// deleted subvolume up (btrfs): wait for it, since on
					// a btrfs drive full to the last block even reading
					// the catalog fails (SQLite's shared memory is a
					// mapped file there, whose pages need free space).
					b.store.settle(b.r.Root)
				}
			}
		}
	}()
	if !b.opts.DryRun {
		// Another computer's files carry that computer's user ids, which
		// mean nothing here: its folder is for administrators only.
		hostMode := os.FileMode(0o755)
		if b.opts.Fetch != nil {
			hostMode = 0o700
		}
		if err := os.MkdirAll(b.r.HostDir(b.opts.Host), hostMode); err != nil {
			return nil, targetError(err, "create host folder")
		}
		b.partial = b.r.SnapshotDir(b.opts.Host, b.name) + repo.PartialSuffix
		if b.inPlace, err = b.store.begin(b.partial, b.prevDir); err != nil {
			return nil, targetError(err, "create snapshot folder")
		}
		b.byListing = b.inPlace && b.opts.Fetch == nil
		b.carry = b.byListing && b.dirty != nil
	}
	if b.opts.Fetch != nil {
		if err := b.pull(ctx); err != nil {
			return nil, err
		}
	} else {
		b.pool = newPool(b.opts.Workers)
		defer b.pool.close()
		// The count runs beside the walk from the start rather than
		// before it: it is only there to make the reports' totals exact,
		// and the bar pulses meanwhile (or follows the previous snapshot).
		stopCount := b.startCount(ctx)
		stopProgress := b.reportProgress(true)
		walkErr := b.walkAll(ctx)
		stopProgress()
		stopCount()
		if walkErr != nil {
			return nil, walkErr
		}
	}
	if err := b.sweep(); err != nil {
		return nil, err
	}
	b.classifyMoves()
	b.res.Duration = time.Since(b.start).Seconds()
	if b.opts.DryRun {
		return &b.res, nil
	}
	if err := b.finish(); err != nil {
		return nil, err
	}
	committed = true
	b.res.Duration = time.Since(b.start).Seconds()
	return &b.res, nil
}

// finish makes the snapshot durable and visible: data first (one syncfs
// for the whole target instead of an fsync per file), then the catalog
// commit, then the rename that publishes the folder, then latest.
func (b *backup) finish() error {
	if err := b.writeExtras(); err != nil {
		return err
	}
	// Sealed before the commit: a snapshot resumed after a crash is
	// read-only like any other.
	if err := b.store.seal(b.partial); err != nil {
		return targetError(err, "make the snapshot read-only")
	}
	if err := syncFS(b.partial); err != nil {
		return targetError(err, "flush snapshot data")
	}
	detail := fmt.Sprintf("files=%d dirs=%d bytes=%d copied=%d copied_bytes=%d linked=%d new=%d modified=%d moved=%d deleted=%d skipped=%d",
		b.res.Files, b.res.Dirs, b.res.Bytes, b.res.Copied, b.res.CopiedBytes, b.res.Linked, b.res.New, b.res.Modified, b.res.Moved, b.res.Deleted, b.res.Skipped)
	if err := b.txn.Audit("backup", strings.Join(b.opts.Sources, "\n"), detail); err != nil {
		return err
	}
	tot := catalog.Totals{Files: b.res.Files, Dirs: b.res.Dirs, Bytes: b.res.Bytes, NewBytes: b.res.CopiedBytes}
	if err := b.txn.Commit(tot, time.Now()); err != nil {
		return targetError(err, "commit catalog")
	}
	final := b.r.SnapshotDir(b.opts.Host, b.name)
	if err := os.Rename(b.partial, final); err != nil {
		return fmt.Errorf("publish snapshot %s: %w", b.name, err)
	}
	b.partial = ""
	if err := repo.SyncDir(b.r.HostDir(b.opts.Host)); err != nil {
		return err
	}
	if err := b.cat.MarkComplete(b.txn.ID()); err != nil {
		return err
	}
	return b.r.SetLatest(b.opts.Host, b.name)
}

// writeExtras writes the snapshot's extra files into <partial>/.keepsake/
// and the catalog.
func (b *backup) writeExtras() error {
	if len(b.opts.Extras) == 0 {
		return nil
	}
	dir := filepath.Join(b.partial, catalog.ExtraDir)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return targetError(err, "write the snapshot's extra files")
	}
	for _, x := range b.opts.Extras {
		if err := os.WriteFile(filepath.Join(dir, x.Name), x.Data, 0o644); err != nil {
			return targetError(err, "write "+x.Name)
		}
		if err := b.txn.AddFile(x.Name, x.Data); err != nil {
			return err
		}
	}
	return nil
}

func syncFS(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Syncfs(fd)
}

// targetError names errors of the backup drive: a full disk and a drive
// that went away are what users meet, and what scripts must tell apart.
func targetError(err error, what string) error {
	var named *kerr.Error
	if errors.As(err, &named) {
		return err
	}
	switch {
	case errors.Is(err, unix.ENOSPC), errors.Is(err, unix.EDQUOT), catalog.IsFull(err):
		return kerr.Wrap(kerr.NoSpace, err, "the backup drive is full (%s)", what)
	case errors.Is(err, unix.EIO), errors.Is(err, unix.ENODEV), errors.Is(err, unix.ENXIO), errors.Is(err, unix.ENOTCONN), errors.Is(err, unix.ESHUTDOWN):
		return kerr.Wrap(kerr.DeviceGone, err, "the backup drive stopped answering (%s): was it unplugged?", what)
	case errors.Is(err, unix.EROFS):
		return kerr.Wrap(kerr.DeviceGone, err, "the backup drive became read-only (%s)", what)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func (b *backup) warn(path, msg string) {
	w := Warning{Path: path, Message: msg}
	b.warnMu.Lock()
	b.res.Warnings = append(b.res.Warnings, w)
	b.warnMu.Unlock()
	if b.opts.Warn != nil {
		b.opts.Warn(w)
	}
}

func (b *backup) plan(k Kind, path, from string) {
	if b.opts.Plan {
		b.planMu.Lock()
		b.res.Plan = append(b.res.Plan, PlanEntry{Kind: k, Path: path, From: from})
		b.planMu.Unlock()
	}
}

// reportProgress reports progress every ProgressInterval until the
// returned stop is called. With named, the reports name the phase
// (scanning, copying, finishing); without, they carry the figures only
// and the caller's phase stands (a pull's transfer, which the caller
// names after the other computer).
func (b *backup) reportProgress(named bool) func() {
	if b.opts.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	emit := func(phase string) {
		if !named {
			phase = ""
		}
		p := Progress{Phase: phase, Files: b.stats.files.Load(), Bytes: b.stats.bytes.Load(),
			CopiedBytes: b.stats.copied.Load(), TotalFiles: b.prev.Files + b.prev.Dirs, TotalBytes: b.prev.Bytes,
			Elapsed: time.Since(b.start)}
		if n := b.counted.Load(); n != nil {
			p.TotalFiles, p.TotalBytes, p.TotalsCounted = n.files, n.bytes, true
		}
		if c, ok := b.stats.current.Load().(string); ok {
			p.Current = c
		}
		b.opts.Progress(p)
	}
	go func() {
		defer wg.Done()
		tick := time.NewTicker(b.opts.ProgressInterval)
		defer tick.Stop()
		emit("scanning")
		for {
			select {
			case <-done:
				emit("finishing")
				return
			case <-tick.C:
				emit("copying")
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// sweep ends the previous snapshot's entries that live in directories this
// run never walked: deleted folders and dropped sources.
func (b *backup) sweep() error {
	if b.byListing {
		return b.sweepDropped()
	}
	if err := b.txn.Unvisited(b.noteDeleted); err != nil {
		return err
	}
	_, err := b.txn.EndUnvisited()
	return err
}

// noteDeleted counts a previous entry that is gone. Folders are not
// counted: what a user misses is the files that were in them.
func (b *backup) noteDeleted(v catalog.Version) {
	if v.Meta.Type == fsmeta.Dir {
		return
	}
	b.res.Deleted++
	if v.Meta.Type == fsmeta.File && len(v.SHA256) == 32 {
		sum := [32]byte(v.SHA256)
		b.goneN[sum]++
		if b.opts.Plan {
			b.gonePaths[sum] = append(b.gonePaths[sum], v.Path())
		}
	}
	b.plan(Deleted, v.Path(), "")
}

func (b *backup) noteExisting(path string, sum []byte) {
	if len(sum) != 32 {
		return
	}
	p := pendingMove{sum: [32]byte(sum)}
	if b.opts.Plan {
		p.path = path
	}
	b.newSums = append(b.newSums, p)
}

// classifyMoves tells moved files (content that left another path in this
// run) from duplicates (content still present elsewhere).
func (b *backup) classifyMoves() {
	movedFrom := map[string]bool{}
	for _, p := range b.newSums {
		if b.goneN[p.sum] == 0 {
			b.res.Duplicate++
			b.plan(Duplicate, p.path, "")
			continue
		}
		b.goneN[p.sum]--
		b.res.Moved++
		b.res.Deleted-- // it moved, it was not deleted
		if b.opts.Plan {
			from := b.gonePaths[p.sum][0]
			b.gonePaths[p.sum] = b.gonePaths[p.sum][1:]
			movedFrom[from] = true
			b.plan(Moved, p.path, from)
		}
	}
	if b.opts.Plan {
		kept := b.res.Plan[:0]
		for _, e := range b.res.Plan {
			if !(e.Kind == Deleted && movedFrom[e.Path]) {
				kept = append(kept, e)
			}
		}
		b.res.Plan = kept
		sort.SliceStable(b.res.Plan, func(i, j int) bool {
			if b.res.Plan[i].Kind != b.res.Plan[j].Kind {
				return kindOrder[b.res.Plan[i].Kind] < kindOrder[b.res.Plan[j].Kind]
			}
			return b.res.Plan[i].Path < b.res.Plan[j].Path
		})
	}
}

var kindOrder = map[Kind]int{New: 0, Modified: 1, MetaOnly: 2, Moved: 3, Duplicate: 4, Deleted: 5, Skipped: 6}

func sameSum(a, b []byte) bool { return a != nil && bytes.Equal(a, b) }
