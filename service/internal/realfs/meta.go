package realfs

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/keepsake/keepsake/service/internal/longpath"
	"golang.org/x/sys/unix"
)

// DigestOptions say what a digest holds besides each entry's type,
// permission bits, size and SHA-256 (symlinks: their target).
type DigestOptions struct {
	// Meta adds owner and group and the modification time to the
	// nanosecond: what a restore must bring back.
	Meta bool
	// Inode adds the inode number: equal digests are then the same files,
	// not only equal ones.
	Inode bool
}

// DigestOf maps every path below root (relative, "." for root itself) to
// what o asks for. Link counts, access times and the sizes of folders
// (which depend on the filesystem) are left out. It walks by directory
// descriptors, so trees deeper than PATH_MAX are digested too.
func DigestOf(t testing.TB, root string, o DigestOptions) map[string]string {
	t.Helper()
	out := map[string]string{}
	describe := func(dirfd int, name, rel string) (string, bool) {
		var st unix.Stat_t
		flags := unix.AT_SYMLINK_NOFOLLOW
		if name == "" {
			flags |= unix.AT_EMPTY_PATH // root itself
		}
		if err := unix.Fstatat(dirfd, name, &st, flags); err != nil {
			t.Fatalf("digest %s: stat %s: %v", root, rel, err)
		}
		desc := fmt.Sprintf("%o", st.Mode)
		if o.Meta {
			desc += fmt.Sprintf(" %d:%d mtime=%d", st.Uid, st.Gid, unix.TimespecToNsec(st.Mtim))
		}
		if o.Inode {
			desc += fmt.Sprintf(" ino=%d", st.Ino)
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFLNK:
			buf := make([]byte, unix.PathMax)
			n, err := unix.Readlinkat(dirfd, name, buf)
			if err != nil {
				t.Fatalf("digest %s: readlink %s: %v", root, rel, err)
			}
			desc += " -> " + string(buf[:n])
		case unix.S_IFREG:
			fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				t.Fatalf("digest %s: open %s: %v", root, rel, err)
			}
			f := os.NewFile(uintptr(fd), rel)
			h := sha256.New()
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				t.Fatalf("digest %s: read %s: %v", root, rel, err)
			}
			desc += fmt.Sprintf(" %d %s", st.Size, hex.EncodeToString(h.Sum(nil)))
		}
		return desc, st.Mode&unix.S_IFMT == unix.S_IFDIR
	}
	var walk func(dirfd int, rel string)
	walk = func(dirfd int, rel string) {
		dup, err := unix.Dup(dirfd)
		if err != nil {
			t.Fatal(err)
		}
		f := os.NewFile(uintptr(dup), rel)
		names, err := f.Readdirnames(-1)
		f.Close()
		if err != nil {
			t.Fatalf("digest %s: list %s: %v", root, rel, err)
		}
		sort.Strings(names)
		for _, n := range names {
			r := filepath.Join(rel, n)
			desc, isDir := describe(dirfd, n, r)
			out[r] = desc
			if isDir {
				sub, err := unix.Openat(dirfd, n, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
				if err != nil {
					t.Fatalf("digest %s: open %s: %v", root, r, err)
				}
				walk(sub, r)
				unix.Close(sub)
			}
		}
	}
	fd, err := longpath.Open(root, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatalf("digest %s: %v", root, err)
	}
	defer unix.Close(fd)
	out["."], _ = describe(fd, "", ".")
	walk(fd, ".")
	return out
}

// Digest maps every path below root to its type, mode, size and SHA-256
// (symlinks: target): two equal digests are byte-identical trees.
func Digest(t testing.TB, root string) map[string]string {
	t.Helper()
	return DigestOf(t, root, DigestOptions{})
}

// DigestMeta is Digest with the metadata a restore must bring back (see
// DigestOptions.Meta).
func DigestMeta(t testing.TB, root string) map[string]string {
	t.Helper()
	return DigestOf(t, root, DigestOptions{Meta: true})
}

// DiffDigests lists, at most max of them, the paths whose entries differ
// between two digests, as "path: a | b" ("-" for a missing side).
func DiffDigests(a, b map[string]string, max int) []string {
	var diffs []string
	seen := map[string]bool{}
	for _, m := range []map[string]string{a, b} {
		for p := range m {
			if seen[p] {
				continue
			}
			seen[p] = true
			x, okA := a[p]
			y, okB := b[p]
			if okA && okB && x == y {
				continue
			}
			if !okA {
				x = "-"
			}
			if !okB {
				y = "-"
			}
			diffs = append(diffs, p+": "+x+" | "+y)
		}
	}
	sort.Strings(diffs)
	if n := len(diffs); n > max {
		diffs = append(diffs[:max], fmt.Sprintf("... and %d more", n-max))
	}
	return diffs
}
