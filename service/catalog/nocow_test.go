package catalog

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/keepsake/keepsake/service/btrfs"
	"github.com/keepsake/keepsake/service/internal/realfs"
	"golang.org/x/sys/unix"
)

// On btrfs the catalog's database and its write-ahead log are files
// without copy-on-write, made so when first created (the log at each
// first open), with SQLite's own modes (the log the database's mode and
// owner); the catalog works as anywhere else, and a catalog elsewhere
// is left as SQLite makes it.
func TestCatalogFilesRewrittenInPlace(t *testing.T) {
	for _, fs := range []string{"btrfs", "ext4"} {
		t.Run(fs, func(t *testing.T) {
			drive := realfs.NewLoop(t, realfs.LoopOptions{FSType: fs, SizeMB: 200})
			p := filepath.Join(drive.Mount, "catalog.db")
			check := func(when string) {
				t.Helper()
				db, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range []string{p, p + "-wal"} {
					fi, err := os.Stat(f)
					if err != nil {
						t.Fatalf("%s: %v", when, err)
					}
					if fi.Mode() != db.Mode() || fi.Sys().(*syscall.Stat_t).Uid != db.Sys().(*syscall.Stat_t).Uid {
						t.Errorf("%s: %s has mode %v, the database %v", when, filepath.Base(f), fi.Mode(), db.Mode())
					}
					fd, err := unix.Open(f, unix.O_RDONLY|unix.O_CLOEXEC, 0)
					if err != nil {
						t.Fatal(err)
					}
					nocow, err := btrfs.NoCOW(fd)
					unix.Close(fd)
					if fs == "btrfs" && (err != nil || !nocow) {
						t.Errorf("%s: %s copy-on-write off %v (%v), want off", when, filepath.Base(f), nocow, err)
					}
					if fs != "btrfs" && nocow {
						t.Errorf("%s: %s has the btrfs flag on %s", when, filepath.Base(f), fs)
					}
				}
			}
			// A umask that SQLite's 0644 and ours both follow.
			old := unix.Umask(0o027)
			c, err := Open(p)
			unix.Umask(old)
			if err != nil {
				t.Fatal(err)
			}
			snapshot(t, c, "s1", map[string]int64{"a": 1, "b": 2})
			check("created")
			c.Close()
			if _, err := os.Stat(p + "-wal"); !os.IsNotExist(err) {
				t.Fatalf("the log outlived the last close (%v): the reopen below would test nothing", err)
			}
			if c, err = Open(p); err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			snapshot(t, c, "s2", map[string]int64{"a": 1, "c": 3})
			check("opened again")
			snaps, err := c.Snapshots("h")
			if err != nil || len(snaps) != 2 {
				t.Fatalf("snapshots %v, %v", snaps, err)
			}
		})
	}
}
