package daemon_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
)

// TestFirstBackupProgress: a first backup has no previous snapshot to
// estimate from, yet its Job shows a fraction and an expected end while
// it runs, from totals counted as it starts that match what the snapshot
// holds; the fraction only grows and stays below 1 until the end.
func TestFirstBackupProgress(t *testing.T) {
	s := startService(t, "")
	dr := newDrive(t, "KSPROG", 1000) // room for the inodes
	src := filepath.Join(t.TempDir(), "src")
	// 30 000 small files take seconds to back up even on a fast machine:
	// several reports come after the first second, which the time left
	// waits for. The blobs weigh in bytes.
	makeTree(t, src, 40, 750)
	for i := 0; i < 2; i++ {
		writeBlob(t, filepath.Join(src, fmt.Sprintf("blob%d", i)), 20<<20)
	}
	s.writeConfig(fmt.Sprintf("[profile \"home\"]\nsource = %s\ninterval = off\non-plug = no\non-change = no\n", src))
	if err := s.client.Reload(bg, api.Auth{}); err != nil {
		t.Fatal(err)
	}
	if err := s.client.Enroll(bg, dr.uuid, client.EnrollOptions{Profile: "home"}); err != nil {
		t.Fatal(err)
	}
	job, err := s.client.BackupNow(bg, "home", api.BackupOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(bg, 3*time.Minute)
	defer cancel()
	var reports []client.Job
	// A search while the backup writes its snapshot, the first use of the
	// drive's catalog by a query: it answers (nothing is backed up yet)
	// while the backup still runs, not after it.
	type answer struct {
		hits int
		err  error
	}
	searched := make(chan answer, 1)
	asked := false
	j, err := s.client.Wait(ctx, job, func(j client.Job) {
		reports = append(reports, j)
		if !asked && !j.Finished && j.FilesDone > 0 {
			asked = true
			go func() {
				hits, err := s.client.Search(ctx, "home", "blob*", api.SearchOptions{})
				searched <- answer{len(hits), err}
			}()
		}
	})
	if err != nil {
		t.Fatalf("first backup: %v", err)
	}
	select {
	case a := <-searched:
		if a.err != nil || a.hits != 0 {
			// Hits mean it answered only after the backup committed.
			t.Errorf("a search during the first backup: %d hits, %v; want none (nothing committed yet), no error", a.hits, a.err)
		}
	default:
		if !asked {
			t.Fatalf("the backup never reported files done:\n%d reports", len(reports))
		}
		t.Errorf("a search during the backup did not answer before the backup ended (it waited for the backup's transaction): %+v", <-searched)
	}
	res, err := j.BackupResult()
	if err != nil {
		t.Fatal(err)
	}
	seen := func() string {
		var out []string
		for _, r := range reports {
			out = append(out, fmt.Sprintf("%s %.3f %d/%d %d/%d end %d", r.Phase, r.Progress, r.FilesDone, r.FilesTotal, r.BytesDone, r.BytesTotal, r.ExpectedEnd))
		}
		return strings.Join(out, "\n")
	}
	if j.Progress != 1 || j.Phase != "done" {
		t.Fatalf("finished job at %.3f in phase %q", j.Progress, j.Phase)
	}
	shown, last := 0, -1.0
	for i, r := range reports {
		if r.Finished || r.Phase == "done" {
			continue // the outcome, published before Finished
		}
		if r.Progress < 0 {
			if last >= 0 {
				t.Fatalf("report %d: the fraction went back to unknown after %.3f:\n%s", i, last, seen())
			}
			continue
		}
		if r.Progress < last || r.Progress >= 1 {
			t.Fatalf("report %d: fraction %.3f after %.3f:\n%s", i, r.Progress, last, seen())
		}
		last = r.Progress
		// Each property is its own signal: judge the reports whose
		// totals have arrived.
		if r.FilesTotal == 0 || r.BytesTotal == 0 {
			continue
		}
		if r.FilesTotal != res.Files+res.Dirs || r.BytesTotal != res.Bytes {
			t.Fatalf("report %d: totals %d files %d bytes, the snapshot has %d and %d:\n%s",
				i, r.FilesTotal, r.BytesTotal, res.Files+res.Dirs, res.Bytes, seen())
		}
		end := client.Time(r.ExpectedEnd)
		if r.Progress > 0 && r.ExpectedEnd > 0 {
			if start := client.Time(r.Started); end.Before(start) || end.After(start.Add(10*time.Minute)) {
				t.Fatalf("report %d: expected end %v for a job started %v", i, end, start)
			}
			shown++
		}
	}
	if shown == 0 {
		t.Fatalf("no report with a fraction and an expected end among %d:\n%s", len(reports), seen())
	}
	t.Logf("%d of %d reports with a fraction and an expected end", shown, len(reports))
	if strings.Contains(s.log.String(), "panic") {
		t.Fatalf("keepsaked panicked:\n%s", s.log.String())
	}
}
