package btrfs

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/internal/realfs"
	"golang.org/x/sys/unix"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func openDirT(t *testing.T, p string) int {
	t.Helper()
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	must(t, err)
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

func freeBytes(t *testing.T, p string) int64 {
	t.Helper()
	must(t, run("sync"))
	var st unix.Statfs_t
	must(t, unix.Statfs(p, &st))
	return int64(st.Bavail) * st.Bsize
}

// TestSubvolumesOnARealDrive makes, snapshots, protects, clones into and
// deletes subvolumes on a btrfs loop drive.
func TestSubvolumesOnARealDrive(t *testing.T) {
	mnt := realfs.Loop(t, "btrfs", 256)
	top := openDirT(t, mnt)
	if ok, err := Is(top); err != nil || !ok {
		t.Fatalf("Is(btrfs mount) = %v, %v", ok, err)
	}

	must(t, Create(top, "base"))
	base := filepath.Join(mnt, "base")
	data := bytes.Repeat([]byte("keepsake "), 1<<20/9*8) // 8 MiB
	must(t, os.WriteFile(filepath.Join(base, "big"), data, 0o644))
	must(t, os.MkdirAll(filepath.Join(base, "docs"), 0o755))
	must(t, os.WriteFile(filepath.Join(base, "docs", "note"), []byte("first\n"), 0o600))
	must(t, os.Symlink("/etc", filepath.Join(base, "link")))
	for name, want := range map[string]bool{"base": true} {
		if ok, err := IsSubvolume(top, name); err != nil || ok != want {
			t.Errorf("IsSubvolume(%s) = %v, %v", name, ok, err)
		}
	}
	if ok, _ := IsSubvolume(openDirT(t, base), "docs"); ok {
		t.Error("a plain folder is taken for a subvolume")
	}

	// A read-only snapshot: the same files, frozen.
	free := freeBytes(t, mnt)
	baseFd := openDirT(t, base)
	must(t, Snapshot(baseFd, top, "snap1", true))
	snap1 := filepath.Join(mnt, "snap1")
	if got, _ := os.ReadFile(filepath.Join(snap1, "big")); !bytes.Equal(got, data) {
		t.Fatal("the snapshot's file differs")
	}
	if tgt, _ := os.Readlink(filepath.Join(snap1, "link")); tgt != "/etc" {
		t.Errorf("the snapshot's symlink points to %q", tgt)
	}
	if grew := free - freeBytes(t, mnt); grew > 1<<20 {
		t.Errorf("snapshotting 8 MiB took %d bytes of the drive", grew)
	}
	snap1Fd := openDirT(t, snap1)
	if ro, err := ReadOnly(snap1Fd); err != nil || !ro {
		t.Errorf("ReadOnly(snap1) = %v, %v", ro, err)
	}
	if err := os.WriteFile(filepath.Join(snap1, "docs", "note"), []byte("changed"), 0o600); !errors.Is(err, unix.EROFS) {
		t.Errorf("writing into a read-only snapshot: %v, want EROFS", err)
	}
	must(t, os.WriteFile(filepath.Join(base, "docs", "note"), []byte("second\n"), 0o600))
	if got, _ := os.ReadFile(filepath.Join(snap1, "docs", "note")); string(got) != "first\n" {
		t.Errorf("the snapshot followed its source: %q", got)
	}

	// A writable snapshot of the frozen one, frozen and thawed again.
	must(t, Snapshot(snap1Fd, top, "snap2", false))
	snap2 := filepath.Join(mnt, "snap2")
	snap2Fd := openDirT(t, snap2)
	must(t, os.WriteFile(filepath.Join(snap2, "new"), []byte("x"), 0o644))
	must(t, SetReadOnly(snap2Fd, true))
	if err := os.WriteFile(filepath.Join(snap2, "new2"), []byte("x"), 0o644); !errors.Is(err, unix.EROFS) {
		t.Errorf("writing after SetReadOnly: %v, want EROFS", err)
	}
	must(t, SetReadOnly(snap2Fd, false))
	must(t, os.WriteFile(filepath.Join(snap2, "new2"), []byte("x"), 0o644))

	// A clone shares the data: no new space, the same bytes, and
	// changing one leaves the other alone.
	free = freeBytes(t, mnt)
	src, err := unix.Open(filepath.Join(base, "big"), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	must(t, err)
	defer unix.Close(src)
	dst, err := unix.Open(filepath.Join(snap2, "big-clone"), unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o644)
	must(t, err)
	must(t, Clone(dst, src))
	unix.Close(dst)
	if grew := free - freeBytes(t, mnt); grew > 1<<20 {
		t.Errorf("cloning 8 MiB took %d bytes of the drive", grew)
	}
	if got, _ := os.ReadFile(filepath.Join(snap2, "big-clone")); !bytes.Equal(got, data) {
		t.Error("the clone's bytes differ")
	}
	f, err := os.OpenFile(filepath.Join(snap2, "big-clone"), os.O_WRONLY, 0)
	must(t, err)
	_, err = f.WriteAt([]byte("CHANGED"), 0)
	must(t, err)
	must(t, f.Close())
	if got, _ := os.ReadFile(filepath.Join(base, "big")); !bytes.Equal(got, data) {
		t.Error("writing the clone changed its source")
	}

	// Deleting: a read-only snapshot goes at once; a subvolume with one
	// nested inside waits for it; a plain folder is not a subvolume.
	must(t, Delete(top, "snap1"))
	if _, err := os.Lstat(snap1); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("snap1 after Delete: %v", err)
	}
	must(t, Create(snap2Fd, "nested"))
	if err := Delete(top, "snap2"); !errors.Is(err, unix.ENOTEMPTY) {
		t.Errorf("deleting around a nested subvolume: %v, want ENOTEMPTY", err)
	}
	must(t, Delete(snap2Fd, "nested"))
	must(t, Delete(top, "snap2"))
	if err := Delete(baseFd, "docs"); err == nil {
		t.Error("a plain folder was deleted as a subvolume")
	}
	if _, err := os.Stat(filepath.Join(base, "docs", "note")); err != nil {
		t.Errorf("the plain folder's file: %v", err)
	}
}

func TestNamesAndOtherFilesystems(t *testing.T) {
	dir := t.TempDir()
	fd := openDirT(t, dir)
	for _, name := range []string{"", ".", "..", "a/b", "nul\x00", string(bytes.Repeat([]byte("n"), 256))} {
		if err := Create(fd, name); !errors.Is(err, unix.EINVAL) {
			t.Errorf("Create(%q) = %v, want EINVAL", name, err)
		}
	}
	if ok, err := Is(fd); err != nil {
		t.Fatal(err)
	} else if ok {
		// The temporary folder is on btrfs: refuse on a tmpfs instead.
		shm, err := os.MkdirTemp("/dev/shm", "keepsake-btrfs-")
		if err != nil {
			realfs.Unavailable(t, "the temporary folder is on btrfs and /dev/shm is not usable: nothing to refuse: "+err.Error())
		}
		t.Cleanup(func() { os.RemoveAll(shm) })
		dir = shm
		fd = openDirT(t, dir)
		if ok, err := Is(fd); err != nil || ok {
			t.Fatalf("%s is on btrfs too (%v)", dir, err)
		}
	}
	if err := Create(fd, "sub"); !errors.Is(err, ErrNotBtrfs) {
		t.Errorf("Create on %s = %v, want ErrNotBtrfs", dir, err)
	}
	if err := Delete(fd, "sub"); !errors.Is(err, ErrNotBtrfs) {
		t.Errorf("Delete on %s = %v, want ErrNotBtrfs", dir, err)
	}
}

func run(name string, args ...string) error {
	return exec.Command(name, args...).Run()
}

// TestWaitCleanedShowsFreedSpace deletes a subvolume holding 64 MiB of its
// own: the space is not free right after the deletion (the cleaner drops
// it later), and is once WaitCleaned returns.
func TestWaitCleanedShowsFreedSpace(t *testing.T) {
	realfs.RequireRoot(t, "a btrfs loop drive")
	disk := realfs.NewLoop(t, realfs.LoopOptions{FSType: "btrfs", SizeMB: 256})
	root := openDirT(t, disk.Mount)
	must(t, Create(root, "victim"))
	data := bytes.Repeat([]byte("keepsake"), 8<<20/8)
	for i := 0; i < 8; i++ {
		must(t, os.WriteFile(filepath.Join(disk.Mount, "victim", "f"+string(rune('0'+i))), data, 0o644))
	}
	before := freeBytes(t, disk.Mount)
	must(t, Delete(root, "victim"))
	if now := freeBytes(t, disk.Mount); now-before >= 32<<20 {
		t.Logf("the space was free at once (%d bytes more): the cleaner was quick this time", now-before)
	}
	must(t, WaitCleaned(root, time.Minute))
	if now := freeBytes(t, disk.Mount); now-before < 56<<20 {
		t.Errorf("after WaitCleaned: %d bytes more free, want the subvolume's 64 MiB", now-before)
	}
}
