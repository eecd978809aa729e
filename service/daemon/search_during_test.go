package daemon_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
)

// TestSearchDuringBackups: searches asked without pause while backups
// come one after another on a btrfs drive (each mounting the drive,
// writing its catalog, pruning, syncing and unmounting it) all answer,
// without an error and in seconds; and a search asked as a backup ends
// finds the file that backup took. What the app's search does right
// after a backup.
func TestSearchDuringBackups(t *testing.T) {
	s := startService(t, "")
	dr := newDriveOf(t, "btrfs", "KSSEARCH", 1000)
	src := filepath.Join(t.TempDir(), "src")
	makeTree(t, src, 20, 200)
	s.writeConfig(fmt.Sprintf("[profile \"home\"]\nsource = %s\ninterval = off\non-plug = no\non-change = no\n", src))
	if err := s.client.Reload(bg, api.Auth{}); err != nil {
		t.Fatal(err)
	}
	if err := s.client.Enroll(bg, dr.uuid, client.EnrollOptions{Profile: "home"}); err != nil {
		t.Fatal(err)
	}
	backup := func() string {
		t.Helper()
		job, err := s.client.BackupNow(bg, "home", api.BackupOptions{})
		if err != nil {
			t.Fatal(err)
		}
		j, err := s.wait(job)
		if err != nil {
			t.Fatalf("backup: %v", err)
		}
		return j.Message
	}
	backup()

	const slow = 10 * time.Second
	var mu sync.Mutex
	var problems []string
	asked := 0
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(bg, 2*slow)
			began := time.Now()
			_, err := s.client.Search(ctx, "home", "needle*", api.SearchOptions{})
			took := time.Since(began)
			cancel()
			mu.Lock()
			asked++
			if err != nil || took > slow {
				problems = append(problems, fmt.Sprintf("a search took %v: %v", took.Round(time.Millisecond), err))
			}
			mu.Unlock()
		}
	}()
	for i := range 6 {
		name := fmt.Sprintf("needle%02d.txt", i)
		if err := os.WriteFile(filepath.Join(src, name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
		snap := backup()
		hits, err := s.client.Search(bg, "home", name, api.SearchOptions{})
		if err != nil || len(hits) != 1 || hits[0].Snapshots[len(hits[0].Snapshots)-1] != snap {
			t.Errorf("search %s right after the backup %s: %+v %v", name, snap, hits, err)
		}
	}
	close(stop)
	wg.Wait()
	if asked < 12 {
		t.Errorf("only %d searches were asked during the backups", asked)
	}
	for _, p := range problems {
		t.Error(p)
	}
}
