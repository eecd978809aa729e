package drives

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keepsake/keepsake/service/internal/realfs"
	"github.com/keepsake/keepsake/shared/kerr"
	"golang.org/x/sys/unix"
)

// fakeDisk writes a block device's sysfs directory below root/block (and
// under root/devices, linked from block/, as the kernel lays it out).
func fakeDisk(t *testing.T, root, parent, name, devno string, attrs map[string]string) {
	t.Helper()
	real := filepath.Join(root, "devices", name)
	if parent != "" {
		real = filepath.Join(root, "devices", parent, name)
	}
	if err := os.MkdirAll(real, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"dev": devno, "size": "2048", "ro": "0", "removable": "0", "uevent": "DEVNAME=" + name}
	for k, v := range attrs {
		files[k] = v
	}
	for k, v := range files {
		if v == "-" {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(real, k)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(real, k), []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(real, "holders"), 0o755)
	os.MkdirAll(filepath.Join(root, "block"), 0o755)
	if err := os.Symlink(real, filepath.Join(root, "block", name)); err != nil {
		t.Fatal(err)
	}
}

// TestCheckRules: the refusals of Inspect on fake sysfs trees, for what
// this kernel cannot make for real (partition tables, USB disks,
// device-mapper).
func TestCheckRules(t *testing.T) {
	root := t.TempDir()
	p := sysPaths{block: filepath.Join(root, "block"), udev: filepath.Join(root, "udev")}
	os.MkdirAll(p.udev, 0o755)
	// sda: internal, two partitions, sda1 holding /.
	fakeDisk(t, root, "", "sda", "8:0", nil)
	fakeDisk(t, root, "sda", "sda1", "8:1", map[string]string{"partition": "1"})
	fakeDisk(t, root, "sda", "sda2", "8:2", map[string]string{"partition": "2"})
	// sdb: a USB stick (removable), one partition.
	fakeDisk(t, root, "", "sdb", "8:16", map[string]string{"removable": "1", "device/vendor": "ACME", "device/model": "Stick"})
	fakeDisk(t, root, "sdb", "sdb1", "8:17", map[string]string{"partition": "1"})
	// sdc: a USB hard disk: removable 0, but udev says usb.
	fakeDisk(t, root, "", "sdc", "8:32", nil)
	os.WriteFile(filepath.Join(p.udev, "b8:32"), []byte("E:ID_BUS=usb\n"), 0o644)
	// sdd: removable, with dm-0 built on it.
	fakeDisk(t, root, "", "sdd", "8:48", map[string]string{"removable": "1"})
	fakeDisk(t, root, "", "dm-0", "253:0", nil)
	os.WriteFile(filepath.Join(root, "devices", "sdd", "holders", "dm-0"), nil, 0o644)
	// loop5 bound, loop6 unbound, sde without medium.
	fakeDisk(t, root, "", "loop5", "7:5", map[string]string{"loop/backing_file": "/img/a.img"})
	fakeDisk(t, root, "", "loop6", "7:6", nil)
	fakeDisk(t, root, "", "sde", "8:64", map[string]string{"removable": "1", "size": "0"})
	fakeDisk(t, root, "", "sdf", "8:80", map[string]string{"removable": "1", "ro": "1"})

	rootMount := []mountEntry{{DevNo: "8:1", Root: "/", MountPoint: "/", Source: "/dev/sda1"}}
	tests := []struct {
		name   string
		dev    string
		mounts []mountEntry
		want   kerr.Name // "" allowed
		msg    string
	}{
		{"partition of an internal disk", "sda1", rootMount, kerr.NotWholeDisk, "partition of /dev/sda"},
		{"partition of a stick", "sdb1", nil, kerr.NotWholeDisk, "name /dev/sdb"},
		{"the system's disk", "sda", rootMount, kerr.SystemDisk, "/ (on sda1)"},
		{"the disk of /boot", "sda", []mountEntry{{DevNo: "8:2", MountPoint: "/boot"}}, kerr.SystemDisk, "/boot"},
		{"internal disk, nothing mounted", "sda", nil, kerr.NotRemovable, "internal"},
		{"stick with a mounted partition", "sdb", []mountEntry{{DevNo: "8:17", MountPoint: "/media/me/STICK"}}, kerr.DeviceInUse, "/media/me/STICK (sdb1)"},
		{"stick mounted whole", "sdb", []mountEntry{{DevNo: "8:16", MountPoint: "/mnt"}}, kerr.DeviceInUse, "/mnt"},
		{"stick", "sdb", rootMount, "", ""},
		{"USB hard disk", "sdc", nil, "", ""},
		{"device-mapper on it", "sdd", nil, kerr.DeviceInUse, "dm-0"},
		{"system on device-mapper on it", "sdd", []mountEntry{{DevNo: "253:0", MountPoint: "/"}}, kerr.SystemDisk, "/ (on dm-0)"},
		{"loop device", "loop5", nil, "", ""},
		{"unbound loop device", "loop6", nil, kerr.DriveNotFound, "bound to no file"},
		{"no medium", "sde", nil, kerr.DriveNotFound, "no medium"},
		{"write-protected", "sdf", nil, kerr.InvalidArgs, "read-only"},
		{"no such device", "sdz", nil, kerr.DriveNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := p.check(tt.dev, "", tt.mounts, nil)
			if kerr.NameOf(err) != tt.want {
				t.Fatalf("check(%s) = %v (%s), want %q", tt.dev, err, kerr.NameOf(err), tt.want)
			}
			if err != nil && !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("message %q lacks %q", err, tt.msg)
			}
			if err == nil && c.Device != "/dev/"+tt.dev {
				t.Errorf("device %q", c.Device)
			}
		})
	}
	c, _ := p.check("sdb", "", nil, nil)
	if c.Model != "ACME Stick" || !c.Removable || len(c.Partitions) != 1 || c.Partitions[0].Name != "sdb1" || c.Partitions[0].Size != 2048*512 {
		t.Errorf("sdb described as %+v", c)
	}
	if c, _ := p.check("loop5", "", nil, nil); !c.Loop || c.BackingFile != "/img/a.img" {
		t.Errorf("loop5 described as %+v", c)
	}
}

// imageHash is the SHA-256 of a loop device's image: what "nothing was
// written" is checked against.
func imageHash(t *testing.T, dev string) string {
	t.Helper()
	out, err := exec.Command("losetup", "-n", "-O", "BACK-FILE", dev).Output()
	if err != nil {
		t.Fatal(err)
	}
	exec.Command("sync").Run()
	f, err := os.Open(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func blkid(t *testing.T, dev string) map[string]string {
	t.Helper()
	return blkidProbe(dev)
}

// rootDevice is the device the root filesystem is mounted from.
func rootDevice(t *testing.T) string {
	t.Helper()
	mounts, err := readMountTable()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mounts {
		if m.MountPoint == "/" && strings.HasPrefix(m.Source, "/dev/") {
			return m.Source
		}
	}
	t.Fatal("the root filesystem is not mounted from a device here")
	return ""
}

// TestInspectAndErase: the refusals on real devices (nothing written),
// then a free loop device made btrfs, then ext4.
func TestInspectAndErase(t *testing.T) {
	realfs.RequireRoot(t, "loop devices, mount, mkfs")
	realfs.RequireCommands(t, "wipefs", "mkfs.btrfs", "mkfs.ext4", "blkid", "swapon", "swapoff")

	t.Run("not a device", func(t *testing.T) {
		for dev, want := range map[string]kerr.Name{"/dev/keepsake-none": kerr.DriveNotFound, "/dev/null": kerr.InvalidArgs, "relative": kerr.InvalidArgs, "/tmp": kerr.InvalidArgs} {
			if _, err := Inspect(dev); !kerr.Is(err, want) {
				t.Errorf("Inspect(%s) = %v, want %s", dev, err, want)
			}
		}
	})
	t.Run("the system's disk", func(t *testing.T) {
		dev := rootDevice(t)
		_, err := Inspect(dev)
		if kerr.Is(err, kerr.NotWholeDisk) {
			// / on a partition: the whole disk is the one to try.
			name, _, _ := resolveDevice(dev)
			real, _ := filepath.EvalSymlinks(filepath.Join("/sys/class/block", name))
			dev = "/dev/" + filepath.Base(filepath.Dir(real))
			_, err = Inspect(dev)
		}
		if !kerr.Is(err, kerr.SystemDisk) {
			t.Fatalf("Inspect(%s) = %v, want SystemDisk", dev, err)
		}
	})
	t.Run("mounted", func(t *testing.T) {
		dev, _ := realfs.UdevLoop(t, "ext4", "INUSE", 32)
		mnt := t.TempDir()
		if err := unix.Mount(dev, mnt, "ext4", 0, ""); err != nil {
			t.Fatal(err)
		}
		defer unix.Unmount(mnt, 0)
		before := imageHash(t, dev)
		_, err := Inspect(dev)
		if !kerr.Is(err, kerr.DeviceInUse) || !strings.Contains(err.Error(), mnt) {
			t.Fatalf("Inspect = %v, want DeviceInUse naming %s", err, mnt)
		}
		if after := imageHash(t, dev); after != before {
			t.Fatal("the refused device's image changed")
		}
	})
	t.Run("swap in use", func(t *testing.T) {
		dev, _ := realfs.UdevLoop(t, "swap", "SWAP", 32)
		if out, err := exec.Command("swapon", dev).CombinedOutput(); err != nil {
			t.Fatalf("swapon: %v %s", err, out)
		}
		defer exec.Command("swapoff", dev).Run()
		if _, err := Inspect(dev); !kerr.Is(err, kerr.DeviceInUse) || !strings.Contains(err.Error(), "swap") {
			t.Fatalf("Inspect = %v, want DeviceInUse (swap)", err)
		}
	})

	dev, oldUUID := realfs.UdevLoop(t, "ext4", "OLDDRIVE", 256)
	// A repository on it: Inspect must say so.
	mnt := t.TempDir()
	if err := unix.Mount(dev, mnt, "ext4", 0, ""); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(mnt, "Keepsake"), 0o755)
	os.WriteFile(filepath.Join(mnt, "Keepsake", "keepsake.repo"), []byte("{}\n"), 0o644)
	if err := unix.Unmount(mnt, 0); err != nil {
		t.Fatal(err)
	}
	before := imageHash(t, dev)
	c, err := Inspect(dev)
	if err != nil {
		t.Fatal(err)
	}
	if c.FSType != "ext4" || c.Label != "OLDDRIVE" || c.UUID != oldUUID || !c.Repository || !c.Loop || c.Size != 256<<20 {
		t.Fatalf("Inspect = %+v", c)
	}
	if after := imageHash(t, dev); after != before {
		t.Fatal("Inspect wrote to the device (looking for a repository must be read-only)")
	}
	c2, _ := Inspect(dev)
	if c2.Token() != c.Token() {
		t.Fatal("the token of an unchanged device changed")
	}

	for _, tc := range []struct{ fs, label string }{{Btrfs, DefaultLabel}, {Ext4, "KS ext4"}} {
		t.Run(tc.fs, func(t *testing.T) {
			c, err := Inspect(dev)
			if err != nil {
				t.Fatal(err)
			}
			var phases []string
			uuid, err := Erase(context.Background(), c, tc.fs, tc.label, func(p string) { phases = append(phases, p) })
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(phases, ",") != "erasing,making the filesystem" {
				t.Errorf("phases %v", phases)
			}
			m := blkid(t, dev)
			if m["TYPE"] != tc.fs || m["LABEL"] != tc.label || m["UUID"] != uuid || uuid == oldUUID {
				t.Fatalf("blkid says %v, Erase said UUID %s", m, uuid)
			}
			after, err := Inspect(dev)
			if err != nil {
				t.Fatal(err)
			}
			if after.Token() == c.Token() || after.Repository || after.UUID != uuid {
				t.Errorf("after erasing: %+v (token unchanged: %v)", after, after.Token() == c.Token())
			}
		})
	}
	t.Run("bad requests", func(t *testing.T) {
		c, err := Inspect(dev)
		if err != nil {
			t.Fatal(err)
		}
		before := imageHash(t, dev)
		for _, q := range [][2]string{{"vfat", "X"}, {Ext4, "a label far too long for ext4"}, {Btrfs, ""}, {Btrfs, "tab\there"}} {
			if _, err := Erase(context.Background(), c, q[0], q[1], func(string) {}); !kerr.Is(err, kerr.InvalidArgs) {
				t.Errorf("Erase(%q, %q) = %v, want InvalidArgs", q[0], q[1], err)
			}
		}
		if imageHash(t, dev) != before {
			t.Fatal("a refused Erase wrote to the device")
		}
	})
}
