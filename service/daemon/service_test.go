package daemon_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/kerr"
)

func (s *service) configPath() string { return filepath.Join(s.dir, "etc", "keepsake.conf") }

func (s *service) writeConfig(text string) {
	s.t.Helper()
	os.MkdirAll(filepath.Dir(s.configPath()), 0o755)
	if err := os.WriteFile(s.configPath(), []byte(text), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// TestConfigReload: a hand edit is picked up on SIGHUP; a bad edit names
// its line, keeps the last good configuration, and Reload over D-Bus says
// the same as a named error.
func TestConfigReload(t *testing.T) {
	s := startService(t, "")
	src := t.TempDir()
	s.writeConfig(fmt.Sprintf("[keepsake]\nmissing-drive-days = 7\n\n[profile \"docs\"]\nsource = %s\ninterval = 2h\n", src))
	s.cmd.Process.Signal(syscall.SIGHUP)
	s.waitFor("the hand-written profile", 10*time.Second, func() bool {
		p, err := s.client.Profile(bg, "docs")
		return err == nil && p.Interval == 7200 && len(p.Sources) == 1 && p.Sources[0] == src
	})

	s.writeConfig(fmt.Sprintf("[keepsake]\nmissing-drive-days = 7\n\n[profile \"docs\"]\nsource = %s\ninterval = 2h\nintreval = 3h\n", src))
	s.cmd.Process.Signal(syscall.SIGHUP)
	s.waitFor("ConfigError", 10*time.Second, func() bool {
		m, err := s.client.Manager(bg)
		return err == nil && strings.Contains(m.ConfigError, "keepsake.conf:7:") && strings.Contains(m.ConfigError, `"intreval"`)
	})
	if p := s.profile("docs"); p.Interval != 7200 {
		t.Fatalf("the last good configuration was not kept: %+v", p)
	}
	err := s.client.Reload(bg, api.Auth{})
	if kerr.NameOf(err) != kerr.InvalidConfig || !strings.Contains(err.Error(), "keepsake.conf:7:") {
		t.Fatalf("Reload of a bad file: %v, want InvalidConfig naming line 7", err)
	}

	s.writeConfig(fmt.Sprintf("[profile \"docs\"]\nsource = %s\ninterval = 3h\n", src))
	if err := s.client.Reload(bg, api.Auth{}); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.client.Manager(bg); m.ConfigError != "" || s.profile("docs").Interval != 3*3600 {
		t.Fatalf("after fixing the file: %+v %+v", m, s.profile("docs"))
	}

	// A change over D-Bus is written back to the file, atomically.
	if err := s.client.Configure(bg, "docs", api.Settings{Interval: ptr(uint64(1800))}, api.Auth{}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(s.configPath())
	if !strings.Contains(string(data), "interval = 30m") {
		t.Fatalf("configuration file after Configure:\n%s", data)
	}
	// And a restart reads it back.
	s.restart()
	if p := s.profile("docs"); p.Interval != 1800 {
		t.Fatalf("after restart: %+v", p)
	}
	if err := s.client.Configure(bg, "docs", api.Settings{Interval: ptr(uint64(5))}, api.Auth{}); kerr.NameOf(err) != kerr.InvalidArgs {
		t.Fatalf("an interval of 5 s: %v, want InvalidArgs", err)
	}
}

// TestSecondInstance: a second keepsaked on the same state, or on the same
// bus, refuses to start and says why.
func TestSecondInstance(t *testing.T) {
	s := startService(t, "")
	for _, tc := range []struct {
		name, state, want string
	}{
		{"same state directory", filepath.Join(s.dir, "state"), "another keepsaked is running"},
		{"same bus", t.TempDir(), "another keepsaked owns io.github.keepsake.Keepsake1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(s.bin, "--config", filepath.Join(t.TempDir(), "k.conf"), "--state-dir", tc.state, "--run-dir", t.TempDir())
			cmd.Env = append(os.Environ(), "DBUS_SYSTEM_BUS_ADDRESS="+s.bus.Address)
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), tc.want) || !strings.Contains(string(out), "Busy") {
				t.Fatalf("second keepsaked: %v\n%s", err, out)
			}
		})
	}
	if _, err := s.client.Manager(bg); err != nil {
		t.Fatalf("the first keepsaked stopped answering: %v", err)
	}
}

// TestFailureCommandAndStatusFiles: a failed backup runs the on-failure
// command with the error in its environment, and the status files say it.
func TestFailureCommandAndStatusFiles(t *testing.T) {
	s := startService(t, "")
	dr := newDrive(t, "KSFAIL", 300)
	src := filepath.Join(t.TempDir(), "src")
	makeTree(t, src, 2, 2)
	envFile := filepath.Join(t.TempDir(), "failure.env")
	s.writeConfig(fmt.Sprintf("[keepsake]\non-failure = env | grep ^KEEPSAKE_ | sort > %s\n\n[profile \"home\"]\nsource = %s\ninterval = off\non-plug = no\n", envFile, src))
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
	if _, err := s.wait(job); err != nil {
		t.Fatal(err)
	}
	status := readStatus(t, s.runDir())
	if status["home"]["result"] != "ok" || status["home"]["drive"] != dr.uuid || status["home"]["target-free"] == "-" {
		t.Fatalf("status after success: %v", status)
	}

	os.RemoveAll(src) // e.g. a home on a disk that is not mounted
	job, err = s.client.BackupNow(bg, "home", api.BackupOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.wait(job); kerr.NameOf(err) != kerr.PathNotFound {
		t.Fatalf("backup of a missing folder: %v, want PathNotFound", err)
	}
	s.waitFor("the on-failure command", 10*time.Second, func() bool {
		data, _ := os.ReadFile(envFile)
		return strings.Contains(string(data), "KEEPSAKE_ERROR=PathNotFound")
	})
	env, _ := os.ReadFile(envFile)
	for _, want := range []string{"KEEPSAKE_PROFILE=home", "KEEPSAKE_DRIVE=" + dr.uuid, "KEEPSAKE_LAST_SUCCESS=2"} {
		if !strings.Contains(string(env), want) {
			t.Errorf("on-failure environment lacks %s:\n%s", want, env)
		}
	}
	status = readStatus(t, s.runDir())
	if status["home"]["result"] != "PathNotFound" || status["home"]["state"] != "failed" {
		t.Fatalf("status after failure: %v", status)
	}
	var js struct {
		Profiles []map[string]any `json:"profiles"`
	}
	data, err := os.ReadFile(filepath.Join(s.runDir(), "status.json"))
	if err != nil || json.Unmarshal(data, &js) != nil || len(js.Profiles) != 1 || js.Profiles[0]["result"] != "PathNotFound" {
		t.Fatalf("status.json: %v %s", err, data)
	}
	if p := s.profile("home"); p.LastResult != "PathNotFound" || !strings.Contains(p.LastMessage, src) {
		t.Fatalf("profile after failure: %+v", p)
	}
}

// readStatus parses the plain-text status file: profile -> key -> value.
func readStatus(t *testing.T, dir string) map[string]map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "profile=") {
			continue
		}
		m := map[string]string{}
		for _, f := range strings.Fields(line) {
			k, v, _ := strings.Cut(f, "=")
			m[k] = v
		}
		out[m["profile"]] = m
	}
	return out
}

// TestWatchLimitFallback: when the folders cannot all be watched, the
// profile says so and backups read everything.
func TestWatchLimitFallback(t *testing.T) {
	s := startService(t, "", "--max-watches", "4")
	dr := newDrive(t, "KSWATCH", 300)
	src := t.TempDir()
	makeTree(t, src, 10, 2)
	if _, err := s.client.CreateProfile(bg, "big", api.Settings{Sources: paths(src), Interval: ptr(uint64(0)), OnPlug: ptr(false)}, api.Auth{}); err != nil {
		t.Fatal(err)
	}
	s.waitFor("the watch problem", 10*time.Second, func() bool {
		p := s.profile("big")
		return strings.Contains(p.WatchProblem, "full scans") && p.StateName() == "no-drive"
	})
	if err := s.client.Enroll(bg, dr.uuid, client.EnrollOptions{Profile: "big"}); err != nil {
		t.Fatal(err)
	}
	if p := s.profile("big"); p.StateName() != "watching-degraded" {
		t.Fatalf("state %s, want watching-degraded", p.StateName())
	}
	for i := 0; i < 2; i++ {
		job, err := s.client.BackupNow(bg, "big", api.BackupOptions{})
		if err != nil {
			t.Fatal(err)
		}
		j, err := s.wait(job)
		if err != nil {
			t.Fatal(err)
		}
		if !j.Result["full-scan"].Value().(bool) || j.Result["read-dirs"].Value().(uint64) < 11 {
			t.Fatalf("backup %d with the watcher degraded: %v", i, j.Result)
		}
	}
	if st := readStatus(t, s.runDir()); st["big"]["state"] != "watching-degraded" {
		t.Fatalf("status file: %v", st)
	}
}

// TestMissingDriveWarning: an enrolled drive not seen for longer than
// missing-drive-days carries a warning.
func TestMissingDriveWarning(t *testing.T) {
	s := startService(t, "")
	s.stop()
	state := fmt.Sprintf(`{"version":1,"profiles":{},"drives":{"0a1b2c3d-1111-2222-3333-444455556666":{"last_seen":%q,"label":"Old USB","fstype":"ext4","enrolled":true}},"jobs":[]}`,
		time.Now().Add(-20*24*time.Hour).UTC().Format(time.RFC3339))
	if err := os.WriteFile(filepath.Join(s.dir, "state", "state.json"), []byte(state), 0o600); err != nil {
		t.Fatal(err)
	}
	s.writeConfig("[keepsake]\nmissing-drive-days = 14\n")
	s.start()
	var d client.Drive
	for _, x := range mustDrives(t, s) {
		if x.UUID == "0a1b2c3d-1111-2222-3333-444455556666" {
			d = x
		}
	}
	if d.Present || !d.Enrolled || d.Label != "Old USB" || !strings.Contains(d.Warning, "not seen for 20 days") {
		t.Fatalf("absent drive: %+v", d)
	}
}

func mustDrives(t *testing.T, s *service) []client.Drive {
	t.Helper()
	ds, err := s.client.Drives(bg)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// TestMissedBackupAtStart: a profile whose interval passed while the
// service was not running backs up once when it starts.
func TestMissedBackupAtStart(t *testing.T) {
	s := startService(t, "")
	dr := newDrive(t, "KSMISSED", 300)
	src := t.TempDir()
	makeTree(t, src, 2, 2)
	if _, err := s.client.CreateProfile(bg, "home", api.Settings{Sources: paths(src), OnChange: ptr(false)}, api.Auth{}); err != nil {
		t.Fatal(err)
	}
	if err := s.client.Enroll(bg, dr.uuid, client.EnrollOptions{Profile: "home"}); err != nil {
		t.Fatal(err)
	}
	first := s.nextJob("home", "", 20*time.Second)
	if _, err := s.wait(first); err != nil {
		t.Fatal(err)
	}
	s.stop()
	// Three hours pass with the machine off (the hourly backups missed).
	p := filepath.Join(s.dir, "state", "state.json")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	json.Unmarshal(data, &st)
	ps := st["profiles"].(map[string]any)["home"].(map[string]any)
	past := time.Now().Add(-3 * time.Hour).UTC().Format(time.RFC3339Nano)
	ps["last_success"], ps["last_attempt"] = past, past
	data, _ = json.Marshal(st)
	os.WriteFile(p, data, 0o600)
	s.start()
	job := s.nextJob("home", "", 20*time.Second)
	j, err := s.wait(job)
	if err != nil || j.Trigger != "missed" {
		t.Fatalf("backup at start: trigger %q, %v", j.Trigger, err)
	}
	time.Sleep(6 * time.Second) // longer than a scheduler tick: it runs once
	js, _ := s.client.Jobs(bg)
	if len(js) != 1 {
		t.Fatalf("jobs after the missed backup: %+v", js)
	}
}
