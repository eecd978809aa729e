package daemon_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/internal/fusetest"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
)

// TestLeftOutOverTheBus: a tmpfs mounted inside a source is left out and
// said so (the profile, the job's result, the status files), until the
// profile includes it; a file that becomes unreadable makes the backup
// "partial": it completes, the problem is listed, the status files and the
// on-failure command hear of it.
func TestLeftOutOverTheBus(t *testing.T) {
	t1 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	faulty := fusetest.Mount(t, []fusetest.File{{Name: "report.odt", Data: []byte("readable at first"), Mtime: t1}})
	s := startService(t, "")
	dr := newDrive(t, "KSLEFT", 300)
	src := filepath.Join(t.TempDir(), "src")
	makeTree(t, src, 2, 2)
	nas := filepath.Join(src, "nas")
	if err := os.Mkdir(nas, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "tmpfs", nas).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", nas).Run() })
	if err := os.WriteFile(filepath.Join(nas, "share.bin"), []byte("someone else's"), 0o644); err != nil {
		t.Fatal(err)
	}
	envFile := filepath.Join(t.TempDir(), "hook.env")
	s.writeConfig(fmt.Sprintf("[keepsake]\non-failure = env | grep ^KEEPSAKE_ | sort > %s\n\n[profile \"home\"]\nsource = %s\nsource = %s\ninterval = off\non-plug = no\non-change = no\n",
		envFile, src, faulty.Mount))
	if err := s.client.Reload(bg, api.Auth{}); err != nil {
		t.Fatal(err)
	}
	if err := s.client.Enroll(bg, dr.uuid, client.EnrollOptions{Profile: "home"}); err != nil {
		t.Fatal(err)
	}
	// Full: the watcher hears nothing from a FUSE filesystem (nor from
	// another computer's writes to a share); the daily full scan reads it.
	backup := func() api.BackupResult {
		t.Helper()
		job, err := s.client.BackupNow(bg, "home", api.BackupOptions{Full: true})
		if err != nil {
			t.Fatal(err)
		}
		j, err := s.wait(job)
		if err != nil {
			t.Fatalf("backup: %v", err)
		}
		res, err := j.BackupResult()
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	res := backup()
	if !reflect.DeepEqual(res.SkippedMounts, []api.Path{api.Path(nas)}) || len(res.Problems) != 0 {
		t.Fatalf("job result: skipped mounts %q, problems %q; want only %s skipped", res.SkippedMounts, res.Problems, nas)
	}
	p := s.profile("home")
	if !reflect.DeepEqual(p.SkippedMounts, []string{nas}) || p.LastProblemCount != 0 {
		t.Fatalf("profile: SkippedMounts %q, LastProblemCount %d", p.SkippedMounts, p.LastProblemCount)
	}
	st := readStatus(t, s.runDir())["home"]
	if st["result"] != "ok" || st["skipped-mounts"] != "1" || st["problems"] != "0" {
		t.Fatalf("status after the first backup: %v", st)
	}
	if text, _ := os.ReadFile(filepath.Join(s.runDir(), "status")); !strings.Contains(string(text), "skipped-mount.home="+nas+"\n") {
		t.Fatalf("status file does not name the skipped mount:\n%s", text)
	}
	s.readDrive(dr, func(mnt string) {
		stored := filepath.Join(mnt, "Keepsake", "testhost", res.Snapshot)
		if ents, err := os.ReadDir(filepath.Join(stored, nas)); err != nil || len(ents) != 0 {
			t.Fatalf("the tmpfs in the snapshot: %v, %v; want an empty folder", ents, err)
		}
	})

	// The file starts failing; the tmpfs is included.
	faulty.Set(fusetest.File{Name: "report.odt", Data: []byte("changed, unreadable"), Mtime: t1.Add(time.Hour), ReadErr: syscall.EIO})
	if err := s.client.Configure(bg, "home", api.Settings{IncludeMounts: paths(nas)}, api.Auth{}); err != nil {
		t.Fatal(err)
	}
	if p := s.profile("home"); !reflect.DeepEqual(p.IncludeMounts, []string{nas}) {
		t.Fatalf("IncludeMounts after Configure: %q", p.IncludeMounts)
	}
	before := faulty.Faults.Load()
	res = backup()
	if landed := faulty.Faults.Load() - before; landed < 1 {
		t.Fatalf("no read fault landed during the backup")
	}
	report := filepath.Join(faulty.Mount, "report.odt")
	if len(res.SkippedMounts) != 0 || len(res.Problems) != 1 || res.ProblemCount != 1 || !strings.HasPrefix(res.Problems[0], report+": cannot read: input/output error") {
		t.Fatalf("job result: skipped mounts %q, problems %q", res.SkippedMounts, res.Problems)
	}
	p = s.profile("home")
	if p.LastResult != "" || p.LastProblemCount != 1 || len(p.LastProblems) != 1 || len(p.SkippedMounts) != 0 {
		t.Fatalf("profile after a partial backup: result %q, problems %d %q, skipped %q", p.LastResult, p.LastProblemCount, p.LastProblems, p.SkippedMounts)
	}
	st = readStatus(t, s.runDir())["home"]
	if st["result"] != "partial" || st["problems"] != "1" || st["skipped-mounts"] != "0" {
		t.Fatalf("status after a partial backup: %v", st)
	}
	s.waitFor("the on-failure command for a partial backup", 10*time.Second, func() bool {
		data, _ := os.ReadFile(envFile)
		return strings.Contains(string(data), "KEEPSAKE_ERROR=partial")
	})
	if env, _ := os.ReadFile(envFile); !strings.Contains(string(env), "report.odt") {
		t.Errorf("the hook's message does not name the file:\n%s", env)
	}
	s.readDrive(dr, func(mnt string) {
		stored := filepath.Join(mnt, "Keepsake", "testhost", res.Snapshot)
		if b, err := os.ReadFile(filepath.Join(stored, report)); err != nil || string(b) != "readable at first" {
			t.Errorf("the unreadable file in the snapshot: %q, %v; want its previous version", b, err)
		}
		if b, err := os.ReadFile(filepath.Join(stored, nas, "share.bin")); err != nil || string(b) != "someone else's" {
			t.Errorf("the included tmpfs in the snapshot: %q, %v", b, err)
		}
	})
}

// readDrive mounts the drive read-only once the service has let go of it
// and gives fn the mount point.
func (s *service) readDrive(dr drive, fn func(mnt string)) {
	s.t.Helper()
	s.waitFor("the drive to be unmounted", 10*time.Second, func() bool { return len(mountedUnder(s.t, s.runDir())) == 0 })
	mnt := s.t.TempDir()
	opts := "ro,noload" // ext4: not even its journal replayed
	if dr.fstype == "btrfs" {
		opts = "ro,rescue=nologreplay"
	}
	if out, err := exec.Command("mount", "-o", opts, dr.dev, mnt).CombinedOutput(); err != nil {
		s.t.Fatalf("mount: %v %s", err, out)
	}
	defer unmountTest(s.t, mnt)
	fn(mnt)
}
