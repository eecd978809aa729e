package drives

import "strings"

// mountEntry is one line of /proc/self/mountinfo.
type mountEntry struct {
	DevNo      string // "major:minor" of the filesystem (btrfs: an anonymous 0:N)
	Root       string // the directory of the filesystem mounted here ("/" for its root)
	MountPoint string
	Options    []string // per-mount options: rw, nosuid, nodev, noexec...
	FSType     string
	Source     string
}

// parseMountinfo parses the text of /proc/<pid>/mountinfo (proc(5)):
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//
// Lines it cannot read are skipped: the kernel writes this file, and one odd
// line must not hide every other mount.
func parseMountinfo(text string) []mountEntry {
	var out []mountEntry
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) < 7 {
			continue
		}
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+2 >= len(f) {
			continue
		}
		out = append(out, mountEntry{
			DevNo:      f[2],
			Root:       unescapeMount(f[3]),
			MountPoint: unescapeMount(f[4]),
			Options:    strings.Split(f[5], ","),
			FSType:     f[sep+1],
			Source:     unescapeMount(f[sep+2]),
		})
	}
	return out
}

// unescapeMount undoes the kernel's octal escaping of space, tab, newline
// and backslash (\040, \011, \012, \134) in mountinfo fields.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// rootMount returns the first mount of the filesystem on the device with
// number devno (or, for filesystems like btrfs whose mounts carry an
// anonymous device number, with that device as source) whose root is the
// filesystem's root.
func rootMount(mounts []mountEntry, devno, device string) (mountEntry, bool) {
	for _, m := range mounts {
		if m.Root != "/" {
			continue
		}
		if (devno != "" && m.DevNo == devno) || (device != "" && m.Source == device) {
			return m, true
		}
	}
	return mountEntry{}, false
}
