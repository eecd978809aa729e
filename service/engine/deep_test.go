package engine

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/internal/longpath"
	"github.com/keepsake/keepsake/service/internal/realfs"
	"golang.org/x/sys/unix"
)

// mkDeep nests folders named elem below root until the path is longer
// than total bytes, making each level relative to the one before (as a
// runaway build does: no whole path is ever used), and returns the path
// of the deepest folder.
func mkDeep(t *testing.T, root, elem string, total int) string {
	t.Helper()
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	must(t, err)
	p := root
	for len(p) <= total {
		must(t, unix.Mkdirat(fd, elem, 0o755))
		next, err := unix.Openat(fd, elem, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		must(t, err)
		unix.Close(fd)
		fd, p = next, p+"/"+elem
	}
	unix.Close(fd)
	return p
}

// writeLong creates the file p, of any path length, with content and mode.
func writeLong(t *testing.T, p, content string, mode uint32) {
	t.Helper()
	fd, err := longpath.Open(p, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_NOFOLLOW, mode)
	must(t, err)
	_, err = unix.Write(fd, []byte(content))
	must(t, err)
	must(t, unix.Fchmod(fd, mode))
	unix.Close(fd)
}

func sameTree(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d entries, want %d", what, len(got), len(want))
	}
	for p, w := range want {
		if g, ok := got[p]; !ok {
			t.Errorf("%s: missing %.80s…(%d bytes)", what, p, len(p))
		} else if g != w {
			t.Errorf("%s: %.80s…(%d bytes): %s, want %s", what, p, len(p), g, w)
		}
	}
}

// TestDeeperThanPathMax backs up a tree nested three times deeper than
// PATH_MAX, changes it and backs it up again, then searches, verifies,
// repairs, restores and prunes it: every step handles a path the kernel
// would refuse whole.
func TestDeeperThanPathMax(t *testing.T) {
	f := newFixture(t)
	f.write("top.txt", "short path")
	must(t, os.Mkdir(f.path("build"), 0o755))
	elem := strings.Repeat("n", 200)
	mid := mkDeep(t, f.path("build"), elem, unix.PathMax-300)
	bottom := mkDeep(t, mid, elem, 3*unix.PathMax)
	writeLong(t, mid+"/straddles.txt", "a file whose path crosses PATH_MAX below it", 0o600)
	writeLong(t, bottom+"/leaf.txt", "at the bottom", 0o640)
	writeLong(t, bottom+"/same.txt", "unchanged between the runs", 0o644)
	dirfd, _, done, err := longpath.Split(bottom + "/x")
	must(t, err)
	must(t, unix.Symlinkat("leaf.txt", dirfd, "link"))
	done()
	leaf := bottom + "/leaf.txt"
	if _, err := os.Lstat(leaf); err == nil {
		t.Fatal("control: the leaf's whole path was opened in one call: the tree is not deep enough")
	}

	r1 := f.backup(nil)
	if len(r1.Warnings) != 0 {
		t.Fatalf("first backup warned: %+v", r1.Warnings)
	}
	snapRoot := func(snap string) string { return f.repo.SnapshotDir("testhost", snap) + f.src }
	source := realfs.DigestMeta(t, f.src)
	if len(source) < 3*unix.PathMax/200 {
		t.Fatalf("the source tree has only %d entries", len(source))
	}
	sameTree(t, "first snapshot", realfs.DigestMeta(t, snapRoot(r1.Snapshot)), source)

	writeLong(t, leaf, "at the bottom, changed", 0o640)
	r2 := f.backup(nil)
	if len(r2.Warnings) != 0 {
		t.Fatalf("second backup warned: %+v", r2.Warnings)
	}
	if r2.Copied != 1 {
		t.Errorf("second backup copied %d files, want 1 (the changed leaf)", r2.Copied)
	}
	source = realfs.DigestMeta(t, f.src)
	sameTree(t, "second snapshot", realfs.DigestMeta(t, snapRoot(r2.Snapshot)), source)
	var a, b unix.Stat_t
	must(t, longpath.Lstat(f.repo.SnapshotDir("testhost", r1.Snapshot)+bottom+"/same.txt", &a))
	must(t, longpath.Lstat(f.repo.SnapshotDir("testhost", r2.Snapshot)+bottom+"/same.txt", &b))
	if a.Ino != b.Ino {
		t.Error("the unchanged deep file was copied again, not linked to the first snapshot's")
	}

	hits, err := f.catalog().Search(catalog.SearchOptions{Pattern: "leaf.txt"})
	must(t, err)
	if len(hits) != 2 || hits[0].Path() != leaf || hits[1].Path() != leaf {
		t.Fatalf("search for leaf.txt: %d hits, want its 2 versions at its whole %d-byte path", len(hits), len(leaf))
	}

	if _, err := Verify(context.Background(), f.repo, VerifyOptions{}); err != nil {
		t.Fatalf("verify: %v", err)
	}
	// Damage the deep stored copy: verify names it, repair mends it from
	// the source, which still has that content.
	stored := f.repo.SnapshotDir("testhost", r2.Snapshot) + leaf
	fd, err := longpath.Open(stored, unix.O_WRONLY|unix.O_NOFOLLOW, 0)
	must(t, err)
	_, err = unix.Pwrite(fd, []byte("X"), 0)
	must(t, err)
	unix.Close(fd)
	vr, err := Verify(context.Background(), f.repo, VerifyOptions{})
	if err == nil || len(vr.Damaged) != 1 || vr.Damaged[0].Path != leaf {
		t.Fatalf("verify after damage: %v, %+v; want the deep leaf damaged", err, vr)
	}
	rr, err := Repair(context.Background(), f.repo, VerifyOptions{Host: "testhost"})
	if err != nil || len(rr.Repaired) != 1 || len(rr.Unrepaired) != 0 {
		t.Fatalf("repair: %v, %+v", err, rr)
	}
	if _, err := Verify(context.Background(), f.repo, VerifyOptions{}); err != nil {
		t.Fatalf("verify after repair: %v", err)
	}

	to := t.TempDir()
	res, err := restore(f, RestoreOptions{Paths: []string{f.src}, To: to})
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	if len(res.Warnings) != 0 {
		t.Errorf("restore warned: %+v", res.Warnings)
	}
	sameTree(t, "restored tree", realfs.DigestMeta(t, to+"/src"), source)

	// Pruning the first snapshot removes its deep tree and nothing else.
	must(t, RemoveTree(f.repo.SnapshotDir("testhost", r1.Snapshot), 2))
	if _, err := os.Lstat(f.repo.SnapshotDir("testhost", r1.Snapshot)); !os.IsNotExist(err) {
		t.Fatalf("the first snapshot's folder is still there: %v", err)
	}
	sameTree(t, "second snapshot after removing the first", realfs.DigestMeta(t, snapRoot(r2.Snapshot)), source)
}
