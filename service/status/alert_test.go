package status

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/internal/realfs"
)

// The example alert script, data/examples/keepsake-alert, run by /bin/sh on
// status files that Write made.
var alertScript = filepath.Join("..", "..", "data", "examples", "keepsake-alert")

// alertTools is a folder with links to the programs the script runs and
// nothing else, for its PATH: whatever mailer this machine has, the
// script finds only the sendmail a test puts beside it.
func alertTools(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, tool := range []string{"sh", "awk", "sed", "tr", "uname", "cat"} {
		realfs.RequireCommands(t, tool)
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(p, filepath.Join(dir, tool)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// fakeSendmail is a stand-in for sendmail: no mail server runs here. It
// records its arguments and the message on its standard input in dir
// ("args" and "mail"), and exits with code.
func fakeSendmail(t *testing.T, code int) (bin, dir string) {
	t.Helper()
	bin, dir = t.TempDir(), t.TempDir()
	script := "#!/bin/sh\n" +
		"# A stand-in for sendmail (no mail server runs in the tests): it keeps\n" +
		"# what it was asked to send.\n" +
		"printf '%s\\n' \"$*\" > '" + filepath.Join(dir, "args") + "'\n" +
		"cat > '" + filepath.Join(dir, "mail") + "'\n" +
		"exit " + strconv.Itoa(code) + "\n"
	if err := os.WriteFile(filepath.Join(bin, "sendmail"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, dir
}

type alertRun struct {
	stdout, stderr string
	code           int
}

// runAlert runs the script with the sh of tools, PATH bin (if not "")
// and tools, and the status file given as an argument (arg) or only in
// KEEPSAKE_STATUS.
func runAlert(t *testing.T, tools, bin, file string, arg bool) alertRun {
	t.Helper()
	args := []string{alertScript}
	if arg {
		args = append(args, file)
	}
	path := tools
	if bin != "" {
		path = bin + ":" + tools
	}
	cmd := exec.Command(filepath.Join(tools, "sh"), args...)
	cmd.Env = []string{"PATH=" + path, "LC_ALL=C", "KEEPSAKE_ALERT_TO=admin@example.org"}
	if !arg {
		cmd.Env = append(cmd.Env, "KEEPSAKE_STATUS="+file)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run the alert script: %v", err)
	}
	return alertRun{out.String(), errb.String(), code}
}

// blockNames are the profiles a report has a paragraph for ("NAME: why").
var blockRe = regexp.MustCompile(`(?m)^([a-z]+): (overdue|last backup failed)`)

func blockNames(report string) []string {
	var names []string
	for _, m := range blockRe.FindAllStringSubmatch(report, -1) {
		names = append(names, m[1])
	}
	sort.Strings(names)
	return names
}

func TestAlertScript(t *testing.T) {
	fi, err := os.Stat(alertScript)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o111 != 0o111 {
		t.Errorf("%s is %v, want executable by all", alertScript, fi.Mode())
	}
	tools := alertTools(t)
	now := time.Now().UTC().Truncate(time.Second)
	fine := Profile{Name: "photos", State: "idle", Result: "ok", LastSuccess: now.Add(-time.Hour), LastAttempt: now.Add(-time.Hour),
		Drive: "2f7c1b3e-9a4d-4f0e-8c1a-0123456789ab", DrivePresent: true, TargetFree: 1 << 30, Host: "desk", AgeHours: 1, Received: -1}
	overdue := Profile{Name: "laptop", State: "idle", Result: "ok", LastSuccess: now.Add(-80 * time.Hour), LastAttempt: now.Add(-80 * time.Hour),
		Drive: "2f7c1b3e-9a4d-4f0e-8c1a-0123456789ab", TargetFree: -1, Host: "laptop", Remote: true, AgeHours: 80, Overdue: true, Received: 4096}
	failed := Profile{Name: "work", State: "failed", Result: "NoSpace", Message: "the drive \"Backup\" is full: 12 GiB needed, 3 GiB free",
		LastAttempt: now.Add(-30 * time.Minute), Drive: "1234-ABCD", TargetFree: -1, Host: "desk", AgeHours: -1, Received: -1}
	dir := t.TempDir()
	if err := Write(dir, []Profile{fine, overdue, failed}, now); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, TextFile)

	// With sendmail on PATH: one mail to KEEPSAKE_ALERT_TO naming the
	// overdue and the failed profile, and exit code 1.
	bin, got := fakeSendmail(t, 0)
	r := runAlert(t, tools, bin, file, true)
	if r.code != 1 || r.stdout != "" {
		t.Fatalf("alert with sendmail: exit %d, stdout %q, stderr %q; want 1 and nothing printed", r.code, r.stdout, r.stderr)
	}
	args, err := os.ReadFile(filepath.Join(got, "args"))
	if err != nil {
		t.Fatal("sendmail was not run:", err)
	}
	if !strings.Contains(" "+strings.TrimSpace(string(args))+" ", " -t ") {
		t.Errorf("sendmail arguments %q, want -t (recipients from the headers)", args)
	}
	data, err := os.ReadFile(filepath.Join(got, "mail"))
	if err != nil {
		t.Fatal(err)
	}
	mail := string(data)
	head, body, ok := strings.Cut(mail, "\n\n")
	if !ok {
		t.Fatalf("mail without a blank line after the headers:\n%s", mail)
	}
	headers := map[string]string{}
	for _, l := range strings.Split(head, "\n") {
		k, v, ok := strings.Cut(l, ": ")
		if !ok {
			t.Fatalf("header line %q in:\n%s", l, mail)
		}
		headers[k] = v
	}
	if headers["To"] != "admin@example.org" {
		t.Errorf("To: %q, want admin@example.org\n%s", headers["To"], mail)
	}
	subject := headers["Subject"]
	if !strings.HasPrefix(subject, "Keepsake on ") || !strings.HasSuffix(subject, ": 2 backups need attention: laptop, work") {
		t.Errorf("Subject: %q\n%s", subject, mail)
	}
	if names := blockNames(body); strings.Join(names, " ") != "laptop work" {
		t.Errorf("the mail is about %v, want laptop and work:\n%s", names, mail)
	}
	if strings.Contains(mail, "photos") {
		t.Errorf("the mail names the profile that is fine:\n%s", mail)
	}
	for _, want := range []string{
		"laptop: overdue\n",
		"  last success:  " + overdue.LastSuccess.Format(time.RFC3339) + ", 80 hours ago\n",
		"  computer:      laptop (another computer, over ssh)\n",
		"work: last backup failed (NoSpace)\n",
		"  state:         failed\n",
		"  last success:  never\n",
		"  message:       the drive \"Backup\" is full: 12 GiB needed, 3 GiB free\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the mail lacks %q:\n%s", want, mail)
		}
	}
	for i, c := range data {
		if c > 127 {
			t.Fatalf("byte %d of the mail is not ASCII:\n%s", i, mail)
		}
	}

	// No sendmail on PATH: the same report on standard output, the
	// summary first (what a Nagios-style check shows), exit code 1. The
	// status file comes from KEEPSAKE_STATUS this time.
	os.Remove(filepath.Join(got, "mail"))
	r = runAlert(t, tools, "", file, false)
	if r.code != 1 {
		t.Fatalf("alert without sendmail: exit %d, stderr %q; want 1", r.code, r.stderr)
	}
	first, _, _ := strings.Cut(r.stdout, "\n")
	if first != subject {
		t.Errorf("first line printed %q, want the mail's subject %q", first, subject)
	}
	if names := blockNames(r.stdout); strings.Join(names, " ") != "laptop work" || strings.Contains(r.stdout, "photos") {
		t.Errorf("the report is about %v, want laptop and work only:\n%s", names, r.stdout)
	}
	if !strings.Contains(r.stdout, "  message:       the drive \"Backup\" is full") {
		t.Errorf("the report lacks the failed profile's message:\n%s", r.stdout)
	}
	if _, err := os.Stat(filepath.Join(got, "mail")); err == nil {
		t.Error("a sendmail that is not on PATH was run")
	}

	// A sendmail that fails: the report goes to standard output instead.
	badBin, _ := fakeSendmail(t, 1)
	r = runAlert(t, tools, badBin, file, true)
	if r.code != 1 || blockNames(r.stdout) == nil || !strings.Contains(r.stderr, "sendmail failed") {
		t.Errorf("sendmail failing: exit %d, stdout %q, stderr %q; want 1 and the report printed", r.code, r.stdout, r.stderr)
	}

	// All well (a profile never run yet is not a failure): exit 0, no
	// mail, nothing printed.
	never := Profile{Name: "new", State: "waiting-for-drive", Result: "never", TargetFree: -1, AgeHours: -1, Received: -1}
	notYet := Profile{Name: "newer", State: "idle", TargetFree: -1, AgeHours: -1, Received: -1}
	if err := Write(dir, []Profile{fine, never, notYet}, now); err != nil {
		t.Fatal(err)
	}
	r = runAlert(t, tools, bin, file, true)
	if r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Errorf("all well: exit %d, stdout %q, stderr %q; want 0 and nothing", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(got, "mail")); err == nil {
		t.Error("all well, yet a mail was sent")
	}

	// No status file (the service is not running): exit 2, said on
	// standard error, no mail.
	r = runAlert(t, tools, bin, filepath.Join(dir, "missing"), true)
	if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "cannot read") {
		t.Errorf("missing status file: exit %d, stdout %q, stderr %q; want 2 and a message", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(got, "mail")); err == nil {
		t.Error("a missing status file sent a mail")
	}
}
