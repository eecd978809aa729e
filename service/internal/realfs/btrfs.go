package realfs

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// BtrfsExclusive is the data only dir holds on a btrfs filesystem, shared
// with no other subvolume or file, as `btrfs filesystem du` counts it.
func BtrfsExclusive(t testing.TB, dir string) int64 {
	t.Helper()
	out, err := exec.Command("btrfs", "filesystem", "du", "-s", "--raw", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("btrfs filesystem du %s: %v %s", dir, err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	fields := strings.Fields(lines[len(lines)-1])
	if len(fields) < 4 {
		t.Fatalf("btrfs filesystem du: %q", out)
	}
	n, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		t.Fatalf("btrfs filesystem du: %q", out)
	}
	return n
}

// BtrfsUsed is the space in use on the btrfs filesystem at dir, data and
// metadata, as `btrfs filesystem df` counts it: statfs there counts a
// whole chunk as used once it is allocated, and leaves out metadata
// written into chunks already allocated.
func BtrfsUsed(t testing.TB, dir string) int64 {
	t.Helper()
	out, err := exec.Command("btrfs", "filesystem", "df", "-b", dir).Output()
	if err != nil {
		t.Fatalf("btrfs filesystem df %s: %v", dir, err)
	}
	var total int64
	for _, line := range strings.Split(string(out), "\n") {
		if i := strings.Index(line, "used="); i >= 0 {
			n, err := strconv.ParseInt(strings.Fields(line[i+5:])[0], 10, 64)
			if err != nil {
				t.Fatalf("btrfs filesystem df: %q", line)
			}
			total += n
		}
	}
	return total
}
