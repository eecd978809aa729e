package status

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// OnFailureTimeout bounds an on-failure command; a hung mailer must not pile
// up processes behind failing backups.
const OnFailureTimeout = 60 * time.Second

// timeout is OnFailureTimeout; tests shorten it.
var timeout = OnFailureTimeout

// stderrTail is how much of the command's standard error an error keeps.
const stderrTail = 2048

// RunOnFailure runs the administrator's on-failure command with /bin/sh -c
// after p's backup failed with errName and message. The command inherits
// the service's environment plus
//
//	KEEPSAKE_PROFILE       the profile's name
//	KEEPSAKE_ERROR         the error name, such as NoSpace
//	KEEPSAKE_MESSAGE       the error message
//	KEEPSAKE_LAST_SUCCESS  the last successful backup (RFC 3339) or empty
//	KEEPSAKE_DRIVE         the drive's filesystem UUID or empty
//	KEEPSAKE_HOST          the computer backed up, as named on the drive
//	KEEPSAKE_REMOTE        yes for another computer pulled over ssh, else no
//
// in /, with standard input and output on /dev/null. It is killed, with
// everything it started, after 60 seconds or when ctx ends. An empty
// command does nothing. A failure returns an error that carries the last
// lines of the command's standard error.
func RunOnFailure(ctx context.Context, command string, p Profile, errName, message string) error {
	if strings.TrimSpace(command) == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	lastSuccess := ""
	if !p.LastSuccess.IsZero() {
		lastSuccess = p.LastSuccess.UTC().Format(time.RFC3339)
	}
	env := make([]string, 0, len(os.Environ())+5)
	for _, e := range os.Environ() {
		// The service's own KEEPSAKE_* variables (from a unit file, say)
		// must not shadow the ones describing this failure.
		if !strings.HasPrefix(e, "KEEPSAKE_") {
			env = append(env, e)
		}
	}
	for _, kv := range [][2]string{
		{"KEEPSAKE_PROFILE", p.Name},
		{"KEEPSAKE_ERROR", errName},
		{"KEEPSAKE_MESSAGE", message},
		{"KEEPSAKE_LAST_SUCCESS", lastSuccess},
		{"KEEPSAKE_DRIVE", p.Drive},
		{"KEEPSAKE_HOST", p.Host},
		{"KEEPSAKE_REMOTE", yesNo(p.Remote)},
	} {
		// The environment cannot hold NUL bytes; exec would refuse to run.
		env = append(env, kv[0]+"="+strings.ReplaceAll(kv[1], "\x00", ""))
	}

	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
	cmd.Env = env
	cmd.Dir = "/"
	var stderr tail
	cmd.Stderr = &stderr
	// Its own process group, so a timeout kills what the script started
	// too, not only the shell.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// A background child holding stderr open must not keep us waiting.
	cmd.WaitDelay = 2 * time.Second

	err := cmd.Run()
	if err == nil {
		return nil
	}
	what := fmt.Sprintf("on-failure command %q", command)
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		what += fmt.Sprintf(": killed after %s", timeout)
	case ctx.Err() != nil:
		what += ": cancelled"
	}
	if t := stderr.String(); t != "" {
		return fmt.Errorf("%s: %w; it said: %s", what, err, t)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// tail keeps the last stderrTail bytes written to it.
type tail struct{ b []byte }

func (t *tail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > stderrTail {
		t.b = append(t.b[:0], t.b[len(t.b)-stderrTail:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	return strings.TrimSpace(strings.ToValidUTF8(string(t.b), "?"))
}
