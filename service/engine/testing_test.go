package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/repo"
)

// fixture is a source folder and a repository in one temporary directory.
type fixture struct {
	t    testing.TB
	src  string
	repo *repo.Repo
	now  time.Time
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	return newFixtureOn(t, filepath.Join(t.TempDir(), "drive"))
}

// newFixtureOn makes the repository in drive (created here), which may
// lie on another filesystem than the temporary source folder.
func newFixtureOn(t testing.TB, drive string) *fixture {
	t.Helper()
	src := filepath.Join(t.TempDir(), "src")
	for _, d := range []string{src, drive} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r, err := repo.Init(drive)
	if err != nil {
		t.Fatalf("init: %v", err)
	}
	return &fixture{t: t, src: src, repo: r, now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
}

func (f *fixture) path(rel string) string { return filepath.Join(f.src, rel) }

func (f *fixture) write(rel, content string) {
	f.t.Helper()
	p := f.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// backup runs a backup of the source with pinned, advancing times.
func (f *fixture) backup(mod func(*BackupOptions)) *Result {
	f.t.Helper()
	res, err := f.tryBackup(mod)
	if err != nil {
		f.t.Fatalf("backup: %v", err)
	}
	return res
}

func (f *fixture) tryBackup(mod func(*BackupOptions)) (*Result, error) {
	f.now = f.now.Add(time.Hour)
	now := f.now
	opts := BackupOptions{Host: "testhost", Sources: []string{f.src}, Now: func() time.Time { return now },
		Actor: catalog.CurrentActor(), NoDefaultExcludes: true}
	if mod != nil {
		mod(&opts)
	}
	return Backup(context.Background(), f.repo, opts)
}

// stored is where a source path lies in a snapshot.
func (f *fixture) stored(snap, rel string) string {
	return f.repo.SnapshotDir("testhost", snap) + f.path(rel)
}

func (f *fixture) catalog() *catalog.Catalog {
	f.t.Helper()
	c, err := catalog.Open(f.repo.CatalogPath())
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { c.Close() })
	return c
}

func inode(t *testing.T, p string) uint64 {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return statOf(fi).Ino
}

func fileSum(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func requireRoot(t *testing.T, why string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("needs root (%s) but CI runs it: failing instead of skipping", why)
	}
	t.Skipf("needs root: %s", why)
}
