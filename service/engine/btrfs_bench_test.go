package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/btrfs"
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
// `cp -al` and `rm -rf` of the same tree on ext4, and `cp -a` of it onto
// each filesystem (the first backup's floor), in the same run. The
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
		// The filesystem's own share of a first backup: the tree copied
		// with `cp -a` onto each (its x-ext4 is what btrfs costs any
		// copy, the floor of the first backup's).
		b.Run("cp -a onto "+fs, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				dst := filepath.Join(drive, fmt.Sprintf("cp-a%d", i))
				syncDrive(b, drive)
				b.StartTimer()
				if out, err := exec.Command("cp", "-a", f.src, dst).CombinedOutput(); err != nil {
					b.Fatalf("cp -a: %v %s", err, out)
				}
				syncDrive(b, drive)
				b.StopTimer()
				if err := os.RemoveAll(dst); err != nil {
					b.Fatal(err)
				}
				syncDrive(b, drive)
				b.StartTimer()
			}
			b.StopTimer()
			ratio(b, took(b, "cp -a onto "+fs), "cp -a onto ext4", "x-ext4")
		})
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
			defer profileCPU(b, "unchanged-"+fs)()
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
		if fs == "btrfs" {
			b.Run("1% mutated, applied by hand on btrfs", func(b *testing.B) {
				// The floor under the next figure: the same kind of
				// changes, applied to a snapshot of the latest snapshot
				// with plain system calls (each changed name removed
				// and, if the source has it, written again), no catalog,
				// then the drive synced. What the kernel needs for the
				// changes whatever the program.
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					var changed []string
					all, changed = mutate(b, f, all, rng)
					latest, dst := f.repo.SnapshotDir("testhost", "latest"), filepath.Join(drive, "by-hand")
					syncDrive(b, drive)
					b.StartTimer()
					writableSnapshot(b, latest, dst)
					applyByHand(b, dst, changed)
					syncDrive(b, drive)
					b.StopTimer()
					if err := storeFor(r).remove(dst); err != nil {
						b.Fatal(err)
					}
					if err := storeFor(r).settle(drive); err != nil {
						b.Fatal(err)
					}
					// The snapshots follow the source for the next runs.
					f.backup(func(o *BackupOptions) { o.ChangedDirs, o.ChangedNames = []string{}, changed })
					b.StartTimer()
				}
				b.StopTimer()
				ratio(b, took(b, "by hand on btrfs"), "cp -al", "x-cp-al")
			})
		}
		b.Run("1% mutated with the journal on "+fs, func(b *testing.B) {
			defer profileCPU(b, "mutated-"+fs)()
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
			if fs == "btrfs" {
				ratio(b, perOp["mutated on btrfs"], "by hand on btrfs", "x-by-hand")
			}
		})
		if fs == "btrfs" {
			b.Run("moved folder, by hand on btrfs", func(b *testing.B) {
				// The floor under the next figure: a snapshot of the
				// latest snapshot with the quarter renamed in it by one
				// rename(2), made read-only, no catalog. What the first
				// change to a snapshot that shares every tree block with
				// the one before costs btrfs.
				var grew int64
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					dst := filepath.Join(drive, "by-hand")
					before := usedBytes(b, drive, fs)
					b.StartTimer()
					writableSnapshot(b, f.repo.SnapshotDir("testhost", "latest"), dst)
					from, to := dst+f.path("big"), dst+f.path("moved")
					if _, err := os.Stat(from); err != nil {
						from, to = to, from
					}
					if err := os.Rename(from, to); err != nil {
						b.Fatal(err)
					}
					fd, err := unix.Open(dst, unix.O_RDONLY|unix.O_DIRECTORY, 0)
					if err == nil {
						err = btrfs.SetReadOnly(fd, true)
						unix.Close(fd)
					}
					if err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					grew += usedBytes(b, drive, fs) - before
					if err := storeFor(r).remove(dst); err != nil {
						b.Fatal(err)
					}
					if err := storeFor(r).settle(drive); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				b.ReportMetric(float64(grew)/float64(b.N), "new-bytes/op")
			})
		}
		// Go runs each figure once before its timed runs and keeps only
		// the latter's metrics: the first move of the quarter (new folder
		// paths in the catalog) and the prune of the first backup are
		// noted in that run and reported beside them as first-….
		first := map[string]float64{}
		once := func(name string, v float64) {
			if _, ok := first[name]; !ok {
				first[name] = v
			}
		}
		b.Run("moved folder on "+fs, func(b *testing.B) {
			// A quarter of the tree moves (and back, and again): what
			// each backup adds to the drive.
			var grew, catalogGrew int64
			for i := 0; i < b.N; i++ {
				from, to := f.path("big"), f.path("moved")
				if _, err := os.Stat(from); err != nil {
					from, to = to, from
				}
				if err := os.Rename(from, to); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				before, catalogBefore := usedBytes(b, drive, fs), catalogBytes(b, r)
				b.StartTimer()
				f.backup(nil)
				b.StopTimer()
				g, cg := usedBytes(b, drive, fs)-before, catalogBytes(b, r)-catalogBefore
				once("new-bytes", float64(g))
				once("catalog-bytes", float64(cg))
				grew += g
				catalogGrew += cg
				b.StartTimer()
			}
			b.ReportMetric(float64(grew)/float64(b.N), "new-bytes/op")
			// How much of it is the catalog's files growing.
			b.ReportMetric(float64(catalogGrew)/float64(b.N), "catalog-bytes/op")
			b.ReportMetric(first["new-bytes"], "first-new-bytes")
			b.ReportMetric(first["catalog-bytes"], "first-catalog-bytes")
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
				start := time.Now()
				err = remove(context.Background(), r, c, snaps[:1], map[int64]string{}, PruneOptions{Actor: catalog.CurrentActor()}, &PruneResult{})
				syncDrive(b, drive)
				once("prune", float64(time.Since(start)))
				c.Close()
				if err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			ratio(b, took(b, "prune on "+fs), "rm -rf", "x-rm-rf")
			// The first backup's snapshot, pruned first (on btrfs its
			// deletion takes longer than a later snapshot's).
			b.ReportMetric(first["prune"]/float64(perOp["rm -rf"]), "first-x-rm-rf")
		})
	}
}

// profileCPU writes a CPU profile of a figure's runs to
// $KEEPSAKE_BENCH_CPUPROFILE/NAME.pprof when that is set (go test's own
// -cpuprofile would take in the corpus and the other figures too), and an
// execution trace to $KEEPSAKE_BENCH_TRACE/NAME.trace (where the run
// waits: `go tool trace -pprof=sync`). The returned func ends them.
func profileCPU(b *testing.B, name string) func() {
	var stops []func()
	create := func(env, ext string) *os.File {
		dir := os.Getenv(env)
		if dir == "" {
			return nil
		}
		out, err := os.Create(filepath.Join(dir, name+ext))
		if err != nil {
			b.Fatal(err)
		}
		stops = append(stops, func() {
			if err := out.Close(); err != nil {
				b.Fatal(err)
			}
		})
		return out
	}
	if out := create("KEEPSAKE_BENCH_CPUPROFILE", ".pprof"); out != nil {
		if err := pprof.StartCPUProfile(out); err != nil {
			b.Fatal(err)
		}
		stops = append([]func(){pprof.StopCPUProfile}, stops...)
	}
	if out := create("KEEPSAKE_BENCH_TRACE", ".trace"); out != nil {
		if err := trace.Start(out); err != nil {
			b.Fatal(err)
		}
		stops = append([]func(){trace.Stop}, stops...)
	}
	return func() {
		for _, stop := range stops {
			stop()
		}
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

// writableSnapshot snapshots the snapshot at latest to a writable
// subvolume at dst.
func writableSnapshot(b *testing.B, latest, dst string) {
	src, err := unix.Open(latest, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Close(src)
	dir, err := unix.Open(filepath.Dir(dst), unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Close(dir)
	if err := btrfs.Snapshot(src, dir, filepath.Base(dst), false); err != nil {
		b.Fatal(err)
	}
}

// applyByHand applies the changed source paths to the snapshot dst:
// each name removed and, where the source has a file, written again with
// its content.
func applyByHand(b *testing.B, dst string, changed []string) {
	for _, p := range changed {
		to := dst + p
		if err := os.Remove(to); err != nil && !os.IsNotExist(err) {
			b.Fatal(err)
		}
		data, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			continue
		}
		if err == nil {
			err = os.WriteFile(to, data, 0o644)
		}
		if err != nil {
			b.Fatal(err)
		}
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
	return realfs.BtrfsUsed(b, dir)
}

// catalogBytes is the space the catalog's files take (the database and
// its write-ahead log).
func catalogBytes(b *testing.B, r *repo.Repo) int64 {
	var total int64
	for _, p := range []string{r.CatalogPath(), r.CatalogPath() + "-wal"} {
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err == nil {
			total += st.Blocks * 512
		} else if !os.IsNotExist(err) {
			b.Fatal(err)
		}
	}
	return total
}

func syncDrive(b *testing.B, dir string) {
	if err := syncFS(dir); err != nil {
		b.Fatal(err)
	}
}
