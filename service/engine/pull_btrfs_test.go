package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/internal/realfs"
	"golang.org/x/sys/unix"
)

// TestPullIntoSubvolumes pulls another computer to a btrfs drive: the
// first pull is a new subvolume, each next one a snapshot of the previous
// that rsync brings up to date in place (deleting what is gone), so an
// unchanged pull writes no file and a changed one only the changes;
// content the drive has is reflinked, never hardlinked (a later update
// changing one name's mode must not change another's). A source dropped
// from the profile leaves the snapshot. Every snapshot equals the other
// computer as it was, on the drive, in the catalog and restored, and
// verifies; the earlier snapshots stay as they were.
func TestPullIntoSubvolumes(t *testing.T) {
	f, _ := newBtrfsFixture(t)
	mt := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	alpha := newComputer(t)
	rng := rand.New(rand.NewPCG(3, 4))
	photo := func(i int) string {
		b := make([]byte, 64<<10)
		for j := range b {
			b[j] = byte(rng.IntN(256))
		}
		return string(b)
	}
	for i := 0; i < 8; i++ {
		alpha.write(fmt.Sprintf("photos/p%02d.jpg", i), photo(i), mt)
	}
	alpha.write("notes.txt", "alpha's notes", mt)
	alpha.write("docs/a.txt", "a", mt)
	alpha.write("docs/old/b.txt", "b", mt)
	must(t, os.Link(filepath.Join(alpha.root, "notes.txt"), filepath.Join(alpha.root, "notes-link.txt")))
	must(t, os.Symlink("/etc", filepath.Join(alpha.root, "etc-link")))

	var snaps []string
	sources := map[string]map[string]string{}
	onDrive := map[string]map[string]string{}
	snapDir := func(r *Result) string { return f.repo.SnapshotDir("alpha", r.Snapshot) }
	pullNow := func() *Result {
		t.Helper()
		src := realfs.DigestMeta(t, alpha.root)
		r := pull(t, f, "alpha", alpha)
		checkSubvolume(t, snapDir(r))
		got := realfs.DigestMeta(t, snapDir(r)+alpha.root)
		if d := realfs.DiffDigests(got, src, 8); len(d) > 0 {
			t.Errorf("pull %s (left) differs from the other computer: %v", r.Snapshot, d)
		}
		snaps = append(snaps, r.Snapshot)
		sources[r.Snapshot], onDrive[r.Snapshot] = src, got
		return r
	}
	r1 := pullNow()
	if r1.Copied != 11 {
		t.Errorf("first pull copied %d files, want 11", r1.Copied)
	}

	// Unchanged: no file is written or read; each is the previous
	// snapshot's inode, sharing all of it.
	r2 := pullNow()
	if r2.Hashed != 0 || r2.Copied != 0 || r2.New != 0 || r2.Unchanged != 13 {
		t.Errorf("unchanged pull: hashed=%d copied=%d new=%d unchanged=%d, want 0, 0, 0, 13 (12 files, a symlink)", r2.Hashed, r2.Copied, r2.New, r2.Unchanged)
	}
	if n := exclusiveBytes(t, snapDir(r2)); n != 0 {
		t.Errorf("the unchanged pull holds %d bytes of data of its own, want 0", n)
	}
	var st1, st2 unix.Stat_t
	must(t, unix.Lstat(snapDir(r1)+alpha.root+"/photos/p03.jpg", &st1))
	must(t, unix.Lstat(snapDir(r2)+alpha.root+"/photos/p03.jpg", &st2))
	if st1.Ino != st2.Ino || st1.Ctim != st2.Ctim {
		t.Error("an unchanged file was written again by the update")
	}

	// Changes: a modified file, a deleted folder, a chmod, a new file, and
	// a copy of a stored photo (reflinked: no data of its own).
	alpha.write("docs/a.txt", "a, changed", mt.Add(time.Hour))
	must(t, os.RemoveAll(filepath.Join(alpha.root, "docs/old")))
	must(t, os.Chmod(filepath.Join(alpha.root, "photos/p01.jpg"), 0o600))
	alpha.write("new.txt", "new", mt)
	data, err := os.ReadFile(filepath.Join(alpha.root, "photos/p02.jpg"))
	must(t, err)
	alpha.write("copy.jpg", string(data), mt)
	r3 := pullNow()
	// The chmod'ed photo is not read again: its data is the previous
	// snapshot's (rsync set its mode in place).
	if r3.Deleted != 1 || r3.Modified != 1 || r3.MetaOnly != 1 || r3.Hashed != 3 || r3.Copied != 2 {
		t.Errorf("after the changes: deleted=%d modified=%d meta-only=%d hashed=%d copied=%d, want 1, 1, 1, 3 (a.txt, new.txt, copy.jpg), 2",
			r3.Deleted, r3.Modified, r3.MetaOnly, r3.Hashed, r3.Copied)
	}
	if n := exclusiveBytes(t, snapDir(r3)); n > 32<<10 {
		t.Errorf("the pull holds %d bytes of data of its own; only two small files changed and the copy of a stored photo should be a reflink", n)
	}
	var cp, orig unix.Stat_t
	must(t, unix.Lstat(snapDir(r3)+alpha.root+"/copy.jpg", &cp))
	must(t, unix.Lstat(snapDir(r3)+alpha.root+"/photos/p02.jpg", &orig))
	if cp.Nlink != 1 || cp.Ino == orig.Ino {
		t.Errorf("copy.jpg: inode %d with %d links (p02.jpg: %d): want a file of its own", cp.Ino, cp.Nlink, orig.Ino)
	}
	if _, err := os.Lstat(snapDir(r3) + alpha.root + "/docs/old"); !os.IsNotExist(err) {
		t.Errorf("the deleted folder is still in the snapshot: %v", err)
	}

	// A source dropped from the profile leaves the snapshot, and so does
	// one the other computer no longer has.
	photos, docs := filepath.Join(alpha.root, "photos"), filepath.Join(alpha.root, "docs")
	pullOf := func(sources ...string) *Result {
		t.Helper()
		f.now = f.now.Add(time.Hour)
		now := f.now
		r, err := Backup(context.Background(), f.repo, BackupOptions{Host: "alpha", Sources: sources,
			Fetch: localRsync(sources...), Now: func() time.Time { return now }, Actor: catalog.CurrentActor()})
		must(t, err)
		checkSubvolume(t, snapDir(r))
		return r
	}
	if names := dirNames(t, snapDir(pullOf(photos, docs))+alpha.root); len(names) != 2 || names[0] != "docs" || names[1] != "photos" {
		t.Errorf("pulling photos and docs, the snapshot holds %q", names)
	}
	must(t, os.RemoveAll(docs))
	r4 := pullOf(photos, docs)
	if names := dirNames(t, snapDir(r4)+alpha.root); len(names) != 1 || names[0] != "photos" {
		t.Errorf("with docs gone from the other computer the snapshot holds %q", names)
	}
	if d := realfs.DiffDigests(realfs.DigestMeta(t, snapDir(r4)+photos), realfs.DigestMeta(t, photos), 8); len(d) > 0 {
		t.Errorf("photos (left) differ from the other computer's: %v", d)
	}

	// The earlier snapshots are as they were, catalog = drive, restores
	// exact, verify finds nothing.
	for _, s := range snaps {
		if d := realfs.DiffDigests(realfs.DigestMeta(t, f.repo.SnapshotDir("alpha", s)+alpha.root), onDrive[s], 8); len(d) > 0 {
			t.Errorf("snapshot %s changed since it was made: %v", s, d)
		}
	}
	checkHostSnapshots(t, f, "alpha", alpha.root, snaps, sources, true)
	if probs, err := f.catalog().IntegrityCheck(); err != nil || len(probs) > 0 {
		t.Errorf("catalog: %v %v", probs, err)
	}
}

// TestPullAfterHardlinkPulls: pulls made as plain folders (before pulls
// went into subvolumes) go on as plain folders linked to the previous
// one, rather than a subvolume that could link to nothing and would store
// every file again.
func TestPullAfterHardlinkPulls(t *testing.T) {
	f, _ := newBtrfsFixture(t)
	alpha := newComputer(t)
	mt := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	alpha.write("docs/a.txt", "a", mt)
	testStore = linkStore{}
	r1 := pull(t, f, "alpha", alpha)
	testStore = nil
	alpha.write("docs/b.txt", "b", mt)
	r2 := pull(t, f, "alpha", alpha)
	for _, r := range []*Result{r1, r2} {
		if sub, err := isSubvolumeDir(f.repo.SnapshotDir("alpha", r.Snapshot)); err != nil || sub {
			t.Errorf("pull %s: a subvolume %v (%v), want a plain folder", r.Snapshot, sub, err)
		}
	}
	if inode(t, f.storedOf("alpha", r1.Snapshot, alpha.root+"/docs/a.txt")) != inode(t, f.storedOf("alpha", r2.Snapshot, alpha.root+"/docs/a.txt")) {
		t.Error("the unchanged file is not linked to the previous pull's")
	}
	if r2.Copied != 1 {
		t.Errorf("second pull copied %d files, want 1", r2.Copied)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	must(t, err)
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}
