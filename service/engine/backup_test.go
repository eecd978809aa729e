package engine

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/fsmeta"
	"github.com/keepsake/keepsake/service/internal/realfs"
	"github.com/keepsake/keepsake/service/repo"
	"github.com/keepsake/keepsake/shared/kerr"
	"golang.org/x/sys/unix"
)

func TestUnchangedFilesAreHardlinks(t *testing.T) {
	f := newFixture(t)
	f.write("a.txt", "alpha")
	f.write("dir/b.txt", "beta")
	r1 := f.backup(nil)
	f.write("dir/b.txt", "beta changed")
	r2 := f.backup(nil)

	if got, want := inode(t, f.stored(r2.Snapshot, "a.txt")), inode(t, f.stored(r1.Snapshot, "a.txt")); got != want {
		t.Errorf("unchanged a.txt: inode %d in second snapshot, want %d (a hardlink)", got, want)
	}
	if inode(t, f.stored(r2.Snapshot, "dir/b.txt")) == inode(t, f.stored(r1.Snapshot, "dir/b.txt")) {
		t.Error("modified b.txt shares the old inode")
	}
	if b, _ := os.ReadFile(f.stored(r1.Snapshot, "dir/b.txt")); string(b) != "beta" {
		t.Errorf("old snapshot's b.txt = %q, want the old content", b)
	}
	if r2.Modified != 1 || r2.Unchanged != 1 || r2.Copied != 1 {
		t.Errorf("second run: modified=%d unchanged=%d copied=%d, want 1 1 1", r2.Modified, r2.Unchanged, r2.Copied)
	}
	latest, err := os.Readlink(filepath.Join(f.repo.HostDir("testhost"), "latest"))
	if err != nil || latest != r2.Snapshot {
		t.Errorf("latest -> %q (%v), want %q", latest, err, r2.Snapshot)
	}
}

func TestMovedAndDuplicatedContentIsLinked(t *testing.T) {
	f := newFixture(t)
	big := strings.Repeat("moved content ", 10000)
	f.write("photos/2020/img.jpg", big)
	r1 := f.backup(nil)
	old := inode(t, f.stored(r1.Snapshot, "photos/2020/img.jpg"))

	if err := os.Rename(f.path("photos"), f.path("Pictures")); err != nil {
		t.Fatal(err)
	}
	// A copy that keeps mode, owner and mtime is a duplicate worth linking.
	if out, err := exec.Command("cp", "-a", f.path("Pictures/2020/img.jpg"), f.path("copy.jpg")).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	r2 := f.backup(func(o *BackupOptions) { o.Plan = true })
	if got := inode(t, f.stored(r2.Snapshot, "Pictures/2020/img.jpg")); got != old {
		t.Errorf("moved file: inode %d, want the stored %d", got, old)
	}
	if got := inode(t, f.stored(r2.Snapshot, "copy.jpg")); got != old {
		t.Errorf("duplicate: inode %d, want the stored %d", got, old)
	}
	if r2.Copied != 0 || r2.CopiedBytes != 0 {
		t.Errorf("copied %d files (%d bytes) for a move and a copy, want 0", r2.Copied, r2.CopiedBytes)
	}
	if r2.Moved != 1 || r2.Duplicate != 1 {
		t.Errorf("moved=%d duplicate=%d, want 1 and 1; plan %+v", r2.Moved, r2.Duplicate, r2.Plan)
	}
}

func TestSourceHardlinksStayHardlinks(t *testing.T) {
	f := newFixture(t)
	f.write("one", "shared")
	if err := os.Link(f.path("one"), f.path("two")); err != nil {
		t.Fatal(err)
	}
	r := f.backup(nil)
	if inode(t, f.stored(r.Snapshot, "one")) != inode(t, f.stored(r.Snapshot, "two")) {
		t.Error("source hardlinks became two files")
	}
	f.write("unrelated", "x")
	r2 := f.backup(nil)
	if inode(t, f.stored(r2.Snapshot, "one")) != inode(t, f.stored(r2.Snapshot, "two")) {
		t.Error("source hardlinks split in the second snapshot")
	}
}

func TestLinkLimitStartsFreshCopy(t *testing.T) {
	f := newFixture(t)
	f.write("f", "same")
	var snaps []string
	for i := 0; i < 5; i++ {
		r := f.backup(func(o *BackupOptions) { o.LinkMax = 3 })
		snaps = append(snaps, r.Snapshot)
	}
	inodes := map[uint64]int{}
	for _, s := range snaps {
		p := f.stored(s, "f")
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			t.Fatal(err)
		}
		if st.Nlink > 3 {
			t.Errorf("%s has %d links, limit 3", p, st.Nlink)
		}
		if b, _ := os.ReadFile(p); string(b) != "same" {
			t.Errorf("%s = %q", p, b)
		}
		inodes[st.Ino]++
	}
	if len(inodes) < 2 {
		t.Errorf("five snapshots share %d inode(s) with link limit 3", len(inodes))
	}
}

func TestMetadataRoundTrip(t *testing.T) {
	requireRoot(t, "sets owners, device nodes and trusted xattrs")
	f := newFixture(t)
	f.write("plain.txt", "hello")
	f.write("dir/inner.txt", "inner")
	p := f.path("plain.txt")
	must(t, os.Chown(p, 1234, 5678))
	must(t, os.Chmod(p, 0o4751))
	must(t, unix.Setxattr(p, "user.color", []byte("blue"), 0))
	must(t, unix.Setxattr(p, "trusted.keepsake", []byte{0, 1, 2}, 0))
	if out, err := exec.Command("setfacl", "-m", "u:4321:rw-", p).CombinedOutput(); err != nil {
		t.Fatalf("setfacl: %v %s", err, out)
	}
	must(t, os.Symlink("../plain.txt", f.path("dir/link")))
	must(t, unix.Mkfifo(f.path("fifo"), 0o640))
	must(t, unix.Mknod(f.path("null"), unix.S_IFCHR|0o600, int(unix.Mkdev(1, 3))))
	sock, err := net.Listen("unix", f.path("sock"))
	must(t, err)
	defer sock.Close()
	must(t, os.Chmod(f.path("dir"), 0o2750))
	must(t, os.Chown(f.path("dir"), 99, 98))
	ts := time.Date(2001, 2, 3, 4, 5, 6, 123456789, time.UTC)
	for _, q := range []string{"dir/inner.txt", "plain.txt", "dir"} {
		must(t, unix.UtimesNano(f.path(q), []unix.Timespec{unix.NsecToTimespec(ts.UnixNano()), unix.NsecToTimespec(ts.UnixNano())}))
	}
	must(t, unix.Lchown(f.path("dir/link"), 77, 66))
	must(t, unix.Lutimes(f.path("dir/link"), []unix.Timeval{{Sec: 1000, Usec: 5}, {Sec: 1000, Usec: 5}}))
	r := f.backup(nil)

	stored := f.stored(r.Snapshot, "")
	for _, name := range []string{"fifo", "null", "sock"} {
		if _, err := os.Lstat(filepath.Join(stored, name)); !os.IsNotExist(err) {
			t.Errorf("%s was copied into the snapshot (err %v); device nodes, fifos and sockets are recorded only", name, err)
		}
	}
	sv, err := f.catalog().Lookup(mustSnap(t, f), f.path("sock"))
	if err != nil || sv.Meta.Type != fsmeta.Socket {
		t.Errorf("socket not recorded in the catalog: %+v %v", sv, err)
	}
	to := t.TempDir()
	res, err := Restore(context.Background(), f.repo, RestoreOptions{Host: "testhost", Snapshot: "latest", Paths: []string{f.src}, To: to})
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	if len(res.Items) != 1 || res.Items[0].To != filepath.Join(to, "src") {
		t.Fatalf("restore items %+v", res.Items)
	}
	for _, rel := range []string{"", "plain.txt", "dir", "dir/inner.txt", "dir/link", "fifo", "null"} {
		want, err := fsmeta.Lstat(f.path(rel))
		must(t, err)
		got, err := fsmeta.Lstat(filepath.Join(to, "src", rel))
		if err != nil {
			t.Errorf("%s not restored: %v", rel, err)
			continue
		}
		if d := metaDiff(want, got); d != "" {
			t.Errorf("%s: %s", rel, d)
		}
	}
	if a, b := fileSum(t, f.path("plain.txt")), fileSum(t, filepath.Join(to, "src", "plain.txt")); a != b {
		t.Error("restored bytes differ")
	}
}

func metaDiff(a, b fsmeta.Meta) string {
	var d []string
	if a.Type != b.Type || a.Mode != b.Mode {
		d = append(d, "type/mode "+a.Type.String()+" "+oct(a.Mode)+" vs "+b.Type.String()+" "+oct(b.Mode))
	}
	if a.UID != b.UID || a.GID != b.GID || a.User != b.User || a.Group != b.Group {
		d = append(d, "owner differs")
	}
	if a.Type != fsmeta.Dir && a.MtimeNs != b.MtimeNs || a.Type == fsmeta.Dir && a.MtimeNs != b.MtimeNs {
		d = append(d, "mtime "+time.Unix(0, a.MtimeNs).String()+" vs "+time.Unix(0, b.MtimeNs).String())
	}
	if a.Size != b.Size || a.LinkTarget != b.LinkTarget || a.Rdev != b.Rdev {
		d = append(d, "size/target/rdev differ")
	}
	if !bytes.Equal(fsmeta.EncodeXattrs(a.Xattrs), fsmeta.EncodeXattrs(b.Xattrs)) {
		d = append(d, "xattrs differ")
	}
	return strings.Join(d, "; ")
}

func oct(m uint32) string {
	return strings.TrimLeft(os.FileMode(m).String(), "-") + "/" + string(rune('0'+m>>9&7))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestDryRunPlanIsDeterministic(t *testing.T) {
	f := newFixture(t)
	f.write("keep", "k")
	f.write("mod", "m1")
	f.write("gone", "g")
	f.write("move-me", strings.Repeat("M", 5000))
	f.backup(nil)
	f.write("mod", "m2 longer")
	f.write("new", "n")
	must(t, os.Remove(f.path("gone")))
	must(t, os.Rename(f.path("move-me"), f.path("moved")))
	var plans [][]PlanEntry
	for i := 0; i < 2; i++ {
		r := f.backup(func(o *BackupOptions) { o.DryRun = true })
		plans = append(plans, r.Plan)
		if r.New != 1 || r.Modified != 1 || r.Moved != 1 || r.Deleted != 1 || r.Unchanged != 1 {
			t.Errorf("dry run counts new=%d mod=%d moved=%d deleted=%d unchanged=%d, want 1 each", r.New, r.Modified, r.Moved, r.Deleted, r.Unchanged)
		}
	}
	want := []PlanEntry{
		{New, f.path("new"), ""}, {Modified, f.path("mod"), ""}, {Moved, f.path("moved"), f.path("move-me")},
		{Deleted, f.path("gone"), ""},
	}
	for i, p := range plans {
		if !equalPlan(p, want) {
			t.Errorf("plan %d = %+v\nwant %+v", i, p, want)
		}
	}
	if snaps, _ := f.catalog().Snapshots(""); len(snaps) != 1 {
		t.Errorf("dry runs left %d snapshots, want 1", len(snaps))
	}
	if parts, _ := f.repo.Partials("testhost"); len(parts) != 0 {
		t.Errorf("dry run left %v", parts)
	}
}

func equalPlan(a, b []PlanEntry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestChangedDirsReadsOnlyThoseDirs(t *testing.T) {
	f := newFixture(t)
	for i := 0; i < 5; i++ {
		f.write(filepath.Join("d"+string(rune('a'+i)), "sub", "f.txt"), "x")
	}
	f.backup(nil)
	f.write("dc/sub/f.txt", "changed")
	f.write("dc/sub/new.txt", "new")
	r := f.backup(func(o *BackupOptions) { o.ChangedDirs = []string{f.path("dc/sub")} })
	if r.ReadDirs != 1 {
		t.Errorf("read %d directories from the source, want 1 (only dc/sub)", r.ReadDirs)
	}
	if r.Modified != 1 || r.New != 1 || r.Unchanged != 4 {
		t.Errorf("modified=%d new=%d unchanged=%d", r.Modified, r.New, r.Unchanged)
	}
	full := f.backup(nil)
	if full.Modified+full.New+full.Deleted != 0 {
		t.Errorf("a full scan after the dirty-dir run found changes it missed: %+v", full)
	}
	for _, s := range []string{r.Snapshot, full.Snapshot} {
		if b, _ := os.ReadFile(f.stored(s, "dc/sub/new.txt")); string(b) != "new" {
			t.Errorf("%s: new.txt = %q", s, b)
		}
		if b, _ := os.ReadFile(f.stored(s, "da/sub/f.txt")); string(b) != "x" {
			t.Errorf("%s: reused da/sub/f.txt = %q", s, b)
		}
	}
}

func TestExclusions(t *testing.T) {
	f := newFixture(t)
	f.write("keep.txt", "k")
	f.write("skip.tmp", "s")
	f.write("node_modules/x.js", "x")
	f.write("cache/CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc55\n")
	f.write("cache/blob", "b")
	// The repository inside a source: never back up into itself.
	must(t, os.Mkdir(f.path("drive"), 0o755))
	inner, err := repo.Init(f.path("drive"))
	if err != nil {
		t.Fatal(err)
	}
	f.repo = inner
	r := f.backup(func(o *BackupOptions) { o.Excludes = []string{"*.tmp", "node_modules/"} })
	var names []string
	vs, err := f.catalog().Subtree(mustSnap(t, f), f.src)
	must(t, err)
	for _, v := range vs {
		names = append(names, strings.TrimPrefix(v.Path(), f.src+"/"))
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "drive,keep.txt" {
		t.Errorf("backed up %v, want only keep.txt and the (empty) drive folder", names)
	}
	if _, err := os.Stat(f.stored(r.Snapshot, "drive/Keepsake")); !os.IsNotExist(err) {
		t.Error("the repository was copied into itself")
	}
}

func mustSnap(t *testing.T, f *fixture) catalog.Snapshot {
	s, err := f.catalog().Snapshot("testhost", "latest")
	must(t, err)
	return s
}

func TestRehashReadsEverythingAndOnlyChangedOtherwise(t *testing.T) {
	f := newFixture(t)
	for _, n := range []string{"a", "b", "c"} {
		f.write(n, n)
	}
	f.backup(nil)
	f.write("b", "B")
	r := f.backup(nil)
	if r.Hashed != 1 {
		t.Errorf("hashed %d files after one change, want 1: change detection reads only candidates", r.Hashed)
	}
	r = f.backup(func(o *BackupOptions) { o.Rehash = true })
	if r.Hashed != 3 || r.Unchanged != 3 || r.Copied != 0 {
		t.Errorf("--rehash: hashed=%d unchanged=%d copied=%d, want 3 3 0", r.Hashed, r.Unchanged, r.Copied)
	}
}

func TestMissingSourceMakesNoSnapshot(t *testing.T) {
	f := newFixture(t)
	f.write("a", "a")
	f.backup(nil)
	_, err := f.tryBackup(func(o *BackupOptions) { o.Sources = append(o.Sources, f.path("../not-mounted")) })
	if !kerr.Is(err, kerr.PathNotFound) || !strings.Contains(err.Error(), "not-mounted") {
		t.Fatalf("got %v, want PathNotFound naming the source", err)
	}
	if snaps, _ := f.catalog().Snapshots(""); len(snaps) != 1 {
		t.Errorf("%d snapshots after a refused run, want 1", len(snaps))
	}
}

func TestSecondWriterGetsBusy(t *testing.T) {
	f := newFixture(t)
	f.write("a", "a")
	other, err := repo.Open(f.repo.Root)
	must(t, err)
	must(t, other.Lock())
	defer other.Unlock()
	_, err = f.tryBackup(nil)
	if !kerr.Is(err, kerr.Busy) || !strings.Contains(err.Error(), "busy") {
		t.Fatalf("second writer got %v, want a Busy error saying busy", err)
	}
}

func TestFileChangingDuringCopyIsNotRecorded(t *testing.T) {
	f := newFixture(t)
	f.write("stable", "s")
	big := make([]byte, 64<<20)
	must(t, os.WriteFile(f.path("growing.log"), big, 0o644))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		fh, err := os.OpenFile(f.path("growing.log"), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return
		}
		defer fh.Close()
		for {
			select {
			case <-stop:
				return
			default:
				fh.Write([]byte("x"))
				time.Sleep(50 * time.Microsecond)
			}
		}
	}()
	r := f.backup(nil)
	close(stop)
	wg.Wait()
	if r.Skipped != 1 || len(r.Warnings) == 0 || !strings.Contains(r.Warnings[0].Message, "changed while being copied") {
		t.Fatalf("skipped=%d warnings=%+v, want the growing file skipped with a warning", r.Skipped, r.Warnings)
	}
	if _, err := f.catalog().Lookup(mustSnap(t, f), f.path("growing.log")); !kerr.Is(err, kerr.PathNotFound) {
		t.Errorf("the changing file is in the catalog (err %v): it must never be recorded as a good copy", err)
	}
	if _, err := os.Lstat(f.stored(r.Snapshot, "growing.log")); !os.IsNotExist(err) {
		t.Errorf("a copy of the changing file was left in the snapshot")
	}
}

// A file the previous snapshot holds keeps being rewritten during the next
// backup (a database, a VM disk in use): every copy attempt sees it change,
// so the new snapshot keeps the previous version, the warning says which
// file and why, and the catalog records the previous version for it.
// Nothing else of the snapshot is affected.
func TestFileChangingDuringCopyKeepsPreviousVersion(t *testing.T) {
	f := newFixture(t)
	f.write("stable.txt", "stable")
	f.write("dir/edited.txt", "before")
	v1 := make([]byte, 32<<20)
	for i := range v1 {
		v1[i] = byte(i * 7)
	}
	busy := f.path("dir/busy.db")
	must(t, os.WriteFile(busy, v1, 0o640))
	old := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	must(t, os.Chtimes(busy, old, old))
	r1 := f.backup(nil)
	prevStored := f.stored(r1.Snapshot, "dir/busy.db")
	prevDigest := realfs.DigestMeta(t, f.repo.SnapshotDir("testhost", r1.Snapshot))

	f.write("dir/edited.txt", "after") // an ordinary change beside it
	// The writer rewrites bytes in place (the size stays) until told to
	// stop; the backup starts once it has changed the file.
	stop := make(chan struct{})
	var writes atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		fh, err := os.OpenFile(busy, os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
			return
		}
		defer fh.Close()
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := fh.WriteAt([]byte{byte(n), byte(n >> 8)}, int64(n*4099)%int64(len(v1)-2)); err != nil {
				t.Error(err)
				return
			}
			writes.Add(1)
			time.Sleep(50 * time.Microsecond)
		}
	}()
	for writes.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	atStart := writes.Load()
	r2, err := f.tryBackup(nil)
	during := writes.Load() - atStart
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	t.Logf("the writer changed the file %d times during the backup", during)
	if during == 0 {
		t.Fatal("the file was not written during the backup: the test proves nothing")
	}
	if cur, _ := os.ReadFile(busy); bytes.Equal(cur, v1) {
		t.Fatal("the source still holds the first version: the writer changed nothing")
	}

	// The engine saw the changes and said so, for that file only.
	if r2.Skipped != 1 || len(r2.Warnings) != 1 {
		t.Fatalf("skipped=%d warnings=%+v, want one warning for the busy file", r2.Skipped, r2.Warnings)
	}
	w := r2.Warnings[0]
	if w.Path != busy || !strings.Contains(w.Message, "changed while being copied (3 attempts)") ||
		!strings.Contains(w.Message, "the previous version is kept in this snapshot") {
		t.Errorf("warning %+v, want %s named as changing while copied, previous version kept", w, busy)
	}
	if r2.Files != r1.Files || r2.Copied != 1 {
		t.Errorf("files=%d (before %d) copied=%d: want every file in the snapshot and only edited.txt copied", r2.Files, r1.Files, r2.Copied)
	}

	// The snapshot holds the previous version: the same stored file,
	// bytes and metadata.
	stored := f.stored(r2.Snapshot, "dir/busy.db")
	got, err := os.ReadFile(stored)
	must(t, err)
	if !bytes.Equal(got, v1) {
		t.Error("the snapshot's copy is not the previous version's bytes")
	}
	if inode(t, stored) != inode(t, prevStored) {
		t.Error("the previous version is not the previous snapshot's stored file (hardlink)")
	}
	if fi, err := os.Lstat(stored); err != nil || !fi.ModTime().Equal(old) || fi.Mode().Perm() != 0o640 || fi.Size() != int64(len(v1)) {
		t.Errorf("stored %v (%v): want the previous version's mtime %v, mode 0640, %d bytes", fi, err, old, len(v1))
	}
	cat := f.catalog()
	prevSnap, err := cat.Snapshot("testhost", r1.Snapshot)
	must(t, err)
	prevV, err := cat.Lookup(prevSnap, busy)
	must(t, err)
	v, err := cat.Lookup(mustSnap(t, f), busy)
	if err != nil {
		t.Fatalf("the catalog has no version of the busy file in the new snapshot: %v", err)
	}
	if v.ID != prevV.ID || fmt.Sprintf("%x", v.SHA256) != fileSum(t, prevStored) || v.Meta.MtimeNs != old.UnixNano() {
		t.Errorf("catalog version %d (sha %x, mtime %d), want the previous one %d with its content and mtime", v.ID, v.SHA256, v.Meta.MtimeNs, prevV.ID)
	}

	// Nothing else is affected: the other files are the source's, the
	// previous snapshot is as it was.
	for _, rel := range []string{"stable.txt", "dir/edited.txt"} {
		if a, b := fileSum(t, f.path(rel)), fileSum(t, f.stored(r2.Snapshot, rel)); a != b {
			t.Errorf("%s: stored %s, source %s", rel, b, a)
		}
	}
	if inode(t, f.stored(r2.Snapshot, "stable.txt")) != inode(t, f.stored(r1.Snapshot, "stable.txt")) {
		t.Error("the unchanged file is not linked to the previous snapshot")
	}
	if diff := realfs.DiffDigests(prevDigest, realfs.DigestMeta(t, f.repo.SnapshotDir("testhost", r1.Snapshot)), 10); len(diff) > 0 {
		t.Errorf("the previous snapshot changed:\n%s", strings.Join(diff, "\n"))
	}
}

func TestCatalogGrowsWithChangesNotSnapshots(t *testing.T) {
	f := newFixture(t)
	const files = 40
	for i := 0; i < files; i++ {
		f.write(filepath.Join("d", "f"+string(rune('A'+i))), "v0")
	}
	f.backup(nil)
	c := f.catalog()
	before, err := c.Count()
	must(t, err)
	for i := 1; i < 50; i++ {
		f.write("d/fA", strings.Repeat("v", i+1)) // one file changes per snapshot
		f.backup(nil)
	}
	after, err := c.Count()
	must(t, err)
	if after.Snapshots != 50 {
		t.Fatalf("%d snapshots, want 50", after.Snapshots)
	}
	// Each run adds one file version and one version of its folder (its
	// mtime moved); 50 × 41 entries would be 2000+ rows.
	if grew := after.Versions - before.Versions; grew > 2*49 {
		t.Errorf("versions grew by %d rows over 49 snapshots with one change each, want <= %d", grew, 2*49)
	}
	s, err := c.Snapshot("testhost", "latest")
	must(t, err)
	list, err := c.List(s, f.path("d"))
	must(t, err)
	if len(list) != files {
		t.Errorf("latest snapshot lists %d files, want %d", len(list), files)
	}
	first, err := c.Snapshots("testhost")
	must(t, err)
	old, err := c.List(first[0], f.path("d"))
	must(t, err)
	if len(old) != files {
		t.Errorf("first snapshot lists %d files, want %d", len(old), files)
	}
}

func TestRecoverResumesOrCleans(t *testing.T) {
	f := newFixture(t)
	f.write("a", "a")
	r1 := f.backup(nil)
	// A crash after the catalog commit, before the rename: resumed.
	final := f.repo.SnapshotDir("testhost", r1.Snapshot)
	must(t, os.Rename(final, final+repo.PartialSuffix))
	c := f.catalog()
	_, err := c.DB().Exec(`UPDATE snapshots SET complete = 0`)
	must(t, err)
	// A crash mid-copy: an unknown .partial is removed.
	orphan := f.repo.SnapshotDir("testhost", "2026-11-22T230000Z") + repo.PartialSuffix
	must(t, os.MkdirAll(filepath.Join(orphan, "x"), 0o755))
	r2 := f.backup(nil)
	if _, err := os.Stat(final); err != nil {
		t.Errorf("committed snapshot was not resumed: %v", err)
	}
	if _, err := os.Stat(orphan); !os.IsNotExist(err) {
		t.Errorf("orphan partial not cleaned: %v", err)
	}
	snaps, err := c.Snapshots("testhost")
	must(t, err)
	if len(snaps) != 2 || snaps[0].Name != r1.Snapshot || snaps[1].Name != r2.Snapshot {
		t.Errorf("snapshots %+v", snaps)
	}
}

func TestCancelLeavesNothingHalfDone(t *testing.T) {
	f := newFixture(t)
	f.write("first", "1")
	f.backup(nil)
	// 100 folders of 7 files: the walk is still going when the cancel
	// arrives, right after the first progress report.
	for i := 0; i < 700; i++ {
		f.write(filepath.Join("many", fmt.Sprintf("d%02d", i%100), fmt.Sprintf("f%d.txt", i%7)), fmt.Sprintf("file %d", i))
	}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	var once sync.Once
	go func() { <-started; cancel() }()
	_, err := Backup(ctx, f.repo, BackupOptions{Host: "testhost", Sources: []string{f.src}, Actor: catalog.CurrentActor(),
		NoDefaultExcludes: true, ProgressInterval: time.Millisecond,
		Progress: func(Progress) { once.Do(func() { close(started) }) }})
	if !kerr.Is(err, kerr.Cancelled) {
		t.Fatalf("cancelled backup returned %v, want Cancelled", err)
	}
	if snaps, _ := f.catalog().Snapshots(""); len(snaps) != 1 {
		t.Errorf("%d snapshots after a cancelled run, want 1", len(snaps))
	}
	if parts, _ := f.repo.Partials("testhost"); len(parts) != 0 {
		t.Errorf("left behind: %v", parts)
	}
	r := f.backup(nil)
	if r.Files != 701 || r.New != 700 {
		t.Errorf("the run after a cancel: files=%d new=%d, want 701 and 700", r.Files, r.New)
	}
}

// A cancel that lands before the walk starts (while the catalog reader
// opens) is still reported as Cancelled, and nothing is left behind.
func TestCancelBeforeStart(t *testing.T) {
	f := newFixture(t)
	f.write("first", "1")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Backup(ctx, f.repo, BackupOptions{Host: "testhost", Sources: []string{f.src}, Actor: catalog.CurrentActor(), NoDefaultExcludes: true})
	if !kerr.Is(err, kerr.Cancelled) {
		t.Fatalf("backup cancelled before it started returned %v, want Cancelled", err)
	}
	if parts, _ := f.repo.Partials("testhost"); len(parts) != 0 {
		t.Errorf("left behind: %v", parts)
	}
}
