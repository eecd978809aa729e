package engine

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/internal/realfs"
	"github.com/keepsake/keepsake/service/repo"
	"golang.org/x/sys/unix"
)

// BenchmarkSnapshotStores weighs the two snapshot stores on 20 000 small
// files in 400 folders, each on a loop drive of its filesystem: an
// unchanged backup (a full scan, and with the watcher's journal reporting
// no change) and the prune of one
// snapshot, beside `cp -al` and `rm -rf` of the same tree on ext4, and
// what a backup adds to the drive when a folder of 5 000 of the files
// moves. Run as root with -benchtime=3x.
func BenchmarkSnapshotStores(b *testing.B) {
	realfs.RequireRoot(b, "loop drives")
	f := newFixture(b)
	for i := 0; i < 20000; i++ {
		top := "rest"
		if i%400 < 100 {
			top = "big" // a quarter of the tree, moved by one benchmark
		}
		f.write(fmt.Sprintf("%s/d%03d/f%05d.txt", top, i%400, i), fmt.Sprintf("small file %d\n", i))
	}
	// Inodes for a dozen copies of the tree.
	bigDrive := func(fs string) string {
		var args []string
		if fs == "ext4" {
			args = []string{"-N", "600000"}
		}
		return realfs.NewLoop(b, realfs.LoopOptions{FSType: fs, SizeMB: 1024, MkfsArgs: args}).Mount
	}
	ext4 := bigDrive("ext4")
	base := filepath.Join(ext4, "cp0")
	if out, err := exec.Command("cp", "-a", f.src, base).CombinedOutput(); err != nil {
		b.Fatalf("cp -a: %v %s", err, out)
	}
	b.Run("cp -al on ext4", func(b *testing.B) {
		dir, err := os.MkdirTemp(ext4, "cp-al-")
		if err != nil {
			b.Fatal(err)
		}
		prev := base
		syncDrive(b, ext4)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			next := filepath.Join(dir, fmt.Sprintf("cp%d", i+1))
			if out, err := exec.Command("cp", "-al", prev, next).CombinedOutput(); err != nil {
				b.Fatalf("cp -al: %v %s", err, out)
			}
			syncDrive(b, ext4)
			prev = next
		}
	})
	b.Run("rm -rf on ext4", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			victim := filepath.Join(ext4, "victim")
			if out, err := exec.Command("cp", "-al", base, victim).CombinedOutput(); err != nil {
				b.Fatalf("cp -al: %v %s", err, out)
			}
			syncDrive(b, ext4)
			b.StartTimer()
			if out, err := exec.Command("rm", "-rf", victim).CombinedOutput(); err != nil {
				b.Fatalf("rm -rf: %v %s", err, out)
			}
			syncDrive(b, ext4)
		}
	})
	for _, fs := range []string{"ext4", "btrfs"} {
		drive := bigDrive(fs)
		if err := os.Mkdir(filepath.Join(drive, "Keepsake"), 0o755); err != nil {
			b.Fatal(err)
		}
		r, err := repo.Init(filepath.Join(drive, "Keepsake"))
		if err != nil {
			b.Fatal(err)
		}
		f.repo = r
		f.backup(nil)
		b.Run("unchanged backup on "+fs, func(b *testing.B) {
			var grew int64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				before := usedBytes(b, drive, fs)
				b.StartTimer()
				f.backup(nil)
				b.StopTimer()
				grew += usedBytes(b, drive, fs) - before
				b.StartTimer()
			}
			b.ReportMetric(float64(grew)/float64(b.N), "new-bytes/op")
		})
		b.Run("unchanged backup with the journal on "+fs, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				f.backup(func(o *BackupOptions) { o.ChangedDirs = []string{} })
			}
		})
		b.Run("moved folder on "+fs, func(b *testing.B) {
			// A folder of 5 000 files moves (and back, and again): what
			// each backup adds to the drive.
			var grew int64
			for i := 0; i < b.N; i++ {
				from, to := f.path("big"), f.path("moved")
				if _, err := os.Stat(from); err != nil {
					from, to = to, from
				}
				if err := os.Rename(from, to); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				before := usedBytes(b, drive, fs)
				b.StartTimer()
				f.backup(nil)
				b.StopTimer()
				grew += usedBytes(b, drive, fs) - before
				b.StartTimer()
			}
			b.ReportMetric(float64(grew)/float64(b.N), "new-bytes/op")
		})
		b.Run("prune one snapshot on "+fs, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				f.backup(nil)
				c, err := catalog.Open(r.CatalogPath())
				if err != nil {
					b.Fatal(err)
				}
				snaps, err := c.Snapshots("testhost")
				if err != nil {
					b.Fatal(err)
				}
				syncDrive(b, drive)
				b.StartTimer()
				err = remove(context.Background(), r, c, snaps[:1], map[int64]string{}, PruneOptions{Actor: catalog.CurrentActor()}, &PruneResult{})
				syncDrive(b, drive)
				c.Close()
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// usedBytes is the space used on the drive at dir, data and metadata (on
// btrfs, as `btrfs filesystem df` counts it: statfs there leaves out
// metadata written into chunks already allocated).
func usedBytes(b *testing.B, dir, fs string) int64 {
	syncDrive(b, dir)
	if fs != "btrfs" {
		var st unix.Statfs_t
		if err := unix.Statfs(dir, &st); err != nil {
			b.Fatal(err)
		}
		return int64(st.Blocks-st.Bfree) * st.Bsize
	}
	if err := exec.Command("btrfs", "filesystem", "sync", dir).Run(); err != nil {
		b.Fatal(err)
	}
	out, err := exec.Command("btrfs", "filesystem", "df", "-b", dir).Output()
	if err != nil {
		b.Fatal(err)
	}
	var total int64
	for _, line := range strings.Split(string(out), "\n") {
		if i := strings.Index(line, "used="); i >= 0 {
			n, err := strconv.ParseInt(strings.Fields(line[i+5:])[0], 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			total += n
		}
	}
	return total
}

func syncDrive(b *testing.B, dir string) {
	if err := syncFS(dir); err != nil {
		b.Fatal(err)
	}
}
