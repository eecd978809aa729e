package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/internal/fusetest"
)

// TestOneEntrysFailureIsOneWarning backs up a FUSE filesystem whose
// files start failing: one returns EIO on every read, one vanishes between
// the listing and the open, and a new one is unreadable from the start.
// The backup completes, each is one warning, the first two keep their
// previous version in the snapshot, and the snapshot verifies.
func TestOneEntrysFailureIsOneWarning(t *testing.T) {
	t1 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	src := fusetest.Mount(t, []fusetest.File{
		{Name: "good.txt", Data: []byte("always readable"), Mtime: t1},
		{Name: "failing-disk.txt", Data: []byte("version one, readable"), Mtime: t1},
		{Name: "vanishing.txt", Data: []byte("here at first"), Mtime: t1},
	})
	f := newFixture(t)
	f.src = src.Mount
	r1 := f.backup(nil)
	if len(r1.Warnings) != 0 || r1.Files != 3 {
		t.Fatalf("first backup: %d files, warnings %+v", r1.Files, r1.Warnings)
	}

	// The files change (so they must be read again) and start failing.
	t2 := t1.Add(time.Hour)
	src.Set(fusetest.File{Name: "failing-disk.txt", Data: []byte("version two, never read"), Mtime: t2, ReadErr: syscall.EIO})
	src.Set(fusetest.File{Name: "vanishing.txt", Data: []byte("gone by the open"), Mtime: t2, OpenErr: syscall.ENOENT})
	src.Set(fusetest.File{Name: "new-unreadable.txt", Data: []byte("never readable"), Mtime: t2, ReadErr: syscall.EIO})
	src.Set(fusetest.File{Name: "good.txt", Data: []byte("always readable, changed"), Mtime: t2})
	before := src.Faults.Load()
	r2, err := f.tryBackup(nil)
	if err != nil {
		t.Fatalf("a backup with unreadable entries failed: %v", err)
	}
	landed := src.Faults.Load() - before
	t.Logf("faults the filesystem returned during the backup: %d", landed)
	if landed < 3 {
		t.Fatalf("only %d faults landed during the backup, want at least 3 (one per failing file)", landed)
	}

	warned := map[string]string{}
	for _, w := range r2.Warnings {
		warned[filepath.Base(w.Path)] = w.Message
	}
	for name, want := range map[string][]string{
		"failing-disk.txt":   {"input/output error", "previous version is kept"},
		"vanishing.txt":      {"no such file", "previous version is kept"},
		"new-unreadable.txt": {"input/output error"},
	} {
		msg, ok := warned[name]
		if !ok {
			t.Errorf("no warning names %s: %+v", name, r2.Warnings)
			continue
		}
		for _, w := range want {
			if !strings.Contains(msg, w) {
				t.Errorf("warning for %s: %q lacks %q", name, msg, w)
			}
		}
	}
	if len(r2.Warnings) != 3 || r2.Skipped != 3 || r2.KeptPrevious != 2 {
		t.Errorf("second backup: %d warnings, %d skipped, %d kept previous; want 3, 3, 2: %+v", len(r2.Warnings), r2.Skipped, r2.KeptPrevious, r2.Warnings)
	}

	// The snapshot: the previous versions where there were some, nothing
	// for the new unreadable file, the readable change taken.
	stored := func(name string) string {
		return filepath.Join(f.repo.SnapshotDir("testhost", r2.Snapshot), src.Mount, name)
	}
	for name, want := range map[string]string{
		"failing-disk.txt": "version one, readable",
		"vanishing.txt":    "here at first",
		"good.txt":         "always readable, changed",
	} {
		if got, err := os.ReadFile(stored(name)); err != nil || string(got) != want {
			t.Errorf("%s in the second snapshot: %q, %v; want %q", name, got, err, want)
		}
	}
	if _, err := os.Lstat(stored("new-unreadable.txt")); !os.IsNotExist(err) {
		t.Errorf("the never-read file is in the snapshot: %v", err)
	}
	ents, _ := os.ReadDir(filepath.Dir(stored("x")))
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	if strings.Join(names, " ") != "failing-disk.txt good.txt vanishing.txt" {
		t.Errorf("second snapshot's folder holds %q (no half copies may stay)", names)
	}

	// The catalog says the same, and marks what was kept.
	cat := f.catalog()
	snap := mustSnap(t, f)
	v, err := cat.Lookup(snap, filepath.Join(src.Mount, "failing-disk.txt"))
	if err != nil || string(mustRead(t, stored("failing-disk.txt"))) != "version one, readable" {
		t.Fatalf("lookup: %v", err)
	}
	if got := hex.EncodeToString(v.SHA256); got != sha256Hex("version one, readable") {
		t.Errorf("catalog: failing-disk.txt in the second snapshot has SHA-256 %s, want the first version's", got)
	}
	if _, err := cat.Lookup(snap, filepath.Join(src.Mount, "new-unreadable.txt")); err == nil {
		t.Error("catalog lists the never-read file in the second snapshot")
	}
	log, err := cat.Log(50)
	must(t, err)
	kept := 0
	for _, e := range log {
		if e.Action == "kept-previous" {
			kept++
		}
	}
	if kept != 2 {
		t.Errorf("audit log has %d kept-previous entries, want 2", kept)
	}
	if _, err := Verify(context.Background(), f.repo, VerifyOptions{}); err != nil {
		t.Fatalf("verify after a backup with skipped entries: %v", err)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	must(t, err)
	return b
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
