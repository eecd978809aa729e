package watch

import (
	"fmt"
	"testing"
)

// BenchmarkChangedVsFull backs up a 20,000-file tree (200 folders of 100
// files) after a change in two folders: once with ChangedDirs from the
// watcher, once with a full scan. The ratio of the two ns/op is what
// change detection saves; making the change and waiting for its events
// are not timed.
func BenchmarkChangedVsFull(b *testing.B) {
	be := newBackupEnv(b, 200, 100)
	be.start(Options{})
	be.runBatch()
	round := 0
	change := func() {
		round++
		be.write(fmt.Sprintf("d%03d/f000", round%200), fmt.Sprint("round ", round))
		be.write(fmt.Sprintf("d%03d/f001", (round+100)%200), fmt.Sprint("round ", round))
		be.sync()
	}
	for _, mode := range []string{"changed", "full"} {
		b.Run(mode, func(b *testing.B) {
			be.t = b
			var read int64
			for n := 0; n < b.N; n++ {
				b.StopTimer()
				change()
				b.StartTimer()
				dirs, full, tok := be.w.Batch()
				if full {
					b.Fatalf("the watcher asks for a full scan: %+v", be.w.State())
				}
				if mode == "full" {
					dirs = nil
				}
				res := be.backup(dirs)
				if err := be.w.Commit(tok, mode == "full"); err != nil {
					b.Fatal(err)
				}
				read += res.ReadDirs
			}
			b.ReportMetric(float64(read)/float64(b.N), "dirs-read/op")
		})
	}
}
