package engine

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/internal/realfs"
)

// TestBtrfsJournalCarriesUnchangedFolders backs up to a btrfs drive with
// the watcher's journal (ChangedDirs): a folder with no change at or
// below it is not entered at all. An unchanged run reads no folder and
// still has the previous snapshot's totals; a run with changes reads the
// changed folders only, ends what left (a deleted folder's files too),
// and leaves the drive, the catalog and a restore equal to the source,
// which a full scan afterwards confirms by finding nothing to do.
func TestBtrfsJournalCarriesUnchangedFolders(t *testing.T) {
	f, _ := newBtrfsFixture(t)
	for _, rel := range []string{"a/f1", "a/f2", "a/sub/x", "b/y", "b/other/w", "b/deep/er/z", "b/deep/er/z2",
		"c/d/e1", "c/d/e2", "c/d/e3", "c/d/inner/e4", "e/g/h1", "top.txt"} {
		f.write(rel, "content of "+rel)
	}
	folders := int64(0)
	for _, d := range []string{"", "a", "a/sub", "b", "b/other", "b/deep", "b/deep/er", "c", "c/d", "c/d/inner", "e", "e/g"} {
		folders++
		_ = d
	}
	runs := newJournalRuns(t, f)
	backup := func(changed []string) *Result { t.Helper(); return runs.backup(changed, nil) }
	totals := func(r *Result) string { return fmt.Sprintf("%d files, %d folders, %d bytes", r.Files, r.Dirs, r.Bytes) }

	first := backup(nil)
	unchanged := backup([]string{})
	if unchanged.ReadDirs != 0 || unchanged.CarriedDirs != 1 || unchanged.ReusedDirs != folders {
		t.Errorf("unchanged run with the journal: read %d folders, carried %d over, took %d from the previous snapshot; want 0, 1 (the source), %d",
			unchanged.ReadDirs, unchanged.CarriedDirs, unchanged.ReusedDirs, folders)
	}
	if totals(unchanged) != totals(first) || unchanged.Copied != 0 || unchanged.Deleted != 0 || unchanged.New != 0 {
		t.Errorf("unchanged run: %s, copied %d, deleted %d, new %d; want %s and nothing copied, deleted or new",
			totals(unchanged), unchanged.Copied, unchanged.Deleted, unchanged.New, totals(first))
	}
	if unchanged.Unchanged != first.Files {
		t.Errorf("unchanged run: %d files unchanged, want %d", unchanged.Unchanged, first.Files)
	}
	checkSubvolume(t, f.repo.SnapshotDir("testhost", unchanged.Snapshot))

	// Changes in a few folders, as the watcher reports them: a file
	// modified and a folder moved in (a), a file added (b), files deleted
	// deep down (b/deep/er), a folder deleted with a folder inside (c,
	// and c/d itself, which is gone), a folder moved away (e).
	f.write("a/f1", "a new content of a/f1")
	f.write("b/new.txt", "new")
	must(t, os.Remove(f.path("b/deep/er/z")))
	must(t, os.RemoveAll(f.path("c/d")))
	must(t, os.Rename(f.path("e/g"), f.path("a/g")))
	changed := backup([]string{"a", "b", "b/deep/er", "c", "c/d", "e"})
	if changed.New != 1 || changed.Modified != 1 || changed.Deleted != 5 || changed.Moved != 1 {
		t.Errorf("run with changes: new %d modified %d deleted %d moved %d, want 1 1 5 1",
			changed.New, changed.Modified, changed.Deleted, changed.Moved)
	}
	// a/sub and b/other are carried over; b/deep, above a changed
	// folder, and the folder moved into a are entered.
	if changed.CarriedDirs != 2 {
		t.Errorf("run with changes carried %d folders over, want 2 (a/sub, b/other)", changed.CarriedDirs)
	}
	var deletedPlan []string
	for _, e := range changed.Plan {
		if e.Kind == Deleted {
			deletedPlan = append(deletedPlan, strings.TrimPrefix(e.Path, f.src+"/"))
		}
	}
	sort.Strings(deletedPlan)
	if want := "b/deep/er/z c/d/e1 c/d/e2 c/d/e3 c/d/inner/e4"; strings.Join(deletedPlan, " ") != want {
		t.Errorf("deleted in the plan: %v, want %s", deletedPlan, want)
	}

	// A full scan of the same source finds nothing to do, and the same
	// totals: the catalog missed nothing the journal run did not read.
	full := backup(nil)
	runs.check(changed, full, "b/deep/er/z c/d/e1 c/d/e2 c/d/e3 c/d/inner/e4")
}

// checkAfterJournalRun checks a run that followed the journal (changed)
// against the full scan right after it (full): the same totals and
// nothing to do; every snapshot of snaps equal to its source, on the
// drive, in the catalog and restored; and the catalog's deleted files
// exactly wantGone (paths below the source, sorted, space-separated).
// bothStores makes a test's fixture on ext4 (hardlink snapshots) and on
// a btrfs loop drive (subvolumes).
var bothStores = []struct {
	name string
	make func(testing.TB) *fixture
}{{"ext4", newFixture}, {"btrfs", btrfsFixture}}

// journalRuns backs a fixture up, keeping each snapshot's name and the
// source as it was then, for check.
type journalRuns struct {
	t       *testing.T
	f       *fixture
	snaps   []string
	sources map[string]map[string]string
}

func newJournalRuns(t *testing.T, f *fixture) *journalRuns {
	return &journalRuns{t: t, f: f, sources: map[string]map[string]string{}}
}

// backup runs a full scan when dirs and names are both nil, else a run
// told that these folders and these entries (relative to the source)
// changed, as the watcher's journal tells keepsaked.
func (j *journalRuns) backup(dirs, names []string) *Result {
	j.t.Helper()
	src := realfs.DigestMeta(j.t, j.f.src)
	r := j.f.backup(func(o *BackupOptions) {
		o.Plan = true
		if dirs == nil && names == nil {
			return
		}
		o.ChangedDirs = []string{}
		for _, d := range dirs {
			o.ChangedDirs = append(o.ChangedDirs, j.f.path(d))
		}
		for _, n := range names {
			o.ChangedNames = append(o.ChangedNames, j.f.path(n))
		}
	})
	j.snaps = append(j.snaps, r.Snapshot)
	j.sources[r.Snapshot] = src
	return r
}

// check is checkAfterJournalRun of these runs.
func (j *journalRuns) check(changed, full *Result, wantGone string) {
	j.t.Helper()
	checkAfterJournalRun(j.t, j.f, changed, full, j.snaps, j.sources, wantGone)
}

func checkAfterJournalRun(t *testing.T, f *fixture, changed, full *Result, snaps []string, sources map[string]map[string]string, wantGone string) {
	t.Helper()
	totals := func(r *Result) string { return fmt.Sprintf("%d files, %d folders, %d bytes", r.Files, r.Dirs, r.Bytes) }
	if totals(full) != totals(changed) {
		t.Errorf("journal run: %s; a full scan after it: %s", totals(changed), totals(full))
	}
	if full.Copied != 0 || full.New != 0 || full.Deleted != 0 || full.Modified != 0 || full.Moved != 0 {
		t.Errorf("full scan after the journal run: copied %d new %d deleted %d modified %d moved %d, want nothing",
			full.Copied, full.New, full.Deleted, full.Modified, full.Moved)
	}
	checkSnapshots(t, f, snaps, sources, true)
	for _, s := range snaps {
		sameAsSource(t, f, s, sources[s], nil)
	}
	if got := deletedFiles(t, f); got != wantGone {
		t.Errorf("deleted files: %s, want %s", got, wantGone)
	}
}

// deletedFiles lists the catalog's deleted files, paths below the
// source, sorted and space-separated.
func deletedFiles(t *testing.T, f *fixture) string {
	t.Helper()
	gone, err := f.catalog().Deleted("testhost", f.src, time.Time{})
	must(t, err)
	var got []string
	for _, g := range gone {
		got = append(got, strings.TrimPrefix(g.Path(), f.src+"/"))
	}
	sort.Strings(got)
	return strings.Join(got, " ")
}

// TestDroppedSourceEndsItsFiles: a folder no longer among the sources
// leaves the next snapshot, and its files end in the catalog (Deleted
// lists them), on ext4 where the sweep looks for listings not visited
// and on btrfs where it ends the listings of the folders seen to leave;
// on btrfs also with the journal, the next run after.
func TestDroppedSourceEndsItsFiles(t *testing.T) {
	for _, tc := range bothStores {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.make(t)
			for _, rel := range []string{"a/1.txt", "a/sub/2.txt", "b/3.txt", "b/deep/er/4.txt"} {
				f.write(rel, "content of "+rel)
			}
			both := []string{f.path("a"), f.path("b")}
			first := f.backup(func(o *BackupOptions) { o.Sources = both })
			second := f.backup(func(o *BackupOptions) { o.Sources = both[:1]; o.Plan = true })
			if second.Deleted != 2 || second.Files != first.Files-2 {
				t.Errorf("without b: deleted %d, %d files (first %d); want 2 deleted, 2 fewer", second.Deleted, second.Files, first.Files)
			}
			if _, err := os.Lstat(f.stored(second.Snapshot, "b")); !os.IsNotExist(err) {
				t.Errorf("b in the snapshot without it: %v", err)
			}
			snaps := []string{first.Snapshot, second.Snapshot}
			if tc.name == "btrfs" {
				third := f.backup(func(o *BackupOptions) { o.Sources = both[:1]; o.ChangedDirs = []string{} })
				if third.Files != second.Files || third.Deleted != 0 || third.CarriedDirs != 1 {
					t.Errorf("journal run after: %d files, %d deleted, %d carried; want %d, 0, 1", third.Files, third.Deleted, third.CarriedDirs, second.Files)
				}
				snaps = append(snaps, third.Snapshot)
			}
			checkSnapshots(t, f, snaps, nil, false)
			if got := deletedFiles(t, f); got != "b/3.txt b/deep/er/4.txt" {
				t.Errorf("deleted files: %s, want b's", got)
			}
		})
	}
}

// TestJournalNamesPatchFolders backs up with the changed names a watcher
// reports (ChangedNames, no ChangedDirs): on a btrfs drive a folder in
// which a few entries changed is not listed, only those names are looked
// at (PatchedDirs) and the rest stays as the snapshot holds it; on ext4
// the same names make their folders read whole. Either way the run finds
// every change (new, modified, deleted, renamed, chmod, a folder deleted
// with its files, a folder moved in), the drive, the catalog and a
// restore equal the source, and a full scan afterwards finds nothing to
// do and the same totals.
func TestJournalNamesPatchFolders(t *testing.T) {
	for _, tc := range []struct {
		name    string
		make    func(testing.TB) *fixture
		patched int64
	}{{"ext4", newFixture, 0}, {"btrfs", btrfsFixture, 5}} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.make(t)
			for i := 0; i < 40; i++ {
				f.write(fmt.Sprintf("big/f%02d", i), fmt.Sprintf("file %d of big", i))
			}
			// huge holds more than the prefetcher reads ahead: patched,
			// its previous entries are read by name. (Read whole on ext4,
			// it would only make the test slower there.)
			huge := 3
			if tc.patched > 0 {
				huge = catalog.MaxPrefetch + 1
			}
			for i := 0; i < huge; i++ {
				f.write(fmt.Sprintf("huge/h%04d", i), "h")
			}
			for _, rel := range []string{"big/sub/deep.txt", "big/sub/still.txt", "big/gone-dir/g1", "big/gone-dir/in/g2",
				"other/o1", "other/o2", "moveme/m1", "moveme/inner/m2", "quiet/q1"} {
				f.write(rel, "content of "+rel)
			}
			runs := newJournalRuns(t, f)
			backup := func(names []string) *Result { t.Helper(); return runs.backup(nil, names) }
			backup(nil)

			f.write("big/f05", "file 5 of big, changed")
			f.write("big/new.txt", "new")
			must(t, os.Remove(f.path("big/f10")))
			must(t, os.Rename(f.path("big/f11"), f.path("big/f11-renamed")))
			must(t, os.Chmod(f.path("big/f12"), 0o600))
			must(t, os.RemoveAll(f.path("big/gone-dir")))
			f.write("big/sub/deep.txt", "changed deep down")
			must(t, os.Rename(f.path("moveme"), f.path("other/moved")))
			f.write("huge/h0001", "changed")
			must(t, os.Remove(f.path("huge/h0002")))
			f.write("huge/new", "new in huge")
			changed := backup([]string{"big/f05", "big/new.txt", "big/f10", "big/f11", "big/f11-renamed", "big/f12",
				"big/gone-dir", "big/sub/deep.txt", "moveme", "other/moved", "huge/h0001", "huge/h0002", "huge/new"})
			if changed.New != 2 || changed.Modified != 3 || changed.Deleted != 4 || changed.Moved != 3 {
				// New: new.txt, huge/new; modified: f05, deep.txt,
				// h0001; deleted: f10, g1, g2, h0002; moved: f11 and
				// moveme's two files.
				t.Errorf("run with names: new %d modified %d deleted %d moved %d, want 2 3 4 3; plan %v",
					changed.New, changed.Modified, changed.Deleted, changed.Moved, changed.Plan)
			}
			// Patched: the source, big, big/sub, other and huge.
			if changed.PatchedDirs != tc.patched || tc.patched > 0 && changed.ReadDirs != 0 {
				t.Errorf("run with names: patched %d folders, read %d; want %d patched and, patching, none read",
					changed.PatchedDirs, changed.ReadDirs, tc.patched)
			}

			full := backup(nil)
			runs.check(changed, full, "big/f10 big/f11 big/gone-dir/g1 big/gone-dir/in/g2 huge/h0002")
		})
	}
}

// TestJournalFindsOtherNamesOfAFile: a file with two names in two folders
// is written through one of them; the journal names only that one (as
// the watcher reports it). The other name, in a folder the journal does
// not mention, gets the new content too, in the snapshot and in the
// catalog, on both stores; on btrfs that folder is patched (only the
// other name looked at), not read whole.
func TestJournalFindsOtherNamesOfAFile(t *testing.T) {
	for _, tc := range bothStores {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.make(t)
			f.write("docs/report.txt", "draft")
			f.write("desk/other.txt", "other")
			f.write("quiet/q.txt", "quiet")
			must(t, os.Link(f.path("docs/report.txt"), f.path("desk/report-link.txt")))
			runs := newJournalRuns(t, f)
			runs.backup(nil, nil)
			// Written in place, through one name.
			fh, err := os.OpenFile(f.path("docs/report.txt"), os.O_WRONLY|os.O_APPEND, 0)
			must(t, err)
			_, err = fh.WriteString(", final")
			must(t, err)
			must(t, fh.Close())
			r := runs.backup(nil, []string{"docs/report.txt"})
			if r.Modified != 2 {
				t.Errorf("journal run: modified %d, want 2 (both names)", r.Modified)
			}
			if tc.name == "btrfs" && (r.PatchedDirs != 2 || r.ReadDirs != 0) {
				t.Errorf("journal run: patched %d folders, read %d whole; want 2 (docs, desk) and 0", r.PatchedDirs, r.ReadDirs)
			}
			data, err := os.ReadFile(f.stored(r.Snapshot, "desk/report-link.txt"))
			must(t, err)
			if string(data) != "draft, final" {
				t.Errorf("the other name holds %q in the snapshot, want the new content", data)
			}
			runs.check(r, runs.backup(nil, nil), "")
		})
	}
}
