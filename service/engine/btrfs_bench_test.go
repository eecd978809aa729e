package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/internal/realfs"
	"github.com/keepsake/keepsake/service/repo"
	"golang.org/x/sys/unix"
)

// BenchmarkSnapshotStores weighs the two snapshot stores, each on a loop
// drive of its filesystem, on KEEPSAKE_BENCH_FILES small files (20 000
// unless set; the figures are for 200 000), 50 to a folder: the
// first backup, an unchanged backup (a full scan, and with the watcher's
// journal reporting no change), a backup of 1 % mutated with the journal
// naming the changed entries, what a backup adds to the drive when a
// quarter of the tree moves, and the prune of one snapshot; beside
// `cp -al` and `rm -rf` of the same tree on ext4, in the same run. The
// x-cp-al, x-rm-rf and x-ext4 metrics are the ratios the targets are in.
// Run as root with -benchtime=3x.
func BenchmarkSnapshotStores(b *testing.B) {
	realfs.RequireRoot(b, "loop drives")
	n := 20000
	if v := os.Getenv("KEEPSAKE_BENCH_FILES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1000 {
			b.Fatalf("KEEPSAKE_BENCH_FILES=%q: want a number of files, at least 1000", v)
		}
	}
	f := newFixture(b)
	folders := n / 50
	var all []string
	for i := 0; i < n; i++ {
		top := "rest"
		if i%folders < folders/4 {
			top = "big" // a quarter of the tree, moved by one benchmark
		}
		rel := fmt.Sprintf("%s/d%05d/f%07d.txt", top, i%folders, i)
		f.write(rel, fmt.Sprintf("small file %d\n", i))
		all = append(all, rel)
	}
	// Space and inodes for a dozen copies of the tree and a few first
	// backups (an ext4 block per small file).
	sizeMB := max(1024, n/1000*60)
	bigDrive := func(fs string) string {
		var args []string
		if fs == "ext4" {
			args = []string{"-N", strconv.Itoa(max(600000, n*8))}
		}
		return realfs.NewLoop(b, realfs.LoopOptions{FSType: fs, SizeMB: sizeMB, MkfsArgs: args}).Mount
	}
	// perOp is each figure's time per operation, for the ratios.
	perOp := map[string]time.Duration{}
	took := func(b *testing.B, name string) time.Duration {
		d := b.Elapsed() / time.Duration(b.N)
		perOp[name] = d
		return d
	}
	ratio := func(b *testing.B, d time.Duration, base, unit string) {
		if perOp[base] > 0 {
			b.ReportMetric(float64(d)/float64(perOp[base]), unit)
		}
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
		b.StopTimer()
		took(b, "cp -al")
		if out, err := exec.Command("rm", "-rf", dir).CombinedOutput(); err != nil {
			b.Fatalf("rm -rf: %v %s", err, out)
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
		took(b, "rm -rf")
	})
	drives := map[string]string{}
	// The first backups of both, of the same tree, before any change.
	for _, fs := range []string{"ext4", "btrfs"} {
		drive := bigDrive(fs)
		drives[fs] = drive
		b.Run("first backup on "+fs, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				root := filepath.Join(drive, fmt.Sprintf("first%d", i))
				if err := os.Mkdir(root, 0o755); err != nil {
					b.Fatal(err)
				}
				r, err := repo.Init(root)
				if err != nil {
					b.Fatal(err)
				}
				f.repo = r
				syncDrive(b, drive)
				b.StartTimer()
				res := f.backup(nil)
				b.StopTimer()
				if err := storeFor(r).remove(r.SnapshotDir("testhost", res.Snapshot)); err != nil {
					b.Fatal(err)
				}
				if err := os.RemoveAll(root); err != nil {
					b.Fatal(err)
				}
				// The kernel cleans a deleted subvolume up after the
				// deletion returns: not during the next timed run.
				if err := storeFor(r).settle(drive); err != nil {
					b.Fatal(err)
				}
				syncDrive(b, drive)
				b.StartTimer()
			}
			b.StopTimer()
			ratio(b, took(b, "first on "+fs), "first on ext4", "x-ext4")
		})
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, fs := range []string{"ext4", "btrfs"} {
		drive := drives[fs]
		if _, err := os.Stat(f.path("moved")); err == nil {
			// Where the other filesystem's moved-folder run left it.
			if err := os.Rename(f.path("moved"), f.path("big")); err != nil {
				b.Fatal(err)
			}
		}
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
			b.StopTimer()
			b.ReportMetric(float64(grew)/float64(b.N), "new-bytes/op")
			ratio(b, took(b, "unchanged on "+fs), "cp -al", "x-cp-al")
		})
		b.Run("unchanged backup with the journal on "+fs, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				f.backup(func(o *BackupOptions) { o.ChangedDirs = []string{} })
			}
			b.StopTimer()
			ratio(b, took(b, "journal on "+fs), "cp -al", "x-cp-al")
		})
		b.Run("1% mutated with the journal on "+fs, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				var changed []string
				all, changed = mutate(b, f, all, rng)
				b.StartTimer()
				// What the watcher reports: the names that changed.
				f.backup(func(o *BackupOptions) { o.ChangedDirs, o.ChangedNames = []string{}, changed })
			}
			b.StopTimer()
			ratio(b, took(b, "mutated on "+fs), "cp -al", "x-cp-al")
		})
		b.Run("moved folder on "+fs, func(b *testing.B) {
			// A quarter of the tree moves (and back, and again): what
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
			b.StopTimer()
			ratio(b, took(b, "prune on "+fs), "rm -rf", "x-rm-rf")
		})
	}
}

// mutate changes the tree as the shared corpus's "mutate --pct 1" does:
// 1 % of the files modified, as many added, deleted and renamed (each in
// its folder), picked at random. It returns the files now and the paths
// a watcher would report changed.
func mutate(b *testing.B, f *fixture, files []string, rng *rand.Rand) (now, changed []string) {
	k := max(1, len(files)/100)
	rng.Shuffle(len(files), func(i, j int) { files[i], files[j] = files[j], files[i] })
	now = append([]string(nil), files[4*k:]...)
	for i, rel := range files[:4*k] {
		changed = append(changed, f.path(rel))
		switch i / k {
		case 0: // modified
			fh, err := os.OpenFile(f.path(rel), os.O_APPEND|os.O_WRONLY, 0)
			if err == nil {
				_, err = fmt.Fprintf(fh, "more %d\n", rng.Int())
				fh.Close()
			}
			if err != nil {
				b.Fatal(err)
			}
			now = append(now, rel)
		case 1: // and a new file beside it
			added := fmt.Sprintf("%s.new%d", rel, rng.Int())
			f.write(added, "new\n")
			now = append(now, rel, added)
			changed = append(changed, f.path(added))
		case 2: // deleted
			if err := os.Remove(f.path(rel)); err != nil {
				b.Fatal(err)
			}
		case 3: // renamed
			to := fmt.Sprintf("%s/renamed%d.txt", filepath.Dir(rel), rng.Int())
			if err := os.Rename(f.path(rel), f.path(to)); err != nil {
				b.Fatal(err)
			}
			now = append(now, to)
			changed = append(changed, f.path(to))
		}
	}
	return now, changed
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
