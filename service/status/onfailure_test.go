package status

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestRunOnFailureEnvironment(t *testing.T) {
	out := t.TempDir()
	// A stale variable in the service's environment must not leak through.
	t.Setenv("KEEPSAKE_ERROR", "stale")
	p := Profile{Name: "home", Drive: "2f7c-AB", Host: "laptop", Remote: true, LastSuccess: time.Date(2026, 11, 23, 9, 0, 0, 0, time.FixedZone("CET", 3600))}
	cmd := `for v in PROFILE ERROR MESSAGE LAST_SUCCESS DRIVE HOST REMOTE; do eval "printf %s \"\$KEEPSAKE_$v\"" > "` + out + `/$v"; done; pwd > "` + out + `/pwd"`
	if err := RunOnFailure(context.Background(), cmd, p, "NoSpace", "the drive is full:\n'12 GiB' \"needed\"\x00"); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"PROFILE":      "home",
		"ERROR":        "NoSpace",
		"MESSAGE":      "the drive is full:\n'12 GiB' \"needed\"",
		"LAST_SUCCESS": "2026-11-23T08:00:00Z",
		"DRIVE":        "2f7c-AB",
		"HOST":         "laptop",
		"REMOTE":       "yes",
		"pwd":          "/\n",
	}
	for name, w := range want {
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || string(got) != w {
			t.Errorf("%s = %q (%v), want %q", name, got, err, w)
		}
	}

	// Never succeeded: the variable is set but empty.
	if err := RunOnFailure(context.Background(), `printf '%s' "${KEEPSAKE_LAST_SUCCESS-unset}" > "`+out+`/never"`, Profile{Name: "new"}, "DeviceGone", ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(out, "never")); string(got) != "" {
		t.Errorf("KEEPSAKE_LAST_SUCCESS for a profile that never succeeded = %q, want empty", got)
	}
}

func TestRunOnFailureError(t *testing.T) {
	err := RunOnFailure(context.Background(), `printf 'stdout-%s' noise; echo 'mail: cannot reach smtp.example.org' >&2; exit 3`, Profile{Name: "home"}, "Failed", "x")
	if err == nil {
		t.Fatal("a failing command returned no error")
	}
	for _, want := range []string{"mail: cannot reach smtp.example.org", "exit status 3"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "stdout-noise") {
		t.Errorf("error %q holds standard output", err)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Errorf("error does not carry the exit status: %v", err)
	}

	// Long output: only the tail, with its last line, is kept.
	err = RunOnFailure(context.Background(), `i=0; while [ $i -lt 2000 ]; do echo "line $i" >&2; i=$((i+1)); done; exit 1`, Profile{}, "Failed", "")
	if err == nil || !strings.Contains(err.Error(), "line 1999") || strings.Contains(err.Error(), "line 1\n") || len(err.Error()) > stderrTail+200 {
		t.Errorf("long stderr: error of %d bytes: %.200q", len(err.Error()), err)
	}
}

func TestRunOnFailureEmpty(t *testing.T) {
	if err := RunOnFailure(context.Background(), "  ", Profile{}, "Failed", ""); err != nil {
		t.Fatal(err)
	}
}

func TestRunOnFailureTimeoutKillsEverything(t *testing.T) {
	old := timeout
	timeout = 300 * time.Millisecond
	defer func() { timeout = old }()

	pidFile := filepath.Join(t.TempDir(), "pid")
	start := time.Now()
	err := RunOnFailure(context.Background(), `sleep 30 & echo $! > `+pidFile+`; wait`, Profile{}, "Failed", "")
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("took %v, the timeout is 300ms", took)
	}
	if err == nil || !strings.Contains(err.Error(), "killed after 300ms") {
		t.Fatalf("error = %v, want one saying it was killed", err)
	}
	data, rerr := os.ReadFile(pidFile)
	if rerr != nil {
		t.Fatal(rerr)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	// The background sleep was killed too (it may linger briefly as a
	// zombie until init reaps it).
	deadline := time.Now().Add(3 * time.Second)
	for {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || strings.Contains(string(stat), ") Z ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the command's child %d still runs: %s", pid, stat)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRunOnFailureCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	err := RunOnFailure(ctx, "sleep 30", Profile{}, "Failed", "")
	if err == nil || !strings.Contains(err.Error(), "cancelled") {
		t.Fatalf("error = %v, want cancelled", err)
	}
}
