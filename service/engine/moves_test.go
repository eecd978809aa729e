package engine

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/fsmeta"
	"github.com/keepsake/keepsake/service/internal/realfs"
	"golang.org/x/sys/unix"
)

// catalogSize is the catalog file's size once its write-ahead log is
// folded in: what du shows a user.
func catalogSize(t *testing.T, f *fixture) int64 {
	t.Helper()
	c := f.catalog()
	if _, err := c.DB().Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(f.repo.CatalogPath())
	must(t, err)
	return fi.Size()
}

// moveTree writes n files below rel, spread over nested subfolders.
func moveTree(f *fixture, rel string, n int) {
	for i := 0; i < n; i++ {
		sub := fmt.Sprintf("sub%d/deeper%d", i%7, i%3)
		if i%5 == 0 {
			sub = ""
		}
		f.write(filepath.Join(rel, sub, fmt.Sprintf("f%05d.txt", i)), "content of file "+strconv.Itoa(i))
	}
}

// catalogTree is what the catalog says snapshot s holds below root: each
// relative path with its type and, for files, size and SHA-256.
func catalogTree(t *testing.T, c *catalog.Catalog, s catalog.Snapshot, root string) map[string]string {
	t.Helper()
	vs, err := c.Subtree(s, root)
	must(t, err)
	out := map[string]string{}
	for _, v := range vs {
		rel, err := filepath.Rel(root, v.Path())
		must(t, err)
		desc := v.Meta.Type.String()
		if v.Meta.Type == fsmeta.File {
			desc += fmt.Sprintf(" %d %s", v.Meta.Size, hex.EncodeToString(v.SHA256))
		}
		if _, dup := out[rel]; dup {
			t.Errorf("catalog: %s twice in snapshot %s", rel, s.Name)
		}
		out[rel] = desc
	}
	return out
}

// diskTree is catalogTree read from a folder on the drive.
func diskTree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for rel, desc := range realfs.Digest(t, root) {
		if rel == "." {
			continue
		}
		fields := strings.Fields(desc)
		mode, err := strconv.ParseUint(fields[0], 8, 32)
		must(t, err)
		switch mode & unix.S_IFMT {
		case unix.S_IFDIR:
			out[rel] = fsmeta.Dir.String()
		case unix.S_IFREG:
			out[rel] = fsmeta.File.String() + " " + fields[1] + " " + fields[2]
		case unix.S_IFLNK:
			out[rel] = fsmeta.Symlink.String() // the catalog's listing has no target
		default:
			out[rel] = desc
		}
	}
	return out
}

type moveCase struct {
	name string
	// setup writes the first tree; then come an initial and an unchanged
	// backup.
	setup func(f *fixture)
	// steps change the source; a backup follows each.
	steps []func(f *fixture)
	// maxGrowth bounds the catalog's growth over all steps beyond that of
	// as many unchanged backups (0: not checked).
	maxGrowth int64
	// movedFile is a file present before the steps (old) and after them
	// (now), the same content: its history and search must show both.
	old, now string
	// movedFolders are the folders the last step's backup says moved.
	movedFolders []string
	// want counts of the last step's backup.
	moved, modified, added, deleted int64
	// gone files Deleted must report; no other file may be reported.
	gone []string
	// pulled: also as a pull (rsync), where a moved folder is known by
	// its entries only: cases where they are exactly the old ones.
	pulled bool
	// dirty, if set, are the folders (relative) a watcher would report
	// for the steps: also run with them as ChangedDirs.
	dirty []string
}

func TestMovedFolders(t *testing.T) {
	cases := []moveCase{
		{
			name:      "5000 files in nested folders moved to another parent",
			setup:     func(f *fixture) { moveTree(f, "big", 5000); f.write("other/keep.txt", "stays") },
			steps:     []func(f *fixture){func(f *fixture) { must(t, os.Rename(f.path("big"), f.path("other/renamed"))) }},
			maxGrowth: 100 << 10,
			old:       "big/sub6/deeper1/f00013.txt", now: "other/renamed/sub6/deeper1/f00013.txt",
			moved: 5000, pulled: true, dirty: []string{".", "other"},
			movedFolders: []string{"other/renamed"},
		},
		{
			name:  "a file changed, one added and one deleted inside the moved folder",
			setup: func(f *fixture) { moveTree(f, "big", 300) },
			steps: []func(f *fixture){func(f *fixture) {
				must(t, os.Rename(f.path("big"), f.path("moved")))
				f.write("moved/sub1/deeper1/f00001.txt", "changed in the same run")
				f.write("moved/sub2/added.txt", "added in the same run")
				must(t, os.Remove(f.path("moved/sub4/deeper1/f00004.txt")))
			}},
			maxGrowth: 20 << 10,
			old:       "big/f00000.txt", now: "moved/f00000.txt",
			moved: 298, modified: 1, added: 1, deleted: 1,
			gone:         []string{"big/sub4/deeper1/f00004.txt"},
			movedFolders: []string{"moved"},
			dirty:        []string{".", "moved/sub1/deeper1", "moved/sub2", "moved/sub4/deeper1"},
		},
		{
			name:  "a folder moved and moved back",
			setup: func(f *fixture) { moveTree(f, "big", 300) },
			steps: []func(f *fixture){
				func(f *fixture) { must(t, os.Rename(f.path("big"), f.path("away"))) },
				func(f *fixture) { must(t, os.Rename(f.path("away"), f.path("big"))) },
			},
			maxGrowth: 20 << 10,
			old:       "big/sub2/deeper2/f00002.txt", now: "big/sub2/deeper2/f00002.txt",
			moved: 300, pulled: true, dirty: []string{"."},
			movedFolders: []string{"big"},
		},
		{
			// The new name sorts first: the move is found before the
			// old path is walked.
			name:  "old path reused by a new folder, new name first",
			setup: func(f *fixture) { moveTree(f, "zz", 300) },
			steps: []func(f *fixture){func(f *fixture) {
				must(t, os.Rename(f.path("zz"), f.path("aa")))
				f.write("zz/newcomer.txt", "a new folder at the old path")
				f.write("zz/sub1/other.txt", "a new subfolder at an old subfolder's path")
			}},
			maxGrowth: 20 << 10,
			old:       "zz/sub1/deeper1/f00001.txt", now: "aa/sub1/deeper1/f00001.txt",
			moved: 300, added: 2, movedFolders: []string{"aa"},
		},
		{
			// The old path is walked first: the folder there has other
			// names, so it is not the old one recreated in place.
			name:  "old path reused by a new folder, new name last",
			setup: func(f *fixture) { moveTree(f, "aa", 300) },
			steps: []func(f *fixture){func(f *fixture) {
				must(t, os.Rename(f.path("aa"), f.path("zz")))
				f.write("aa/newcomer.txt", "a new folder at the old path")
			}},
			maxGrowth: 20 << 10,
			old:       "aa/sub1/deeper1/f00001.txt", now: "zz/sub1/deeper1/f00001.txt",
			moved: 300, added: 1, movedFolders: []string{"zz"},
		},
		{
			name: "moved onto the path of a folder deleted in the same run",
			setup: func(f *fixture) {
				moveTree(f, "big", 300)
				f.write("target/a.txt", "deleted with its folder")
				f.write("target/b.txt", "deleted too")
			},
			steps: []func(f *fixture){func(f *fixture) {
				must(t, os.RemoveAll(f.path("target")))
				must(t, os.Rename(f.path("big"), f.path("target")))
			}},
			maxGrowth: 20 << 10,
			old:       "big/sub1/deeper2/f00008.txt", now: "target/sub1/deeper2/f00008.txt",
			moved: 300, deleted: 2,
			gone:         []string{"target/a.txt", "target/b.txt"},
			movedFolders: []string{"target"},
		},
		{
			name:  "moved into a folder made in the same run",
			setup: func(f *fixture) { moveTree(f, "big", 300) },
			steps: []func(f *fixture){func(f *fixture) {
				must(t, os.MkdirAll(f.path("new/parent"), 0o755))
				must(t, os.Rename(f.path("big"), f.path("new/parent/big")))
			}},
			maxGrowth: 20 << 10,
			old:       "big/sub6/deeper0/f00006.txt", now: "new/parent/big/sub6/deeper0/f00006.txt",
			moved: 300, pulled: true, movedFolders: []string{"new/parent/big"},
		},
		{
			// ext4 gives a new folder the inode number a folder deleted
			// just before had: that alone does not make it a move.
			name: "a new folder in a deleted folder's place in the inode table",
			setup: func(f *fixture) {
				f.write("keep.txt", "stays")
				f.write("old/a.txt", "deleted")
				f.write("old/b.txt", "deleted too")
			},
			steps: []func(f *fixture){func(f *fixture) {
				ino := inode(t, f.path("old"))
				must(t, os.RemoveAll(f.path("old")))
				f.write("fresh/c.txt", "new")
				t.Logf("the new folder has the deleted one's inode: %v", inode(t, f.path("fresh")) == ino)
			}},
			old: "keep.txt", now: "keep.txt",
			added: 1, deleted: 2,
			gone: []string{"old/a.txt", "old/b.txt"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { testMove(t, tc, local, newFixture) })
		if tc.pulled {
			t.Run(tc.name+", pulled", func(t *testing.T) { testMove(t, tc, pulled, newFixture) })
		}
		if tc.dirty != nil {
			t.Run(tc.name+", changed folders only", func(t *testing.T) { testMove(t, tc, changedDirs, newFixture) })
		}
		// The same on a btrfs drive, where each snapshot is a subvolume
		// made from the previous one.
		t.Run(tc.name+", on btrfs", func(t *testing.T) { testMove(t, tc, local, btrfsFixture) })
		if tc.dirty != nil {
			t.Run(tc.name+", changed folders only, on btrfs", func(t *testing.T) { testMove(t, tc, changedDirs, btrfsFixture) })
		}
	}
}

// btrfsFixture is newFixture with the repository on a btrfs loop drive.
func btrfsFixture(t testing.TB) *fixture {
	f, _ := newBtrfsFixture(t)
	return f
}

// How a test backs up: by walking the source, by pulling it with rsync,
// or reading only the folders a watcher reported (after the first).
type backupKind int

const (
	local backupKind = iota
	pulled
	changedDirs
)

func testMove(t *testing.T, tc moveCase, kind backupKind, newFixture func(testing.TB) *fixture) {
	f := newFixture(t)
	tc.setup(f)
	var snaps []string
	sources := map[string]map[string]string{} // snapshot -> the source then
	backup := func() *Result {
		src := realfs.DigestMeta(t, f.src)
		r := f.backup(func(o *BackupOptions) {
			o.Plan = true
			switch {
			case kind == pulled:
				o.Fetch = localRsync(f.src)
			case kind == changedDirs && len(snaps) > 0:
				o.ChangedDirs = []string{}
				if len(snaps) > 1 {
					for _, d := range tc.dirty {
						o.ChangedDirs = append(o.ChangedDirs, f.path(d))
					}
				}
			}
		})
		snaps = append(snaps, r.Snapshot)
		sources[r.Snapshot] = src
		return r
	}
	backup()
	base := catalogSize(t, f)
	backup()
	unchanged := catalogSize(t, f) - base
	var r *Result
	for _, step := range tc.steps {
		step(f)
		r = backup()
	}
	growth := catalogSize(t, f) - base - unchanged*int64(1+len(tc.steps))
	t.Logf("catalog growth beyond unchanged runs: %d bytes (an unchanged run: %d)", growth, unchanged)
	if tc.maxGrowth > 0 && growth > tc.maxGrowth {
		t.Errorf("the catalog grew by %d bytes beyond unchanged runs, want at most %d", growth, tc.maxGrowth)
	}
	if r.Moved != tc.moved || r.Modified != tc.modified || r.New != tc.added || r.Deleted != tc.deleted {
		t.Errorf("last backup: moved %d modified %d new %d deleted %d, want %d %d %d %d",
			r.Moved, r.Modified, r.New, r.Deleted, tc.moved, tc.modified, tc.added, tc.deleted)
	}
	var movedFolders []string
	for _, e := range r.Plan {
		if fi, err := os.Stat(e.Path); e.Kind == Moved && err == nil && fi.IsDir() {
			movedFolders = append(movedFolders, strings.TrimPrefix(e.Path, f.src+"/"))
		}
	}
	if fmt.Sprint(movedFolders) != fmt.Sprint(tc.movedFolders) && len(movedFolders)+len(tc.movedFolders) > 0 {
		t.Errorf("folders moved: %v, want %v", movedFolders, tc.movedFolders)
	}
	if r.Copied != tc.modified+tc.added {
		t.Errorf("last backup copied %d files, want %d (only the changed and added ones)", r.Copied, tc.modified+tc.added)
	}
	checkSnapshots(t, f, snaps, sources, true)

	cat := f.catalog()
	all, err := cat.Snapshots("testhost")
	must(t, err)
	// Search finds the file at each path it had, with the snapshots that
	// hold it there.
	hits, err := cat.Search(catalog.SearchOptions{Pattern: filepath.Base(tc.now)})
	must(t, err)
	held := map[string][]string{}
	for _, h := range hits {
		held[h.Path()] = append(held[h.Path()], h.Snapshots...)
	}
	wantHeld := map[string][]string{}
	for _, s := range all {
		for p := range sources[s.Name] {
			if filepath.Base(p) == filepath.Base(tc.now) {
				wantHeld[f.path(p)] = append(wantHeld[f.path(p)], s.Name)
			}
		}
	}
	if fmt.Sprint(sorted(held)) != fmt.Sprint(sorted(wantHeld)) {
		t.Errorf("search %s: %v, want %v", filepath.Base(tc.now), held, wantHeld)
	}
	// Browsing: the old snapshot has the file at its old path, the newest
	// at its new one.
	for _, c := range []struct {
		snap     catalog.Snapshot
		at, gone string
	}{{all[1], tc.old, tc.now}, {all[len(all)-1], tc.now, tc.old}} {
		vs, err := cat.List(c.snap, filepath.Dir(f.path(c.at)))
		must(t, err)
		found := false
		for _, v := range vs {
			found = found || v.Name == filepath.Base(c.at)
		}
		if !found {
			t.Errorf("browsing %s of %s: no %s", filepath.Dir(c.at), c.snap.Name, filepath.Base(c.at))
		}
		if c.gone != c.at {
			if _, err := cat.Lookup(c.snap, f.path(c.gone)); err == nil {
				t.Errorf("%s has %s too", c.snap.Name, c.gone)
			}
		}
	}
	// The history of the new path goes back before the move.
	cvs, err := cat.Versions("testhost", f.path(tc.now))
	must(t, err)
	var seen []string
	for _, cv := range cvs {
		for _, pl := range cv.Places {
			seen = append(seen, pl.Snapshots...)
		}
	}
	sort.Strings(seen)
	var every []string
	for _, s := range all {
		every = append(every, s.Name)
	}
	if strings.Join(seen, " ") != strings.Join(every, " ") {
		t.Errorf("versions of %s are held by %v, want every snapshot %v", tc.now, seen, every)
	}
	// Deleted lists what was deleted, not what moved.
	gone, err := cat.Deleted("testhost", f.src, time.Time{})
	must(t, err)
	var gotGone []string
	for _, g := range gone {
		gotGone = append(gotGone, strings.TrimPrefix(g.Path(), f.src+"/"))
	}
	if fmt.Sprint(gotGone) != fmt.Sprint(tc.gone) && !(len(gotGone) == 0 && len(tc.gone) == 0) {
		t.Errorf("deleted files: %v, want %v", gotGone, tc.gone)
	}
	// Diff names the moved file a move (or nothing, when it came back).
	d, err := cat.Diff(all[1], all[len(all)-1])
	must(t, err)
	for _, ch := range d {
		if ch.Path == f.path(tc.now) && tc.old != tc.now && (ch.Kind != "moved" || ch.From != f.path(tc.old)) {
			t.Errorf("diff: %+v, want moved from %s", ch, tc.old)
		}
		if tc.old == tc.now && strings.HasPrefix(ch.Path, f.path(tc.now)) {
			t.Errorf("diff of a folder moved back: %+v", ch)
		}
	}

	// Pruning the snapshot before the move, then the one after it,
	// leaves every other snapshot whole.
	for _, victim := range []string{snaps[1], snaps[2]} {
		c := f.catalog()
		s, err := c.Snapshot("testhost", victim)
		must(t, err)
		must(t, remove(context.Background(), f.repo, c, []catalog.Snapshot{s}, map[int64]string{}, PruneOptions{Actor: catalog.CurrentActor()}, &PruneResult{}))
		var left []string
		for _, n := range snaps {
			if n != victim {
				left = append(left, n)
			}
		}
		snaps = left
		checkSnapshots(t, f, snaps, sources, false)
	}
}

// checkSnapshots checks each snapshot three ways: the catalog's listing
// equals the folder on the drive, a restore (with restore) equals the
// source as it was, and a verification finds nothing wrong.
func checkSnapshots(t *testing.T, f *fixture, snaps []string, sources map[string]map[string]string, restore bool) {
	t.Helper()
	checkHostSnapshots(t, f, "testhost", f.src, snaps, sources, restore)
}

// checkHostSnapshots is checkSnapshots for host's snapshots of src.
func checkHostSnapshots(t *testing.T, f *fixture, host, src string, snaps []string, sources map[string]map[string]string, restore bool) {
	t.Helper()
	cat := f.catalog()
	for _, name := range snaps {
		s, err := cat.Snapshot(host, name)
		must(t, err)
		disk := diskTree(t, f.repo.SnapshotDir(host, name)+src)
		if d := realfs.DiffDigests(catalogTree(t, cat, s, src), disk, 5); len(d) > 0 {
			t.Errorf("snapshot %s: the catalog (left) differs from the drive: %v", name, d)
		}
		if !restore {
			continue
		}
		to := t.TempDir()
		_, err = Restore(context.Background(), f.repo, RestoreOptions{Host: host, Snapshot: name, Paths: []string{src}, To: to, Actor: catalog.CurrentActor()})
		must(t, err)
		if d := realfs.DiffDigests(realfs.DigestMeta(t, filepath.Join(to, filepath.Base(src))), sources[name], 5); len(d) > 0 {
			t.Errorf("restore of %s (left) differs from the source then: %v", name, d)
		}
	}
	v, err := Verify(context.Background(), f.repo, VerifyOptions{Host: host})
	must(t, err)
	if len(v.Damaged) > 0 || len(v.CatalogProblems) > 0 {
		t.Errorf("verify: damaged %v, catalog problems %v", v.Damaged, v.CatalogProblems)
	}
}

func sorted(m map[string][]string) []string {
	var out []string
	for k, v := range m {
		vv := append([]string(nil), v...)
		sort.Strings(vv)
		out = append(out, k+"="+strings.Join(vv, ","))
	}
	sort.Strings(out)
	return out
}
