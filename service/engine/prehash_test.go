package engine

import (
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/internal/realfs"
	"golang.org/x/sys/unix"
)

// TestPrehashStaysBeneath: names from the other side are opened beneath
// the snapshot folder only, never through a symlink, and only regular
// files are read.
func TestPrehashStaysBeneath(t *testing.T) {
	top := t.TempDir()
	root := filepath.Join(top, "snapshot")
	outside := filepath.Join(top, "outside")
	must(t, os.MkdirAll(filepath.Join(root, "home", "dir"), 0o755))
	must(t, os.MkdirAll(outside, 0o755))
	must(t, os.WriteFile(filepath.Join(outside, "secret"), []byte("not the snapshot's"), 0o600))
	must(t, os.WriteFile(filepath.Join(root, "home", "file"), []byte("inside"), 0o644))
	must(t, os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "home", "link")))
	must(t, os.Symlink(outside, filepath.Join(root, "home", "linkdir")))
	must(t, os.Symlink("../../outside/secret", filepath.Join(root, "home", "relative-link")))
	must(t, unix.Mkfifo(filepath.Join(root, "home", "fifo"), 0o644))

	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	must(t, err)
	defer unix.Close(fd)
	p := startPrehash(fd, nil)
	if p == nil {
		realfs.Unavailable(t, "this kernel has no openat2 (Linux 5.6): files are hashed after the transfer")
	}
	for _, name := range []string{
		"/home/file",
		"/home/dir/../file", // inside: the same file
		"/../outside/secret",
		"/home/../../outside/secret",
		"/home/link",
		"/home/linkdir/secret",
		"/home/relative-link",
		"/home/fifo", // must not block
		"/home/dir",
		"/home/missing",
		"/",
		"",
	} {
		p.arrived(name)
	}
	done := make(chan struct{})
	go func() { p.stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("prehashing did not finish: a name blocked it")
	}
	// Sums are kept by inode: both names inside are the one file.
	var file unix.Stat_t
	must(t, unix.Stat(filepath.Join(root, "home", "file"), &file))
	if h, ok := p.sums[file.Ino]; !ok || len(p.sums) != 1 || h.sum != [32]byte(sha256Of("inside")) {
		t.Errorf("read %d files, want only home/file's content", len(p.sums))
	}
}

// TestPrehashTakesOnlyTheSameFile: a sum counts only for the inode read,
// unchanged since.
func TestPrehashTakesOnlyTheSameFile(t *testing.T) {
	root := t.TempDir()
	write := func(name, content string) {
		must(t, os.WriteFile(filepath.Join(root, name), []byte(content), 0o644))
	}
	stat := func(name string) *unix.Stat_t {
		var st unix.Stat_t
		must(t, unix.Lstat(filepath.Join(root, name), &st))
		return &st
	}
	for _, n := range []string{"kept", "rewritten", "replaced", "touched"} {
		write(n, "version one")
	}
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	must(t, err)
	defer unix.Close(fd)
	p := startPrehash(fd, nil)
	if p == nil {
		realfs.Unavailable(t, "this kernel has no openat2 (Linux 5.6)")
	}
	for _, n := range []string{"kept", "rewritten", "replaced", "touched"} {
		p.arrived("/" + n)
	}
	p.stop()

	// Changed after it was read: the same size, the time put back.
	mt := stat("rewritten").Mtim
	time.Sleep(10 * time.Millisecond)
	write("rewritten", "version two")
	must(t, unix.UtimesNano(filepath.Join(root, "rewritten"), []unix.Timespec{mt, mt}))
	// Another file put in its place.
	must(t, os.Remove(filepath.Join(root, "replaced")))
	write("replaced", "version one")
	// Only its metadata changed.
	must(t, os.Chmod(filepath.Join(root, "touched"), 0o600))

	cases := map[string]bool{"kept": true, "rewritten": false, "replaced": false, "touched": false}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			sum, _ := p.take(stat(name))
			if (sum != nil) != want {
				t.Fatalf("sum %x, want one: %v", sum, want)
			}
			if want && string(sum) != string(sha256Of("version one")) {
				t.Errorf("sum %x is not the content's", sum)
			}
		})
	}
	if sum, _ := p.take(stat("kept")); sum != nil {
		t.Error("a sum was taken twice")
	}
	var nilPre *prehasher
	if sum, _ := nilPre.take(stat("kept")); sum != nil {
		t.Error("no prehasher, yet a sum")
	}
}

func sha256Of(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// TestPrehashStartsWritingKeptContent: a file read during the transfer
// starts on its way to the drive when it is likely kept (no stored twin)
// and is the first of its content in the run; a second copy, a file with
// a stored twin, an empty file and one the catalog could not answer for
// do not. The indexer is told what was learned of each file's twins.
func TestPrehashStartsWritingKeptContent(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{"new": "content of its own", "copy": "content of its own", "twin": "stored elsewhere", "empty": "",
		"failing": "catalog error"}
	for n, c := range files {
		must(t, os.WriteFile(filepath.Join(root, n), []byte(c), 0o644))
	}
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	must(t, err)
	defer unix.Close(fd)
	var asked []int64
	p := startPrehash(fd, func(size, mtimeNs int64) (bool, error) {
		asked = append(asked, size) // only the prehasher's goroutine calls it
		if size == int64(len(files["failing"])) {
			return false, errors.New("disk I/O error")
		}
		return size == int64(len(files["twin"])), nil
	})
	if p == nil {
		realfs.Unavailable(t, "this kernel has no openat2 (Linux 5.6)")
	}
	order := []string{"new", "copy", "twin", "empty", "failing"}
	for _, n := range order {
		p.arrived("/" + n)
	}
	p.stop()
	// One content started: which of its two files is what take says.
	if _, ok := p.writing[[32]byte(sha256Of(files["new"]))]; !ok || len(p.writing) != 1 {
		t.Errorf("started writing %d contents, want only that of new and copy", len(p.writing))
	}
	if len(p.sums) != len(files) {
		t.Errorf("%d files hashed, want %d", len(p.sums), len(files))
	}
	// The indexer learns which: it neither asks the catalog about them
	// again nor starts writing them a second time; it asks only where
	// nothing was learned.
	want := map[string]twins{"new": twinsNone, "copy": twinsUnknown, "twin": twinsStored, "empty": twinsUnknown, "failing": twinsUnknown}
	for _, n := range order {
		var st unix.Stat_t
		must(t, unix.Stat(filepath.Join(root, n), &st))
		if sum, known := p.take(&st); sum == nil || known != want[n] {
			t.Errorf("take(%s) = sum %x, twins %d, want %d", n, sum, known, want[n])
		}
	}
	if want := []int64{18, 16, 13}; !slices.Equal(asked, want) {
		t.Errorf("asked about sizes %v, want %v (not again for a copy, never for an empty file)", asked, want)
	}
}
