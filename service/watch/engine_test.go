package watch

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/engine"
	"github.com/keepsake/keepsake/service/internal/realfs"
	"github.com/keepsake/keepsake/service/repo"
)

// backupEnv is a watched source and a repository to back it up into.
type backupEnv struct {
	*env
	repo *repo.Repo
}

func newBackupEnv(t testing.TB, dirs, files int) *backupEnv {
	t.Helper()
	tree := map[string]string{}
	for d := 0; d < dirs; d++ {
		for f := 0; f < files; f++ {
			tree[fmt.Sprintf("d%03d/f%03d", d, f)] = fmt.Sprintf("content of %d/%d", d, f)
		}
	}
	e := newEnv(t, tree)
	drive := filepath.Join(e.base, "drive")
	if err := os.Mkdir(drive, 0o755); err != nil {
		t.Fatal(err)
	}
	r, err := repo.Init(drive)
	if err != nil {
		t.Fatalf("init repository: %v", err)
	}
	return &backupEnv{env: e, repo: r}
}

// backup runs the engine the way the service does: ChangedDirs from the
// watcher's batch, or nil for a full scan.
func (b *backupEnv) backup(changed []string) *engine.Result {
	b.t.Helper()
	res, err := engine.Backup(context.Background(), b.repo, engine.BackupOptions{
		Host: "host", Sources: []string{b.src}, ChangedDirs: changed,
		NoDefaultExcludes: true, Actor: catalog.CurrentActor(),
	})
	if err != nil {
		b.t.Fatalf("backup: %v", err)
	}
	return res
}

// runBatch backs up what the watcher's batch asks for and commits it.
func (b *backupEnv) runBatch() (*engine.Result, bool) {
	b.t.Helper()
	dirs, full, tok := b.w.Batch()
	changed := dirs
	if full {
		changed = nil
	}
	res := b.backup(changed)
	if err := b.w.Commit(tok, full); err != nil {
		b.t.Fatalf("commit: %v", err)
	}
	return res, full
}

// digest is realfs.Digest plus modification times of files and folders:
// what a dirty-dir run reuses from the previous snapshot must still match
// the source, metadata included.
func digest(t testing.TB, root string) map[string]string {
	t.Helper()
	d := realfs.Digest(t, root)
	for rel := range d {
		fi, err := os.Lstat(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			d[rel] += fmt.Sprintf(" mtime=%d", fi.ModTime().UnixNano())
		}
	}
	return d
}

func (b *backupEnv) checkSnapshot(res *engine.Result) {
	b.t.Helper()
	stored := b.repo.SnapshotDir("host", res.Snapshot) + b.src
	want, got := digest(b.t, b.src), digest(b.t, stored)
	for p, w := range want {
		if got[p] != w {
			b.t.Errorf("snapshot %s: %s is %q, source has %q", res.Snapshot, p, got[p], w)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			b.t.Errorf("snapshot %s holds %s, which the source no longer has", res.Snapshot, p)
		}
	}
}

// The point of the package: after a change in two of fifty folders, a
// backup reads those two and takes the rest from the previous snapshot,
// and the snapshot still equals the source.
func TestEngineBackupFromWatcher(t *testing.T) {
	b := newBackupEnv(t, 50, 20)
	b.start(Options{})
	res, full := b.runBatch()
	if !full {
		t.Fatal("the first batch did not ask for a full scan")
	}
	if res.ReadDirs != 51 {
		t.Errorf("the full scan read %d folders, want 51", res.ReadDirs)
	}

	b.write("d003/f005", "changed")
	b.write("d017/new", "new file")
	b.sync()
	dirs, full, _ := b.w.Batch()
	if full {
		t.Fatalf("full scan asked for after a committed full backup: %+v", b.w.State())
	}
	if got := b.rel(dirs); !sameList(got, []string{"d003", "d017"}) {
		t.Fatalf("batch %q, want [d003 d017]", got)
	}
	res, _ = b.runBatch()
	if res.ReadDirs != 2 || res.ReusedDirs != 49 {
		t.Errorf("read %d folders and reused %d, want 2 and 49 (src and the 48 unchanged)", res.ReadDirs, res.ReusedDirs)
	}
	if res.Modified != 1 || res.New != 1 || res.Unchanged != 999 {
		t.Errorf("modified=%d new=%d unchanged=%d, want 1, 1, 999", res.Modified, res.New, res.Unchanged)
	}
	b.checkSnapshot(res)
	if st := b.w.State(); st.Pending != 0 {
		b.w.mu.Lock()
		t.Errorf("pending after commit: %+v %v", st, b.w.dirty)
		b.w.mu.Unlock()
	}

	// A full scan finds nothing the dirty-dir run missed.
	check := b.backup(nil)
	if n := check.New + check.Modified + check.MetaOnly + check.Deleted + check.Moved; n != 0 {
		t.Errorf("a full scan after the dirty-dir run found %d changes it missed: %+v", n, check)
	}
}

// Every kind of change, each followed by a dirty-dir backup that must give
// a snapshot equal to the source.
func TestEngineFollowsEveryKindOfChange(t *testing.T) {
	b := newBackupEnv(t, 6, 3)
	b.start(Options{})
	b.runBatch()
	outside := filepath.Join(b.base, "outside")
	steps := []struct {
		name, script string
	}{
		{"modify", "echo more >> d000/f000"},
		{"create", "echo new > d001/new"},
		{"delete", "rm d002/f001"},
		{"move a file across dirs", "mv d003/f000 d004/moved"},
		{"chmod a file", "chmod 600 d005/f002"},
		{"chmod a dir", "chmod 700 d005"},
		{"set a dir's mtime", "touch -d 2001-02-03 d004"},
		{"new tree with content", "mkdir -p n/a/b && echo x > n/a/b/f && echo y > n/a/g"},
		{"file in the new tree", "echo z > n/a/b/h"},
		{"rename a dir", "mv n/a n/renamed"},
		{"change below the renamed dir", "echo w > n/renamed/b/w"},
		{"move a dir out", "mv d001 " + outside},
		{"move it back changed", "echo changed > " + outside + "/f000 && mv " + outside + " d001"},
		{"remove a tree", "rm -rf n"},
		{"symlink", "ln -s d000/f000 link"},
		{"hardlink in another dir", "ln d000/f001 d002/hard"},
		{"replace a dir by a file", "rm -r d003 && echo file > d003"},
		{"nothing", "true"},
	}
	for _, s := range steps {
		sh(t, b.src, s.script)
		b.sync()
		res, full := b.runBatch()
		if full {
			t.Fatalf("%s: full scan asked for (%+v)", s.name, b.w.State())
		}
		if res.ReadDirs > 5 {
			t.Errorf("%s: read %d folders", s.name, res.ReadDirs)
		}
		b.checkSnapshot(res)
		if t.Failed() {
			t.Fatalf("after step %q", s.name)
		}
	}
	check := b.backup(nil)
	if n := check.New + check.Modified + check.MetaOnly + check.Deleted + check.Moved; n != 0 {
		t.Errorf("a full scan after the dirty-dir runs found %d changes they missed: %+v", n, check)
	}
}
