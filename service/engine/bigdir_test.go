package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/internal/realfs"
)

// TestBigFolderInSlices backs up a folder of more entries than one slice
// and than the prefetcher reads ahead, changes it across the slices'
// boundaries (deleted, added, modified names on both sides of a cut, a
// subfolder in the middle), and backs it up again with a full scan and
// from the previous snapshot (dirty-folder mode): each snapshot equals the
// source and the catalog counts every change once.
func TestBigFolderInSlices(t *testing.T) {
	f := newFixture(t)
	const n = 2*catalog.MaxPrefetch + 3*sliceSize/2
	name := func(i int) string { return fmt.Sprintf("big/f%06d", i) }
	for i := 0; i < n; i++ {
		f.write(name(i), fmt.Sprint(i))
	}
	f.write(name(sliceSize+7)+".d/inner.txt", "a folder between the files")
	r1 := f.backup(nil)
	if r1.Files != n+1 {
		t.Fatalf("first backup: %d files, want %d", r1.Files, n+1)
	}
	snapTree := func(snap string) map[string]string {
		return realfs.DigestMeta(t, f.repo.SnapshotDir("testhost", snap)+f.src)
	}
	sameTree(t, "first snapshot", snapTree(r1.Snapshot), realfs.DigestMeta(t, f.src))

	// Names sort as the walk cuts them: sliceSize-1 and sliceSize sit on
	// both sides of the first cut.
	gone := []int{0, sliceSize - 1, sliceSize, 3 * sliceSize, n - 1}
	for _, i := range gone {
		must(t, os.Remove(f.path(name(i))))
	}
	changed := []int{1, sliceSize + 1, 2*sliceSize - 1, n - 2}
	for _, i := range changed {
		f.write(name(i), "changed "+fmt.Sprint(i))
	}
	added := []string{"big/f000000a", fmt.Sprintf("big/f%06da", sliceSize-1), "big/zzz"}
	for _, a := range added {
		f.write(a, "new "+a)
	}
	r2 := f.backup(nil)
	if r2.Deleted != int64(len(gone)) || r2.New != int64(len(added)) || r2.Modified != int64(len(changed)) {
		t.Errorf("second backup: deleted %d new %d modified %d; want %d, %d, %d", r2.Deleted, r2.New, r2.Modified, len(gone), len(added), len(changed))
	}
	src := realfs.DigestMeta(t, f.src)
	sameTree(t, "second snapshot", snapTree(r2.Snapshot), src)
	cat := f.catalog()
	snaps, err := cat.Snapshots("testhost")
	must(t, err)
	last := snaps[len(snaps)-1]
	for _, i := range gone {
		if _, err := cat.Lookup(last, f.path(name(i))); err == nil {
			t.Errorf("catalog: deleted %s is in the second snapshot", name(i))
		}
	}
	for _, a := range added {
		if _, err := cat.Lookup(last, f.path(a)); err != nil {
			t.Errorf("catalog: added %s: %v", a, err)
		}
	}

	// Nothing reported changed: the big folder comes from the previous
	// snapshot's names, a slice at a time.
	r3 := f.backup(func(o *BackupOptions) { o.ChangedDirs = []string{} })
	if r3.ReusedDirs == 0 || r3.Deleted != 0 || r3.New != 0 || r3.Files != r2.Files {
		t.Errorf("dirty-folder backup: reused %d folders, deleted %d, new %d, %d files (want %d)", r3.ReusedDirs, r3.Deleted, r3.New, r3.Files, r2.Files)
	}
	sameTree(t, "snapshot from the previous one", snapTree(r3.Snapshot), src)
	if _, err := os.Stat(filepath.Join(f.repo.SnapshotDir("testhost", r3.Snapshot)+f.src, "big", "zzz")); err != nil {
		t.Error(err)
	}
}
