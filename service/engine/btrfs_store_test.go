package engine

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/btrfs"
	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/fsmeta"
	"github.com/keepsake/keepsake/service/internal/realfs"
	"github.com/keepsake/keepsake/service/repo"
	"golang.org/x/sys/unix"
)

// newBtrfsFixture is a fixture whose repository is on a btrfs loop drive
// (the source stays on the temporary folder's filesystem).
func newBtrfsFixture(t testing.TB) (*fixture, *realfs.LoopDrive) {
	t.Helper()
	realfs.RequireRoot(t, "a btrfs loop drive; subvolumes are deleted as root")
	disk := realfs.NewLoop(t, realfs.LoopOptions{FSType: "btrfs", SizeMB: 256})
	f := newFixtureOn(t, filepath.Join(disk.Mount, "drive"))
	if _, ok := storeFor(f.repo).(btrfsStore); !ok {
		t.Fatalf("a repository on btrfs got %T", storeFor(f.repo))
	}
	return f, disk
}

// exclusiveBytes is the data only snapshot dir holds, shared with no other
// subvolume or file, once written.
func exclusiveBytes(t *testing.T, dir string) int64 {
	t.Helper()
	must(t, exec.Command("btrfs", "filesystem", "sync", dir).Run())
	return realfs.BtrfsExclusive(t, dir)
}

// checkSubvolume checks that a published snapshot is a read-only
// subvolume that refuses writes.
func checkSubvolume(t *testing.T, dir string) {
	t.Helper()
	sub, err := isSubvolumeDir(dir)
	if err != nil || !sub {
		t.Errorf("%s is not a subvolume (%v)", dir, err)
		return
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	must(t, err)
	defer unix.Close(fd)
	if ro, err := btrfs.ReadOnly(fd); err != nil || !ro {
		t.Errorf("%s: read-only %v (%v)", dir, ro, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "intruder"), []byte("x"), 0o644); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("writing into %s: %v, want a read-only file system", dir, err)
	}
}

// sameAsSource compares the snapshot's copy of the source, folder by
// folder (nothing more, nothing less), with the source as it was, bytes,
// modes, owners and times; and xattrs of the files named.
func sameAsSource(t *testing.T, f *fixture, snap string, src map[string]string, xattrs map[string][]fsmeta.Xattr) {
	t.Helper()
	got := realfs.DigestMeta(t, f.repo.SnapshotDir("testhost", snap)+f.src)
	if d := realfs.DiffDigests(got, src, 8); len(d) > 0 {
		t.Errorf("snapshot %s (left) differs from the source then: %v", snap, d)
	}
	for rel, want := range xattrs {
		m, err := fsmeta.Lstat(f.stored(snap, rel))
		must(t, err)
		must(t, m.Complete(f.stored(snap, rel)))
		if a, b := fsmeta.EncodeXattrs(m.Xattrs), fsmeta.EncodeXattrs(want); string(a) != string(b) {
			t.Errorf("%s in %s: xattrs %v, want %v", rel, snap, m.Xattrs, want)
		}
	}
}

// TestBtrfsSnapshotsAreSubvolumes backs up to a btrfs drive: the first
// snapshot is a new subvolume, each next one a snapshot of the previous
// with only the changes applied. Every snapshot equals the source as it
// was (on the drive and restored, bytes and metadata), is a read-only
// subvolume and verifies; an unchanged run adds no data, a duplicate of
// stored content and a moved folder add none either; pruning deletes the
// subvolume and leaves the others whole.
func TestBtrfsSnapshotsAreSubvolumes(t *testing.T) {
	f, disk := newBtrfsFixture(t)
	big := make([]byte, 4<<20)
	_, err := rand.Read(big)
	must(t, err)
	f.write("docs/a.txt", "alpha")
	f.write("docs/b.txt", "bravo")
	f.write("docs/sub/c.txt", "charlie")
	must(t, os.WriteFile(f.path("big.bin"), big, 0o644))
	must(t, os.Symlink("docs/a.txt", f.path("link")))
	f.write("hard1", "one inode, two names")
	must(t, os.Link(f.path("hard1"), f.path("hard2")))
	f.write("gone/x.txt", "x")
	f.write("gone/y.txt", "y")
	f.write("movesrc/m1.txt", "moved along")
	f.write("movesrc/deep/m2.txt", "moved along, deeper")
	must(t, os.Symlink("../m1.txt", f.path("movesrc/deep/up")))
	f.write("tc", "a file that becomes a folder")
	f.write("tc2/inner.txt", "a folder that becomes a file")
	must(t, os.Chown(f.path("docs/b.txt"), 1234, 5678))
	must(t, os.Chmod(f.path("docs/b.txt"), 0o600))
	color := []fsmeta.Xattr{{Name: "user.color", Value: []byte("blue")}}
	must(t, unix.Setxattr(f.path("docs/sub/c.txt"), "user.color", []byte("blue"), 0))
	must(t, os.Chmod(f.path("docs/sub"), 0o750))
	xattrs := map[string][]fsmeta.Xattr{"docs/sub/c.txt": color}
	// Attributes that change later, of a file and of a folder.
	f.write("docs/tagged.txt", "tagged")
	must(t, unix.Setxattr(f.path("docs/tagged.txt"), "user.tag", []byte("1"), 0))
	must(t, unix.Setxattr(f.path("docs/sub"), "user.dirtag", []byte("d"), 0))

	var snaps []string
	sources := map[string]map[string]string{}
	backup := func() *Result {
		src := realfs.DigestMeta(t, f.src)
		r := f.backup(func(o *BackupOptions) {
			o.Extras = []Extra{{Name: "note", Data: []byte("run " + strconv.Itoa(len(snaps)))}}
		})
		snaps = append(snaps, r.Snapshot)
		sources[r.Snapshot] = src
		sameAsSource(t, f, r.Snapshot, src, xattrs)
		checkSubvolume(t, f.repo.SnapshotDir("testhost", r.Snapshot))
		if b, err := os.ReadFile(filepath.Join(f.repo.SnapshotDir("testhost", r.Snapshot), catalog.ExtraDir, "note")); err != nil || string(b) != "run "+strconv.Itoa(len(snaps)-1) {
			t.Errorf("the extra file of %s: %q %v", r.Snapshot, b, err)
		}
		return r
	}

	r1 := backup()
	// All but the symlink and the second name of hard1.
	if r1.Copied != 12 {
		t.Errorf("first backup copied %d files, want 12", r1.Copied)
	}
	r2 := backup()
	// Linked: only hard2, the source's second name of hard1's inode; the
	// unchanged files are left as the snapshot holds them.
	if r2.Copied != 0 || r2.Unchanged != r1.Files || r2.Linked != 1 {
		t.Errorf("unchanged backup: copied %d, linked %d (want only hard2), unchanged %d of %d", r2.Copied, r2.Linked, r2.Unchanged, r1.Files)
	}
	// The unchanged file is the first snapshot's, shared: the same inode
	// number in another subvolume, one name (no hardlink was made), and
	// the snapshot holds no data of its own.
	var st1, st2 unix.Stat_t
	must(t, unix.Stat(f.stored(r1.Snapshot, "big.bin"), &st1))
	must(t, unix.Stat(f.stored(r2.Snapshot, "big.bin"), &st2))
	if st1.Ino != st2.Ino || st2.Nlink != 1 || st1.Dev == st2.Dev {
		t.Errorf("big.bin in the second snapshot: ino %d (first %d), nlink %d, dev %d (first %d); want the snapshot's own shared copy",
			st2.Ino, st1.Ino, st2.Nlink, st2.Dev, st1.Dev)
	}
	if n := exclusiveBytes(t, f.repo.SnapshotDir("testhost", r2.Snapshot)); n != 0 {
		t.Errorf("the unchanged snapshot holds %d bytes of its own, want 0", n)
	}

	// Changes of every kind.
	f.write("docs/a.txt", "alpha, changed")
	f.write("docs/new.txt", "new")
	must(t, os.WriteFile(f.path("big-copy.bin"), big, 0o644))
	bt := time.Unix(0, statOf(mustLstat(t, f.path("big.bin"))).Mtim.Nano())
	must(t, os.Chtimes(f.path("big-copy.bin"), bt, bt))
	must(t, os.Remove(f.path("docs/b.txt")))
	must(t, os.RemoveAll(f.path("gone")))
	must(t, os.MkdirAll(f.path("moved"), 0o755))
	must(t, os.Rename(f.path("movesrc"), f.path("moved/here")))
	must(t, os.Chmod(f.path("docs/sub/c.txt"), 0o640))
	must(t, unix.Removexattr(f.path("docs/tagged.txt"), "user.tag"))
	must(t, unix.Setxattr(f.path("docs/tagged.txt"), "user.note", []byte("2"), 0))
	must(t, unix.Removexattr(f.path("docs/sub"), "user.dirtag"))
	must(t, os.Remove(f.path("tc")))
	f.write("tc/inner.txt", "now a folder")
	must(t, os.RemoveAll(f.path("tc2")))
	f.write("tc2", "now a file")
	must(t, os.Remove(f.path("link")))
	must(t, os.Symlink("docs/new.txt", f.path("link")))
	r3 := backup()
	// Copied: docs/a.txt, docs/new.txt, tc/inner.txt and tc2; not the
	// chmod of docs/sub/c.txt nor the new attributes of docs/tagged.txt
	// (applied in place), nor the duplicate, nor the moved files.
	if r3.Copied != 4 || r3.MetaOnly != 2 {
		t.Errorf("changed backup: copied %d files, %d changed in metadata only; want 4 and 2", r3.Copied, r3.MetaOnly)
	}
	// Metadata changes are applied to the snapshot's own inode, which
	// the previous snapshot's copy does not share.
	for _, rel := range []string{"docs/sub/c.txt", "docs/tagged.txt"} {
		var before, after unix.Stat_t
		must(t, unix.Lstat(f.stored(r2.Snapshot, rel), &before))
		must(t, unix.Lstat(f.stored(r3.Snapshot, rel), &after))
		if before.Ino != after.Ino || after.Nlink != 1 {
			t.Errorf("%s: inode %d (nlink %d) after a metadata change, %d before: not changed in place", rel, after.Ino, after.Nlink, before.Ino)
		}
	}
	for _, c := range []struct{ snap, rel, want string }{
		{r2.Snapshot, "docs/tagged.txt", "[user.tag=1]"}, {r3.Snapshot, "docs/tagged.txt", "[user.note=2]"},
		{r2.Snapshot, "docs/sub", "[user.dirtag=d]"}, {r3.Snapshot, "docs/sub", "[]"},
	} {
		xs, err := fsmeta.ReadXattrs(f.stored(c.snap, c.rel))
		must(t, err)
		var got []string
		for _, x := range xs {
			got = append(got, x.Name+"="+string(x.Value))
		}
		if fmt.Sprint(got) != c.want {
			t.Errorf("%s in %s: xattrs %v, want %s", c.rel, c.snap, got, c.want)
		}
	}
	// Deleted: docs/b.txt, gone/x.txt, gone/y.txt and tc2/inner.txt.
	if r3.Deleted != 4 || r3.Moved != 3 { // moved: m1.txt, deep/m2.txt, deep/up
		t.Errorf("changed backup: deleted %d moved %d, want 4 and 3", r3.Deleted, r3.Moved)
	}
	// The copy of big.bin is a reflink of the stored content, the moved
	// folder's files are the previous snapshot's: the snapshot's own data
	// is the few small changed files.
	if n := exclusiveBytes(t, f.repo.SnapshotDir("testhost", r3.Snapshot)); n > 64<<10 {
		t.Errorf("the changed snapshot holds %d bytes of its own, want under 64 KiB (no copy of the 4 MiB duplicate)", n)
	}
	// The moved folder was renamed in the snapshot, not filled anew: its
	// files are the previous snapshot's inodes.
	var was, now unix.Stat_t
	must(t, unix.Lstat(f.stored(r2.Snapshot, "movesrc/deep/m2.txt"), &was))
	must(t, unix.Lstat(f.stored(r3.Snapshot, "moved/here/deep/m2.txt"), &now))
	if was.Ino != now.Ino {
		t.Errorf("the moved folder's file is inode %d, was %d: copied or cloned, not renamed", now.Ino, was.Ino)
	}
	if _, err := os.Lstat(filepath.Join(f.repo.SnapshotDir("testhost", r3.Snapshot), movingDir)); !os.IsNotExist(err) {
		t.Errorf("%s left in the snapshot: %v", movingDir, err)
	}
	if _, err := os.Lstat(f.stored(r3.Snapshot, "gone")); !os.IsNotExist(err) {
		t.Errorf("the deleted folder is still in the new snapshot: %v", err)
	}
	for _, s := range snaps[:2] {
		if got, err := os.ReadFile(f.stored(s, "docs/a.txt")); err != nil || string(got) != "alpha" {
			t.Errorf("docs/a.txt in %s: %q %v; an earlier snapshot changed", s, got, err)
		}
	}
	checkSnapshots(t, f, snaps, sources, true)

	// Pruning the unchanged snapshot deletes its subvolume; the others
	// stay whole.
	c := f.catalog()
	s, err := c.Snapshot("testhost", r2.Snapshot)
	must(t, err)
	must(t, remove(context.Background(), f.repo, c, []catalog.Snapshot{s}, map[int64]string{}, PruneOptions{Actor: catalog.CurrentActor()}, &PruneResult{}))
	if _, err := os.Lstat(f.repo.SnapshotDir("testhost", r2.Snapshot)); !os.IsNotExist(err) {
		t.Errorf("the pruned snapshot's folder: %v", err)
	}
	if n := subvolumesNamed(t, disk.Mount, r2.Snapshot); n != 0 {
		t.Errorf("btrfs still lists %d subvolumes of the pruned snapshot", n)
	}
	left := []string{snaps[0], snaps[2]}
	for _, s := range left {
		sameAsSource(t, f, s, sources[s], xattrs)
	}
	checkSnapshots(t, f, left, sources, false)
	// And the next run starts from the newest one.
	r4 := backup()
	if r4.Copied != 0 {
		t.Errorf("unchanged run after the prune copied %d files", r4.Copied)
	}
}

func mustLstat(t *testing.T, p string) os.FileInfo {
	t.Helper()
	fi, err := os.Lstat(p)
	must(t, err)
	return fi
}

// subvolumesNamed counts the subvolumes of the filesystem at mount whose
// path contains name (deleted ones that the cleaner has not yet dropped
// are not listed).
func subvolumesNamed(t *testing.T, mount, name string) int {
	t.Helper()
	out, err := exec.Command("btrfs", "subvolume", "list", mount).CombinedOutput()
	if err != nil {
		t.Fatalf("btrfs subvolume list: %v %s", err, out)
	}
	n := 0
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if strings.Contains(sc.Text(), name) {
			n++
		}
	}
	return n
}

// The child's environment in TestBtrfsKilledRunIsCleaned.
const killedChildEnv = "KEEPSAKE_TEST_BTRFS_KILLED_CHILD"

// TestBtrfsKilledRunIsCleaned kills (SIGKILL) a backup process whose walk
// has written its .partial subvolume, before the commit; the next run's
// recovery deletes that subvolume, and the earlier snapshot is untouched.
func TestBtrfsKilledRunIsCleaned(t *testing.T) {
	if spec := os.Getenv(killedChildEnv); spec != "" {
		killedChild(spec)
		return
	}
	f, disk := newBtrfsFixture(t)
	for i := 0; i < 50; i++ {
		f.write(fmt.Sprintf("d%d/f%d.txt", i%5, i), strings.Repeat("x", i))
	}
	r1 := f.backup(nil)
	before := realfs.DigestMeta(t, f.repo.SnapshotDir("testhost", r1.Snapshot))
	f.write("d0/changed.txt", "new in the killed run")

	cmd := exec.Command(os.Args[0], "-test.run=^TestBtrfsKilledRunIsCleaned$")
	cmd.Env = append(os.Environ(), killedChildEnv+"="+f.repo.Root+"\n"+f.src)
	out, err := cmd.StdoutPipe()
	must(t, err)
	cmd.Stderr = os.Stderr
	must(t, cmd.Start())
	sc := bufio.NewScanner(out)
	stopped := false
	for sc.Scan() {
		if sc.Text() == "walked" {
			stopped = true
			break
		}
	}
	must(t, cmd.Process.Signal(unix.SIGKILL))
	cmd.Wait()
	if !stopped {
		t.Fatal("the child backup ended without reaching the end of its walk")
	}
	partials, err := f.repo.Partials("testhost")
	must(t, err)
	if len(partials) != 1 {
		t.Fatalf("after the kill: partials %v, want one", partials)
	}
	partial := f.repo.SnapshotDir("testhost", partials[0]) + repo.PartialSuffix
	if sub, err := isSubvolumeDir(partial); !sub || err != nil {
		t.Fatalf("the killed run's %s is not a subvolume (%v)", partial, err)
	}
	if _, err := os.Stat(filepath.Join(partial, f.src, "d0/changed.txt")); err != nil {
		t.Fatalf("control: the killed run had not written its change: %v", err)
	}

	r2 := f.backup(nil)
	if _, err := os.Lstat(partial); !os.IsNotExist(err) {
		t.Errorf("the killed run's partial is still there: %v", err)
	}
	if n := subvolumesNamed(t, disk.Mount, partials[0]+repo.PartialSuffix); n != 0 {
		t.Errorf("btrfs still lists the killed run's subvolume")
	}
	if d := realfs.DiffDigests(realfs.DigestMeta(t, f.repo.SnapshotDir("testhost", r1.Snapshot)), before, 5); len(d) > 0 {
		t.Errorf("the earlier snapshot changed: %v", d)
	}
	src := realfs.DigestMeta(t, f.src)
	sameAsSource(t, f, r2.Snapshot, src, nil)
	checkSubvolume(t, f.repo.SnapshotDir("testhost", r2.Snapshot))
	checkSnapshots(t, f, []string{r1.Snapshot, r2.Snapshot}, nil, false)
}

// killedChild runs a backup that stops for good once its walk is done
// (before the commit), saying so on stdout, and waits to be killed.
func killedChild(spec string) {
	root, src, _ := strings.Cut(spec, "\n")
	r, err := repo.Open(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	_, err = Backup(context.Background(), r, BackupOptions{Host: "testhost", Sources: []string{src}, Actor: catalog.CurrentActor(),
		NoDefaultExcludes: true, ProgressInterval: time.Millisecond,
		Progress: func(p Progress) {
			if p.Phase == "finishing" {
				fmt.Println("walked")
				time.Sleep(time.Hour) // killed meanwhile
			}
		}})
	fmt.Fprintln(os.Stderr, "the backup ended:", err)
	os.Exit(2)
}

// TestBtrfsAfterHardlinkSnapshots backs up to a btrfs drive that holds
// hardlink snapshots (made before subvolumes, or as another user): the
// next snapshot is a new subvolume whose unchanged files are reflinks of
// the hardlink snapshot's (no data copied), the one after is made from it;
// every snapshot equals the source, and pruning the hardlink snapshot
// removes its folder.
func TestBtrfsAfterHardlinkSnapshots(t *testing.T) {
	f, _ := newBtrfsFixture(t)
	big := make([]byte, 2<<20)
	_, err := rand.Read(big)
	must(t, err)
	must(t, os.WriteFile(f.path("big.bin"), big, 0o644))
	f.write("docs/a.txt", "alpha")
	must(t, unix.Setxattr(f.path("docs/a.txt"), "user.color", []byte("blue"), 0))
	must(t, os.Symlink("docs/a.txt", f.path("link")))
	xattrs := map[string][]fsmeta.Xattr{"docs/a.txt": {{Name: "user.color", Value: []byte("blue")}}}

	var snaps []string
	sources := map[string]map[string]string{}
	backup := func() *Result {
		src := realfs.DigestMeta(t, f.src)
		r := f.backup(nil)
		snaps = append(snaps, r.Snapshot)
		sources[r.Snapshot] = src
		sameAsSource(t, f, r.Snapshot, src, xattrs)
		return r
	}
	testStore = linkStore{}
	r1 := backup()
	testStore = nil
	if sub, _ := isSubvolumeDir(f.repo.SnapshotDir("testhost", r1.Snapshot)); sub {
		t.Fatal("control: the hardlink snapshot is a subvolume")
	}
	f.write("docs/new.txt", "new")
	r2 := backup()
	checkSubvolume(t, f.repo.SnapshotDir("testhost", r2.Snapshot))
	if r2.Copied != 1 {
		t.Errorf("the first subvolume copied %d files, want 1 (the new one)", r2.Copied)
	}
	if n := exclusiveBytes(t, f.repo.SnapshotDir("testhost", r2.Snapshot)); n > 64<<10 {
		t.Errorf("the first subvolume holds %d bytes of its own; its unchanged files should be reflinks", n)
	}
	f.write("docs/a.txt", "alpha, changed")
	r3 := backup()
	checkSubvolume(t, f.repo.SnapshotDir("testhost", r3.Snapshot))
	var st2, st3 unix.Stat_t
	must(t, unix.Stat(f.stored(r2.Snapshot, "big.bin"), &st2))
	must(t, unix.Stat(f.stored(r3.Snapshot, "big.bin"), &st3))
	if st2.Ino != st3.Ino || st3.Nlink != 1 {
		t.Errorf("big.bin in the third snapshot: ino %d (second %d), nlink %d: not the second's shared copy", st3.Ino, st2.Ino, st3.Nlink)
	}
	checkSnapshots(t, f, snaps, sources, true)

	c := f.catalog()
	s, err := c.Snapshot("testhost", r1.Snapshot)
	must(t, err)
	must(t, remove(context.Background(), f.repo, c, []catalog.Snapshot{s}, map[int64]string{}, PruneOptions{Actor: catalog.CurrentActor()}, &PruneResult{}))
	if _, err := os.Lstat(f.repo.SnapshotDir("testhost", r1.Snapshot)); !os.IsNotExist(err) {
		t.Errorf("the pruned hardlink snapshot: %v", err)
	}
	checkSnapshots(t, f, snaps[1:], sources, false)
}

// TestBtrfsRepair damages a file in a read-only snapshot subvolume (its
// own copy: the other snapshot's shares nothing with it after the write);
// verify finds it, repair mends it from the other snapshot's intact copy,
// and the snapshot is read-only again.
func TestBtrfsRepair(t *testing.T) {
	f, _ := newBtrfsFixture(t)
	f.write("docs/a.txt", "alpha")
	f.write("docs/b.txt", "bravo")
	r1 := f.backup(nil)
	r2 := f.backup(nil)
	dir := f.repo.SnapshotDir("testhost", r2.Snapshot)
	reseal, err := unseal(dir)
	must(t, err)
	fd, err := unix.Open(f.stored(r2.Snapshot, "docs/a.txt"), unix.O_WRONLY, 0)
	must(t, err)
	_, err = unix.Pwrite(fd, []byte("ALPHA"), 0)
	unix.Close(fd)
	must(t, err)
	must(t, reseal())
	checkSubvolume(t, dir)
	if got := mustRead(t, f.stored(r1.Snapshot, "docs/a.txt")); string(got) != "alpha" {
		t.Fatalf("control: the damage reached the first snapshot: %q", got)
	}

	v, err := Verify(context.Background(), f.repo, VerifyOptions{Host: "testhost"})
	if len(v.Damaged) != 1 || v.Damaged[0].Snapshot != r2.Snapshot || v.Damaged[0].Path != f.path("docs/a.txt") {
		t.Fatalf("verify: %+v, %v; want docs/a.txt of %s damaged", v.Damaged, err, r2.Snapshot)
	}
	rr, err := Repair(context.Background(), f.repo, VerifyOptions{Host: "testhost"})
	if err != nil || len(rr.Repaired) != 1 {
		t.Fatalf("repair: %+v, %v", rr, err)
	}
	if got := mustRead(t, f.stored(r2.Snapshot, "docs/a.txt")); string(got) != "alpha" {
		t.Errorf("repaired: %q", got)
	}
	checkSubvolume(t, dir)
	if v, err := Verify(context.Background(), f.repo, VerifyOptions{Host: "testhost"}); err != nil || len(v.Damaged) != 0 {
		t.Errorf("verify after the repair: %+v, %v", v.Damaged, err)
	}
}

// TestBtrfsVerifyReadsEachVersionOnce verifies three snapshot subvolumes
// of the same two files: each file is read once, as with hardlinks, and a
// file changed between snapshots is read in each of its versions.
func TestBtrfsVerifyReadsEachVersionOnce(t *testing.T) {
	f, _ := newBtrfsFixture(t)
	f.write("a.txt", "alpha")
	f.write("b.txt", "bravo")
	f.backup(nil)
	f.backup(nil)
	f.write("b.txt", "bravo, changed")
	f.backup(nil)
	v, err := Verify(context.Background(), f.repo, VerifyOptions{Host: "testhost"})
	must(t, err)
	if v.Files != 6 || v.Hashed != 3 || len(v.Damaged) != 0 {
		t.Errorf("verify: %d files, %d read, damaged %+v; want 6 files read as 3 (a.txt once, b.txt in each version)", v.Files, v.Hashed, v.Damaged)
	}
}

// TestBtrfsPruneForSpaceStopsWhenEnough prunes for free space on a btrfs
// drive: a deleted subvolume's space is freed by the kernel's cleaner
// after the deletion returns, and the prune waits for it rather than
// removing more snapshots while the free space has not moved yet.
func TestBtrfsPruneForSpaceStopsWhenEnough(t *testing.T) {
	f, _ := newBtrfsFixture(t)
	data := make([]byte, 40<<20)
	var snaps []string
	for _, name := range []string{"a.bin", "b.bin", "c.bin", "c.bin"} {
		entries, _ := os.ReadDir(f.src)
		for _, e := range entries {
			if e.Name() != name {
				must(t, os.Remove(f.path(e.Name())))
			}
		}
		if _, err := os.Stat(f.path(name)); err != nil {
			_, err := rand.Read(data)
			must(t, err)
			must(t, os.WriteFile(f.path(name), data, 0o644))
		}
		snaps = append(snaps, f.backup(nil).Snapshot)
	}
	// The oldest snapshot alone holds a.bin: removing it is enough.
	free, err := FreeSpace(f.repo.Root)
	must(t, err)
	res, err := Prune(context.Background(), f.repo, PruneOptions{Host: "testhost", Free: free + 20<<20, Actor: catalog.CurrentActor()})
	must(t, err)
	var gone []string
	for _, p := range res.Removed {
		gone = append(gone, p.Name)
	}
	if len(gone) != 1 || gone[0] != snaps[0] {
		t.Errorf("pruned %v, want only the oldest %s (freed %d bytes)", gone, snaps[0], res.Freed)
	}
	if res.Freed < 36<<20 {
		t.Errorf("freed %d bytes, want a.bin's 40 MiB", res.Freed)
	}
}

// TestBtrfsMovedFilesAreRenamed: on a btrfs drive a file renamed or moved
// in the source is renamed in the snapshot (the previous snapshot's inode,
// no new file and no clone), whether the run scans or follows the
// journal; a name that is not a move (the old name taken by a new file, a
// second hardlink, a folder the journal does not name) leaves the old
// file where it is. Every snapshot equals the source, the catalog equals
// the drive, and restores are exact.
func TestBtrfsMovedFilesAreRenamed(t *testing.T) {
	f, _ := newBtrfsFixture(t)
	f.write("docs/a.txt", "renamed in its folder")
	f.write("docs/b.txt", "moved to another folder")
	f.write("docs/c.txt", "renamed, its old name taken by a new file")
	f.write("docs/h.txt", "given a second name")
	f.write("quiet/q.txt", "moved out of a folder the journal does not name")
	f.write("other/keep.txt", "stays")
	var snaps []string
	sources := map[string]map[string]string{}
	backup := func(changed []string, exact bool) *Result {
		src := realfs.DigestMeta(t, f.src)
		r := f.backup(func(o *BackupOptions) {
			if changed != nil {
				o.ChangedDirs = changed
			}
		})
		if exact {
			snaps = append(snaps, r.Snapshot)
			sources[r.Snapshot] = src
			sameAsSource(t, f, r.Snapshot, src, nil)
		}
		return r
	}
	inode := func(snap, rel string) uint64 {
		var st unix.Stat_t
		must(t, unix.Lstat(f.stored(snap, rel), &st))
		return st.Ino
	}
	r1 := backup(nil, true)
	was := map[string]uint64{}
	for _, rel := range []string{"docs/a.txt", "docs/b.txt", "docs/c.txt", "docs/h.txt", "quiet/q.txt"} {
		was[rel] = inode(r1.Snapshot, rel)
	}

	must(t, os.Rename(f.path("docs/a.txt"), f.path("docs/a2.txt")))
	must(t, os.Rename(f.path("docs/b.txt"), f.path("other/b.txt")))
	must(t, os.Rename(f.path("docs/c.txt"), f.path("docs/c-old.txt")))
	f.write("docs/c.txt", "a new file at the old name")
	must(t, os.Link(f.path("docs/h.txt"), f.path("other/h2.txt")))
	must(t, os.Rename(f.path("quiet/q.txt"), f.path("other/q.txt")))
	// The journal names every folder but quiet (as if its event were
	// lost): quiet is carried over as it was, q.txt in it.
	r2 := backup([]string{f.path("docs"), f.path("other")}, false)
	for _, c := range []struct {
		name, from, to string
		renamed        bool
	}{
		{"renamed in its folder", "docs/a.txt", "docs/a2.txt", true},
		{"moved to another folder", "docs/b.txt", "other/b.txt", true},
		{"old name taken by a new file", "docs/c.txt", "docs/c-old.txt", false},
		{"moved out of a carried folder", "quiet/q.txt", "other/q.txt", false},
	} {
		got := inode(r2.Snapshot, c.to)
		if (got == was[c.from]) != c.renamed {
			t.Errorf("%s: %s is inode %d, %s was %d; renamed %v, want %v", c.name, c.to, got, c.from, was[c.from], got == was[c.from], c.renamed)
		}
	}
	if h, h2 := inode(r2.Snapshot, "docs/h.txt"), inode(r2.Snapshot, "other/h2.txt"); h != h2 {
		t.Errorf("docs/h.txt, given a second name, is inode %d, its second name %d", h, h2)
	}
	if got := inode(r2.Snapshot, "docs/c.txt"); got == was["docs/c.txt"] {
		t.Errorf("the new docs/c.txt is the old file's inode %d", got)
	}
	// The carried folder keeps what the catalog says it has; the rest
	// is the source's.
	src := realfs.DigestMeta(t, f.src)
	src["quiet/q.txt"] = sources[r1.Snapshot]["quiet/q.txt"]
	src["quiet"] = sources[r1.Snapshot]["quiet"]
	sameAsSource(t, f, r2.Snapshot, src, nil)
	if got := inode(r2.Snapshot, "quiet/q.txt"); got != was["quiet/q.txt"] {
		t.Errorf("quiet/q.txt in the carried folder is inode %d, was %d", got, was["quiet/q.txt"])
	}
	snaps, sources[r2.Snapshot] = append(snaps, r2.Snapshot), src

	// A full scan: moves between folders and back, by rename.
	a2 := inode(r2.Snapshot, "docs/a2.txt")
	must(t, os.Rename(f.path("docs/a2.txt"), f.path("quiet/a.txt")))
	r3 := backup(nil, true)
	if got := inode(r3.Snapshot, "quiet/a.txt"); got != a2 {
		t.Errorf("full scan: quiet/a.txt is inode %d, docs/a2.txt was %d: not renamed", got, a2)
	}
	if _, err := os.Lstat(f.stored(r3.Snapshot, "quiet/q.txt")); !os.IsNotExist(err) {
		t.Errorf("quiet/q.txt, gone since the last run, is still in the full scan's snapshot: %v", err)
	}
	checkSnapshots(t, f, snaps, sources, true)
}
