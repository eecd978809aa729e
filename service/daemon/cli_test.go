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
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("not JSON: %q", sc.Text())
		}
		ls = append(ls, m)
	}
	return ls
}

// TestKeepsakectlThroughService: keepsakectl without --repo drives the
// service end to end the way a script would.
func TestKeepsakectlThroughService(t *testing.T) {
	s := startService(t, "")
	dr := newDrive(t, "KSCLI", 300)
	src := filepath.Join(t.TempDir(), "Papers")
	makeTree(t, src, 3, 3)
	os.WriteFile(filepath.Join(src, "report.odt"), []byte("first draft"), 0o644)

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
	if last["event"] != "result" || last["operation"] != "backup" || !strings.HasPrefix(fmt.Sprint(last["message"]), "20") {
		t.Fatalf("backup-now --json: %v", evs)
	}
	first := fmt.Sprint(last["message"])
	time.Sleep(1100 * time.Millisecond) // snapshot names have a resolution of a second
	os.WriteFile(filepath.Join(src, "report.odt"), []byte("second draft, longer"), 0o644)
	run(0, "backup-now")

	if out := run(0, "snapshots"); strings.Count(out, "\n") != 2 || !strings.Contains(out, first) {
		t.Fatalf("snapshots:\n%s", out)
	}
	hits := jsonLines(t, run(0, "--json", "search", "report"))
	if len(hits) != 2 || hits[0]["name"] != "report.odt" {
		t.Fatalf("search: %v", hits)
	}
	vers := jsonLines(t, run(0, "--json", "versions", filepath.Join(src, "report.odt")))
	if len(vers) != 2 || vers[0]["size"].(float64) != float64(len("second draft, longer")) {
		t.Fatalf("versions: %v", vers)
	}
	to := t.TempDir()
	run(0, "restore", first, filepath.Join(src, "report.odt"), "--to", to)
	if data, _ := os.ReadFile(filepath.Join(to, "report.odt")); string(data) != "first draft" {
		t.Fatalf("restored %q", data)
	}
	if out := run(0, "ls", "latest", src); !strings.Contains(out, filepath.Join(src, "report.odt")) {
		t.Fatalf("ls:\n%s", out)
	}
	st := jsonLines(t, run(0, "--json", "status"))
	if len(st) != 1 || st[0]["result"] != "ok" || st[0]["name"] != "papers" {
		t.Fatalf("status --json: %v", st)
	}
	// Errors by name: a snapshot that does not exist, a usage mistake.
	if out := run(1, "restore", "1999-01-01T000000Z", filepath.Join(src, "report.odt")); !strings.Contains(out, "1999-01-01T000000Z") {
		t.Fatalf("restore of a missing snapshot:\n%s", out)
	}
	evs = jsonLines(t, run(1, "--json", "restore", "1999-01-01T000000Z", filepath.Join(src, "report.odt")))
	if evs[0]["error"] != "SnapshotNotFound" {
		t.Fatalf("--json error: %v", evs)
	}
	run(2, "configure", "nonsense")
	// Without the service, a clear message; it unmounted what it had
	// mounted for browsing on its way out.
	s.stop()
	if m := mountedUnder(t, s.runDir()); len(m) != 0 {
		t.Fatalf("still mounted after keepsaked stopped: %v", m)
	}
	if out := run(1, "status"); !strings.Contains(out, "not running") {
		t.Fatalf("status without the service:\n%s", out)
	}
}
