package repo

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/keepsake/keepsake/service/internal/realfs"
)

// Filesystems without hardlinks are known by what the mount table calls
// them, a FUSE mount's subtype included, whatever driver mounted them.
func TestWithoutHardlinksByMountType(t *testing.T) {
	dir := t.TempDir() // a filesystem with hardlinks: its magic number says nothing
	for fstype, want := range map[string]string{
		"vfat":            "FAT",
		"msdos":           "FAT",
		"exfat":           "exFAT",
		"ntfs3":           "",
		"fuse.fusefat":    "FAT (FUSE)",
		"fuse.vfat":       "FAT (FUSE)",
		"fuseblk.vfat":    "FAT (FUSE)",
		"fuse.exfat":      "exFAT (FUSE)",
		"fuseblk.exfat":   "exFAT (FUSE)",
		"fuse.exfat-fuse": "exFAT (FUSE)",
		"fuseblk.ntfs-3g": "NTFS (FUSE)",
		"fuse.sshfs":      "SSHFS",
		"fuseblk":         "a FUSE block filesystem (NTFS or exFAT)",
		"smb3":            "SMB",
		"ext4":            "",
		"btrfs":           "",
		"fuse.gvfsd-fuse": "",
		"fuse.vfat.x":     "",
	} {
		got, bad := withoutHardlinks(dir, Mount{Point: dir, FSType: fstype, Source: "none"})
		if got != want || bad != (want != "") {
			t.Errorf("%s: %q %v, want %q", fstype, got, bad, want)
		}
	}
}

// exfat-fuse and ntfs-3g mount a device as a plain "fuseblk": the boot
// sector of the device says which filesystem it holds. The sectors here
// are what mkfs writes.
func TestBootSectorKind(t *testing.T) {
	for _, tc := range []struct {
		name string
		mkfs []string
		want string
	}{
		{"exFAT", []string{"mkfs.exfat"}, "exFAT (FUSE)"},
		{"FAT12", []string{"mkfs.vfat", "-F", "12"}, "FAT (FUSE)"},
		{"FAT16", []string{"mkfs.vfat", "-F", "16"}, "FAT (FUSE)"},
		{"FAT32", []string{"mkfs.vfat", "-F", "32"}, "FAT (FUSE)"},
		{"ext4", []string{"mkfs.ext4", "-q", "-F"}, ""},
		{"btrfs", []string{"mkfs.btrfs", "-q", "-f"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			realfs.RequireCommands(t, tc.mkfs[0])
			img := filepath.Join(t.TempDir(), "img")
			if err := os.WriteFile(img, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(img, 128<<20); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(tc.mkfs[0], append(tc.mkfs[1:], img)...).CombinedOutput(); err != nil {
				t.Fatalf("%s: %v %s", tc.mkfs[0], err, out)
			}
			f, err := os.Open(img)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			b := make([]byte, 512)
			if _, err := f.ReadAt(b, 0); err != nil {
				t.Fatal(err)
			}
			if got := bootSectorKind(b); got != tc.want {
				t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
			}
		})
	}
	if got := bootSectorKind(make([]byte, 100)); got != "" {
		t.Errorf("a short read: %q", got)
	}
}
