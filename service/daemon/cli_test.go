package daemon_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/internal/realfs"
)

// ctl runs keepsakectl against the service (no --repo) as root.
func (s *service) ctl(args ...string) (string, string, int) {
	s.t.Helper()
	bin := realfs.Build(s.t, "service/cmd/keepsakectl")
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "DBUS_SYSTEM_BUS_ADDRESS="+s.bus.Address)
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var ls []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		// A query prints one list; long work one object per line.
		var list []map[string]any
		if json.Unmarshal(sc.Bytes(), &list) == nil {
			ls = append(ls, list...)
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("not JSON: %q", sc.Text())
		}
		ls = append(ls, m)
	}
	return ls
}

// TestKeepsakectlThroughService: keepsakectl without --repo drives the
// service end to end the way a script would; every query command prints
// byte for byte the same --json (and text) through the service as on the
// drive directly.
func TestKeepsakectlThroughService(t *testing.T) {
	s := startService(t, "")
	dr := newDrive(t, "KSCLI", 300)
	src := filepath.Join(t.TempDir(), "Papers")
	makeTree(t, src, 3, 3)
	os.WriteFile(filepath.Join(src, "report.odt"), []byte("first draft"), 0o644)
	os.WriteFile(filepath.Join(src, "old notes.txt"), []byte("notes"), 0o644)

	run := func(want int, args ...string) string {
		t.Helper()
		out, errOut, code := s.ctl(args...)
		if code != want {
			t.Fatalf("keepsakectl %s: exit %d, want %d\nstdout %s\nstderr %s", strings.Join(args, " "), code, want, out, errOut)
		}
		return out + errOut
	}
	if out := run(0, "status"); !strings.Contains(out, "no backup profiles") {
		t.Fatalf("status with nothing configured:\n%s", out)
	}
	run(0, "create-profile", "papers", src)
	run(0, "configure", "interval=off", "on-change=no", "on-plug=no")
	if out := run(0, "drives"); !strings.Contains(out, dr.uuid) || !strings.Contains(out, "KSCLI") {
		t.Fatalf("drives:\n%s", out)
	}
	run(0, "enroll", dr.uuid)

	// backup-now --json: progress events, then the result with the snapshot.
	evs := jsonLines(t, run(0, "--json", "backup-now"))
	last := evs[len(evs)-1]
	if last["event"] != "result" || !strings.HasPrefix(fmt.Sprint(last["snapshot"]), "20") || last["files"] == nil {
		t.Fatalf("backup-now --json: %v", evs)
	}
	first := fmt.Sprint(last["snapshot"])
	time.Sleep(1100 * time.Millisecond) // snapshot names have a resolution of a second
	os.WriteFile(filepath.Join(src, "report.odt"), []byte("second draft, longer"), 0o644)
	os.Remove(filepath.Join(src, "old notes.txt"))
	if out := run(0, "backup-now"); !strings.Contains(out, "snapshot 20") || strings.Contains(out, "1 files") {
		t.Fatalf("backup-now:\n%s", out)
	}

	if out := run(0, "snapshots"); strings.Count(out, "\n") != 3 || !strings.Contains(out, first) {
		t.Fatalf("snapshots:\n%s", out)
	}
	var hits []map[string]any
	if err := json.Unmarshal([]byte(run(0, "--json", "search", "report")), &hits); err != nil || len(hits) != 2 || hits[0]["name"] != "report.odt" {
		t.Fatalf("search: %v %v", hits, err)
	}
	var vers []map[string]any
	if err := json.Unmarshal([]byte(run(0, "--json", "versions", filepath.Join(src, "report.odt"))), &vers); err != nil ||
		len(vers) != 2 || vers[0]["size"].(float64) != float64(len("second draft, longer")) {
		t.Fatalf("versions: %v %v", vers, err)
	}

	// The same drive, opened directly: every query prints the same.
	mnt := t.TempDir()
	if out, err := exec.Command("mount", dr.dev, mnt).CombinedOutput(); err != nil {
		t.Fatalf("mount: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	report := filepath.Join(src, "report.odt")
	for _, q := range [][]string{
		{"snapshots"},
		{"ls", "latest", src},
		{"ls", first, report},
		{"ls", "now", src},
		{"search", "report"},
		{"search", "d0", "--in", src, "--since", "1d", "--limit", "5"},
		{"versions", report},
		{"deleted", src},
		{"deleted", src, "--since", "yesterday"},
	} {
		for _, json := range []bool{true, false} {
			args := q
			if json {
				args = append([]string{"--json"}, q...)
			}
			viaBus := run(0, args...)
			onDrive := run(0, append([]string{"--repo", mnt}, args...)...)
			if viaBus != onDrive {
				t.Errorf("keepsakectl %s differs:\nthrough the service:\n%s\non the drive:\n%s", strings.Join(args, " "), viaBus, onDrive)
			}
		}
	}

	to := t.TempDir()
	if out := run(0, "restore", first, report, "--to", to); !strings.Contains(out, "1 file,") {
		t.Fatalf("restore:\n%s", out)
	}
	if data, _ := os.ReadFile(filepath.Join(to, "report.odt")); string(data) != "first draft" {
		t.Fatalf("restored %q", data)
	}
	if out := run(0, "ls", "latest", src); !strings.Contains(out, "report.odt") {
		t.Fatalf("ls:\n%s", out)
	}
	var st []map[string]any
	if err := json.Unmarshal([]byte(run(0, "--json", "status")), &st); err != nil || len(st) != 1 || st[0]["result"] != "ok" || st[0]["name"] != "papers" {
		t.Fatalf("status --json: %v %v", st, err)
	}
	// Errors by name: a snapshot that does not exist, usage mistakes.
	if out := run(1, "restore", "1999-01-01T000000Z", report); !strings.Contains(out, "1999-01-01T000000Z") {
		t.Fatalf("restore of a missing snapshot:\n%s", out)
	}
	evs = jsonLines(t, run(1, "--json", "restore", "1999-01-01T000000Z", report))
	if evs[0]["error"] != "SnapshotNotFound" {
		t.Fatalf("--json error: %v", evs)
	}
	run(2, "configure", "nonsense")
	run(2, "search", "x", "--since", "notatime")
	run(2, "verify", "--sample", "150")
	// Without the service, a clear message; it unmounted what it had
	// mounted for browsing on its way out.
	s.stop()
	if m := mountedUnder(t, s.runDir()); len(m) != 0 {
		t.Fatalf("still mounted after keepsaked stopped: %v", m)
	}
	if out := run(1, "status"); !strings.Contains(out, "not running") {
		t.Fatalf("status without the service:\n%s", out)
	}
	evs = jsonLines(t, run(1, "--json", "status"))
	if evs[0]["error"] != "ServiceNotRunning" {
		t.Fatalf("--json status without the service: %v", evs)
	}
}
