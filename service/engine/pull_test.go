package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/exclude"
	"github.com/keepsake/keepsake/service/fsmeta"
	"github.com/keepsake/keepsake/service/internal/realfs"
	"github.com/keepsake/keepsake/shared/kerr"
)

// localRsync fetches with the real rsync, locally: the engine's side of a
// pull (indexing, dedup, commit) does not depend on the transport, which
// service/remote tests over real sshd.
func localRsync(srcs ...string) Fetch {
	return func(ctx context.Context, req FetchRequest) ([]Warning, error) {
		dest, linkDest, report := req.Dest, req.LinkDest, req
		args := []string{"-aHAX", "--numeric-ids", "--relative", "--no-D", "--modify-window=-1"}
		if linkDest != "" {
			args = append(args, "--link-dest="+linkDest)
		}
		if req.Update {
			args = append(args, "--delete", "--ignore-errors") // as service/remote's rsyncArgs
		}
		// A source gone from the "computer" is named, as service/remote
		// names those rsync says are missing (its exit code then is 23).
		var present []string
		for _, s := range srcs {
			if _, err := os.Lstat(s); err != nil {
				report.Gone(s)
				continue
			}
			present = append(present, s)
		}
		args = append(append(args, present...), dest+"/")
		out, err := exec.CommandContext(ctx, "rsync", args...).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("rsync: %v: %s", err, out)
		}
		// Name what arrived, as service/remote does from rsync's output,
		// with names no transfer should give among them: they must not
		// be read, nor change what is recorded.
		for _, hostile := range []string{"/../../../etc/passwd", "/nonexistent", "/"} {
			report.Arrived(hostile)
		}
		return nil, filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				report.Arrived(strings.TrimPrefix(p, dest))
			}
			if err == nil && d.Type()&fs.ModeSymlink != 0 {
				report.Arrived(strings.TrimPrefix(p, dest) + "/passwd")
			}
			return err
		})
	}
}

// computer is a folder standing for another computer's files.
type computer struct {
	t    *testing.T
	root string
}

func newComputer(t *testing.T) *computer {
	root := filepath.Join(t.TempDir(), "data")
	must(t, os.MkdirAll(root, 0o755))
	return &computer{t: t, root: root}
}

func (c *computer) write(rel, content string, mtime time.Time) {
	c.t.Helper()
	p := filepath.Join(c.root, rel)
	must(c.t, os.MkdirAll(filepath.Dir(p), 0o755))
	must(c.t, os.WriteFile(p, []byte(content), 0o644))
	must(c.t, os.Chtimes(p, mtime, mtime))
}

func pull(t *testing.T, f *fixture, host string, c *computer) *Result {
	t.Helper()
	f.now = f.now.Add(time.Hour)
	now := f.now
	res, err := Backup(context.Background(), f.repo, BackupOptions{Host: host, Sources: []string{c.root},
		Fetch: localRsync(c.root), Now: func() time.Time { return now }, Actor: catalog.CurrentActor(), Plan: true})
	if err != nil {
		t.Fatalf("pull %s: %v", host, err)
	}
	return res
}

func (f *fixture) storedOf(host, snap, p string) string { return f.repo.SnapshotDir(host, snap) + p }

func TestPullIndexesLinksAndDedups(t *testing.T) {
	f := newFixture(t)
	mt := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	alpha, beta := newComputer(t), newComputer(t)
	for i := 0; i < 20; i++ {
		alpha.write(fmt.Sprintf("photos/p%02d.jpg", i), strings.Repeat(fmt.Sprint(i), 5000), mt)
		beta.write(fmt.Sprintf("pictures/p%02d.jpg", i), strings.Repeat(fmt.Sprint(i), 5000), mt)
	}
	alpha.write("notes.txt", "alpha's notes", mt)
	beta.write("todo.txt", "beta's list", mt)
	must(t, os.Symlink("/etc", filepath.Join(alpha.root, "etc-link")))

	r1 := pull(t, f, "alpha", alpha)
	if r1.New != 22 || r1.Copied != 21 || r1.Hashed != 21 || r1.HashedInTransfer != 21 {
		t.Errorf("first pull: new=%d copied=%d hashed=%d (%d during the transfer), want 22, 21 and 21 (21)", r1.New, r1.Copied, r1.Hashed, r1.HashedInTransfer)
	}
	got := f.storedOf("alpha", r1.Snapshot, alpha.root+"/photos/p07.jpg")
	if fileSum(t, got) != fileSum(t, filepath.Join(alpha.root, "photos/p07.jpg")) {
		t.Error("stored bytes differ")
	}
	if target, err := os.Readlink(f.storedOf("alpha", r1.Snapshot, alpha.root+"/etc-link")); err != nil || target != "/etc" {
		t.Errorf("symlink stored as %q, %v; want a symlink to /etc", target, err)
	}
	if fi, err := os.Stat(f.repo.HostDir("alpha")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("another computer's folder: %v %v, want 0700", fi.Mode(), err)
	}

	// Unchanged: rsync links every file, nothing is read.
	r2 := pull(t, f, "alpha", alpha)
	if r2.Hashed != 0 || r2.New != 0 || r2.Unchanged != 22 || r2.Copied != 0 {
		t.Errorf("unchanged pull: hashed=%d new=%d unchanged=%d copied=%d", r2.Hashed, r2.New, r2.Unchanged, r2.Copied)
	}
	if inode(t, f.storedOf("alpha", r2.Snapshot, alpha.root+"/notes.txt")) != inode(t, f.storedOf("alpha", r1.Snapshot, alpha.root+"/notes.txt")) {
		t.Error("unchanged file is not the previous snapshot's inode")
	}

	// The same photos on another computer are stored once.
	r3 := pull(t, f, "beta", beta)
	if r3.Linked != 20 || r3.Copied != 1 || r3.Duplicate != 20 {
		t.Errorf("beta: linked=%d copied=%d duplicate=%d, want 20, 1, 20", r3.Linked, r3.Copied, r3.Duplicate)
	}
	a := f.storedOf("alpha", r2.Snapshot, alpha.root+"/photos/p03.jpg")
	b := f.storedOf("beta", r3.Snapshot, beta.root+"/pictures/p03.jpg")
	if inode(t, a) != inode(t, b) {
		t.Error("beta's copy of a photo alpha has is not the same inode")
	}

	// A renamed folder comes over the wire again and is linked back.
	must(t, os.Rename(filepath.Join(alpha.root, "photos"), filepath.Join(alpha.root, "holiday")))
	// A folder time of an earlier second: rsync puts a folder's time back
	// after writing into it only when the two differ in whole seconds, so
	// a folder written within the second of the pull would keep the
	// pull's nanoseconds and the check below would test rsync's timing.
	must(t, os.Chtimes(filepath.Join(alpha.root, "holiday"), mt, mt))
	must(t, os.WriteFile(filepath.Join(alpha.root, "notes.txt"), []byte("changed"), 0o644))
	r4 := pull(t, f, "alpha", alpha)
	if r4.Moved != 20 || r4.Copied != 1 || r4.Modified != 1 || r4.Deleted != 0 {
		t.Errorf("after a rename: moved=%d copied=%d modified=%d deleted=%d, want 20, 1, 1, 0", r4.Moved, r4.Copied, r4.Modified, r4.Deleted)
	}
	if inode(t, f.storedOf("alpha", r4.Snapshot, alpha.root+"/holiday/p03.jpg")) != inode(t, a) {
		t.Error("a renamed photo was not linked to its stored copy")
	}
	// The folder keeps the other computer's time although links replaced
	// its files.
	fi, err := os.Stat(f.storedOf("alpha", r4.Snapshot, alpha.root+"/holiday"))
	must(t, err)
	src, err := os.Stat(filepath.Join(alpha.root, "holiday"))
	must(t, err)
	if !fi.ModTime().Equal(src.ModTime()) {
		t.Errorf("folder time %v, want %v", fi.ModTime(), src.ModTime())
	}

	// The catalog knows every version, with its content.
	c := f.catalog()
	snap, err := c.Snapshot("alpha", r4.Snapshot)
	must(t, err)
	v, err := c.Lookup(snap, alpha.root+"/holiday/p03.jpg")
	must(t, err)
	if v.Meta.Type != fsmeta.File || v.Meta.Size != 5000 || len(v.SHA256) != 32 || v.Meta.Nlink != 1 {
		t.Errorf("catalog entry %+v", v.Meta)
	}
	link, err := c.Lookup(snap, alpha.root+"/etc-link")
	must(t, err)
	if err := c.DB().QueryRow(`SELECT coalesce(link_target,'') FROM versions WHERE id = ?`, link.ID).Scan(&link.Meta.LinkTarget); err != nil || link.Meta.LinkTarget != "/etc" {
		t.Errorf("symlink recorded as %q (%v)", link.Meta.LinkTarget, err)
	}
	if _, err := c.Lookup(snap, alpha.root+"/photos/p03.jpg"); err == nil {
		t.Error("the old folder is still in the newest snapshot")
	}
	if probs, err := c.IntegrityCheck(); err != nil || len(probs) > 0 {
		t.Errorf("catalog: %v %v", probs, err)
	}
}

func TestPullFailureLeavesNothing(t *testing.T) {
	f := newFixture(t)
	alpha := newComputer(t)
	alpha.write("a.txt", "a", time.Now())
	pull(t, f, "alpha", alpha)
	boom := errors.New("connection reset")
	for name, fetch := range map[string]Fetch{
		"fetch fails": func(ctx context.Context, req FetchRequest) ([]Warning, error) {
			dest := req.Dest
			must(t, os.WriteFile(filepath.Join(dest, "half"), []byte("x"), 0o600))
			return nil, boom
		},
		"cancelled mid-transfer": func(ctx context.Context, req FetchRequest) ([]Warning, error) {
			dest := req.Dest
			must(t, os.WriteFile(filepath.Join(dest, "half"), []byte("x"), 0o600))
			return nil, kerr.New(kerr.Cancelled, "cancelled")
		},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Backup(context.Background(), f.repo, BackupOptions{Host: "alpha", Sources: []string{alpha.root},
				Fetch: fetch, Actor: catalog.CurrentActor()})
			if err == nil {
				t.Fatal("no error")
			}
			if snaps, _ := f.catalog().Snapshots("alpha"); len(snaps) != 1 {
				t.Errorf("%d snapshots, want 1", len(snaps))
			}
			if parts, _ := f.repo.Partials("alpha"); len(parts) != 0 {
				t.Errorf("left behind: %v", parts)
			}
		})
	}
	if r := pull(t, f, "alpha", alpha); r.Unchanged != 1 {
		t.Errorf("the next pull: unchanged=%d, want 1", r.Unchanged)
	}
}

// TestPullExcludes: what the profile excludes is not in a pulled
// snapshot nor in the catalog. rsync is given the patterns it reads the
// same way and leaves those files on the other side; the rest arrive and
// the engine removes them.
func TestPullExcludes(t *testing.T) {
	f := newFixture(t)
	mt := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	c := newComputer(t)
	for _, rel := range []string{"keep.txt", "deep/keep.txt", "a.tmp", "deep/b.tmp", "node_modules/x.js",
		"deep/build/out/o.bin", "deep/build/keep.txt", "deep/skip-me/f", "skip-me"} {
		c.write(rel, "content of "+rel, mt)
	}
	excludes := []string{"*.tmp", "node_modules/", "build/out", "**/skip-me/"}
	var arrived []string // what rsync brought, before the engine's own pass
	fetch := func(ctx context.Context, req FetchRequest) ([]Warning, error) {
		args := []string{"-aHAX", "--numeric-ids", "--relative", "--no-D"}
		for _, x := range exclude.RsyncPatterns(req.Excludes) {
			args = append(args, "--exclude="+x)
		}
		if out, err := exec.CommandContext(ctx, "rsync", append(args, c.root, req.Dest+"/")...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("rsync: %v: %s", err, out)
		}
		return nil, filepath.WalkDir(req.Dest+c.root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				arrived = append(arrived, strings.TrimPrefix(p, req.Dest+c.root+"/"))
			}
			return err
		})
	}
	res, err := Backup(context.Background(), f.repo, BackupOptions{Host: "alpha", Sources: []string{c.root}, Excludes: excludes,
		Fetch: fetch, Actor: catalog.CurrentActor()})
	must(t, err)
	slices.Sort(arrived)
	// The directory-only pattern **/skip-me/ is not one rsync reads
	// alike, so that folder came over; the file skip-me is not a folder.
	if want := []string{"deep/build/keep.txt", "deep/keep.txt", "deep/skip-me/f", "keep.txt", "skip-me"}; !slices.Equal(arrived, want) {
		t.Errorf("rsync brought %q, want %q", arrived, want)
	}
	cat := f.catalog()
	snap, err := cat.Snapshot("alpha", res.Snapshot)
	must(t, err)
	cases := map[string]bool{"keep.txt": true, "deep/keep.txt": true, "deep/build/keep.txt": true, "skip-me": true,
		"a.tmp": false, "deep/b.tmp": false, "node_modules": false, "deep/build/out": false, "deep/skip-me": false}
	for rel, want := range cases {
		t.Run(rel, func(t *testing.T) {
			_, statErr := os.Lstat(f.storedOf("alpha", res.Snapshot, c.root+"/"+rel))
			_, lookErr := cat.Lookup(snap, c.root+"/"+rel)
			if (statErr == nil) != want || (lookErr == nil) != want {
				t.Errorf("in the snapshot: %v, in the catalog: %v; want %v", statErr == nil, lookErr == nil, want)
			}
		})
	}
}

func TestPullRefusesOptionsForLocalSources(t *testing.T) {
	f := newFixture(t)
	for name, mod := range map[string]func(*BackupOptions){
		"dry run":       func(o *BackupOptions) { o.DryRun = true },
		"relative path": func(o *BackupOptions) { o.Sources = []string{"home/u"} },
		"dotdot":        func(o *BackupOptions) { o.Sources = []string{"/home/../etc"} },
	} {
		t.Run(name, func(t *testing.T) {
			opts := BackupOptions{Host: "alpha", Sources: []string{"/home/u"}, Fetch: localRsync("/nonexistent")}
			mod(&opts)
			if _, err := Backup(context.Background(), f.repo, opts); !kerr.Is(err, kerr.InvalidArgs) {
				t.Errorf("got %v, want InvalidArgs", err)
			}
		})
	}
}

// TestPullStoresPairsOnce: two names of one content alone in a folder
// (a hardlink's two names, or two copies) are indexed side by side by
// two workers; whichever comes first, one copy is kept and counted, and
// the two names are one inode on the drive. Copies are remembered from
// shareMin bytes up, as in a local backup, so that a pull's memory does
// not grow with its number of files: two small copies stay two files.
func TestPullStoresPairsOnce(t *testing.T) {
	cases := []struct {
		name  string
		pairs int
		size  int // of each content
		// second makes the folder's second name of its first, "a".
		second func(t *testing.T, a, b, content string)
		// shared: a and b are one inode on the drive.
		shared bool
	}{
		{"hardlinked", 1000, 8 << 10, func(t *testing.T, a, b, _ string) { must(t, os.Link(a, b)) }, true},
		{"copies", 1000, shareMin, func(t *testing.T, _, b, content string) { must(t, os.WriteFile(b, []byte(content), 0o644)) }, true},
		{"small copies", 100, shareMin - 1, func(t *testing.T, _, b, content string) { must(t, os.WriteFile(b, []byte(content), 0o644)) }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			mt := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
			alpha := newComputer(t)
			for i := 0; i < c.pairs; i++ {
				content, dir := strings.Repeat(fmt.Sprintf("%04d", i), c.size/4+1)[:c.size], filepath.Join(alpha.root, fmt.Sprintf("%04d", i))
				alpha.write(fmt.Sprintf("%04d/a", i), content, mt)
				c.second(t, filepath.Join(dir, "a"), filepath.Join(dir, "b"), content)
				must(t, os.Chtimes(filepath.Join(dir, "b"), mt, mt))
			}
			r := pull(t, f, "alpha", alpha)
			want := int64(c.pairs)
			if !c.shared {
				want *= 2
			}
			if r.Copied != want {
				t.Errorf("copied %d files (hashed %d, linked %d), want %d", r.Copied, r.Hashed, r.Linked, want)
			}
			for i := 0; i < c.pairs; i++ {
				dir := f.storedOf("alpha", r.Snapshot, alpha.root+fmt.Sprintf("/%04d/", i))
				if shared := inode(t, dir+"a") == inode(t, dir+"b"); shared != c.shared {
					t.Fatalf("%04d: a and b one inode on the drive: %v, want %v", i, shared, c.shared)
				}
			}
		})
	}
}

// TestPullMemoryFollowsData: what a pull remembers until its end (the
// sums read during the transfer, the inodes and the copies it keeps to
// link later names to) is for files of several names and for copies of
// shareMin bytes or more, not for each file: the many small files of a
// big computer's first pull cost no memory after they are recorded
// (before, each left a few hundred bytes of maps the collector scanned
// again and again: at 100 000 files most of the time after the transfer
// went to collecting garbage).
func TestPullMemoryFollowsData(t *testing.T) {
	f := newFixture(t)
	mt := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	alpha := newComputer(t)
	const small, big, linked = 2000, 5, 7
	for i := 0; i < small; i++ {
		alpha.write(fmt.Sprintf("small/%02d/f%04d", i%40, i), fmt.Sprintf("small file %d", i), mt)
	}
	for i := 0; i < big; i++ {
		content := strings.Repeat(fmt.Sprintf("%04d", i), shareMin/4)
		alpha.write(fmt.Sprintf("big/a%d", i), content, mt)
		alpha.write(fmt.Sprintf("big/b%d", i), content, mt) // a copy: linked to a%d
	}
	for i := 0; i < linked; i++ {
		alpha.write(fmt.Sprintf("linked/x%d", i), fmt.Sprintf("two names %d", i), mt)
		must(t, os.Link(filepath.Join(alpha.root, fmt.Sprintf("linked/x%d", i)), filepath.Join(alpha.root, fmt.Sprintf("linked/y%d", i))))
	}
	var seen, kept, sums int
	var pre bool
	indexed = func(ix *indexer) {
		seen, kept = len(ix.seen), len(ix.kept)
		if pre = ix.pre != nil; pre {
			sums = len(ix.pre.sums)
		}
	}
	t.Cleanup(func() { indexed = nil })
	r := pull(t, f, "alpha", alpha)
	if want := int64(small + big + linked); r.Copied != want {
		t.Errorf("copied %d files, want %d", r.Copied, want)
	}
	if seen != linked || kept != big {
		t.Errorf("remembers %d inodes and %d copies, want %d (the hardlinked ones) and %d (the big ones)", seen, kept, linked, big)
	}
	if !pre {
		realfs.Unavailable(t, "this kernel has no openat2 (Linux 5.6): no sums read during the transfer")
	}
	// A sum is let go when taken, but for a file of several names.
	if sums > linked {
		t.Errorf("%d sums still held after the walk, want at most %d (the hardlinked ones)", sums, linked)
	}
	if r.HashedInTransfer < small {
		t.Errorf("%d files hashed during the transfer, want all %d small ones at least", r.HashedInTransfer, small)
	}
}
