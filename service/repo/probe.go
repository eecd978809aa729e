package repo

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/keepsake/keepsake/shared/kerr"
	"golang.org/x/sys/unix"
)

// Capabilities are what the probe found out about a target filesystem.
type Capabilities struct {
	FSType        string `json:"fs_type"`
	Hardlinks     bool   `json:"hardlinks"`
	Symlinks      bool   `json:"symlinks"`
	Chown         bool   `json:"chown"`
	Xattrs        bool   `json:"xattrs"`
	CaseSensitive bool   `json:"case_sensitive"`
	// LinkMax is the most names one inode may have; past it the engine
	// starts a fresh copy instead of linking.
	LinkMax uint64 `json:"link_max"`
}

// noHardlinks lists filesystem types (as /proc/self/mountinfo names them)
// known to lack hardlinks. They are refused from the mount table alone, so
// nothing at all is written to such a drive.
var noHardlinks = map[string]string{
	"vfat":            "FAT",
	"msdos":           "FAT",
	"fat":             "FAT",
	"exfat":           "exFAT",
	"fuse.fusefat":    "FAT (FUSE)",
	"fuse.exfat":      "exFAT (FUSE)",
	"fuse.exfat-fuse": "exFAT (FUSE)",
	"fuseblk":         "a FUSE block filesystem (NTFS or exFAT)",
	"fuse.ntfs-3g":    "NTFS (FUSE)",
	"ntfs":            "NTFS",
	"fuse.sshfs":      "SSHFS",
	"smb3":            "SMB",
	"cifs":            "SMB/CIFS",
	"9p":              "9p",
}

const reformatAdvice = "Keepsake keeps every snapshot as a full tree of hardlinks, which this filesystem cannot hold. " +
	"Reformat the drive as ext4 (or xfs or btrfs), for example with GNOME Disks, or choose another drive"

// Mount describes the mount a path lives on.
type Mount struct {
	Point  string
	FSType string
	Source string
}

// MountOf finds the mount holding path by the longest mount point prefix in
// /proc/self/mountinfo.
func MountOf(path string) (Mount, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return Mount{}, fmt.Errorf("resolve %s: %w", path, err)
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return Mount{}, fmt.Errorf("read mount table: %w", err)
	}
	defer f.Close()
	var best Mount
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, fl := range fields {
			if fl == "-" {
				sep = i
				break
			}
		}
		if len(fields) < 5 || sep < 0 || sep+2 >= len(fields) {
			continue
		}
		mp := unescapeMount(fields[4])
		if !within(real, mp) || len(mp) < len(best.Point) {
			continue
		}
		best = Mount{Point: mp, FSType: fields[sep+1], Source: unescapeMount(fields[sep+2])}
	}
	if err := sc.Err(); err != nil {
		return Mount{}, fmt.Errorf("read mount table: %w", err)
	}
	return best, nil
}

func within(path, dir string) bool {
	return dir == "/" || path == dir || strings.HasPrefix(path, dir+"/")
}

// unescapeMount undoes the octal escapes (\040 for space) of mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%3o", &v); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Probe finds out what the filesystem at dir can do. Filesystems known to
// lack hardlinks are refused before anything is written; others are tested
// in a hidden scratch folder that is always removed again.
func Probe(dir string) (Capabilities, error) {
	m, err := MountOf(dir)
	if err != nil {
		return Capabilities{}, err
	}
	caps := Capabilities{FSType: m.FSType}
	if what, bad := noHardlinks[m.FSType]; bad {
		return caps, kerr.New(kerr.UnsupportedFilesystem,
			"%s is on a %s filesystem (%s): %s", dir, what, m.FSType, reformatAdvice)
	}
	scratch, err := os.MkdirTemp(dir, ".keepsake-probe-")
	if err != nil {
		return caps, fmt.Errorf("probe %s: %w", dir, err)
	}
	defer os.RemoveAll(scratch)

	a := filepath.Join(scratch, "a")
	if err := os.WriteFile(a, []byte("probe"), 0o600); err != nil {
		return caps, fmt.Errorf("probe %s: %w", dir, err)
	}
	if err := os.Link(a, filepath.Join(scratch, "b")); err != nil {
		return caps, kerr.Wrap(kerr.UnsupportedFilesystem, err,
			"%s (%s) cannot make hardlinks: %s", dir, m.FSType, reformatAdvice)
	}
	caps.Hardlinks = true
	caps.Symlinks = os.Symlink("a", filepath.Join(scratch, "s")) == nil
	if os.Geteuid() == 0 {
		var st unix.Stat_t
		caps.Chown = os.Lchown(a, 1, 1) == nil && unix.Stat(a, &st) == nil && st.Uid == 1 && st.Gid == 1
	}
	err = unix.Setxattr(a, "user.keepsake.probe", []byte("1"), 0)
	caps.Xattrs = err == nil
	_, err = os.Lstat(filepath.Join(scratch, "A"))
	caps.CaseSensitive = errors.Is(err, os.ErrNotExist)
	caps.LinkMax = linkMax(dir)
	return caps, nil
}

// linkMax gives the link limit by filesystem magic; Linux has no
// pathconf(_PC_LINK_MAX) syscall. Unknown filesystems get a cautious limit,
// and EMLINK is handled anyway.
func linkMax(dir string) uint64 {
	var st unix.Statfs_t
	if unix.Statfs(dir, &st) != nil {
		return 1000
	}
	switch st.Type {
	case unix.EXT4_SUPER_MAGIC: // also ext2 and ext3
		return 65000
	case unix.XFS_SUPER_MAGIC:
		return 2147483647
	case unix.BTRFS_SUPER_MAGIC:
		return 65535
	case unix.TMPFS_MAGIC:
		return 1 << 31
	}
	return 1000
}
