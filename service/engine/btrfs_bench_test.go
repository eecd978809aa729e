package engine

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/internal/realfs"
	"github.com/keepsake/keepsake/service/repo"
)

// BenchmarkSnapshotStores weighs the two snapshot stores on 20 000 small
// files in 400 folders, each on a loop drive of its filesystem: an
// unchanged backup (a full scan, no journal) and the prune of one
// snapshot, beside `cp -al` and `rm -rf` of the same tree on ext4. Run as
// root with -benchtime=3x.
func BenchmarkSnapshotStores(b *testing.B) {
	realfs.RequireRoot(b, "loop drives")
	f := newFixture(b)
	for i := 0; i < 20000; i++ {
		f.write(fmt.Sprintf("d%03d/f%05d.txt", i%400, i), fmt.Sprintf("small file %d\n", i))
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
			for i := 0; i < b.N; i++ {
				f.backup(nil)
			}
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

func syncDrive(b *testing.B, dir string) {
	if err := syncFS(dir); err != nil {
		b.Fatal(err)
	}
}
