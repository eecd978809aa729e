package engine

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/internal/realfs"
	"github.com/keepsake/keepsake/service/repo"
)

// BenchmarkPullIndex weighs Keepsake's own share of pulling two other
// computers onto an ext4 loop drive, as build-aux/bench-remote.sh pulls
// them: A, a corpus of KEEPSAKE_BENCH_FILES files (10 000 unless set,
// 200 MiB), then B, every second file of A's and as many of its own. The
// transfer is a local rsync run with the timer stopped, and it names
// nothing as it arrives, so what is timed is everything else: the walk,
// hashing every file, linking B's copies of A's files to A's, the
// catalog and the commit. KEEPSAKE_BENCH_CPUPROFILE=DIR writes its CPU
// profile to DIR/pull-index.pprof. Run as root (the loop drive).
func BenchmarkPullIndex(b *testing.B) {
	realfs.RequireRoot(b, "a loop drive")
	n, mb := 10000, 200
	if v := os.Getenv("KEEPSAKE_BENCH_FILES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 100 {
			b.Fatalf("KEEPSAKE_BENCH_FILES=%q: want a number of files, at least 100", v)
		}
		mb = max(1, n/50)
	}
	corpus, err := filepath.Abs("../../../shared/bench/corpus.py")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := os.Stat(corpus); err != nil {
		b.Skipf("no benchmark corpus maker beside the project: %v", err)
	}
	work := b.TempDir()
	a, bee := filepath.Join(work, "a", "home"), filepath.Join(work, "b", "home")
	run := func(name string, args ...string) {
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			b.Fatalf("%s %v: %v %s", name, args, err, out)
		}
	}
	run("python3", corpus, "make", a, "--files", strconv.Itoa(n), "--mb", strconv.Itoa(mb))
	// B: every second file of A's, copied with their times, and its own.
	run("sh", "-c", `cd "$1" && find . -type f -print0 | sort -z | awk 'BEGIN {RS = ORS = "\0"} NR % 2 == 1' |
		xargs -0 cp -a --parents -t "$2"`, "sh", a, mustMkdir(b, bee))
	run("python3", corpus, "make", filepath.Join(bee, "own"), "--files", strconv.Itoa(n/2), "--mb", strconv.Itoa(mb/2), "--seed", "2")
	drive := realfs.NewLoop(b, realfs.LoopOptions{FSType: "ext4", SizeMB: max(1024, mb*8)}).Mount
	fetch := func(src string) Fetch {
		return func(ctx context.Context, req FetchRequest) ([]Warning, error) {
			b.StopTimer()
			defer b.StartTimer()
			args := []string{"-aHAX", "--numeric-ids", "--relative", "--no-D", "--modify-window=-1", src, req.Dest + "/"}
			if req.LinkDest != "" {
				args = append([]string{"--link-dest=" + req.LinkDest}, args...)
			}
			if out, err := exec.CommandContext(ctx, "rsync", args...).CombinedOutput(); err != nil {
				return nil, fmt.Errorf("rsync: %v: %s", err, out)
			}
			return nil, nil
		}
	}
	defer profileCPU(b, "pull-index")()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		r, err := repo.Init(mustMkdir(b, filepath.Join(drive, fmt.Sprintf("k%d", i))))
		if err != nil {
			b.Fatal(err)
		}
		syncDrive(b, drive)
		b.StartTimer()
		for _, c := range []struct{ host, src string }{{"a", a}, {"b", bee}} {
			now = now.Add(time.Hour)
			at := now
			if _, err := Backup(context.Background(), r, BackupOptions{Host: c.host, Sources: []string{c.src}, Fetch: fetch(c.src),
				Now: func() time.Time { return at }, Actor: catalog.CurrentActor()}); err != nil {
				b.Fatalf("pull %s: %v", c.host, err)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(2*n), "µs/file")
}

func mustMkdir(b *testing.B, dir string) string {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	return dir
}
