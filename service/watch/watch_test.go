package watch

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/internal/realfs"
	"golang.org/x/sys/unix"
)

var baseTree = map[string]string{
	"a/f":     "a",
	"a/b/f":   "ab",
	"a/b/c/f": "abc",
	"d/f":     "d",
}

func sh(t testing.TB, dir, script string) {
	t.Helper()
	cmd := exec.Command("sh", "-ec", script)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
}

// What the engine needs listed for each kind of change: the directory
// whose listing holds the changed entry, and every directory of a tree
// that appeared.
func TestBatchListsChangedDirs(t *testing.T) {
	cases := []struct {
		name   string
		script string // run in src
		want   []string
	}{
		{"modify a file", "echo more >> a/b/f", []string{"a/b"}},
		{"create a file", "echo new > a/new", []string{"a"}},
		{"create a file in the root", "echo new > top", []string{"."}},
		{"delete a file", "rm a/b/f", []string{"a/b"}},
		{"rename a file across dirs", "mv a/f d/g", []string{"a", "d"}},
		{"rename a file in place", "mv a/b/c/f a/b/c/g", []string{"a/b/c"}},
		{"chmod a file", "chmod 600 a/f", []string{"a"}},
		{"touch a file's mtime", "touch -d 2001-01-01 d/f", []string{"d"}},
		{"chmod a dir", "chmod 700 a/b", []string{"a/b"}},
		{"touch a dir", "touch -d 2001-01-01 a/b/c", []string{"a/b/c"}},
		{"chmod the root", "chmod 700 .", []string{"."}},
		{"create a symlink", "ln -s ../a d/link", []string{"d"}},
		{"make an empty dir", "mkdir e", []string{".", "e"}},
		{"make a tree with content", "mkdir -p x/y/z && touch x/y/z/f", []string{".", "x", "x/y", "x/y/z"}},
		{"remove a tree", "rm -rf a/b", []string{"a"}},
		{"rename a dir", "mv a/b d/b2", []string{"a", "d", "d/b2", "d/b2/c"}},
		{"rename a dir in place", "mv a/b/c a/b/c2", []string{"a/b", "a/b/c2"}},
		{"replace a dir by a file", "rm -r a/b/c && echo x > a/b/c", []string{"a/b"}},
		{"nothing", "true", []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, baseTree)
			e.start(Options{})
			sh(t, e.src, tc.script)
			e.sync()
			got, _, _ := e.batch()
			if !sameList(got, tc.want) {
				t.Errorf("after %q Batch lists %q, want %q", tc.script, got, tc.want)
			}
		})
	}
}

// TestChangesNamesEntries: what changed is recorded by name, for a
// backup that can look at names alone: each entry made, written,
// removed, renamed or given other attributes, in its directory. A
// directory's own attributes and a tree that appeared are directories to
// read whole. (Names below a new tree depend on when its watch landed:
// they are not checked; its directories are read whole anyway.)
func TestChangesNamesEntries(t *testing.T) {
	cases := []struct {
		name        string
		script      string
		dirs, names []string // names nil: not checked
	}{
		{"modify a file", "echo more >> a/b/f", nil, []string{"a/b/f"}},
		{"create a file", "echo new > a/new", nil, []string{"a/new"}},
		{"delete a file", "rm a/b/f", nil, []string{"a/b/f"}},
		{"rename a file across dirs", "mv a/f d/g", nil, []string{"a/f", "d/g"}},
		{"chmod a file", "chmod 600 a/f", nil, []string{"a/f"}},
		{"chmod a dir", "chmod 700 a/b", []string{"a/b"}, []string{}},
		{"remove a tree", "rm -rf a/b", nil, []string{"a/b", "a/b/c", "a/b/c/f", "a/b/f"}},
		{"rename a dir", "mv a/b d/b2", []string{"d/b2", "d/b2/c"}, []string{"a/b", "d/b2"}},
		{"make a tree with content", "mkdir -p x/y/z && touch x/y/z/f", []string{"x", "x/y", "x/y/z"}, nil},
		{"replace a dir by a file", "rm -r a/b/c && echo x > a/b/c", nil, []string{"a/b/c", "a/b/c/f"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, baseTree)
			e.start(Options{})
			sh(t, e.src, tc.script)
			e.sync()
			c := e.w.Changes()
			dirs := e.rel(c.Dirs)
			names := e.relNames(c.Names)
			if tc.dirs == nil {
				tc.dirs = []string{}
			}
			if !sameList(dirs, tc.dirs) {
				t.Errorf("after %q Changes lists the folders %q, want %q", tc.script, dirs, tc.dirs)
			}
			if tc.names != nil && !sameList(names, tc.names) {
				t.Errorf("after %q Changes lists the names %q, want %q", tc.script, names, tc.names)
			}
			// Batch reads each of them whole.
			batch, _, _ := e.batch()
			want := map[string]bool{}
			for _, d := range dirs {
				want[d] = true
			}
			for _, n := range names {
				if fi, err := os.Lstat(filepath.Join(e.src, filepath.Dir(n))); err == nil && fi.IsDir() {
					want[filepath.Dir(n)] = true
				}
			}
			if len(batch) != len(want) {
				t.Errorf("after %q Batch lists %q, want the folders of %q and %q", tc.script, batch, dirs, names)
			}
		})
	}
}

// TestTooManyNamesReadFoldersWhole: past maxNames, a change records its
// folder instead of its name, and the names kept survive a restart.
func TestTooManyNamesReadFoldersWhole(t *testing.T) {
	defer func(n int) { maxNames = n }(maxNames)
	maxNames = 2
	e := newEnv(t, baseTree)
	w := e.start(Options{})
	e.commitAll(true)
	e.write("a/one", "1")
	e.write("a/two", "2")
	e.write("d/three", "3")
	e.sync()
	c := w.Changes()
	if got := e.rel(c.Dirs); !sameList(got, []string{"d"}) {
		t.Errorf("past the limit: folders %q, want [d]", got)
	}
	if got := e.relNames(c.Names); !sameList(got, []string{"a/one", "a/two"}) {
		t.Errorf("past the limit: names %q, want a/one, a/two", got)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w = e.start(Options{})
	if got := e.relNames(w.Changes().Names); !sameList(got, []string{"a/one", "a/two"}) {
		t.Errorf("after a restart: names %q", got)
	}
}

func TestNewTreeIsWatched(t *testing.T) {
	e := newEnv(t, baseTree)
	e.start(Options{})
	e.commitAll(true)
	before := e.w.State().Watching
	sh(t, e.src, "mkdir -p n/b/c && touch n/b/c/f")
	e.sync()
	if got, _, _ := e.batch(); !sameList(got, []string{".", "n", "n/b", "n/b/c"}) {
		t.Errorf("after mkdir -p: %q", got)
	}
	if got := e.w.State().Watching; got != before+3 {
		t.Errorf("watching %d directories, want %d (+3 new)", got, before+3)
	}
	e.commitAll(false)
	e.write("n/b/c/g", "later")
	e.sync()
	if got, _, _ := e.batch(); !sameList(got, []string{"n/b/c"}) {
		t.Errorf("a later change in the new tree: %q, want [n/b/c]", got)
	}
}

// A moved directory's old watches would report old paths; the watcher must
// report changes under the new path only.
func TestRenamedDirReportsNewPaths(t *testing.T) {
	e := newEnv(t, baseTree)
	e.start(Options{})
	sh(t, e.src, "mv a/b d/b2")
	e.sync()
	e.commitAll(false)
	e.write("d/b2/c/x", "x")
	e.sync()
	if got, _, _ := e.batch(); !sameList(got, []string{"d/b2/c"}) {
		t.Errorf("change below a renamed dir: %q, want [d/b2/c]", got)
	}
	want := []string{".", "a", "d", "d/b2", "d/b2/c"}
	if got := e.watchedRel(); !sameList(got, want) {
		t.Errorf("watched %q, want %q", got, want)
	}
}

// A directory moved out of the sources, changed there and moved back holds
// what the previous snapshot does not: all of it must be read again.
func TestDirMovedOutAndBack(t *testing.T) {
	e := newEnv(t, baseTree)
	e.start(Options{})
	outside := filepath.Join(e.base, "outside")
	if err := os.Rename(e.path("a/b"), outside); err != nil {
		t.Fatal(err)
	}
	e.sync()
	e.commitAll(false)
	if err := os.WriteFile(filepath.Join(outside, "c", "f"), []byte("changed outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.sync()
	if got, _, _ := e.batch(); !sameList(got, []string{}) {
		t.Errorf("a change outside the sources was recorded: %q", got)
	}
	if err := os.Rename(outside, e.path("a/b")); err != nil {
		t.Fatal(err)
	}
	e.sync()
	if got, _, _ := e.batch(); !sameList(got, []string{"a", "a/b", "a/b/c"}) {
		t.Errorf("after moving back: %q", got)
	}
}

func TestJournalSurvivesRestart(t *testing.T) {
	e := newEnv(t, baseTree)
	w := e.start(Options{})
	_, full, _ := e.batch()
	if st := w.State(); !full || !strings.Contains(st.Reason, "first start") {
		t.Errorf("first start: full=%v reason %q, want a full scan because there was no journal", full, st.Reason)
	}
	e.commitAll(true)
	if _, full, _ := e.batch(); full {
		t.Errorf("full scan still asked for after committing one: %+v", w.State())
	}
	e.write("a/b/new", "x")
	e.write("d/new", "x")
	e.sync()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	w = e.start(Options{})
	got, full, tok := e.batch()
	if !sameList(got, []string{"a/b", "d"}) {
		t.Errorf("after a restart Batch lists %q, want [a/b d]", got)
	}
	if st := w.State(); !full || !strings.Contains(st.Reason, "not running") {
		t.Errorf("after a restart: full=%v reason %q, want a full scan (nothing was watched meanwhile)", full, st.Reason)
	}
	if err := w.Commit(tok, true); err != nil {
		t.Fatal(err)
	}
	w.Close()

	w = e.start(Options{})
	if got, _, _ := e.batch(); len(got) != 0 {
		t.Errorf("committed dirs came back after a restart: %q", got)
	}
	if st := w.State(); st.Pending != 0 {
		t.Errorf("pending %d after a restart following a commit", st.Pending)
	}
}

func TestJournalDamage(t *testing.T) {
	cases := []struct {
		name       string
		content    string
		want       []string
		wantReason string
	}{
		{"torn last line", journalHeader + "\nD \"/x/a\"\nD \"/x/", []string{"/x/a"}, "not running"},
		{"garbage", "hello\n", nil, "damaged"},
		{"bad record", journalHeader + "\nD \"/x/a\"\nD relative\n", nil, "damaged"},
		{"empty file", "", nil, "damaged"},
		{"odd names", journalHeader + "\nD " + strconv.Quote("/x/new\nline\xff") + "\n", []string{"/x/new\nline\xff"}, "not running"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			jp := filepath.Join(dir, "journal")
			if err := os.WriteFile(jp, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			w, err := New(nil, Options{JournalPath: jp})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			w.mu.Lock()
			var got []string
			for d := range w.dirty {
				got = append(got, d)
			}
			w.mu.Unlock()
			sort.Strings(got)
			if !sameList(got, tc.want) {
				t.Errorf("loaded %q, want %q", got, tc.want)
			}
			if st := w.State(); !st.FullScan || !strings.Contains(st.Reason, tc.wantReason) {
				t.Errorf("state %+v, want a full scan because %q", st, tc.wantReason)
			}
			// The journal is rewritten in good order at once.
			ld, err := readJournal(jp)
			if err != nil || ld.damaged != nil || !sameList(ld.dirs, tc.want) {
				t.Errorf("journal after New: %+v %v", ld, err)
			}
		})
	}
}

func TestCommitKeepsLaterChanges(t *testing.T) {
	e := newEnv(t, baseTree)
	w := e.start(Options{})
	e.write("a/x", "1")
	e.write("a/b/x", "1")
	e.sync()
	got, full, tok := e.batch()
	if !sameList(got, []string{"a", "a/b"}) || !full {
		t.Fatalf("batch %q full=%v", got, full)
	}
	// While the backup runs: a dir of the batch changes again, another
	// one for the first time, and a daily rescan is asked for.
	e.write("a/b/y", "2")
	e.write("d/y", "2")
	e.sync()
	w.MarkFull("daily rescan")
	if err := w.Commit(tok, true); err != nil {
		t.Fatal(err)
	}
	got, full, _ = e.batch()
	if !sameList(got, []string{"a/b", "d"}) {
		t.Errorf("after Commit: %q, want the dirs changed after Batch [a/b d]", got)
	}
	if st := w.State(); !full || st.Reason != "daily rescan" {
		t.Errorf("a full scan asked for after Batch was cleared by Commit: full=%v %+v", full, st)
	}
	if err := w.Commit(tok+1000, false); err == nil {
		t.Error("Commit accepted a token no Batch gave")
	}
	// What the journal holds after a restart matches.
	w.Close()
	e.start(Options{})
	if got, _, _ := e.batch(); !sameList(got, []string{"a/b", "d"}) {
		t.Errorf("after a restart: %q", got)
	}
}

func TestWatchLimit(t *testing.T) {
	cases := []struct {
		name  string
		max   int
		later string // run after start
	}{
		{"at start", 3, ""},
		{"while running", 7, "mkdir -p n/m/o"}, // src, a, a/b, a/b/c, d, sentinel = 6
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, baseTree)
			w := e.start(Options{MaxWatches: tc.max})
			if tc.later != "" {
				if st := w.State(); st.Degraded || st.Watching != 6 {
					t.Fatalf("before the limit: %+v", st)
				}
				e.commitAll(true)
				sh(t, e.src, tc.later)
				waitFor(t, "degraded", func() bool { return w.State().Degraded })
			}
			st := w.State()
			if !st.Degraded || !st.FullScan || !strings.Contains(st.Reason, "watch limit reached") || !strings.Contains(st.Reason, "full scans") {
				t.Errorf("state %+v, want degraded with a watch-limit reason", st)
			}
			if st.Watching != 0 {
				t.Errorf("still holding %d watches after giving up", st.Watching)
			}
			_, full, tok := w.Batch()
			if !full {
				t.Error("Batch does not ask for a full scan")
			}
			w.Commit(tok, true)
			if _, full, _ := w.Batch(); !full {
				t.Error("a committed full scan cleared the full-scan request of a degraded watcher")
			}
		})
	}
}

func TestOverflowAsksForFullScan(t *testing.T) {
	const queuedEvents = "/proc/sys/fs/inotify/max_queued_events"
	n := 16384
	if b, err := os.ReadFile(queuedEvents); err == nil {
		n, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	if n > 1<<20 {
		// Too large to overflow quickly: lower it for this test. Each
		// inotify instance copies the limit when it is made, so the
		// watcher started below gets the lower one and instances that
		// exist already keep theirs.
		const low = 16384
		if os.Geteuid() != 0 {
			realfs.Unavailable(t, fmt.Sprintf("max_queued_events=%d is too large to overflow quickly, and only root may lower it", n))
		}
		if err := os.WriteFile(queuedEvents, []byte(strconv.Itoa(low)), 0o644); err != nil {
			t.Fatalf("lower %s: %v", queuedEvents, err)
		}
		was := n
		t.Cleanup(func() {
			if err := os.WriteFile(queuedEvents, []byte(strconv.Itoa(was)), 0o644); err != nil {
				t.Errorf("put %s back to %d: %v", queuedEvents, was, err)
			}
		})
		n = low
	}
	e := newEnv(t, baseTree)
	release := make(chan struct{})
	var once sync.Once
	blocked := make(chan struct{})
	// OnQuiet runs on the watcher's goroutine: holding it stops event
	// reading, so the kernel queue fills up for real.
	w := e.start(Options{Quiet: time.Millisecond, OnQuiet: func() {
		once.Do(func() { close(blocked); <-release })
	}})
	e.commitAll(true)
	e.write("a/first", "x")
	<-blocked
	f1, f2 := e.path("a/f"), e.path("d/f")
	// fsnotify's reader holds up to 4096 events read ahead of the queue.
	for i := 0; i < n+8192; i++ {
		// Alternating files: the kernel merges identical consecutive events.
		p := f1
		if i%2 == 1 {
			p = f2
		}
		if err := os.Chmod(p, os.FileMode(0o600|i%2*0o40)); err != nil {
			t.Fatal(err)
		}
	}
	close(release)
	waitFor(t, "overflow reported", func() bool { return strings.Contains(w.State().Reason, "overflow") })
	if _, full, _ := w.Batch(); !full {
		t.Error("Batch does not ask for a full scan after an overflow")
	}
	// Watching starts over: a tree made now is watched.
	sh(t, e.src, "mkdir -p n/m && touch n/m/f")
	e.sync()
	e.commitAll(true)
	e.write("n/m/g", "x")
	e.sync()
	got, full, _ := e.batch()
	if !sameList(got, []string{"n/m"}) || full {
		t.Errorf("after the overflow was handled and committed: %q full=%v", got, full)
	}
	if st := w.State(); st.Degraded {
		t.Errorf("an overflow degraded the watcher: %+v", st)
	}
}

func TestDebounce(t *testing.T) {
	e := newEnv(t, baseTree)
	var mu sync.Mutex
	var calls []time.Time
	quiet := 300 * time.Millisecond
	e.start(Options{Quiet: quiet, OnQuiet: func() {
		mu.Lock()
		calls = append(calls, time.Now())
		mu.Unlock()
	}})
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(calls) }
	var last time.Time
	for i := 0; i < 10; i++ {
		e.write("a/burst", strconv.Itoa(i))
		last = time.Now()
		time.Sleep(20 * time.Millisecond)
	}
	waitFor(t, "OnQuiet", func() bool { return count() == 1 })
	time.Sleep(2 * quiet)
	if n := count(); n != 1 {
		t.Fatalf("OnQuiet called %d times after one burst, want 1", n)
	}
	mu.Lock()
	at := calls[0]
	mu.Unlock()
	if at.Sub(last) < quiet-50*time.Millisecond {
		t.Errorf("OnQuiet fired %v after the last change, want about %v", at.Sub(last), quiet)
	}
	e.write("d/again", "x")
	waitFor(t, "a second OnQuiet for a second change", func() bool { return count() == 2 })
}

// A new quiet period takes effect at the next change, and keeps what the
// watcher recorded and its cleared full-scan request: changing the period
// in the settings must not cost a full scan.
func TestSetQuietKeepsTheJournal(t *testing.T) {
	e := newEnv(t, baseTree)
	var calls atomic.Int32
	w := e.start(Options{Quiet: time.Hour, OnQuiet: func() { calls.Add(1) }})
	e.sync()
	e.commitAll(true)
	e.write("a/before", "x")
	e.sync()
	w.SetQuiet(100 * time.Millisecond)
	e.write("d/after", "y")
	waitFor(t, "OnQuiet after the shorter period", func() bool { return calls.Load() >= 1 })
	e.sync()
	got, full, _ := e.batch()
	if full || !sameList(got, []string{"a", "d"}) {
		t.Errorf("after SetQuiet: %q full=%v, want [a d] and no full scan", got, full)
	}
}

func TestMaxWaitFiresDuringEndlessChanges(t *testing.T) {
	e := newEnv(t, baseTree)
	var calls atomic.Int32
	e.start(Options{Quiet: time.Second, MaxWait: 150 * time.Millisecond, OnQuiet: func() { calls.Add(1) }})
	end := time.Now().Add(600 * time.Millisecond)
	for i := 0; time.Now().Before(end); i++ {
		e.write("a/busy", strconv.Itoa(i))
		time.Sleep(20 * time.Millisecond)
	}
	if n := calls.Load(); n < 2 {
		t.Errorf("OnQuiet called %d times during 600ms of changes with MaxWait 150ms", n)
	}
}

func TestExcludedNotWatched(t *testing.T) {
	e := newEnv(t, map[string]string{
		"keep/f":          "k",
		"skip/f":          "s",
		"skip/sub/f":      "s",
		"keep/cache/f":    "c",
		"keep/cache/in/f": "c",
	})
	excl := func(p string, isDir bool) bool {
		base := filepath.Base(p)
		return (isDir && (base == "skip" || base == "cache")) || strings.HasSuffix(p, ".tmp")
	}
	w := e.start(Options{Exclude: excl})
	e.commitAll(true)
	if got := e.watchedRel(); !sameList(got, []string{".", "keep"}) {
		t.Errorf("watched %q, want [. keep]", got)
	}
	sh(t, e.src, "echo x > skip/f; echo x > skip/sub/g; echo x > keep/x.tmp; mkdir -p keep/skip/deep; echo x > keep/cache/in/f")
	e.sync()
	if got, _, _ := e.batch(); len(got) != 0 {
		t.Errorf("changes to excluded paths were recorded: %q", got)
	}
	if got := e.watchedRel(); !sameList(got, []string{".", "keep"}) {
		t.Errorf("a new excluded dir got watched: %q", got)
	}
	e.write("keep/real", "x")
	e.sync()
	if got, _, _ := e.batch(); !sameList(got, []string{"keep"}) {
		t.Errorf("batch %q, want [keep]", got)
	}
	_ = w
}

func TestMissingRoot(t *testing.T) {
	old := retryEvery
	retryEvery = 20 * time.Millisecond
	defer func() { retryEvery = old }()

	e := newEnv(t, nil)
	other := filepath.Join(e.base, "later")
	w, err := New([]string{e.src, other}, Options{JournalPath: e.journal})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	e.w = w
	if st := w.State(); !st.FullScan || !strings.Contains(st.Reason, other+" is missing") {
		t.Errorf("state %+v, want a full scan because %s is missing", st, other)
	}
	e.commitAll(true)
	if _, full, _ := w.Batch(); !full {
		t.Error("a committed full scan cleared the request while a source is missing")
	}
	if err := os.MkdirAll(filepath.Join(other, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the source to be watched", func() bool { return w.State().Watching == 3 })
	if st := w.State(); !st.FullScan || !strings.Contains(st.Reason, "appeared again") {
		t.Errorf("state %+v after the source appeared", st)
	}
	e.commitAll(true)
	if st := w.State(); st.FullScan {
		t.Errorf("still a full scan after committing one: %+v", st)
	}
	os.WriteFile(filepath.Join(other, "sub", "f"), []byte("x"), 0o644)
	waitFor(t, "a change in the late source", func() bool { return w.State().Pending == 1 })

	// A source removed while watched is missing again.
	if err := os.RemoveAll(other); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the source to be missing", func() bool { return strings.Contains(w.State().Reason, "missing") })
	if st := w.State(); st.Watching != 1 {
		t.Errorf("watching %d dirs, want only src", st.Watching)
	}
}

func TestRootsMustBeAbsolute(t *testing.T) {
	if _, err := New([]string{"rel"}, Options{JournalPath: filepath.Join(t.TempDir(), "j")}); err == nil {
		t.Error("a relative root was accepted")
	}
	if _, err := New([]string{"/"}, Options{}); err == nil {
		t.Error("no journal path was accepted")
	}
}

// The kernel's limits cannot be reached here without starving the other
// programs of the machine; their errors must still be told apart.
func TestKernelLimitErrors(t *testing.T) {
	cases := []struct {
		name    string
		err     error
		limit   bool
		reason  string
		sysctlf string
	}{
		{"watches (inotify_add_watch)", unix.ENOSPC, true, "watch limit reached (max_user_watches=", "max_user_watches"},
		{"instances (inotify_init1)", unix.EMFILE, true, "too many inotify instances (max_user_instances=", "max_user_instances"},
		{"system file table", unix.ENFILE, true, "out of file descriptors", ""},
		{"gone", unix.ENOENT, false, "", ""},
		{"denied", unix.EACCES, false, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := &Watcher{watched: map[string]map[string]bool{}}
			if got := w.limitError(fmt.Errorf("add watch: %w", tc.err)); got != tc.limit {
				t.Fatalf("limitError = %v, want %v", got, tc.limit)
			}
			if !strings.Contains(w.degraded, tc.reason) {
				t.Errorf("reason %q, want it to contain %q", w.degraded, tc.reason)
			}
			if tc.sysctlf != "" && !strings.Contains(w.degraded, "="+sysctl(tc.sysctlf)+")") {
				t.Errorf("reason %q does not give the current %s (%s)", w.degraded, tc.sysctlf, sysctl(tc.sysctlf))
			}
		})
	}
}

func TestOutermost(t *testing.T) {
	got := outermost([]string{"/a/b", "/a b", "/a", "/c/d", "/a/b/c", "/c/de"})
	want := []string{"/a", "/a b", "/c/d", "/c/de"}
	if !sameList(got, want) {
		t.Errorf("outermost = %q, want %q", got, want)
	}
	if got := outermost([]string{"/home", "/"}); !sameList(got, []string{"/"}) {
		t.Errorf("outermost with / = %q", got)
	}
}
