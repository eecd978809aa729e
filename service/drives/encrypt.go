package drives

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/keepsake/keepsake/shared/kerr"
)

// Where ext4 keeps what Ext4EncryptFeature reads: the superblock starts
// 1024 bytes into the device; its magic number is at 0x38 and its
// incompatible-feature flags at 0x60 (linux/fs/ext4/ext4.h).
const (
	ext4SuperOffset   = 1024
	ext4MagicAt       = 0x38
	ext4IncompatAt    = 0x60
	ext4Magic         = 0xEF53
	ext4IncompatCrypt = 0x10000 // EXT4_FEATURE_INCOMPAT_ENCRYPT
)

// Ext4EncryptFeature says whether the ext4 filesystem on device has the
// encrypt feature, read from its superblock (mounted or not: the feature
// flags change only with tune2fs on an unmounted filesystem).
func Ext4EncryptFeature(device string) (bool, error) {
	f, err := os.Open(device)
	if err != nil {
		return false, fmt.Errorf("read the superblock of %s: %w", device, err)
	}
	defer f.Close()
	b := make([]byte, ext4IncompatAt+4)
	if _, err := f.ReadAt(b, ext4SuperOffset); err != nil && err != io.EOF {
		return false, fmt.Errorf("read the superblock of %s: %w", device, err)
	}
	if binary.LittleEndian.Uint16(b[ext4MagicAt:]) != ext4Magic {
		return false, fmt.Errorf("%s holds no ext4 superblock", device)
	}
	return binary.LittleEndian.Uint32(b[ext4IncompatAt:])&ext4IncompatCrypt != 0, nil
}

// EnableEncryption turns on ext4's encrypt feature on device, which must
// not be mounted (tune2fs refuses to change a mounted one's features).
// The data on it stays as it is.
func EnableEncryption(ctx context.Context, device string) error {
	if err := runTool(ctx, "tune2fs", "-O", "encrypt", device); err != nil {
		return kerr.Wrap(kerr.NameOf(err), err, "turn on encryption on %s", device)
	}
	return nil
}

// IsExt4 says whether fstype (as blkid names it) is ext4.
func IsExt4(fstype string) bool { return strings.EqualFold(fstype, Ext4) }
