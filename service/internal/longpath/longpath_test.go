package longpath

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// deepDir makes a folder nested below root until its path is longer than
// total bytes, creating each level relative to the one before (as a
// runaway build does), and returns its path.
func deepDir(t *testing.T, root string, total int) string {
	t.Helper()
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	p := root
	elem := strings.Repeat("d", 200)
	for len(p) <= total {
		if err := unix.Mkdirat(fd, elem, 0o755); err != nil {
			t.Fatal(err)
		}
		next, err := unix.Openat(fd, elem, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		if err != nil {
			t.Fatal(err)
		}
		unix.Close(fd)
		fd, p = next, p+"/"+elem
	}
	unix.Close(fd)
	return p
}

func TestOpenAndSplit(t *testing.T) {
	root := t.TempDir()
	tests := []struct {
		name  string
		depth int
	}{
		{"short", 100},
		{"just past PATH_MAX", Max + 1},
		{"three times PATH_MAX", 3 * unix.PathMax},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := filepath.Join(root, strings.ReplaceAll(tc.name, " ", "-"))
			if err := os.Mkdir(base, 0o755); err != nil {
				t.Fatal(err)
			}
			dir := deepDir(t, base, tc.depth)
			file := dir + "/leaf.txt"
			fd, err := Open(file, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o640)
			if err != nil {
				t.Fatalf("create %d-byte path: %v", len(file), err)
			}
			unix.Write(fd, []byte("deep"))
			unix.Close(fd)
			if len(file) > Max {
				if _, err := os.ReadFile(file); err == nil {
					t.Fatalf("control: a %d-byte path opened in one call", len(file))
				}
			}
			dirfd, name, done, err := Split(file)
			if err != nil {
				t.Fatal(err)
			}
			var st unix.Stat_t
			err = unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
			done()
			if err != nil || st.Size != 4 || st.Mode&0o777 != 0o640 {
				t.Fatalf("stat through Split: %v, size %d mode %o", err, st.Size, st.Mode&0o777)
			}
			fd, err = Open(file, unix.O_RDONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 16)
			n, _ := unix.Read(fd, buf)
			unix.Close(fd)
			if !bytes.Equal(buf[:n], []byte("deep")) {
				t.Fatalf("read %q", buf[:n])
			}
		})
	}
}

func TestLastStepDoesNotFollowASymlinkWithNoFollow(t *testing.T) {
	dir := deepDir(t, t.TempDir(), 2*unix.PathMax)
	target := t.TempDir()
	fd, err := Open(dir, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Symlinkat(target, fd, "link"); err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
	if _, err := Open(dir+"/link", unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0); err == nil {
		t.Fatal("O_NOFOLLOW on the last step of a long path followed a symlink")
	}
}
