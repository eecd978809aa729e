package drives_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/keepsake/keepsake/service/drives"
	"github.com/keepsake/keepsake/service/internal/realfs"
)

// The encrypt feature is read from the ext4 superblock, mounted or not;
// what is not ext4 is an error, never "on".
func TestExt4EncryptFeature(t *testing.T) {
	realfs.RequireCommands(t, "mkfs.ext4", "mkfs.btrfs", "tune2fs")
	for _, tc := range []struct {
		name    string
		mkfs    []string
		tune    bool
		want    bool
		wantErr bool
	}{
		{"ext4 made with it", []string{"mkfs.ext4", "-q", "-F", "-O", "encrypt"}, false, true, false},
		{"ext4 made without it", []string{"mkfs.ext4", "-q", "-F", "-O", "^encrypt"}, false, false, false},
		{"ext4 with it turned on later", []string{"mkfs.ext4", "-q", "-F", "-O", "^encrypt"}, true, true, false},
		{"btrfs", []string{"mkfs.btrfs", "-q", "-f"}, false, false, true},
		{"nothing", nil, false, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := filepath.Join(t.TempDir(), "img")
			if err := os.WriteFile(img, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(img, 256<<20); err != nil {
				t.Fatal(err)
			}
			if tc.mkfs != nil {
				if out, err := exec.Command(tc.mkfs[0], append(tc.mkfs[1:], img)...).CombinedOutput(); err != nil {
					t.Fatalf("%v: %v %s", tc.mkfs, err, out)
				}
			}
			if tc.tune {
				if err := drives.EnableEncryption(t.Context(), img); err != nil {
					t.Fatal(err)
				}
			}
			got, err := drives.Ext4EncryptFeature(img)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("Ext4EncryptFeature = %v, %v; want %v (error %v)", got, err, tc.want, tc.wantErr)
			}
		})
	}
}
