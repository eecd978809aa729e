package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/catalog"
)

// progressTree writes a few thousand small files in 40 folders, a few
// bigger ones, symlinks, a second name of a file, an empty folder, a
// folder tagged as a cache, and what the exclusions of the tests name.
func progressTree(f *fixture) {
	f.t.Helper()
	for i := 0; i < 2400; i++ {
		f.write(fmt.Sprintf("small/d%02d/f%04d.txt", i%40, i), strings.Repeat("x", i%1500))
	}
	for i := 0; i < 4; i++ {
		f.write(fmt.Sprintf("big/blob%d", i), strings.Repeat(string(rune('a'+i)), (i+1)<<20))
	}
	f.write("logs/today.log", strings.Repeat("log line\n", 500))
	f.write("skipme/inside.txt", "left out with skipme/")
	f.write("cache/CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc55\n")
	f.write("cache/data.bin", strings.Repeat("c", 100000))
	for _, err := range []error{
		os.Symlink("small/d00", f.path("link-to-dir")),
		os.Symlink("nowhere", f.path("dangling")),
		os.Link(f.path("big/blob0"), f.path("second-name")),
		os.Mkdir(f.path("empty"), 0o755),
	} {
		if err != nil {
			f.t.Fatal(err)
		}
	}
}

// treeCount is what a backup of src handles, found independently of the
// engine: every entry below src and src itself, less what skip leaves
// out, plus the folders above src (each one entry of the snapshot); bytes
// are those of regular files.
func treeCount(t *testing.T, src string, skip func(path string, d fs.DirEntry) bool) workCount {
	t.Helper()
	var n workCount
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if skip != nil && skip(p, d) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		n.files++
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n.bytes += fi.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for p := filepath.Dir(src); p != "/"; p = filepath.Dir(p) {
		n.files++
	}
	return n
}

// cacheTagged is the one exclusion every backup makes.
func cacheTagged(p string, d fs.DirEntry) bool {
	_, err := os.Stat(filepath.Join(p, "CACHEDIR.TAG"))
	return d.IsDir() && err == nil
}

// stamps are the mtime and ctime of every entry below root.
func stamps(t *testing.T, root string) map[string][2]int64 {
	t.Helper()
	out := map[string][2]int64{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st := statOf(fi)
		out[p] = [2]int64{st.Mtim.Nano(), st.Ctim.Nano()}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A local backup counts its work while it starts: once counted, its
// reports carry the tree's real totals, whatever the previous snapshot
// held, and their fraction only grows, to about 1 at the end. Backing up
// only changed folders keeps the previous snapshot's totals, which the
// linked folders count toward, until the run outgrows them.
func TestProgressTotalsCounted(t *testing.T) {
	cases := []struct {
		name     string
		excludes []string
		// before runs before the tree is written, after after it; either
		// may make a previous snapshot.
		before, after func(f *fixture)
		changedDirs   func(f *fixture) []string
		skip          func(p string, d fs.DirEntry) bool
		// counted: the totals are counted; otherwise they stay those of
		// the previous snapshot.
		counted bool
	}{
		{
			name:    "first backup",
			skip:    cacheTagged,
			counted: true,
		},
		{
			name:     "first backup with exclusions",
			excludes: []string{"*.log", "skipme/", "/**/small/d1*/"},
			skip: func(p string, d fs.DirEntry) bool {
				return cacheTagged(p, d) || strings.HasSuffix(p, ".log") || d.IsDir() && d.Name() == "skipme" ||
					d.IsDir() && strings.HasPrefix(d.Name(), "d1") && filepath.Base(filepath.Dir(p)) == "small"
			},
			counted: true,
		},
		{
			name: "the tree outgrew the previous snapshot",
			before: func(f *fixture) {
				f.write("small/d00/seed.txt", "before")
				f.backup(nil)
			},
			skip:    cacheTagged,
			counted: true,
		},
		{
			name: "changed folders after a snapshot",
			after: func(f *fixture) {
				f.backup(nil)
				// Rewritten, the same size: an added file would outgrow
				// the estimate, and the fraction would rightly go unknown.
				f.write("small/d03/f0003.txt", strings.Repeat("y", 3))
			},
			changedDirs: func(f *fixture) []string { return []string{f.path("small/d03")} },
			counted:     false,
		},
		{
			// A day's new files after a small first backup, as keepsaked's
			// watcher reports them: the estimate runs out at once, and the
			// count gives the bar its fraction back.
			name: "changed folders that outgrew the previous snapshot",
			before: func(f *fixture) {
				f.write("small/d00/seed.txt", "before")
				f.backup(nil)
			},
			changedDirs: func(f *fixture) []string { return []string{f.src, f.path("small"), f.path("small/d00")} },
			skip:        cacheTagged,
			counted:     true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			var prev catalog.Snapshot
			if tc.before != nil {
				tc.before(f)
			}
			progressTree(f)
			if tc.after != nil {
				tc.after(f)
			}
			if tc.before != nil || tc.after != nil {
				snaps, err := f.catalog().Snapshots("testhost")
				if err != nil || len(snaps) == 0 {
					t.Fatalf("previous snapshots %v, %v", snaps, err)
				}
				prev = snaps[len(snaps)-1]
			}
			var mu sync.Mutex
			var reports []Progress
			res := f.backup(func(o *BackupOptions) {
				o.Excludes = tc.excludes
				o.ProgressInterval = time.Millisecond
				o.Progress = func(p Progress) {
					mu.Lock()
					reports = append(reports, p)
					mu.Unlock()
				}
				if tc.changedDirs != nil {
					o.ChangedDirs = tc.changedDirs(f)
				}
			})
			mu.Lock()
			defer mu.Unlock()
			if len(reports) < 2 {
				t.Fatalf("%d progress reports", len(reports))
			}
			last := reports[len(reports)-1]
			if last.Phase != "finishing" {
				t.Fatalf("last report in phase %q", last.Phase)
			}
			if !tc.counted {
				lastFrac := 0.0
				for i, p := range reports {
					if p.TotalsCounted || p.TotalFiles != prev.Files+prev.Dirs || p.TotalBytes != prev.Bytes {
						t.Fatalf("report %d has totals %d files %d bytes (counted %v), want the previous snapshot's %d and %d",
							i, p.TotalFiles, p.TotalBytes, p.TotalsCounted, prev.Files+prev.Dirs, prev.Bytes)
					}
					if fr := p.Fraction(); fr < lastFrac {
						t.Fatalf("report %d: fraction %.4f after %.4f", i, fr, lastFrac)
					}
					lastFrac = p.Fraction()
				}
				if fr := last.Fraction(); fr < 0.99 {
					t.Errorf("last fraction %.3f (%d/%d files, %d/%d bytes), want about 1", fr, last.Files, last.TotalFiles, last.DoneBytes(), last.TotalBytes)
				}
				return
			}
			want := treeCount(t, f.src, tc.skip)
			if got := (workCount{res.Files + res.Dirs, res.Bytes}); got != want {
				t.Fatalf("the backup holds %+v, the tree has %+v: the test's count is wrong", got, want)
			}
			first := -1
			lastFrac := -1.0
			for i, p := range reports {
				if !p.TotalsCounted {
					if first >= 0 {
						t.Fatalf("report %d is an estimate after report %d was counted", i, first)
					}
					if p.TotalFiles != prev.Files+prev.Dirs || p.TotalBytes != prev.Bytes {
						t.Fatalf("report %d estimates %d files %d bytes, want the previous snapshot's", i, p.TotalFiles, p.TotalBytes)
					}
					continue
				}
				if first < 0 {
					first = i
				}
				if got := (workCount{p.TotalFiles, p.TotalBytes}); got != want {
					t.Fatalf("report %d counts %+v, want %+v", i, got, want)
				}
				fr := p.Fraction()
				if fr < lastFrac || fr < 0 || fr >= 1 {
					t.Fatalf("report %d: fraction %.4f after %.4f", i, fr, lastFrac)
				}
				lastFrac = fr
			}
			if first < 0 {
				t.Fatalf("none of %d reports has counted totals", len(reports))
			}
			if fr := reports[first].Fraction(); fr > 0.9 {
				t.Errorf("the count came at %.2f of the run, want early", fr)
			}
			if lastFrac < 0.99 {
				t.Errorf("last fraction %.4f (%d/%d files, %d/%d bytes), want about 1", lastFrac, last.Files, last.TotalFiles, last.DoneBytes(), last.TotalBytes)
			}
		})
	}
}

// The count only looks: no time of anything in the source moves, and it
// stops when the backup is cancelled.
func TestCountOnlyLooks(t *testing.T) {
	f := newFixture(t)
	progressTree(f)
	opts := BackupOptions{Host: "testhost", Sources: []string{f.src}, NoDefaultExcludes: true, Progress: func(Progress) {}}
	b, err := newBackup(f.repo, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	before := stamps(t, f.src)
	time.Sleep(20 * time.Millisecond) // a write now would show in the stamps
	n, err := b.count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := treeCount(t, f.src, cacheTagged); n != want {
		t.Errorf("counted %+v, want %+v", n, want)
	}
	after := stamps(t, f.src)
	if len(after) != len(before) {
		t.Fatalf("%d entries after the count, %d before", len(after), len(before))
	}
	for p, s := range before {
		if after[p] != s {
			t.Errorf("%s: mtime and ctime %v after the count, %v before", p, after[p], s)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.count(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("count after a cancel: %v, want context.Canceled", err)
	}
}

// Fraction, Left and Totals are what the bar and the Job show.
func TestProgressFraction(t *testing.T) {
	const k = entryCost
	minute := float64(time.Minute) // not a constant: the time left is rounded
	cases := []struct {
		name      string
		p         Progress
		want      float64
		wantLeft  time.Duration
		wantFiles int64
		wantBytes int64
	}{
		{name: "no totals", p: Progress{Files: 10, Bytes: 100, Elapsed: 5 * time.Second}, want: -1},
		{name: "first report", p: Progress{TotalFiles: 10, TotalBytes: 10 * k, TotalsCounted: true}, want: 0,
			wantFiles: 10, wantBytes: 10 * k},
		{name: "half the bytes and half the files", p: Progress{Files: 5, Bytes: 5 * k, TotalFiles: 10, TotalBytes: 10 * k,
			TotalsCounted: true, Elapsed: 10 * time.Second}, want: 0.5, wantLeft: 10 * time.Second, wantFiles: 10, wantBytes: 10 * k},
		{name: "copied bytes run ahead of recorded ones", p: Progress{Files: 0, Bytes: 0, CopiedBytes: 15 * k, TotalFiles: 10,
			TotalBytes: 20 * k, TotalsCounted: true, Elapsed: 3 * time.Second}, want: 0.5, wantLeft: 3 * time.Second, wantFiles: 10, wantBytes: 20 * k},
		{name: "many small files move the bar", p: Progress{Files: 10000, Bytes: 1 << 20, TotalFiles: 20000, TotalBytes: 2 << 20,
			TotalsCounted: true, Elapsed: 4 * time.Second}, want: 0.5, wantLeft: 4 * time.Second, wantFiles: 20000, wantBytes: 2 << 20},
		{name: "one big file weighs its size", p: Progress{Files: 99, Bytes: 99 * k, TotalFiles: 100, TotalBytes: 99*k + 100*k*100,
			TotalsCounted: true, Elapsed: 2 * time.Second}, want: 198.0 / 10199, wantLeft: 2 * time.Second * 10001 / 198,
			wantFiles: 100, wantBytes: 99*k + 100*k*100},
		{name: "counted total outgrown stays below 1", p: Progress{Files: 12, Bytes: 12 * k, TotalFiles: 10, TotalBytes: 10 * k,
			TotalsCounted: true, Elapsed: time.Minute}, want: maxFraction, wantLeft: time.Duration(minute * (1 - maxFraction) / maxFraction),
			wantFiles: 10, wantBytes: 10 * k},
		{name: "estimate followed", p: Progress{Files: 5, Bytes: 5 * k, TotalFiles: 10, TotalBytes: 10 * k, Elapsed: 10 * time.Second},
			want: 0.5, wantLeft: 10 * time.Second, wantFiles: 10, wantBytes: 10 * k},
		{name: "estimate outgrown in bytes", p: Progress{Files: 5, Bytes: 11 * k, TotalFiles: 10, TotalBytes: 10 * k, Elapsed: 10 * time.Second},
			want: -1, wantFiles: 10},
		{name: "estimate outgrown in files", p: Progress{Files: 11, Bytes: 5 * k, TotalFiles: 10, TotalBytes: 10 * k, Elapsed: 10 * time.Second},
			want: -1, wantBytes: 10 * k},
		{name: "too early for the time left", p: Progress{Files: 5, Bytes: 5 * k, TotalFiles: 10, TotalBytes: 10 * k, TotalsCounted: true,
			Elapsed: 500 * time.Millisecond}, want: 0.5, wantFiles: 10, wantBytes: 10 * k},
		{name: "a prune's count of snapshots", p: Progress{Files: 1, TotalFiles: 4, TotalsCounted: true, Elapsed: 2 * time.Second},
			want: 0.25, wantLeft: 6 * time.Second, wantFiles: 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.Fraction(); !near(got, tc.want) {
				t.Errorf("Fraction = %.5f, want %.5f", got, tc.want)
			}
			if got := tc.p.Left(); (got - tc.wantLeft).Abs() > time.Millisecond {
				t.Errorf("Left = %v, want %v", got, tc.wantLeft)
			}
			if files, bytes := tc.p.Totals(); files != tc.wantFiles || bytes != tc.wantBytes {
				t.Errorf("Totals = %d, %d, want %d, %d", files, bytes, tc.wantFiles, tc.wantBytes)
			}
		})
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
