package engine

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/keepsake/keepsake/service/btrfs"
	"github.com/keepsake/keepsake/service/internal/realfs"
	"golang.org/x/sys/unix"
)

func TestParseMountinfo(t *testing.T) {
	const info = `22 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw
30 22 0:25 / /home rw,relatime shared:5 - btrfs /dev/sda3 rw,subvol=/home
31 30 0:25 /containers /home/u/containers rw shared:6 - btrfs /dev/sda3 rw,subvol=/containers
32 30 0:40 / /home/u/my\040nas rw shared:7 - nfs4 nas:/share rw
33 30 0:41 / /home/u/stacked rw shared:8 - tmpfs tmpfs rw
34 33 0:42 / /home/u/stacked rw shared:9 - tmpfs tmpfs rw
35 30 0:43 / /home/u/odd\134name\011x rw - fuse.sshfs me@host: rw
`
	tab, err := parseMountinfo(bufio.NewScanner(strings.NewReader(info)))
	must(t, err)
	cases := []struct {
		path   string
		other  bool
		fstype string
	}{
		{"/", false, ""},
		{"/home", true, "btrfs"},                     // another filesystem than /
		{"/home/u/containers", false, "btrfs"},       // a subvolume of the same btrfs
		{"/home/u/my nas", true, "nfs4"},             // \040 is a space
		{"/home/u/stacked", true, "tmpfs"},           // the later mount is on top
		{"/home/u/odd\\name\tx", true, "fuse.sshfs"}, // \134 and \011
		{"/home/u", false, ""},                       // not a mount point
		{"/home/u/containers/inner", false, ""},      // below one
		{"/home/u/my\\040nas", false, ""},            // the escaped spelling is not a path
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			fstype, other := tab.otherFS(c.path)
			if other != c.other || (c.fstype != "" && fstype != c.fstype) {
				t.Errorf("otherFS(%q) = %q, %v; want %q, %v", c.path, fstype, other, c.fstype, c.other)
			}
		})
	}
	if got := tab.points["/home/u/stacked"].sb; got != "0:42" {
		t.Errorf("stacked mount point: superblock %s, want the top mount's 0:42", got)
	}
}

// mountIn runs mount with args and unmounts target when the test ends.
func mountIn(t *testing.T, target string, args ...string) {
	t.Helper()
	must(t, os.MkdirAll(target, 0o755))
	if out, err := exec.Command("mount", append(args, target)...).CombinedOutput(); err != nil {
		t.Fatalf("mount %v %s: %v %s", args, target, err, out)
	}
	t.Cleanup(func() {
		if exec.Command("umount", target).Run() != nil {
			exec.Command("umount", "-l", target).Run()
		}
	})
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	must(t, err)
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// TestOtherFilesystemsAreNotCrossed mounts a tmpfs and an ext4 drive
// inside a source: they are kept as empty folders and reported, until the
// profile includes one.
func TestOtherFilesystemsAreNotCrossed(t *testing.T) {
	realfs.RequireRoot(t, "mounting filesystems inside a source")
	f := newFixture(t)
	f.write("notes.txt", "mine")
	nas, photos := f.path("nas"), f.path("Mounts/photos")
	mountIn(t, nas, "-t", "tmpfs", "tmpfs")
	drive := realfs.Loop(t, "ext4", 32)
	must(t, os.WriteFile(filepath.Join(drive, "photo.jpg"), []byte("someone else's photo"), 0o644))
	mountIn(t, photos, "--bind", drive)
	must(t, os.WriteFile(filepath.Join(nas, "film.mkv"), []byte("ten terabytes, say"), 0o644))
	must(t, os.Mkdir(filepath.Join(nas, "sub"), 0o755))

	r := f.backup(nil)
	want := []string{photos, nas}
	sort.Strings(want)
	got := append([]string(nil), r.SkippedMounts...)
	sort.Strings(got)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("skipped mount points %q, want %q", got, want)
	}
	for _, p := range want {
		found := false
		for _, w := range r.Warnings {
			if w.Path == p && strings.Contains(w.Message, "include-mount") && strings.Contains(w.Message, "not backed up") {
				found = true
			}
		}
		if !found {
			t.Errorf("no warning names %s with how to include it: %+v", p, r.Warnings)
		}
		if n := names(t, f.stored(r.Snapshot, strings.TrimPrefix(p, f.src))); len(n) != 0 {
			t.Errorf("%s in the snapshot holds %q, want an empty folder", p, n)
		}
	}
	if b, err := os.ReadFile(f.stored(r.Snapshot, "notes.txt")); err != nil || string(b) != "mine" {
		t.Errorf("the source's own file: %q, %v", b, err)
	}
	v, err := f.catalog().Lookup(mustSnap(t, f), nas)
	if err != nil || !v.Meta.Type.Stored() {
		t.Errorf("the mount point is not recorded as a folder: %+v, %v", v, err)
	}

	// Included by the profile: the tmpfs is backed up, the drive still not.
	r2 := f.backup(func(o *BackupOptions) { o.IncludeMounts = []string{nas} })
	if !reflect.DeepEqual(r2.SkippedMounts, []string{photos}) {
		t.Errorf("with the tmpfs included, skipped %q, want only %q", r2.SkippedMounts, photos)
	}
	if n := names(t, f.stored(r2.Snapshot, "nas")); !reflect.DeepEqual(n, []string{"film.mkv", "sub"}) {
		t.Errorf("included tmpfs in the snapshot: %q", n)
	}
	if b, err := os.ReadFile(f.stored(r2.Snapshot, "nas/film.mkv")); err != nil || string(b) != "ten terabytes, say" {
		t.Errorf("included tmpfs's file: %q, %v", b, err)
	}
	if n := names(t, f.stored(r2.Snapshot, "Mounts/photos")); len(n) != 0 {
		t.Errorf("the drive not included is in the snapshot: %q", n)
	}
}

// TestBtrfsSubvolumesAreNotOtherFilesystems backs up a source on btrfs with
// a nested subvolume (a st_dev of its own, but the same filesystem) and a
// subvolume of the same filesystem mounted inside it (Fedora's home): both
// are backed up.
func TestBtrfsSubvolumesAreNotOtherFilesystems(t *testing.T) {
	realfs.RequireRoot(t, "a btrfs loop drive")
	disk := realfs.NewLoop(t, realfs.LoopOptions{FSType: "btrfs", SizeMB: 256})
	f := newFixture(t)
	f.src = filepath.Join(disk.Mount, "src")
	must(t, os.Mkdir(f.src, 0o755))
	f.write("notes.txt", "mine")

	root, err := unix.Open(disk.Mount, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	must(t, err)
	defer unix.Close(root)
	src, err := unix.Open(f.src, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	must(t, err)
	defer unix.Close(src)
	must(t, btrfs.Create(src, "containers"))
	f.write("containers/layer.tar", "a container layer")
	must(t, btrfs.Create(root, "home"))
	must(t, os.WriteFile(filepath.Join(disk.Mount, "home", "letter.txt"), []byte("in a subvolume mounted here"), 0o644))
	mountIn(t, f.path("fedora-home"), "-o", "subvol=home", disk.Device)

	var a, b unix.Stat_t
	must(t, unix.Stat(f.src, &a))
	must(t, unix.Stat(f.path("containers"), &b))
	if a.Dev == b.Dev {
		t.Fatal("control: the nested subvolume has the source's st_dev; the test cannot tell identity from st_dev")
	}
	must(t, unix.Stat(f.path("fedora-home"), &b))
	if a.Dev == b.Dev {
		t.Fatal("control: the mounted subvolume has the source's st_dev")
	}

	r := f.backup(nil)
	if len(r.SkippedMounts) != 0 || len(r.Warnings) != 0 {
		t.Fatalf("skipped %q with warnings %+v; a btrfs subvolume is the same filesystem", r.SkippedMounts, r.Warnings)
	}
	for rel, want := range map[string]string{"containers/layer.tar": "a container layer", "fedora-home/letter.txt": "in a subvolume mounted here", "notes.txt": "mine"} {
		if got, err := os.ReadFile(f.stored(r.Snapshot, rel)); err != nil || string(got) != want {
			t.Errorf("%s in the snapshot: %q, %v", rel, got, err)
		}
	}
}
