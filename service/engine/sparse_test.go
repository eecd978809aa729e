package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/keepsake/keepsake/service/internal/realfs"
	"golang.org/x/sys/unix"
)

// extent is data written at an offset of a sparse file; the rest is hole.
type extent struct {
	off  int64
	size int64
	seed byte
}

// bytes is the extent's content: a pattern with no zero byte, so that no
// range of it could pass for a hole.
func (x extent) bytes() []byte {
	b := make([]byte, x.size)
	for i := range b {
		b[i] = byte(i%251) + 1 + x.seed
	}
	return b
}

// makeSparse creates a file of size bytes holding only the extents and
// checks that the source filesystem kept the rest as holes.
func makeSparse(t *testing.T, p string, size int64, data []extent) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	must(t, err)
	defer f.Close()
	must(t, f.Truncate(size))
	for _, x := range data {
		_, err := f.WriteAt(x.bytes(), x.off)
		must(t, err)
	}
	must(t, f.Sync())
	if used, want := blocksUsed(t, p), dataSize(data); used != want {
		t.Fatalf("the source filesystem stores %d bytes for %d of data: it does not keep holes, the test means nothing", used, want)
	}
}

func dataSize(data []extent) int64 {
	var n int64
	for _, x := range data {
		n += x.size
	}
	return n
}

// expectedSum is the SHA-256 of the logical content, made from the
// description alone: zeros but for the extents (sorted by offset).
func expectedSum(size int64, data []extent) string {
	h := sha256.New()
	zeros := make([]byte, 1<<20)
	var off int64
	pad := func(to int64) {
		for off < to {
			n := min(to-off, int64(len(zeros)))
			h.Write(zeros[:n])
			off += n
		}
	}
	for _, x := range data {
		pad(x.off)
		h.Write(x.bytes())
		off += x.size
	}
	pad(size)
	return hex.EncodeToString(h.Sum(nil))
}

// logicalSum hashes a file's logical content. It reads the data ranges
// the kernel reports and counts holes as the zeros they read as: reading
// 2 GiB of hole through the page cache would take most of the test's time.
func logicalSum(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Open(p)
	must(t, err)
	defer f.Close()
	fi, err := f.Stat()
	must(t, err)
	fd := int(f.Fd())
	h := sha256.New()
	zeros := make([]byte, 1<<20)
	buf := make([]byte, 1<<20)
	for off := int64(0); off < fi.Size(); {
		data, err := unix.Seek(fd, off, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			data = fi.Size()
		} else {
			must(t, err)
		}
		for ; off < data; off += min(data-off, int64(len(zeros))) {
			h.Write(zeros[:min(data-off, int64(len(zeros)))])
		}
		if off == fi.Size() {
			break
		}
		hole, err := unix.Seek(fd, data, unix.SEEK_HOLE)
		must(t, err)
		for off < hole {
			n, err := f.ReadAt(buf[:min(hole-off, int64(len(buf)))], off)
			must(t, err)
			h.Write(buf[:n])
			off += int64(n)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func blocksUsed(t *testing.T, p string) int64 {
	t.Helper()
	var st unix.Stat_t
	must(t, unix.Stat(p, &st))
	return st.Blocks * 512
}

// checkSparse checks a copy's size, the space it takes and its bytes.
// Extents are block-aligned, so a copy that keeps its holes takes exactly
// their size; a little more is allowed for an extent-tree block.
func checkSparse(t *testing.T, what, p string, size int64, data []extent, sum string) {
	t.Helper()
	fi, err := os.Stat(p)
	must(t, err)
	if fi.Size() != size {
		t.Errorf("%s: size %d, want %d", what, fi.Size(), size)
	}
	if used, want := blocksUsed(t, p), dataSize(data); used < want || used > want+64<<10 {
		t.Errorf("%s: takes %d bytes of blocks for %d bytes of data (logical size %d): holes not kept", what, used, want, size)
	}
	if got := logicalSum(t, p); got != sum {
		t.Errorf("%s: content %s, want %s", what, got, sum)
	}
}

// TestSparseFilesKeepTheirHoles backs up sparse files to a small ext4
// drive, which a copy with its holes filled would not fit, and restores
// them to another filesystem (read and write) and to the drive's own
// (copy_file_range), holes and bytes intact.
func TestSparseFilesKeepTheirHoles(t *testing.T) {
	drive := realfs.Loop(t, "ext4", 256)
	cases := map[string]struct {
		size int64
		data []extent
	}{
		"disk image: 1 MiB at 1 GiB of 2 GiB": {size: 2 << 30, data: []extent{{off: 1 << 30, size: 1 << 20, seed: 1}}},
		"hole at the end":                     {size: 64 << 20, data: []extent{{off: 0, size: 1 << 20, seed: 2}}},
		"all hole":                            {size: 64 << 20},
		"data, holes and data at the end": {size: 48 << 20, data: []extent{
			{off: 0, size: 4 << 10, seed: 3}, {off: 8 << 20, size: 3 << 20, seed: 4}, {off: 48<<20 - 512<<10, size: 512 << 10, seed: 5}}},
		"no hole": {size: 4 << 20, data: []extent{{off: 0, size: 4 << 20, seed: 6}}},
	}
	i := 0
	for name, c := range cases {
		i++
		n := i
		t.Run(name, func(t *testing.T) {
			// The cases share the drive: each leaves it as it found it.
			repoDir, restored := filepath.Join(drive, fmt.Sprintf("repo%d", n)), filepath.Join(drive, fmt.Sprintf("restored%d", n))
			t.Cleanup(func() { os.RemoveAll(repoDir); os.RemoveAll(restored) })
			f := newFixtureOn(t, repoDir)
			src := f.path("vm.img")
			makeSparse(t, src, c.size, c.data)
			sum := expectedSum(c.size, c.data)

			r := f.backup(nil)
			if r.Copied != 1 {
				t.Errorf("copied %d files, want 1", r.Copied)
			}
			stored := f.stored(r.Snapshot, "vm.img")
			checkSparse(t, "stored copy", stored, c.size, c.data, sum)
			v, err := f.catalog().Lookup(mustSnap(t, f), src)
			must(t, err)
			if got := hex.EncodeToString(v.SHA256); got != sum {
				t.Errorf("catalog SHA-256 %s, want that of the logical content %s", got, sum)
			}

			// A copy with the same metadata is found by its content and
			// linked: hashing a sparse source gives the logical sum too.
			if out, err := exec.Command("cp", "-a", "--sparse=always", src, f.path("copy.img")).CombinedOutput(); err != nil {
				t.Fatalf("cp: %v %s", err, out)
			}
			r2 := f.backup(nil)
			if r2.Copied != 0 || r2.Duplicate != 1 {
				t.Errorf("second run copied %d files and found %d duplicates, want 0 and 1", r2.Copied, r2.Duplicate)
			}
			first := inode(t, stored)
			for _, rel := range []string{"vm.img", "copy.img"} {
				if got := inode(t, f.stored(r2.Snapshot, rel)); got != first {
					t.Errorf("%s in the second snapshot: inode %d, want the stored copy's %d", rel, got, first)
				}
			}

			for dest, to := range map[string]string{
				"restored to another filesystem": t.TempDir(),
				"restored to the drive's":        restored,
			} {
				must(t, os.MkdirAll(to, 0o755))
				res, err := restore(f, RestoreOptions{Paths: []string{src}, To: to})
				if err != nil {
					t.Fatalf("%s: %v", dest, err)
				}
				if res.Bytes != c.size {
					t.Errorf("%s: restore counted %d bytes, want the logical size %d", dest, res.Bytes, c.size)
				}
				checkSparse(t, dest, filepath.Join(to, "vm.img"), c.size, c.data, sum)
			}
		})
	}
}

// TestRestoreRefusesDamagedSparseCopy shows that the check against the
// catalog still covers a sparse file's holes: data written into a hole of
// the stored copy is caught.
func TestRestoreRefusesDamagedSparseCopy(t *testing.T) {
	f := newFixture(t)
	src := f.path("vm.img")
	makeSparse(t, src, 16<<20, []extent{{off: 4 << 20, size: 64 << 10, seed: 7}})
	r := f.backup(nil)
	stored, err := os.OpenFile(f.stored(r.Snapshot, "vm.img"), os.O_WRONLY, 0)
	must(t, err)
	_, err = stored.WriteAt(bytes.Repeat([]byte{'x'}, 4096), 12<<20)
	must(t, err)
	must(t, stored.Close())
	if _, err := restore(f, RestoreOptions{Paths: []string{src}, To: t.TempDir()}); err == nil {
		t.Fatal("a stored copy with data in a hole was restored without complaint")
	}
}
