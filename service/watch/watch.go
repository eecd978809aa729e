package watch

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"golang.org/x/sys/unix"
)

// Options configure a Watcher.
type Options struct {
	// JournalPath is the file that keeps the changed directories across
	// restarts, e.g. /var/lib/keepsake/journal/<profile>. It must not lie
	// inside a watched folder.
	JournalPath string
	// Exclude says a path is not backed up: an excluded directory is not
	// watched, and changes to excluded paths are not recorded. nil excludes
	// nothing. It should say what the engine skips: the profile's
	// exclude.Matcher, and directories with exclude.CacheDirTagged.
	Exclude func(path string, isDir bool) bool
	// Quiet is the debounce period: OnQuiet is called once this long after
	// the last recorded change. 0 means 5 seconds.
	Quiet time.Duration
	// MaxWait, when set, calls OnQuiet at the latest this long after the
	// first change of a burst even if changes go on (a download that writes
	// for an hour would otherwise hold back every backup).
	MaxWait time.Duration
	// OnQuiet is called from the watcher's goroutine; it must not call
	// Close.
	OnQuiet func()
	// MaxWatches caps the number of watched directories; 0 leaves only the
	// kernel's limit (fs.inotify.max_user_watches). Reaching either limit
	// degrades the watcher to full scans.
	MaxWatches int
}

// State is what the watcher reports about itself.
type State struct {
	// Watching is the number of directories with a watch.
	Watching int
	// Degraded says watching is incomplete (watch or instance limit): every
	// batch asks for a full scan until the watcher is restarted.
	Degraded bool
	// FullScan says the next backup must read everything.
	FullScan bool
	// Reason says why the watcher is degraded or a full scan is needed,
	// for people: "watch limit reached (max_user_watches=8192): falling
	// back to periodic full scans". Empty when neither.
	Reason string
	// Pending is the number of directories recorded as changed and not
	// yet committed.
	Pending int
}

// Watcher watches the directories below a set of roots and journals which
// of them changed.
type Watcher struct {
	roots []string
	opts  Options
	jtmp  string // the journal's temporary file, whose events are ignored

	// Owned by the loop goroutine (and by New before the loop starts).
	fsw *fsnotify.Watcher
	// watched maps each watched dir to the names of its watched subdirs.
	// The loop reads it freely and changes it holding mu, so State can
	// count it.
	watched map[string]map[string]bool
	quiet   *time.Timer
	maxWait *time.Timer
	burst   bool // a change is waiting for OnQuiet
	// quietFor is the debounce period in nanoseconds: opts.Quiet until
	// SetQuiet changes it.
	quietFor atomic.Int64

	mu    sync.Mutex
	j     *journal
	seq   uint64            // counts recorded changes; a batch's token is the seq it saw
	dirty map[string]uint64 // changed dir, read whole -> seq of its last change
	// names are changed entries, by path -> seq of their last change: their
	// directory changed, and a backup that can may look at these names
	// alone (Changes).
	names      map[string]uint64
	needFull   bool
	fullSeq    uint64
	fullReason string
	degraded   string          // why watching gave up; sticky
	missing    map[string]bool // roots that do not exist (or vanished)
	journalErr error           // the last failed journal write
	closed     bool
	ioDone     chan struct{} // closed when the last queued file operation is done (queueIO)

	done    chan struct{}
	exited  chan struct{}
	closeMu sync.Mutex
}

// retryEvery is how often missing roots are looked for again.
var retryEvery = 30 * time.Second

// journalSync is how often recorded changes are written and synced.
var journalSync = time.Second

// New loads the journal, puts a watch on every directory below roots
// (absolute paths) and starts watching. Roots that do not exist yet are
// looked for again every 30 seconds; until they are watched, every batch
// asks for a full scan.
func New(roots []string, opts Options) (*Watcher, error) {
	if opts.JournalPath == "" {
		return nil, errors.New("watch: no journal path")
	}
	opts.JournalPath = filepath.Clean(opts.JournalPath)
	if opts.Quiet <= 0 {
		opts.Quiet = 5 * time.Second
	}
	var clean []string
	for _, r := range roots {
		if !filepath.IsAbs(r) {
			return nil, fmt.Errorf("watch: root %q is not an absolute path", r)
		}
		clean = append(clean, filepath.Clean(r))
	}
	w := &Watcher{
		roots:   outermost(clean),
		opts:    opts,
		jtmp:    opts.JournalPath + ".tmp",
		watched: map[string]map[string]bool{},
		dirty:   map[string]uint64{},
		names:   map[string]uint64{},
		missing: map[string]bool{},
		done:    make(chan struct{}),
		exited:  make(chan struct{}),
		ioDone:  make(chan struct{}),
	}
	close(w.ioDone) // no file operation before the first
	j, ld, err := openJournal(opts.JournalPath)
	if err != nil {
		return nil, err
	}
	w.j = j
	for _, d := range ld.dirs {
		w.seq++
		w.dirty[d] = w.seq
	}
	for _, n := range ld.names {
		w.seq++
		w.names[n] = w.seq
	}
	// Whatever changed while nothing was watching is unknown: every start
	// asks for a full scan (DESIGN.md), with the most telling reason.
	switch {
	case ld.damaged != nil:
		w.setFull(fmt.Sprintf("change journal %s was damaged (%v): a full scan is needed", opts.JournalPath, ld.damaged), false)
	case !ld.existed:
		w.setFull("first start: no change journal yet, a full scan is needed", false)
	default:
		w.setFull("service started: changes made while it was not running are unknown, a full scan is needed", false)
	}

	w.quietFor.Store(int64(opts.Quiet))
	w.quiet = time.NewTimer(time.Hour)
	w.quiet.Stop()
	w.maxWait = time.NewTimer(time.Hour)
	w.maxWait.Stop()

	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		if !w.limitError(err) {
			j.close(j.take())
			return nil, fmt.Errorf("start watching: %w", err)
		}
	} else {
		w.fsw = fsw
		for _, r := range w.roots {
			w.addRoot(r)
		}
	}
	go w.loop()
	return w, nil
}

// outermost drops roots inside other roots: they are watched as part of
// them (the engine walks them the same way).
func outermost(roots []string) []string {
	sort.Strings(roots)
	var out []string
next:
	for _, r := range roots {
		for _, o := range out {
			if within(r, o) {
				continue next
			}
		}
		out = append(out, r)
	}
	return out
}

// within says p is dir or below it.
func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}

func (w *Watcher) rootOf(p string) (string, bool) {
	for _, r := range w.roots {
		if within(p, r) {
			return r, true
		}
	}
	return "", false
}

// Close stops watching and writes what the journal has not yet written.
func (w *Watcher) Close() error {
	w.closeMu.Lock()
	defer w.closeMu.Unlock()
	select {
	case <-w.done:
		return nil
	default:
	}
	close(w.done)
	<-w.exited
	var err error
	if w.fsw != nil {
		err = w.fsw.Close()
		w.fsw = nil
	}
	w.mu.Lock()
	w.closed = true // no record is added after this
	buf := w.j.take()
	turn := w.queueIO()
	w.mu.Unlock()
	jerr := w.runIO(turn, func() error { return w.j.close(buf) }, nil)
	if err == nil {
		err = jerr
	}
	return err
}

// The journal's file is written and synced without holding mu, so that a
// slow fsync holds up neither the recording of changes nor State. The
// order of the file operations is kept all the same: each takes what it
// writes from memory (the queued records, or the live records for a
// compaction) and its place in line (queueIO) in one critical section of
// mu, and runs only once the operation before it in line has finished
// (runIO). The file thus goes through the states of memory in the order
// they were taken. In particular, records taken after a compaction took
// its snapshot are appended after the compaction's rename, to the new
// file, and never to the old file which the rename would then replace
// (losing them); and a compaction never replaces records appended after
// its snapshot, since their write comes after it in line. Records added
// while an operation runs wait in the queue for the next write.
//
// A failed write drops the records it took: journalErr then asks for a
// full scan, which covers them, and the next compaction writes everything
// still live from memory.

// queueIO takes the next place in line for a file operation. Caller holds
// mu and has just taken what the operation writes.
func (w *Watcher) queueIO() ioTurn {
	t := ioTurn{prev: w.ioDone, done: make(chan struct{})}
	w.ioDone = t.done
	return t
}

// ioTurn is a place in line: prev is closed when the operation before is
// done; closing done lets the next one go.
type ioTurn struct{ prev, done chan struct{} }

// runIO waits for its turn, runs op without mu, then calls record (if
// any) with op's error holding mu, and lets the next operation go. Caller
// does not hold mu.
func (w *Watcher) runIO(t ioTurn, op func() error, record func(error)) error {
	<-t.prev
	err := op()
	if record != nil {
		w.mu.Lock()
		record(err)
		w.mu.Unlock()
	}
	close(t.done)
	return err
}

// writeJournal writes and syncs the records queued so far. Caller does
// not hold mu.
func (w *Watcher) writeJournal() {
	w.mu.Lock()
	buf := w.j.take()
	if len(buf) == 0 {
		w.mu.Unlock()
		return
	}
	turn := w.queueIO()
	w.mu.Unlock()
	w.runIO(turn, func() error { return w.j.write(buf) }, func(err error) {
		if err != nil {
			w.journalErr = err
		}
	})
}

// Changes is what changed since the last Commit (see Watcher.Changes).
type Changes struct {
	// Dirs are directories to read whole (sorted, never nil), for
	// engine.BackupOptions.ChangedDirs; Names are changed entries (sorted),
	// for ChangedNames: their directories changed, and only these names
	// in them. Both only say what is known when Full is true: the backup
	// must then read everything (ChangedDirs nil).
	Dirs, Names []string
	Full        bool
	// Token is what to Commit once a backup covering these succeeded.
	Token uint64
}

// Changes returns what changed since the last Commit: the directories to
// read whole, the entries that changed in the others, whether a full scan
// is needed (overflow, watch limit, missing source, damaged journal, or no
// full scan committed since start) and the token to Commit once a backup
// covering them succeeded. Directories that no longer exist are left out
// (their parent holds their name); names that no longer exist are kept,
// as they say what was deleted.
func (w *Watcher) Changes() Changes {
	w.writeJournal() // a failure asks for a full scan in this batch
	w.mu.Lock()
	cand := sortedKeys(w.dirty)
	c := Changes{Token: w.seq, Full: w.fullNeeded(), Names: sortedKeys(w.names)}
	w.mu.Unlock()
	c.Dirs = existingDirs(cand)
	return c
}

// Batch is Changes with each changed entry's directory among the
// directories, to read whole: what a backup that reads folders, not
// names, needs.
//
// dirs is sorted and never nil, so it can go into
// engine.BackupOptions.ChangedDirs as it is; when full is true the backup
// must instead leave ChangedDirs nil, and dirs only says what is known to
// have changed.
func (w *Watcher) Batch() (dirs []string, full bool, token uint64) {
	c := w.Changes()
	set := map[string]bool{}
	for _, d := range c.Dirs {
		set[d] = true
	}
	var parents []string
	for _, n := range c.Names {
		if d := filepath.Dir(n); !set[d] {
			set[d] = true
			parents = append(parents, d)
		}
	}
	dirs = append(c.Dirs, existingDirs(parents)...)
	sort.Strings(dirs)
	return dirs, c.Full, c.Token
}

// sortedKeys are m's paths, sorted.
func sortedKeys(m map[string]uint64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// forget drops the paths of m last changed at or before token.
func forget(m map[string]uint64, token uint64) {
	for k, s := range m {
		if s <= token {
			delete(m, k)
		}
	}
}

// existingDirs are the paths of cand that are directories now.
func existingDirs(cand []string) []string {
	dirs := make([]string, 0, len(cand))
	for _, d := range cand {
		if fi, err := os.Lstat(d); err == nil && fi.IsDir() {
			dirs = append(dirs, d)
		}
	}
	sort.Strings(dirs)
	return dirs
}

func (w *Watcher) fullNeeded() bool {
	return w.needFull || w.degraded != "" || len(w.missing) > 0 || w.journalErr != nil
}

// Commit says a backup covering the batch of token succeeded: the batch's
// directories leave the journal (changes recorded after Batch stay), and
// if the backup was a full scan, the full-scan request it covered is
// cleared. A degraded watcher or a missing source keeps asking for full
// scans regardless.
func (w *Watcher) Commit(token uint64, full bool) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return errors.New("watch: commit after close")
	}
	if token > w.seq {
		w.mu.Unlock()
		return fmt.Errorf("watch: unknown batch token %d", token)
	}
	forget(w.dirty, token)
	forget(w.names, token)
	if full && w.needFull && w.fullSeq <= token {
		w.needFull, w.fullReason = false, ""
	}
	compact := w.compact()
	w.mu.Unlock()
	return compact(func(err error) { w.journalErr = err })
}

// compact takes what is live now and a place in line to rewrite the
// journal with it. Caller holds mu, and calls the function returned after
// releasing it: it does the rewrite, calls record with the outcome
// holding mu, and returns the outcome.
func (w *Watcher) compact() func(record func(error)) error {
	recs := make([]string, 0, len(w.dirty)+len(w.names)+1)
	if w.needFull {
		recs = append(recs, fullRecord(w.fullReason))
	}
	for _, d := range sortedKeys(w.dirty) {
		recs = append(recs, dirRecord(d))
	}
	for _, n := range sortedKeys(w.names) {
		recs = append(recs, nameRecord(n))
	}
	// The queued records are live ones too (or committed): recs has them.
	w.j.buf, w.j.lines = nil, len(recs)
	turn := w.queueIO()
	return func(record func(error)) error {
		return w.runIO(turn, func() error { return w.j.rewrite(recs) }, record)
	}
}

// SetQuiet changes the debounce period from the next recorded change on
// (0 means 5 seconds). The watches and the journal stay as they are: a
// new period is no reason for a full scan, as a restart would be.
func (w *Watcher) SetQuiet(d time.Duration) {
	if d <= 0 {
		d = 5 * time.Second
	}
	w.quietFor.Store(int64(d))
}

// MarkFull asks for a full scan in the next batch (e.g. the daily rescan).
func (w *Watcher) MarkFull(reason string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.setFull(reason, true)
}

// setFull records that a full scan is needed. Caller holds mu (or is New).
func (w *Watcher) setFull(reason string, persist bool) {
	w.seq++
	w.needFull, w.fullSeq, w.fullReason = true, w.seq, reason
	if persist && !w.closed {
		w.j.add(fullRecord(reason))
	}
}

// State reports what the watcher is doing.
func (w *Watcher) State() State {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := State{
		Watching: len(w.watched),
		Degraded: w.degraded != "",
		FullScan: w.fullNeeded(),
		Pending:  w.pendingDirs(),
	}
	switch {
	case w.degraded != "":
		st.Reason = w.degraded
	case len(w.missing) > 0:
		var ms []string
		for r := range w.missing {
			ms = append(ms, r)
		}
		sort.Strings(ms)
		st.Reason = fmt.Sprintf("source %s is missing: a full scan is needed once it is back", strings.Join(ms, ", "))
	case w.journalErr != nil:
		st.Reason = fmt.Sprintf("%v: a full scan is needed", w.journalErr)
	case w.needFull:
		st.Reason = w.fullReason
	}
	return st
}

// pendingDirs counts the directories recorded as changed, whole or by
// name. Caller holds mu.
func (w *Watcher) pendingDirs() int {
	n := len(w.dirty)
	seen := map[string]bool{}
	for p := range w.names {
		if d := filepath.Dir(p); !seen[d] {
			seen[d] = true
			if _, whole := w.dirty[d]; !whole {
				n++
			}
		}
	}
	return n
}

// maxNames bounds the changed entries kept by name (and the memory they
// take); past it, a change records its directory, to be read whole. A
// variable for tests.
var maxNames = 100_000

// markName records that entry p changed: its directory changed, at p.
func (w *Watcher) markName(p string) {
	w.mu.Lock()
	if _, known := w.names[p]; !known {
		if len(w.names) >= maxNames {
			w.mu.Unlock()
			w.mark(filepath.Dir(p))
			return
		}
		if !w.closed {
			w.j.add(nameRecord(p))
		}
	}
	w.seq++
	w.names[p] = w.seq
	w.mu.Unlock()
}

// mark records that directory d changed.
func (w *Watcher) mark(d string) {
	w.mu.Lock()
	if _, ok := w.dirty[d]; !ok && !w.closed {
		w.j.add(dirRecord(d))
	}
	w.seq++
	w.dirty[d] = w.seq
	w.mu.Unlock()
}

// loop handles events until Close.
func (w *Watcher) loop() {
	defer close(w.exited)
	retry := time.NewTicker(retryEvery)
	defer retry.Stop()
	flush := time.NewTicker(journalSync)
	defer flush.Stop()
	for {
		var events <-chan fsnotify.Event
		var errs <-chan error
		if w.fsw != nil {
			events, errs = w.fsw.Events, w.fsw.Errors
		}
		select {
		case <-w.done:
			return
		case ev, ok := <-events:
			if !ok {
				w.degrade("watching stopped unexpectedly: falling back to periodic full scans")
				continue
			}
			w.handle(ev)
		case err, ok := <-errs:
			if !ok {
				w.degrade("watching stopped unexpectedly: falling back to periodic full scans")
				continue
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				w.rewatch("too many changes at once (inotify event queue overflow): a full scan is needed")
			} else {
				w.rewatch(fmt.Sprintf("watching failed (%v): a full scan is needed", err))
			}
			w.changed()
		case <-w.quiet.C:
			w.fireQuiet()
		case <-w.maxWait.C:
			w.fireQuiet()
		case <-retry.C:
			w.retryRoots()
		case <-flush.C:
			w.mu.Lock()
			if w.j.lines > 2*(len(w.dirty)+len(w.names))+1024 {
				compact := w.compact()
				w.mu.Unlock()
				compact(func(err error) {
					if err != nil {
						w.journalErr = err
					}
				})
			} else {
				w.mu.Unlock()
				w.writeJournal()
			}
		}
	}
}

// changed starts or extends the quiet period.
func (w *Watcher) changed() {
	if w.opts.OnQuiet == nil {
		return
	}
	w.quiet.Reset(time.Duration(w.quietFor.Load()))
	if !w.burst && w.opts.MaxWait > 0 {
		w.maxWait.Reset(w.opts.MaxWait)
	}
	w.burst = true
}

func (w *Watcher) fireQuiet() {
	w.quiet.Stop()
	w.maxWait.Stop()
	if !w.burst {
		return
	}
	w.burst = false
	w.opts.OnQuiet()
}

// handle records one event. An event's path names an entry, which the
// engine reads from its parent directory's listing: the parent is what
// changed, at that name, which is recorded (markName) so that a backup
// may look at the names alone. A directory's own metadata is the
// exception. The engine reads it afresh whenever the directory or its parent is read, but records it
// in the catalog only when the directory itself is read; a later run that
// reuses the parent would take the old metadata from the catalog. So an
// attribute change of a directory records the directory itself.
func (w *Watcher) handle(ev fsnotify.Event) {
	// Clean: fsnotify names entries of a watch on "/" "//name".
	p := filepath.Clean(ev.Name)
	if p == w.opts.JournalPath || p == w.jtmp {
		return
	}
	root, ok := w.rootOf(p)
	if !ok {
		return
	}
	if p == root {
		switch {
		case ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename):
			w.removeTree(p)
			w.mu.Lock()
			w.missing[p] = true
			w.mu.Unlock()
		case ev.Has(fsnotify.Chmod):
			w.mark(p)
		default:
			return
		}
		w.changed()
		return
	}
	_, wasDir := w.watched[p]
	isDir := wasDir
	var fi os.FileInfo
	var statErr error
	if !wasDir && (ev.Has(fsnotify.Create) || ev.Has(fsnotify.Chmod) || w.opts.Exclude != nil) {
		fi, statErr = os.Lstat(p)
		isDir = statErr == nil && fi.IsDir()
	}
	if w.opts.Exclude != nil && w.opts.Exclude(p, isDir) {
		return
	}
	switch {
	case ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename):
		// The watches below a moved directory would report its old path:
		// drop them; where it went, a Create adds them anew.
		if wasDir {
			w.removeTree(p)
		}
	case ev.Has(fsnotify.Create):
		if wasDir {
			// Watched already (found by the walk of its parent), or
			// another directory now at the same path: refresh below.
			fi, statErr = os.Lstat(p)
			isDir = statErr == nil && fi.IsDir()
		}
		if isDir {
			// Moved in or new: walk it, since what was created inside it
			// before its watch landed made no event, and what moved in
			// may differ from what the previous snapshot holds there.
			w.addTree(p, true)
		} else if wasDir {
			w.removeTree(p)
		}
	case ev.Has(fsnotify.Chmod) && isDir:
		w.mark(p)
		w.changed()
		return
	}
	w.markName(p)
	w.changed()
}

// addRoot watches a root, or notes it missing.
func (w *Watcher) addRoot(r string) {
	fi, err := os.Lstat(r)
	if err != nil || !fi.IsDir() {
		// A root that is a file or symlink is read afresh by every
		// backup and needs no watch; one that does not exist is missing.
		if err != nil {
			w.mu.Lock()
			w.missing[r] = true
			w.mu.Unlock()
		}
		return
	}
	w.addTree(r, false)
}

// retryRoots watches roots that were missing and exist again.
func (w *Watcher) retryRoots() {
	w.mu.Lock()
	var back []string
	for r := range w.missing {
		if _, err := os.Lstat(r); err == nil {
			back = append(back, r)
			delete(w.missing, r)
		}
	}
	if len(back) > 0 {
		sort.Strings(back)
		w.setFull(fmt.Sprintf("source %s appeared again: a full scan is needed", strings.Join(back, ", ")), true)
	}
	w.mu.Unlock()
	for _, r := range back {
		if w.fsw == nil {
			break
		}
		w.addRoot(r)
	}
	if len(back) > 0 {
		w.changed()
	}
}

// addTree watches dir and every directory below it (but excluded ones),
// marking each changed when markDirty is set.
func (w *Watcher) addTree(dir string, markDirty bool) {
	stack := []string{dir}
	for len(stack) > 0 && w.fsw != nil {
		d := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if d != dir || !w.isRoot(d) {
			if w.opts.Exclude != nil && w.opts.Exclude(d, true) {
				continue
			}
		}
		if !w.watch(d) {
			continue
		}
		if markDirty {
			w.mark(d)
		}
		subs := subdirs(d)
		// Forget watched subdirectories that are gone (a directory
		// replaced by another one at the same path).
		for name := range w.watched[d] {
			if !subs[name] {
				w.removeTree(filepath.Join(d, name))
			}
		}
		for name := range subs {
			stack = append(stack, filepath.Join(d, name))
		}
	}
}

func (w *Watcher) isRoot(p string) bool {
	for _, r := range w.roots {
		if r == p {
			return true
		}
	}
	return false
}

// subdirs lists the directories in d, without following a symlink that
// replaced d since it was seen.
func subdirs(d string) map[string]bool {
	fd, err := unix.Open(d, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	f := os.NewFile(uintptr(fd), d)
	defer f.Close()
	ents, _ := f.ReadDir(-1)
	out := map[string]bool{}
	for _, e := range ents {
		if e.IsDir() {
			out[e.Name()] = true
		}
	}
	return out
}

// watch adds a watch on d. It reports false when d cannot be watched:
// gone, unreadable, or a limit was reached (then the watcher is degraded).
func (w *Watcher) watch(d string) bool {
	_, already := w.watched[d]
	if !already && w.opts.MaxWatches > 0 && len(w.watched) >= w.opts.MaxWatches {
		w.degrade(fmt.Sprintf("watch limit reached (MaxWatches=%d): falling back to periodic full scans", w.opts.MaxWatches))
		return false
	}
	// Adding a watch again is cheap and needed: the path may now be
	// another directory than the one watched before.
	if err := w.fsw.Add(d); err != nil {
		if !w.limitError(err) {
			// Gone already (its parent reports it) or not readable (nor
			// then for the backup either): nothing to watch.
			if already {
				w.removeTree(d)
			}
		}
		return false
	}
	if !already {
		w.mu.Lock()
		w.watched[d] = nil
		if parent := filepath.Dir(d); parent != d {
			if kids, ok := w.watched[parent]; ok {
				if kids == nil {
					kids = map[string]bool{}
					w.watched[parent] = kids
				}
				kids[filepath.Base(d)] = true
			}
		}
		w.mu.Unlock()
	}
	return true
}

// removeTree drops the watches of d and everything below it.
func (w *Watcher) removeTree(d string) {
	kids, ok := w.watched[d]
	if !ok {
		return
	}
	for name := range kids {
		w.removeTree(filepath.Join(d, name))
	}
	if w.fsw != nil {
		// Fails when the kernel already dropped the watch (deleted
		// directory); either way it is gone.
		w.fsw.Remove(d)
	}
	w.mu.Lock()
	delete(w.watched, d)
	if p, ok := w.watched[filepath.Dir(d)]; ok && p != nil {
		delete(p, filepath.Base(d))
	}
	w.mu.Unlock()
}

// limitError degrades the watcher if err is the kernel's watch or instance
// limit, and says whether it was.
func (w *Watcher) limitError(err error) bool {
	switch {
	case errors.Is(err, unix.ENOSPC):
		w.degrade(fmt.Sprintf("watch limit reached (max_user_watches=%s): falling back to periodic full scans", sysctl("max_user_watches")))
	case errors.Is(err, unix.EMFILE):
		w.degrade(fmt.Sprintf("too many inotify instances (max_user_instances=%s): falling back to periodic full scans", sysctl("max_user_instances")))
	case errors.Is(err, unix.ENFILE):
		w.degrade("the system is out of file descriptors: falling back to periodic full scans")
	default:
		return false
	}
	return true
}

func sysctl(name string) string {
	b, err := os.ReadFile("/proc/sys/fs/inotify/" + name)
	if err != nil {
		return "?"
	}
	s := strings.TrimSpace(string(b))
	if _, err := strconv.Atoi(s); err != nil {
		return "?"
	}
	return s
}

// degrade gives up watching: with some directories unwatched, no batch can
// be trusted, and the watches held would only use up the per-user budget
// other programs need.
func (w *Watcher) degrade(reason string) {
	if w.fsw != nil {
		w.fsw.Close()
		w.fsw = nil
	}
	w.mu.Lock()
	w.watched = map[string]map[string]bool{}
	if w.degraded == "" {
		w.degraded = reason
	}
	w.mu.Unlock()
}

// rewatch starts over after events were lost: directories created in the
// meantime have no watch, moved ones report old paths. A full scan covers
// the lost changes.
func (w *Watcher) rewatch(reason string) {
	if w.fsw != nil {
		w.fsw.Close()
		w.fsw = nil
	}
	w.mu.Lock()
	w.setFull(reason, true)
	w.watched = map[string]map[string]bool{}
	w.mu.Unlock()
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		if !w.limitError(err) {
			w.degrade(fmt.Sprintf("cannot watch again (%v): falling back to periodic full scans", err))
		}
		return
	}
	w.fsw = fsw
	for _, r := range w.roots {
		w.addRoot(r)
	}
}
