package engine

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// mount is one line of /proc/self/mountinfo that matters here.
type mount struct {
	// sb is the filesystem's superblock device (mountinfo's major:minor).
	// It tells filesystems apart where st_dev cannot: every subvolume of
	// one btrfs filesystem has its own st_dev but the same superblock,
	// and two tmpfs mounts have two.
	sb     string
	fstype string
}

// mountTable knows the mount points of this machine and the filesystem on
// each, so the walk can stay on the filesystems of its sources.
type mountTable struct {
	points map[string]mount
}

// readMounts parses /proc/self/mountinfo. Later lines are mounted over
// earlier ones at the same point, so they win.
func readMounts() (*mountTable, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read the mount table: %w", err)
	}
	defer f.Close()
	return parseMountinfo(bufio.NewScanner(f))
}

func parseMountinfo(sc *bufio.Scanner) (*mountTable, error) {
	t := &mountTable{points: map[string]mount{}}
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" && i >= 6 {
				sep = i
				break
			}
		}
		if len(fields) < 5 || sep < 0 || sep+1 >= len(fields) {
			continue
		}
		t.points[unescapeMount(fields[4])] = mount{sb: fields[2], fstype: fields[sep+1]}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read the mount table: %w", err)
	}
	return t, nil
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space, \011,
// \012, \134).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// fsOf is the mount holding path: that of its longest mount point prefix.
func (t *mountTable) fsOf(path string) mount {
	for p := path; ; p = filepath.Dir(p) {
		if m, ok := t.points[p]; ok {
			return m
		}
		if p == "/" || p == "." {
			return mount{}
		}
	}
}

// otherFS says whether the folder path is the mount point of another
// filesystem than the folder holding it, and which type that is.
func (t *mountTable) otherFS(path string) (string, bool) {
	if t == nil || path == "/" {
		return "", false
	}
	m, ok := t.points[path]
	if !ok {
		return "", false
	}
	return m.fstype, m.sb != t.fsOf(filepath.Dir(path)).sb
}
