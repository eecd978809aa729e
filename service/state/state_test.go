package state

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keepsake/keepsake/shared/kerr"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 123456789, time.UTC)

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, warnings, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Fatalf("warnings: %v", warnings)
	}
	return s
}

func TestPersists(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "var", "lib", "keepsake")
	s := open(t, dir)
	if got := s.Profile("home"); !reflect.DeepEqual(got, ProfileState{}) {
		t.Fatalf("fresh profile state = %+v", got)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("state dir: %v %v, want 0700", fi.Mode(), err)
	}

	err := s.UpdateProfile("home", func(p *ProfileState) {
		p.LastAttempt = t0
		p.LastResult = kerr.NoSpace
		p.LastMessage = "the drive is full"
		p.Failures++
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.UpdateProfile("home", func(p *ProfileState) {
		p.Failures++
		p.LastSnapshot = "2026-11-23T090000Z"
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateProfile("work", func(p *ProfileState) {
		p.LastSuccess = t0
		p.Problems, p.ProblemCount, p.SkippedMounts = []string{"/home/a/bad.txt: cannot read: input/output error"}, 3, []string{"/home/a/nas"}
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateDrive("2f7c-AB", func(d *DriveState) { d.LastSeen, d.Label, d.FSType, d.Enrolled = t0, "Backup", "ext4", true }); err != nil {
		t.Fatal(err)
	}
	job := JobRecord{ID: 7, Operation: "backup", Profile: "home", UID: 1000, Started: t0, Ended: t0.Add(time.Minute), Error: kerr.NoSpace, Message: "full"}
	if err := s.AddJob(job); err != nil {
		t.Fatal(err)
	}

	fi, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v, want 0600", fi.Mode(), err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, FileName))
	if strings.Contains(string(data), "0001-01-01") {
		t.Errorf("zero times are written out:\n%s", data)
	}

	r := open(t, dir)
	home := r.Profile("home")
	if !home.LastAttempt.Equal(t0) || home.LastResult != kerr.NoSpace || home.LastMessage != "the drive is full" ||
		home.Failures != 2 || home.LastSnapshot != "2026-11-23T090000Z" || !home.LastSuccess.IsZero() {
		t.Errorf("home after reopen = %+v", home)
	}
	if w := r.Profile("work"); !w.LastSuccess.Equal(t0) || w.Failures != 0 || w.ProblemCount != 3 ||
		!reflect.DeepEqual(w.Problems, []string{"/home/a/bad.txt: cannot read: input/output error"}) || !reflect.DeepEqual(w.SkippedMounts, []string{"/home/a/nas"}) {
		t.Errorf("work after reopen = %+v", w)
	}
	if d := r.Drive("2f7c-AB"); !d.LastSeen.Equal(t0) || d.Label != "Backup" || d.FSType != "ext4" || !d.Enrolled {
		t.Errorf("drive after reopen = %+v", d)
	}
	if ds := r.Drives(); len(ds) != 1 || ds["2f7c-AB"].Label != "Backup" {
		t.Errorf("Drives = %+v", ds)
	}
	if d := r.Drive("unknown"); d != (DriveState{}) {
		t.Errorf("unknown drive = %+v", d)
	}
	jobs := r.Jobs()
	if len(jobs) != 1 || jobs[0].ID != 7 || jobs[0].Error != kerr.NoSpace || !jobs[0].Ended.Equal(t0.Add(time.Minute)) || jobs[0].UID != 1000 {
		t.Errorf("jobs after reopen = %+v", jobs)
	}
	if id := r.NextJobID(); id != 8 {
		t.Errorf("NextJobID after a saved job 7 = %d, want 8", id)
	}

	if err := r.RemoveProfile("home"); err != nil {
		t.Fatal(err)
	}
	if got := open(t, dir).Profile("home"); !reflect.DeepEqual(got, ProfileState{}) {
		t.Errorf("removed profile still has state %+v", got)
	}
	if err := r.RemoveProfile("never-there"); err != nil {
		t.Errorf("RemoveProfile of an unknown profile: %v", err)
	}
}

func TestJobHistoryBounded(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	for i := 1; i <= MaxJobs+50; i++ {
		if err := s.AddJob(JobRecord{ID: s.NextJobID(), Operation: "backup"}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(jobs []JobRecord) {
		t.Helper()
		if len(jobs) != MaxJobs || jobs[0].ID != 51 || jobs[MaxJobs-1].ID != MaxJobs+50 {
			t.Fatalf("history holds %d jobs, %d..%d; want %d, 51..%d", len(jobs), jobs[0].ID, jobs[len(jobs)-1].ID, MaxJobs, MaxJobs+50)
		}
	}
	check(s.Jobs())
	r := open(t, dir)
	check(r.Jobs())
	// A caller changing the copy does not change the store.
	jobs := r.Jobs()
	jobs[0].ID = 999
	check(r.Jobs())
}

func TestNextJobIDSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	for want := uint64(1); want <= 3; want++ {
		if id := s.NextJobID(); id != want {
			t.Fatalf("NextJobID = %d, want %d", id, want)
		}
	}
	// The counter is saved with the next change.
	if err := s.UpdateDrive("x", func(d *DriveState) { d.Label = "x" }); err != nil {
		t.Fatal(err)
	}
	if id := open(t, dir).NextJobID(); id != 4 {
		t.Fatalf("NextJobID after restart = %d, want 4", id)
	}
}

func TestCorruptFileMovedAside(t *testing.T) {
	tests := []struct {
		name, content string
	}{
		{"garbage", "this is not json"},
		{"truncated", `{"version":1,"profiles":{"home":{"failures":`},
		{"empty", ""},
		{"other version", `{"version":99,"profiles":{}}`},
		{"wrong types", `{"version":1,"profiles":{"home":{"failures":"many"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			s, warnings, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(warnings) != 1 || !strings.Contains(warnings[0].Error(), "damaged") {
				t.Fatalf("warnings = %v, want one about the damaged file", warnings)
			}
			aside, _ := filepath.Glob(path + ".corrupt-*")
			if len(aside) != 1 {
				t.Fatalf("moved-aside files: %v", aside)
			}
			if !strings.Contains(warnings[0].Error(), aside[0]) {
				t.Errorf("warning %q does not say where the file went (%s)", warnings[0], aside[0])
			}
			if data, _ := os.ReadFile(aside[0]); string(data) != tt.content {
				t.Errorf("moved-aside file holds %q, want the original %q", data, tt.content)
			}
			if got := s.Profile("home"); !reflect.DeepEqual(got, ProfileState{}) {
				t.Errorf("fresh state has %+v", got)
			}
			// The service carries on: the next change saves a good file.
			if err := s.UpdateProfile("home", func(p *ProfileState) { p.Failures = 1 }); err != nil {
				t.Fatal(err)
			}
			if got := open(t, dir).Profile("home"); got.Failures != 1 {
				t.Errorf("after recovery: %+v", got)
			}
		})
	}
}

func TestTwoCorruptionsKeepBothCopies(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	for i := 0; i < 2; i++ {
		os.WriteFile(path, []byte(fmt.Sprint("bad", i)), 0o600)
		if _, w, err := Open(dir); err != nil || len(w) != 1 {
			t.Fatalf("Open: %v %v", w, err)
		}
	}
	if aside, _ := filepath.Glob(path + ".corrupt-*"); len(aside) != 2 {
		t.Fatalf("moved-aside files: %v, want two", aside)
	}
}

func TestUnreadableIsAnError(t *testing.T) {
	// A state file that cannot be read (here: a directory) is not damaged
	// data; starting fresh could lose good state, so Open fails.
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, FileName), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Open(dir); err == nil {
		t.Fatal("Open succeeded")
	}
	if aside, _ := filepath.Glob(filepath.Join(dir, FileName+".corrupt-*")); len(aside) != 0 {
		t.Fatalf("moved aside: %v", aside)
	}
}

func TestFailedSaveIsUndone(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if err := s.UpdateProfile("home", func(p *ProfileState) { p.Failures = 1 }); err != nil {
		t.Fatal(err)
	}
	// With the directory gone nothing can be saved (and this works as root,
	// unlike taking permissions away).
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateProfile("home", func(p *ProfileState) { p.Failures = 2 }); err == nil {
		t.Fatal("UpdateProfile succeeded without a directory")
	}
	if got := s.Profile("home").Failures; got != 1 {
		t.Errorf("failed update kept: Failures = %d, want 1", got)
	}
	if err := s.UpdateDrive("d", func(d *DriveState) { d.Label = "x" }); err == nil {
		t.Fatal("UpdateDrive succeeded without a directory")
	}
	if got := s.Drive("d"); got != (DriveState{}) {
		t.Errorf("failed drive update kept: %+v", got)
	}
	if err := s.AddJob(JobRecord{ID: 1}); err == nil {
		t.Fatal("AddJob succeeded without a directory")
	}
	if got := s.Jobs(); len(got) != 0 {
		t.Errorf("failed AddJob kept: %+v", got)
	}
	if err := s.RemoveProfile("home"); err == nil {
		t.Fatal("RemoveProfile succeeded without a directory")
	}
	if got := s.Profile("home").Failures; got != 1 {
		t.Errorf("failed RemoveProfile kept")
	}
}

func TestStaleTempFilesRemoved(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "."+FileName+".tmp-12345")
	os.WriteFile(stale, []byte("half"), 0o600)
	open(t, dir)
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("stale temporary file left: %v", err)
	}
}

func TestConcurrentUpdates(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				if err := s.UpdateProfile("home", func(p *ProfileState) { p.Failures++ }); err != nil {
					t.Error(err)
				}
				s.Jobs()
			}
		}()
	}
	wg.Wait()
	if got := open(t, dir).Profile("home").Failures; got != 80 {
		t.Fatalf("Failures = %d after 80 concurrent increments", got)
	}
}
