package repo

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keepsake/keepsake/shared/kerr"
)

func TestInitProbesAndIsIdempotent(t *testing.T) {
	drive := t.TempDir()
	r, err := Init(drive)
	if err != nil {
		t.Fatal(err)
	}
	if r.Root != filepath.Join(drive, DirName) {
		t.Errorf("root %s", r.Root)
	}
	c := r.Marker.Caps
	if !c.Hardlinks || !c.Symlinks || c.FSType == "" || c.LinkMax == 0 {
		t.Errorf("capabilities of a temp dir: %+v", c)
	}
	ents, _ := os.ReadDir(drive)
	if len(ents) != 1 || ents[0].Name() != DirName {
		t.Errorf("drive holds %v after init, want only %s (the probe cleans up)", ents, DirName)
	}
	again, err := Init(drive)
	if err != nil || again.Marker.UUID != r.Marker.UUID {
		t.Errorf("second init: %v, uuid %s vs %s", err, again.Marker.UUID, r.Marker.UUID)
	}
	// --repo may name the drive or the Keepsake folder.
	byRoot, err := Open(r.Root)
	if err != nil || byRoot.Root != r.Root {
		t.Errorf("open by root: %v", err)
	}
}

func TestOpenNonRepository(t *testing.T) {
	_, err := Open(t.TempDir())
	if !kerr.Is(err, kerr.NotARepository) || !strings.Contains(err.Error(), "init") {
		t.Fatalf("got %v, want NotARepository telling to run init", err)
	}
}

func TestLockIsExclusive(t *testing.T) {
	r, err := Init(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Lock(); err != nil {
		t.Fatal(err)
	}
	other, _ := Open(r.Root)
	if err := other.Lock(); !kerr.Is(err, kerr.Busy) {
		t.Fatalf("second lock: %v, want Busy", err)
	}
	r.Unlock()
	if err := other.Lock(); err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	other.Unlock()
}

func TestSnapshotNames(t *testing.T) {
	tm := time.Date(2026, 11, 22, 10, 0, 5, 999, time.FixedZone("CET", 3600))
	name := SnapshotName(tm)
	if name != "2026-11-22T090005Z" {
		t.Fatalf("name %s", name)
	}
	back, err := ParseSnapshotName(name)
	if err != nil || !back.Equal(tm.Truncate(time.Second)) {
		t.Fatalf("parse %v %v", back, err)
	}
}

func TestUnescapeMount(t *testing.T) {
	tests := []struct{ in, want string }{
		{`/media/me/My\040Drive`, "/media/me/My Drive"},
		{`/plain`, "/plain"},
		{`/tab\011x`, "/tab\tx"},
	}
	for _, tt := range tests {
		if got := unescapeMount(tt.in); got != tt.want {
			t.Errorf("unescapeMount(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMountOfFindsLongestPrefix(t *testing.T) {
	m, err := MountOf("/proc/self")
	if err != nil || m.Point != "/proc" || m.FSType != "proc" {
		t.Fatalf("MountOf(/proc/self) = %+v, %v", m, err)
	}
	// A relative path (keepsakectl --repo . on the drive) is the same
	// folder, on the same mount.
	t.Chdir("/proc")
	if m, err := MountOf("self"); err != nil || m.Point != "/proc" || m.FSType != "proc" {
		t.Fatalf("MountOf(self) in /proc = %+v, %v", m, err)
	}
}

// Jobs of the service share one Repo: one job's release may come while
// another takes the lock. Every take that succeeded must be released by
// its own Unlock, so that at the end the lock is free; and what the lock's
// take and release write must not race (go test -race).
func TestLockSharedByJobs(t *testing.T) {
	r, err := Init(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var taken atomic.Int64
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				if r.Lock() == nil {
					taken.Add(1)
					r.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if taken.Load() == 0 {
		t.Fatal("no job ever took the lock")
	}
	other, _ := Open(r.Root)
	if err := other.Lock(); err != nil {
		t.Fatalf("after %d takes and releases the lock is still held: %v", taken.Load(), err)
	}
	other.Unlock()
}
