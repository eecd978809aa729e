package cli_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	mrand "math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/cli"
	"github.com/keepsake/keepsake/service/internal/realfs"
	"github.com/keepsake/keepsake/service/repo"
	_ "github.com/mattn/go-sqlite3"
	"golang.org/x/sys/unix"
)

// ctl runs keepsakectl in this process on a drive.
func ctl(t *testing.T, drive string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &cli.Env{Stdout: &out, Stderr: &errb, Stdin: strings.NewReader("")}
	code = cli.Run(env, append([]string{"--repo", drive, "--host", "testhost"}, args...))
	return out.String(), errb.String(), code
}

// runBin runs the keepsakectl binary bin in a process of its own.
func runBin(t *testing.T, bin string, args ...string) {
	t.Helper()
	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("keepsakectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func mustCtl(t *testing.T, drive string, args ...string) string {
	t.Helper()
	out, errs, code := ctl(t, drive, args...)
	if code != 0 {
		t.Fatalf("keepsakectl %v: exit %d\n%s%s", args, code, out, errs)
	}
	return out
}

// lastJSON decodes the last JSON line of out into v.
func lastJSON(t *testing.T, out string, v any) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), v); err != nil {
		t.Fatalf("bad JSON %q: %v", lines[len(lines)-1], err)
	}
}

type jsonError struct {
	Event, Error, Message string
}

type snapshotJSON struct {
	Name, Host string
	Time       time.Time
}

func snapshots(t *testing.T, drive string) []snapshotJSON {
	t.Helper()
	var s []snapshotJSON
	lastJSON(t, mustCtl(t, drive, "--json", "snapshots"), &s)
	return s
}

func ino(t *testing.T, p string) uint64 {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// A user's first week: a USB drive formatted ext4, two backups, a search
// and getting yesterday's version back.
func TestExt4DriveEndToEnd(t *testing.T) {
	drive := realfs.Loop(t, "ext4", 64)
	src := filepath.Join(t.TempDir(), "home")
	realfs.WriteTree(t, src, map[string]string{
		"notes.txt": "version one", "sub/keep.txt": "unchanged", "empty": "",
	})
	must(t, os.Symlink("sub/keep.txt", filepath.Join(src, "link")))
	must(t, os.Link(filepath.Join(src, "sub/keep.txt"), filepath.Join(src, "sub/hard.txt")))
	mustCtl(t, drive, "init")
	var r1, r2 struct{ Snapshot string }
	lastJSON(t, mustCtl(t, drive, "--json", "backup", src), &r1)
	time.Sleep(10 * time.Millisecond)
	must(t, os.WriteFile(filepath.Join(src, "notes.txt"), []byte("version two"), 0o644))
	lastJSON(t, mustCtl(t, drive, "--json", "backup", src), &r2)

	snaps := snapshots(t, drive)
	if len(snaps) != 2 || snaps[0].Name != r1.Snapshot || snaps[1].Name != r2.Snapshot || snaps[0].Host != "testhost" {
		t.Fatalf("snapshots %+v", snaps)
	}
	stored := func(snap, rel string) string {
		return filepath.Join(drive, "Keepsake", "testhost", snap) + filepath.Join(src, rel)
	}
	if ino(t, stored(r1.Snapshot, "sub/keep.txt")) != ino(t, stored(r2.Snapshot, "sub/keep.txt")) {
		t.Error("unchanged file is not a hardlink across snapshots")
	}
	if ino(t, stored(r2.Snapshot, "sub/keep.txt")) != ino(t, stored(r2.Snapshot, "sub/hard.txt")) {
		t.Error("source hardlinks are separate files in the snapshot")
	}
	var hits []struct {
		Path      string
		Size      int64
		Snapshots []string
	}
	lastJSON(t, mustCtl(t, drive, "--json", "search", "notes"), &hits)
	if len(hits) != 2 || !reflect.DeepEqual(hits[0].Snapshots, []string{r1.Snapshot}) || !reflect.DeepEqual(hits[1].Snapshots, []string{r2.Snapshot}) {
		t.Fatalf("search hits %+v", hits)
	}
	to := t.TempDir()
	mustCtl(t, drive, "restore", r1.Snapshot, filepath.Join(src, "notes.txt"), "--to", to)
	if b, _ := os.ReadFile(filepath.Join(to, "notes.txt")); string(b) != "version one" {
		t.Errorf("restored %q, want the old version", b)
	}
	mustCtl(t, drive, "restore", "latest", src, "--to", to)
	if a, b := realfs.Digest(t, src), realfs.Digest(t, filepath.Join(to, "home")); !reflect.DeepEqual(a, b) {
		t.Errorf("restored tree differs:\n%v\n%v", a, b)
	}
	var ls []struct{ Name, Type string }
	lastJSON(t, mustCtl(t, drive, "--json", "ls", "latest", src), &ls)
	if len(ls) != 4 { // empty, link, notes.txt, sub
		t.Errorf("ls lists %+v", ls)
	}
	if out := mustCtl(t, drive, "log"); !strings.Contains(out, "restored") || !strings.Contains(out, "backup") {
		t.Errorf("audit log lacks backup/restore:\n%s", out)
	}
}

// A FAT or exFAT stick is refused before a single byte is written to it:
// the image holds the same bytes after init as before. exFAT is mounted
// the way exfat-fuse does, as a plain "fuseblk", so the refusal cannot go
// by the mount table's name alone.
func TestFatDriveRefusedBeforeAnyWrite(t *testing.T) {
	for _, tc := range []struct{ kind, what string }{
		{"vfat", "FAT (FUSE)"},
		{"exfat", "exFAT (FUSE)"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			d := realfs.NewFuseDrive(t, tc.kind, 32)
			must(t, os.WriteFile(filepath.Join(d.Mount, "holiday.jpg"), []byte("photo"), 0o644))
			d.Unmount()
			before := d.ImageSum()
			d.Remount()

			out, errs, code := ctl(t, d.Mount, "init")
			if code != 1 || !strings.Contains(errs, "is on a "+tc.what+" filesystem") || !strings.Contains(errs, "Reformat the drive as ext4") {
				t.Errorf("init on %s: exit %d, stderr %q (want exit 1 naming %s and what to do)", tc.kind, code, errs+out, tc.what)
			}
			out, _, code = ctl(t, d.Mount, "--json", "init")
			var e jsonError
			lastJSON(t, out, &e)
			want := d.Mount + " is on a " + tc.what + " filesystem"
			if code != 1 || e.Error != "UnsupportedFilesystem" || !strings.HasPrefix(e.Message, want) || !strings.Contains(e.Message, "cannot hold") {
				t.Errorf("--json init on %s: exit %d %+v, want UnsupportedFilesystem %q...", tc.kind, code, e, want)
			}
			if b, err := os.ReadFile(filepath.Join(d.Mount, "holiday.jpg")); err != nil || string(b) != "photo" {
				t.Errorf("the file on the stick: %q %v", b, err)
			}
			d.Unmount()
			if after := d.ImageSum(); after != before {
				t.Errorf("init wrote to the %s image: sha256 %s before, %s after", tc.kind, before, after)
			}
		})
	}
}

func randomFile(t *testing.T, p string, size int) {
	t.Helper()
	b := make([]byte, size)
	rand.Read(b)
	must(t, os.MkdirAll(filepath.Dir(p), 0o755))
	must(t, os.WriteFile(p, b, 0o644))
}

// The drive fills up in the middle of a backup.
func TestDiskFullMidBackup(t *testing.T) { diskFullMidBackup(t, "ext4", 48) }

// The same on a btrfs drive, where the snapshot being made is a
// subvolume: the failed run's is deleted and its space comes back.
func TestDiskFullMidBackupOnBtrfs(t *testing.T) { diskFullMidBackup(t, "btrfs", 128) }

func diskFullMidBackup(t *testing.T, fstype string, sizeMB int) {
	drive := realfs.Loop(t, fstype, sizeMB)
	src := t.TempDir()
	for i := 0; i < 20; i++ {
		randomFile(t, filepath.Join(src, fmt.Sprintf("small%02d", i)), 50_000)
	}
	mustCtl(t, drive, "init")
	mustCtl(t, drive, "backup", src)
	host := filepath.Join(drive, "Keepsake", "testhost")
	first := snapshots(t, drive)[0].Name
	digest := realfs.Digest(t, filepath.Join(host, first))
	free := realfs.FreeBytes(t, drive)

	// More than the drive has room for.
	for i := 0; i < int(free/(10<<20))+2; i++ {
		randomFile(t, filepath.Join(src, "big", fmt.Sprintf("big%d", i)), 10<<20)
	}
	out, _, code := ctl(t, drive, "--json", "backup", src)
	var e jsonError
	lastJSON(t, out, &e)
	if code != 1 || e.Error != "NoSpace" || !strings.Contains(e.Message, "full") {
		t.Fatalf("full disk: exit %d, %+v", code, e)
	}
	if s := snapshots(t, drive); len(s) != 1 {
		t.Errorf("a snapshot appeared after the failed run: %+v", s)
	}
	ents, _ := os.ReadDir(host)
	for _, en := range ents {
		if en.Name() != first && en.Name() != "latest" {
			t.Errorf("left behind in the host folder: %s", en.Name())
		}
	}
	if now := realfs.FreeBytes(t, drive); now < free-(1<<20) {
		t.Errorf("free space %d after the failed run, %d before: space not returned", now, free)
	}
	if !reflect.DeepEqual(digest, realfs.Digest(t, filepath.Join(host, first))) {
		t.Error("the earlier snapshot changed")
	}
	must(t, os.RemoveAll(filepath.Join(src, "big")))
	mustCtl(t, drive, "backup", src)
	if s := snapshots(t, drive); len(s) != 2 {
		t.Errorf("next run after freeing space: %d snapshots", len(s))
	}

	// Filled to the last block by something else: a backup says NoSpace
	// by its name (the catalog cannot even be opened for writing), the
	// snapshots can still be listed and read, and once there is room
	// again the next backup completes.
	randomFile(t, filepath.Join(src, "small00"), 50_000)
	filler := filepath.Join(drive, "filler")
	fillDrive(t, filler)
	out, _, code = ctl(t, drive, "--json", "backup", src)
	lastJSON(t, out, &e)
	if code != 1 || e.Error != "NoSpace" || !strings.Contains(e.Message, "full") {
		t.Errorf("drive filled by another file: exit %d, %+v, want NoSpace", code, e)
	}
	if s := snapshots(t, drive); len(s) != 2 {
		t.Errorf("listing a full drive: %d snapshots, want 2", len(s))
	}
	if !reflect.DeepEqual(digest, realfs.Digest(t, filepath.Join(host, first))) {
		t.Error("the first snapshot changed")
	}
	must(t, os.Remove(filler))
	unix.Sync()
	mustCtl(t, drive, "backup", src)
	if s := snapshots(t, drive); len(s) != 3 {
		t.Errorf("next run once there is room again: %d snapshots, want 3", len(s))
	}
}

// fillDrive writes the file p until its filesystem has no block left.
func fillDrive(t *testing.T, p string) {
	t.Helper()
	f, err := os.Create(p)
	must(t, err)
	defer f.Close()
	for _, chunk := range []int{1 << 20, 4096, 512} {
		buf := make([]byte, chunk)
		for {
			if _, err := f.Write(buf); err != nil {
				if !errors.Is(err, unix.ENOSPC) {
					t.Fatalf("fill %s: %v", p, err)
				}
				break
			}
		}
		f.Sync()
	}
	unix.Sync()
	var st unix.Statfs_t
	must(t, unix.Statfs(filepath.Dir(p), &st))
	t.Logf("filled the drive: %d blocks free, %d for root", st.Bavail, st.Bfree)
}

// kill -9 in the middle of backups, 20 times. Each kill follows a progress
// event of the run (inside the walk, or once the walk is done and the
// commit is ahead), on a source big enough that a run lasts about a second;
// the test counts the kills that left a .partial folder with files in it.
// After every kill: each snapshot completed before is identical to the
// byte and to the nanosecond, no listed snapshot lacks its folder and none
// went missing, the catalog is sound. At the end a run completes, its
// snapshot equals the source (bytes and metadata) and verify finds nothing.
func TestKill9DuringBackup(t *testing.T) { kill9DuringBackup(t, plainDrive) }

// The same on an encrypted drive: the snapshots and the catalog live in
// the encrypted folder (Keepsake/data), and what a kill leaves there must
// be cleaned up or completed the same way.
func TestKill9DuringEncryptedBackup(t *testing.T) { kill9DuringBackup(t, encryptedDrive) }

// The same on a btrfs drive: each run's .partial is a writable snapshot
// of the previous subvolume, which a kill leaves behind and the next run
// deletes; the snapshots before stay read-only and unchanged.
func TestKill9DuringBackupOnBtrfs(t *testing.T) { kill9DuringBackup(t, btrfsDrive) }

// The kinds of drive the fault tests run on.
type driveKind int

const (
	plainDrive     driveKind = iota // ext4: hardlink snapshots
	encryptedDrive                  // ext4 with fscrypt
	btrfsDrive                      // btrfs: subvolume snapshots
)

func kill9DuringBackup(t *testing.T, kind driveKind) {
	var drive string
	root := "Keepsake" // where the host folders and the catalog are
	encrypted := kind == encryptedDrive
	switch kind {
	case encryptedDrive:
		drive = realfs.NewLoop(t, realfs.LoopOptions{FSType: "ext4", SizeMB: 256, MkfsArgs: []string{"-O", "encrypt"}}).Mount
		t.Cleanup(func() { ctl(t, drive, "lock") })
		root = filepath.Join("Keepsake", "data")
	case btrfsDrive:
		drive = realfs.Loop(t, "btrfs", 256)
	default:
		drive = realfs.Loop(t, "ext4", 256)
	}
	bin := realfs.Build(t, "service/cmd/keepsakectl")
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := mrand.New(mrand.NewSource(seed))
	src := filepath.Join(t.TempDir(), "home")
	// 10 000 small files: even a run with nothing to copy walks, stats and
	// links them for about a second, several progress events long.
	const dirs, perDir = 10, 1000
	for d := 0; d < dirs; d++ {
		for i := 0; i < perDir; i++ {
			randomFile(t, filepath.Join(src, fmt.Sprintf("d%02d", d), fmt.Sprintf("f%04d", i)), 500+rng.Intn(3000))
		}
	}
	// Metadata the final comparison must find again.
	must(t, os.Chmod(filepath.Join(src, "d00", "f0000"), 0o600))
	must(t, os.Chmod(filepath.Join(src, "d00", "f0001"), 0o755))
	must(t, os.Chtimes(filepath.Join(src, "d00", "f0002"), time.Unix(1_500_000_000, 123456789), time.Unix(1_500_000_000, 123456789)))
	must(t, os.Symlink("d00/f0003", filepath.Join(src, "link")))
	must(t, os.Link(filepath.Join(src, "d01", "f0000"), filepath.Join(src, "d01", "hardlink")))
	if encrypted {
		mustCtl(t, drive, "init", "--encrypt", "--passphrase-file", writeSecret(t, "kill nine times, keep every snapshot"))
	} else {
		mustCtl(t, drive, "init")
	}
	mustCtl(t, drive, "backup", src)
	// A second snapshot, mostly hardlinks to the first: the kills must
	// change neither the files nor the inodes they share.
	randomFile(t, filepath.Join(src, "d03", "f0500"), 2000)
	must(t, os.Chmod(filepath.Join(src, "d04", "f0500"), 0o444))
	// How long a run like the killed ones takes (in a process of its own,
	// as they run): the kills are spread over it.
	started := time.Now()
	runBin(t, bin, "--repo", drive, "--host", "testhost", "backup", src)
	runTime := time.Since(started)
	t.Logf("an incremental run takes %v", runTime)
	host := filepath.Join(drive, root, "testhost")

	digests := map[string]map[string]string{} // every snapshot seen complete
	check := func(iter int) {
		t.Helper()
		listed := map[string]bool{}
		for _, s := range snapshots(t, drive) {
			listed[s.Name] = true
			if strings.HasSuffix(s.Name, repo.PartialSuffix) {
				t.Fatalf("iteration %d: a partial snapshot is listed: %s", iter, s.Name)
			}
			dir := filepath.Join(host, s.Name)
			if _, err := os.Lstat(dir); err != nil {
				t.Fatalf("iteration %d: snapshot %s is listed but its folder is not there: %v", iter, s.Name, err)
			}
			d := realfs.DigestMeta(t, dir)
			old, ok := digests[s.Name]
			if !ok {
				digests[s.Name] = d
				continue
			}
			if diff := realfs.DiffDigests(old, d, 10); len(diff) > 0 {
				t.Fatalf("iteration %d: snapshot %s changed:\n%s", iter, s.Name, strings.Join(diff, "\n"))
			}
		}
		for name := range digests {
			if !listed[name] {
				t.Fatalf("iteration %d: snapshot %s is no longer listed", iter, name)
			}
		}
		db, err := sql.Open("sqlite3", filepath.Join(drive, root, "catalog.db"))
		must(t, err)
		defer db.Close()
		var res string
		must(t, db.QueryRow("PRAGMA integrity_check").Scan(&res))
		if res != "ok" {
			t.Fatalf("iteration %d: integrity_check: %s", iter, res)
		}
	}
	check(0)
	if len(digests) != 2 {
		t.Fatalf("%d snapshots before the kills, want 2", len(digests))
	}

	const kills = 20
	landed, inWalk := 0, 0      // inWalk: landed before the run said its walk was done
	byEvent := map[string]int{} // the progress event each landed kill followed
	for i := 1; i <= kills; i++ {
		// Changes for the run to copy: new files, rewritten files, a
		// deletion and a new mode.
		for j := 0; j < 3; j++ {
			randomFile(t, filepath.Join(src, fmt.Sprintf("d%02d", rng.Intn(dirs)), fmt.Sprintf("new%02d-%d", i, j)), rng.Intn(1<<20))
		}
		for j := 0; j < 2; j++ {
			randomFile(t, filepath.Join(src, fmt.Sprintf("d%02d", rng.Intn(dirs)), fmt.Sprintf("f%04d", 10+rng.Intn(perDir-10))), 500+rng.Intn(3000))
		}
		os.Remove(filepath.Join(src, fmt.Sprintf("d%02d", rng.Intn(dirs)), fmt.Sprintf("f%04d", 10+rng.Intn(perDir-10))))
		os.Chmod(filepath.Join(src, fmt.Sprintf("d%02d", rng.Intn(dirs)), fmt.Sprintf("f%04d", 10+rng.Intn(perDir-10))), 0o640)

		// Most runs die in the walk: the kill follows the run's first
		// report ("scanning", as the walk starts) by a random part of what
		// a run takes. Every fifth dies as the walk reports it is done
		// (the commit and the rename still ahead).
		atFinish := i%5 == 0
		extra := time.Duration(rng.Int63n(int64(runTime)*3/4 + 1))
		cmd := exec.Command(bin, "--repo", drive, "--host", "testhost", "--json", "backup", src)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		must(t, err)
		must(t, cmd.Start())
		killedAt := ""
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		walked := false // the run said its walk was done
		for sc.Scan() {
			var ev struct{ Event, Phase string }
			if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.Event != "progress" {
				continue
			}
			walked = walked || ev.Phase == "finishing"
			if killedAt != "" || ev.Phase != "finishing" && (atFinish || ev.Phase != "scanning") {
				continue
			}
			killedAt = ev.Phase
			if ev.Phase == "scanning" {
				time.Sleep(extra)
				killedAt = fmt.Sprintf("scanning + %d ms", extra.Milliseconds()/50*50)
			}
			cmd.Process.Signal(syscall.SIGKILL)
		}
		err = cmd.Wait()
		var exit *exec.ExitError
		switch {
		case err == nil:
			// The run ended before the signal reached it.
			t.Logf("iteration %d: the run completed before the kill (%s)", i, killedAt)
		case errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL:
		default:
			t.Fatalf("iteration %d: the run failed on its own: %v\n%s", i, err, stderr.String())
		}
		if killedAt == "" {
			t.Fatalf("iteration %d: the run reported no progress to kill it at (exit %v)\n%s", i, err, stderr.String())
		}
		// Before anything else opens the drive: what did the kill leave?
		if partialWithFiles(t, host) {
			landed++
			if !walked {
				inWalk++
			}
			byEvent[killedAt]++
		} else if err != nil {
			t.Logf("iteration %d: killed at %s, no .partial left", i, killedAt)
		}
		check(i)
	}
	t.Logf("kills that left a .partial: %d/%d, %d of them inside the walk (by the progress event they followed: %v)", landed, kills, inWalk, byEvent)
	if landed < kills-3 {
		t.Errorf("only %d of %d kills left a .partial folder: the test did not interrupt backups", landed, kills)
	}
	if inWalk < kills/2 {
		t.Errorf("only %d of %d kills landed inside the walk", inWalk, kills)
	}

	var r struct{ Snapshot string }
	lastJSON(t, mustCtl(t, drive, "--json", "backup", src), &r)
	check(kills + 1)
	if s := snapshots(t, drive); s[len(s)-1].Name != r.Snapshot {
		t.Fatalf("the last run's snapshot %s is not the latest: %+v", r.Snapshot, s)
	}
	ents, _ := os.ReadDir(host)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), repo.PartialSuffix) {
			t.Errorf("a partial folder survived a completed run: %s", e.Name())
		}
	}
	want, got := realfs.DigestMeta(t, src), realfs.DigestMeta(t, filepath.Join(host, r.Snapshot)+src)
	if diff := realfs.DiffDigests(want, got, 20); len(diff) > 0 {
		t.Errorf("the final snapshot differs from the source (source | snapshot):\n%s", strings.Join(diff, "\n"))
	}
	if kind == btrfsDrive {
		// Every snapshot a read-only subvolume, and no other subvolume
		// left on the drive: each killed run's was deleted.
		snaps := snapshots(t, drive)
		for _, sn := range snaps {
			out, err := exec.Command("btrfs", "property", "get", "-ts", filepath.Join(host, sn.Name), "ro").CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != "ro=true" {
				t.Errorf("snapshot %s: %q %v, want a read-only subvolume", sn.Name, out, err)
			}
		}
		out, err := exec.Command("btrfs", "subvolume", "list", drive).Output()
		must(t, err)
		if n := strings.Count(string(out), "\n"); n != len(snaps) {
			t.Errorf("%d subvolumes on the drive, %d snapshots:\n%s", n, len(snaps), out)
		}
	}
	if out, err := exec.Command(bin, "--repo", drive, "verify").CombinedOutput(); err != nil {
		t.Errorf("keepsakectl verify after the kills: %v\n%s", err, out)
	}
}

// partialWithFiles says whether host holds a .partial folder with at least
// one file in it.
func partialWithFiles(t *testing.T, host string) bool {
	t.Helper()
	ents, err := os.ReadDir(host)
	must(t, err)
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), repo.PartialSuffix) {
			continue
		}
		found := false
		filepath.WalkDir(filepath.Join(host, e.Name()), func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				found = true
				return filepath.SkipAll
			}
			return nil
		})
		if found {
			return true
		}
	}
	return false
}

// Two backups at once: the second is told the drive is busy.
func TestSecondProcessGetsBusy(t *testing.T) {
	drive := realfs.Loop(t, "ext4", 256)
	bin := realfs.Build(t, "service/cmd/keepsakectl")
	src := t.TempDir()
	for i := 0; i < 40; i++ {
		randomFile(t, filepath.Join(src, fmt.Sprintf("f%02d", i)), 2<<20)
	}
	mustCtl(t, drive, "init")
	for attempt := 0; attempt < 20; attempt++ {
		cmd := exec.Command(bin, "--repo", drive, "--host", "testhost", "backup", "--rehash", src)
		must(t, cmd.Start())
		time.Sleep(30 * time.Millisecond)
		out, _, code := ctl(t, drive, "--json", "backup", src)
		cmd.Wait()
		var e jsonError
		lastJSON(t, out, &e)
		if code == 1 && e.Error == "Busy" {
			if !strings.Contains(e.Message, "busy") {
				t.Errorf("message %q", e.Message)
			}
			return
		}
	}
	t.Fatal("never saw a Busy error while another backup ran")
}

// Restores through hostile destinations write nothing outside them.
func TestRestoreHostileDestinations(t *testing.T) {
	drive := realfs.Loop(t, "ext4", 64)
	src := filepath.Join(t.TempDir(), "docs")
	realfs.WriteTree(t, src, map[string]string{"a.txt": "A", "inner/b.txt": "B"})
	mustCtl(t, drive, "init")
	mustCtl(t, drive, "backup", src)
	outside := t.TempDir() // stands for /etc

	dest := t.TempDir()
	must(t, os.Symlink(outside, filepath.Join(dest, "docs")))
	// Without --overwrite the existing symlink is left alone: the folder
	// is restored beside it.
	mustCtl(t, drive, "restore", "latest", src, "--to", dest)
	// With --overwrite the symlink itself is replaced, never followed.
	mustCtl(t, drive, "restore", "latest", src, "--to", dest, "--overwrite")
	if fi, err := os.Lstat(filepath.Join(dest, "docs")); err != nil || !fi.IsDir() {
		t.Errorf("docs is %v (%v), want a real folder", fi, err)
	}
	// In place, through a folder replaced by a symlink.
	must(t, os.RemoveAll(src))
	must(t, os.Symlink(outside, src))
	out, _, code := ctl(t, drive, "--json", "restore", "latest", filepath.Join(src, "inner"))
	var e jsonError
	lastJSON(t, out, &e)
	if code != 1 || e.Error != "UnsafePath" {
		t.Errorf("in-place restore through a symlink: exit %d %+v", code, e)
	}
	// ".." in a path is resolved as the shell would (it names another
	// path, here one no snapshot holds), never followed on the drive.
	out, _, code = ctl(t, drive, "--json", "restore", "latest", src+"/../../etc/passwd")
	lastJSON(t, out, &e)
	if code != 1 || e.Error != "PathNotFound" {
		t.Errorf("restore with ..: exit %d %+v", code, e)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("written outside the destination: %v", ents)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
