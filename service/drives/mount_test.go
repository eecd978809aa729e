package drives

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/keepsake/keepsake/service/internal/realfs"
	"github.com/keepsake/keepsake/shared/kerr"
)

func TestMountRefuses(t *testing.T) {
	good := Drive{UUID: "0a1b2c3d-0000-4000-8000-000000000000", FSType: "ext4", Device: "/dev/keepsake-no-such-device", Present: true}
	with := func(f func(*Drive)) Drive { d := good; f(&d); return d }
	type tcase struct {
		name string
		d    Drive
		base string // "" means a fresh base in a temp dir
		want kerr.Name
	}
	tests := []tcase{
		{"relative device", with(func(d *Drive) { d.Device = "loop3" }), "", kerr.InvalidArgs},
		{"device outside /dev", with(func(d *Drive) { d.Device = "/etc/passwd" }), "", kerr.InvalidArgs},
		{"device escaping /dev", with(func(d *Drive) { d.Device = "/dev/../etc/passwd" }), "", kerr.InvalidArgs},
		{"character device", with(func(d *Drive) { d.Device = "/dev/null" }), "", kerr.InvalidArgs},
		{"missing device", good, "", kerr.DriveNotFound},
		{"empty UUID", with(func(d *Drive) { d.UUID = "" }), "", kerr.InvalidArgs},
		{"UUID with a slash", with(func(d *Drive) { d.UUID = "../../etc" }), "", kerr.InvalidArgs},
		{"UUID with a dot", with(func(d *Drive) { d.UUID = ".." }), "", kerr.InvalidArgs},
		{"UUID with a space", with(func(d *Drive) { d.UUID = "ab cd" }), "", kerr.InvalidArgs},
		{"squashfs", with(func(d *Drive) { d.FSType = "squashfs" }), "", kerr.UnsupportedFilesystem},
		{"no filesystem type", with(func(d *Drive) { d.FSType = "" }), "", kerr.UnsupportedFilesystem},
		{"locked LUKS", with(func(d *Drive) { d.FSType = "crypto_LUKS"; d.Locked = true }), "", kerr.UnsupportedFilesystem},
		{"relative base", good, "run/keepsake", kerr.InvalidArgs},
		{"unclean base", good, "UNCLEAN", kerr.InvalidArgs},
	}
	check := func(t *testing.T, tt tcase) {
		t.Helper()
		base := tt.base
		switch base {
		case "":
			base = filepath.Join(t.TempDir(), "keepsake")
		case "UNCLEAN":
			// Absolute but not clean, in a folder of the test's own, so
			// that nothing else on the machine can be taken for a
			// leftover.
			base = t.TempDir() + "/sub/../keepsake"
		}
		mnt, err := Mount(tt.d, base)
		if kerr.NameOf(err) != tt.want {
			t.Fatalf("Mount = %q, %v; want %s", mnt, err, tt.want)
		}
		if _, err := os.Stat(base); filepath.IsAbs(base) && !os.IsNotExist(err) {
			t.Errorf("refused mount left %s behind", base)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { check(t, tt) })
	}
	// The device exists and holds a filesystem, but not the one asked
	// for: device names are reused between plugs.
	t.Run("reused device name", func(t *testing.T) {
		realfs.RequireRoot(t, "a real filesystem on a loop device")
		dev, uuid := realfs.UdevLoop(t, "ext4", "other", 16)
		real := Drive{UUID: uuid, FSType: "ext4", Device: dev, Present: true}
		for _, tt := range []tcase{
			{"another filesystem's UUID", with(func(d *Drive) { *d = real; d.UUID = good.UUID }), "", kerr.DriveNotFound},
			{"wrong filesystem type", with(func(d *Drive) { *d = real; d.FSType = "xfs" }), "", kerr.DriveNotFound},
		} {
			t.Run(tt.name, func(t *testing.T) { check(t, tt) })
		}
	})
}

func TestUnmountRefuses(t *testing.T) {
	base := filepath.Join(t.TempDir(), "keepsake")
	for _, tt := range []struct{ name, mnt string }{
		{"outside base", t.TempDir()},
		{"base itself", base},
		{"parent of base", filepath.Dir(base)},
		{"escaping base", base + "/../x"},
		{"nested below base", filepath.Join(base, "a", "b")},
		{"odd name", filepath.Join(base, "a b")},
		{"relative", "keepsake/abc"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := Unmount(tt.mnt, base); !kerr.Is(err, kerr.InvalidArgs) {
				t.Errorf("Unmount(%q) = %v, want InvalidArgs", tt.mnt, err)
			}
		})
	}
	t.Run("a real mount outside base", func(t *testing.T) {
		realfs.RequireRoot(t, "a real mount on a loop device")
		outside := realfs.Loop(t, "ext4", 16)
		if err := Unmount(outside, base); !kerr.Is(err, kerr.InvalidArgs) {
			t.Errorf("Unmount(%q) = %v, want InvalidArgs", outside, err)
		}
		if !realfs.Mounted(outside) {
			t.Error("a mount outside base was unmounted")
		}
	})
	if err := Unmount(filepath.Join(base, "abc"), "relative/base"); !kerr.Is(err, kerr.InvalidArgs) {
		t.Errorf("relative base: %v", err)
	}
}

func TestEventString(t *testing.T) {
	for e, want := range map[Event]string{Added: "Added", Changed: "Changed", Removed: "Removed", Mounted: "Mounted", Unmounted: "Unmounted", 0: "Event(0)"} {
		if e.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(e), e.String(), want)
		}
	}
}
