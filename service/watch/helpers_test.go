package watch

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// env is a watched source tree, a second watched root used as a sentinel,
// and a journal, all in one temporary directory.
type env struct {
	t       testing.TB
	base    string
	src     string
	sent    string // sentinel root: a write there, once seen, proves every earlier event was handled
	journal string
	w       *Watcher
	pings   int
}

func newEnv(t testing.TB, files map[string]string, dirs ...string) *env {
	t.Helper()
	base := t.TempDir()
	e := &env{t: t, base: base, src: filepath.Join(base, "src"), sent: filepath.Join(base, "sentinel"),
		journal: filepath.Join(base, "state", "journal", "profile")}
	for _, d := range append([]string{e.src, e.sent}, dirs...) {
		if !filepath.IsAbs(d) {
			d = e.path(d)
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for rel, content := range files {
		e.write(rel, content)
	}
	if err := os.WriteFile(filepath.Join(e.sent, "ping"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) path(rel string) string { return filepath.Join(e.src, rel) }

func (e *env) write(rel, content string) {
	e.t.Helper()
	p := e.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// start opens a watcher on src and the sentinel; it is closed at cleanup.
func (e *env) start(opts Options) *Watcher {
	e.t.Helper()
	opts.JournalPath = e.journal
	w, err := New([]string{e.src, e.sent}, opts)
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	e.w = w
	e.t.Cleanup(func() { w.Close() })
	return w
}

// sync waits until the watcher has handled every event of what the test
// did so far: inotify delivers events of one instance in order, so once a
// write to the sentinel is recorded, everything before it is too.
func (e *env) sync() {
	e.t.Helper()
	w := e.w
	ping := filepath.Join(e.sent, "ping")
	// Recorded by name, or as its folder past maxNames.
	seen := func() uint64 {
		w.mu.Lock()
		defer w.mu.Unlock()
		return max(w.names[ping], w.dirty[e.sent])
	}
	before := seen()
	// One utimes call makes exactly one event (a write would make several,
	// some of which could arrive after this returns).
	e.pings++
	tm := time.Unix(int64(e.pings), 0)
	if err := os.Chtimes(ping, tm, tm); err != nil {
		e.t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if seen() > before {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("the watcher did not see a change in %s within 10s (state %+v)", e.sent, w.State())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// batch is Batch with the directories relative to src ("." for src) and
// the sentinel left out.
func (e *env) batch() (rel []string, full bool, token uint64) {
	e.t.Helper()
	dirs, full, token := e.w.Batch()
	if dirs == nil {
		e.t.Fatal("Batch returned nil dirs: engine.BackupOptions would read that as a full scan")
	}
	return e.rel(dirs), full, token
}

// relNames is rel for names, the sentinel's left out.
func (e *env) relNames(names []string) []string {
	var in []string
	for _, n := range names {
		if filepath.Dir(n) != e.sent {
			in = append(in, n)
		}
	}
	return e.rel(in)
}

func (e *env) rel(dirs []string) []string {
	rel := []string{}
	for _, d := range dirs {
		if d == e.sent {
			continue
		}
		r, err := filepath.Rel(e.src, d)
		if err != nil || strings.HasPrefix(r, "..") {
			e.t.Fatalf("batch holds %s, outside the watched roots", d)
		}
		rel = append(rel, r)
	}
	sort.Strings(rel)
	return rel
}

// commitAll commits everything recorded so far.
func (e *env) commitAll(full bool) {
	e.t.Helper()
	_, _, tok := e.w.Batch()
	if err := e.w.Commit(tok, full); err != nil {
		e.t.Fatalf("Commit: %v", err)
	}
}

func sameList(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// watchedRel lists the watched directories below src, relative to it.
// It holds mu, under which the loop changes the map.
func (e *env) watchedRel() []string {
	var out []string
	e.w.mu.Lock()
	defer e.w.mu.Unlock()
	for d := range e.w.watched {
		if r, err := filepath.Rel(e.src, d); err == nil && !strings.HasPrefix(r, "..") {
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
