package repo

import (
	"bufio"
	"errors"
	"fmt"
	"io"
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
// known to lack hardlinks. They are refused before anything is written to
// such a drive: by this name, by a FUSE mount's subtype (fuseSubtypes), by
// the filesystem's magic number (noHardlinkMagic) or, for a FUSE block
// device mount, by the signature on the device (bootSectorKind).
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

// fuseSubtypes are the FUSE drivers (the part after "fuse." or
// "fuseblk." in the mount table) of filesystems without hardlinks.
var fuseSubtypes = map[string]string{
	"fusefat":    "FAT (FUSE)",
	"vfat":       "FAT (FUSE)",
	"fat":        "FAT (FUSE)",
	"msdos":      "FAT (FUSE)",
	"exfat":      "exFAT (FUSE)",
	"exfat-fuse": "exFAT (FUSE)",
	"ntfs":       "NTFS (FUSE)",
	"ntfs-3g":    "NTFS (FUSE)",
	"lowntfs-3g": "NTFS (FUSE)",
	"sshfs":      "SSHFS",
}

// noHardlinkMagic are the statfs magic numbers of the kernel's
// filesystems without hardlinks: a bind mount or an odd mount table
// cannot hide them.
var noHardlinkMagic = map[int64]string{
	unix.MSDOS_SUPER_MAGIC: "FAT",
	unix.EXFAT_SUPER_MAGIC: "exFAT",
	0x5346544e:             "NTFS", // ntfs (NTFS_SB_MAGIC)
	unix.SMB_SUPER_MAGIC:   "SMB",
	unix.SMB2_SUPER_MAGIC:  "SMB",
	unix.CIFS_SUPER_MAGIC:  "SMB/CIFS",
	unix.V9FS_MAGIC:        "9p",
}

// bootSectorKind names the filesystem whose boot sector b (the first 512
// bytes of a device) holds, when it is one without hardlinks: FUSE block
// mounts (exfat-fuse, ntfs-3g) show only "fuseblk" in the mount table.
func bootSectorKind(b []byte) string {
	if len(b) < 512 {
		return ""
	}
	switch {
	case string(b[3:11]) == "EXFAT   ":
		return "exFAT (FUSE)"
	case string(b[3:11]) == "NTFS    ":
		return "NTFS (FUSE)"
	case b[510] != 0x55 || b[511] != 0xaa:
		return ""
	case strings.HasPrefix(string(b[54:62]), "FAT1"), string(b[54:62]) == "FAT     ", string(b[82:90]) == "FAT32   ":
		return "FAT (FUSE)"
	}
	return ""
}

// withoutHardlinks says which filesystem without hardlinks dir (on mount
// m) is on, if it is one; it writes nothing.
func withoutHardlinks(dir string, m Mount) (string, bool) {
	fstype := m.FSType
	if what, ok := noHardlinks[fstype]; ok && fstype != "fuseblk" {
		return what, true
	}
	if i := strings.IndexByte(fstype, '.'); i > 0 && (fstype[:i] == "fuse" || fstype[:i] == "fuseblk") {
		if what, ok := fuseSubtypes[fstype[i+1:]]; ok {
			return what, true
		}
	}
	var st unix.Statfs_t
	if unix.Statfs(dir, &st) == nil {
		if what, ok := noHardlinkMagic[int64(st.Type)]; ok {
			return what, true
		}
	}
	if strings.HasPrefix(fstype, "fuse") && strings.HasPrefix(m.Source, "/dev/") {
		// Only root may read the device; a user's keepsakectl falls back
		// on the mount table's name below.
		if f, err := os.Open(m.Source); err == nil {
			b := make([]byte, 512)
			_, err := io.ReadFull(f, b)
			f.Close()
			if what := bootSectorKind(b); err == nil && what != "" {
				return what, true
			}
		}
	}
	what, ok := noHardlinks[fstype]
	return what, ok
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
	// Absolute first: the mount table has absolute paths only, and a
	// relative one would match none but "/" ("--repo ." on a drive).
	abs, err := filepath.Abs(path)
	if err != nil {
		return Mount{}, fmt.Errorf("resolve %s: %w", path, err)
	}
	real, err := filepath.EvalSymlinks(abs)
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
	if what, bad := withoutHardlinks(dir, m); bad {
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
