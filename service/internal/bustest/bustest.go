package bustest

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/keepsake/keepsake/service/internal/realfs"
)

// Paths of the shipped files, relative to the repository root: these are
// what the tests exercise, not copies.
const (
	BusPolicyFile    = "data/io.github.keepsake.Keepsake1.conf"
	PolkitPolicyFile = "data/io.github.keepsake.keepsake1.policy"
)

const (
	polkitd     = "/usr/lib/polkit-1/polkitd"
	polkitName  = "org.freedesktop.PolicyKit1"
	polkitPath  = "/org/freedesktop/PolicyKit1/Authority"
	polkitIface = "org.freedesktop.PolicyKit1.Authority"
	rulesFile   = "49-keepsake-test.rules"
)

// Bus is a private system bus.
type Bus struct {
	Dir     string // 0755 temporary directory holding everything below
	Socket  string // the bus socket
	Address string // "unix:path=" + Socket
	// ServiceDir is the bus's activation directory: a .service file put
	// here makes its name activatable at once.
	ServiceDir string

	polkitRules string // the polkit rules directory, once StartPolkit ran
}

// StartSystemBus starts a private dbus-daemon configured like a distribution's
// system bus: only the bus itself may be called and nobody may own a name,
// except where a policy file punches a hole. It includes the repository's
// data/io.github.keepsake.Keepsake1.conf (so the shipped policy is what is
// tested) and the installed polkit bus policy. The bus stops on cleanup.
func StartSystemBus(t testing.TB) *Bus {
	t.Helper()
	realfs.RequireCommands(t, "dbus-daemon")
	root := repoRoot(t)

	// Not t.TempDir(): its parents are 0700, and other users must reach
	// the socket. A short path also keeps the socket under the 108-byte
	// limit of unix socket addresses.
	dir, err := os.MkdirTemp("", "keepsake-bus-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b := &Bus{
		Dir:        dir,
		Socket:     filepath.Join(dir, "system_bus_socket"),
		ServiceDir: filepath.Join(dir, "services"),
	}
	b.Address = "unix:path=" + b.Socket
	if err := os.Mkdir(b.ServiceDir, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(conf, []byte(busConfig(t, b, filepath.Join(root, BusPolicyFile))), 0o644); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command("dbus-daemon", "--config-file="+conf, "--nofork", "--nopidfile", "--print-address=1")
	// A test killed by its timeout runs no cleanup: the bus goes with it,
	// and every client of the bus (polkitd, busclient) leaves when the bus
	// closes their connection.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dbus-daemon: %v", err)
	}
	t.Cleanup(func() { stop(cmd) })
	// The address is printed once the bus listens.
	line, err := readLine(out, 10*time.Second)
	if err != nil {
		t.Fatalf("dbus-daemon did not start: %v\n%s", err, stderr.String())
	}
	if !strings.HasPrefix(line, b.Address) {
		t.Fatalf("dbus-daemon listens on %q, want %q", line, b.Address)
	}
	return b
}

// BusConfigFile is the private bus's configuration template, shared with
// build-aux/private-bus.sh.
const BusConfigFile = "build-aux/private-system-bus.conf.in"

// busConfig fills the template in for b.
func busConfig(t testing.TB, b *Bus, keepsakePolicy string) string {
	data, err := os.ReadFile(RepoFile(t, BusConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReplacer("@SOCKET@", xmlEscape(b.Socket), "@SERVICEDIR@", xmlEscape(b.ServiceDir),
		"@KEEPSAKE_POLICY@", xmlEscape(keepsakePolicy)).Replace(string(data))
}

func xmlEscape(s string) string {
	var buf bytes.Buffer
	xml.EscapeText(&buf, []byte(s)) // writes to a bytes.Buffer cannot fail
	return buf.String()
}

// StartPolkit starts polkitd on the bus, with the repository's
// data/io.github.keepsake.keepsake1.policy as its only actions and rules
// (JavaScript, "" for none) as /etc/polkit-1/rules.d/49-keepsake-test.rules.
// polkitd runs in its own mount namespace where the test's directories
// cover the real ones; the distribution's default rules in
// /usr/share/polkit-1/rules.d still apply, as on a real system. It returns
// once polkit answers; polkitd stops on cleanup.
func (b *Bus) StartPolkit(t testing.TB, rules string) {
	t.Helper()
	realfs.RequireRoot(t, "polkitd and mount namespaces")
	realfs.RequireCommands(t, "unshare", "mount", polkitd)
	if b.polkitRules != "" {
		t.Fatal("bustest: polkit already started on this bus")
	}
	actions := filepath.Join(b.Dir, "polkit", "actions")
	rulesDir := filepath.Join(b.Dir, "polkit", "rules.d")
	for _, d := range []string{actions, rulesDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		// polkitd drops to its own user: it must read these.
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Dir(actions), 0o755)
	policy, err := os.ReadFile(filepath.Join(repoRoot(t), PolkitPolicyFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(actions, filepath.Base(PolkitPolicyFile)), policy, 0o644); err != nil {
		t.Fatal(err)
	}
	b.polkitRules = rulesDir
	if rules != "" {
		if err := os.WriteFile(filepath.Join(rulesDir, rulesFile), []byte(rules), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// unshare, sh and polkitd exec each other: the pid is polkitd's.
	script := `mount --bind "$1" /usr/share/polkit-1/actions && mount --bind "$2" /etc/polkit-1/rules.d && exec "$3" --no-debug`
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "sh", actions, rulesDir, polkitd)
	cmd.Env = append(os.Environ(), "DBUS_SYSTEM_BUS_ADDRESS="+b.Address)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	log := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start polkitd: %v", err)
	}
	t.Cleanup(func() { stop(cmd) })

	conn := b.Conn(t)
	// polkitd loads its JavaScript engine first: with every test package
	// of the project at work beside it, that once took more than 10 s.
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := conn.Object(polkitName, polkitPath).Call("org.freedesktop.DBus.Properties.Get", 0, polkitIface, "BackendName").Store(&dbus.Variant{})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("polkitd did not answer on the bus: %v\n%s", err, log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// SetRules replaces the polkit rules ("" removes them) and returns once
// polkitd has reloaded them.
func (b *Bus) SetRules(t testing.TB, rules string) {
	t.Helper()
	if b.polkitRules == "" {
		t.Fatal("bustest: SetRules before StartPolkit")
	}
	conn := b.Conn(t)
	// polkitd reloads on inotify and then emits Changed.
	if err := conn.AddMatchSignal(dbus.WithMatchInterface(polkitIface), dbus.WithMatchMember("Changed")); err != nil {
		t.Fatal(err)
	}
	changed := make(chan *dbus.Signal, 8)
	conn.Signal(changed)
	p := filepath.Join(b.polkitRules, rulesFile)
	if rules == "" {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	} else {
		// Write then rename: polkitd must never read a half-written file.
		tmp := filepath.Join(b.polkitRules, ".tmp-rules")
		if err := os.WriteFile(tmp, []byte(rules), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, p); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-changed:
	case <-time.After(10 * time.Second):
		t.Fatal("polkitd did not reload its rules")
	}
}

// Conn connects to the bus as the current process (root in the integration
// tests); the connection closes on cleanup.
func (b *Bus) Conn(t testing.TB) *dbus.Conn {
	t.Helper()
	conn, err := dbus.Connect(b.Address)
	if err != nil {
		t.Fatalf("connect to %s: %v", b.Address, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// User makes sure the local user name exists, with a home folder and as a
// member of groups (created when missing), and returns its uid and gid.
// Users stay after the test: other test processes may use the same names
// at the same time.
func User(t testing.TB, name string, groups ...string) (uid, gid uint32) {
	t.Helper()
	realfs.RequireRoot(t, "creating users")
	realfs.RequireCommands(t, "useradd", "groupadd", "usermod")
	for _, g := range groups {
		if _, err := user.LookupGroup(g); err == nil {
			continue
		}
		// 9: created meanwhile by another test process.
		shadowTool(t, []int{9}, "groupadd", g)
	}
	if _, err := user.Lookup(name); err != nil {
		args := []string{"-m", "-s", "/bin/sh"}
		if len(groups) > 0 {
			args = append(args, "-G", strings.Join(groups, ","))
		}
		shadowTool(t, []int{9}, "useradd", append(args, name)...)
	} else if len(groups) > 0 {
		shadowTool(t, nil, "usermod", "-a", "-G", strings.Join(groups, ","), name)
	}
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatalf("user %s: %v", name, err)
	}
	uid64, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid64, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		t.Fatalf("user %s: uid %q gid %q", name, u.Uid, u.Gid)
	}
	return uint32(uid64), uint32(gid64)
}

// shadowTool runs useradd, groupadd or usermod, treating the exit codes in
// ok as success and retrying while another process holds /etc/passwd's
// lock (go test runs packages in parallel).
func shadowTool(t testing.TB, ok []int, name string, args ...string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, err := exec.Command(name, args...).CombinedOutput()
		if err == nil {
			return
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			for _, c := range ok {
				if ee.ExitCode() == c {
					return
				}
			}
		}
		if strings.Contains(string(out), "lock") && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// userCommand is name args run as user (real and effective ids, its
// groups), in its home folder, with a clean environment pointing at the bus.
func (b *Bus) userCommand(t testing.TB, username, name string, args ...string) *exec.Cmd {
	t.Helper()
	realfs.RequireRoot(t, "running commands as another user")
	realfs.RequireCommands(t, "setpriv")
	u, err := user.Lookup(username)
	if err != nil {
		t.Fatalf("user %s: %v (create it with bustest.User)", username, err)
	}
	cmd := exec.Command("setpriv", append([]string{"--reuid=" + u.Uid, "--regid=" + u.Gid, "--init-groups", "--", name}, args...)...)
	cmd.Dir = u.HomeDir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + u.HomeDir,
		"USER=" + u.Username,
		"LOGNAME=" + u.Username,
		"LANG=C.UTF-8",
		"DBUS_SYSTEM_BUS_ADDRESS=" + b.Address,
	}
	return cmd
}

// AsUser runs a command as user, with DBUS_SYSTEM_BUS_ADDRESS set to this
// bus, and returns its output and exit code. The program must be reachable
// by that user: see Share for binaries built by the test.
func (b *Bus) AsUser(t testing.TB, username, name string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := b.userCommand(t, username, name, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("run %s as %s: %v", name, username, err)
	}
	return o.String(), e.String(), code
}

// ConnectAs starts a process as user that connects to the bus and stays
// connected until cleanup, and returns its unique bus name: a real caller
// of that user, for checks that take a bus name (polkit's system-bus-name
// subject, GetConnectionUnixUser).
func (b *Bus) ConnectAs(t testing.TB, username string) string {
	t.Helper()
	bin := b.Share(t, BusClient(t))
	cmd := b.userCommand(t, username, bin)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start bus client as %s: %v", username, err)
	}
	t.Cleanup(func() {
		stdin.Close() // busclient leaves when its stdin closes
		stop(cmd)
	})
	name, err := readLine(out, 10*time.Second)
	if err != nil || !strings.HasPrefix(name, ":") {
		t.Fatalf("bus client as %s: %q %v\n%s", username, name, err, stderr.String())
	}
	return name
}

// BusClient builds service/internal/bustest/busclient (once per test
// process) and returns its path: a client that connects, prints its unique
// name, optionally owns a name (-own NAME), and stays until stdin closes
// (with -stay: until the bus goes away).
func BusClient(t testing.TB) string {
	t.Helper()
	return realfs.Build(t, "service/internal/bustest/busclient")
}

// Share copies a file (typically a binary the test built, which lives in a
// directory only root can enter) into the bus directory, where every user
// can run it, and returns the copy's path.
func (b *Bus) Share(t testing.TB, path string) string {
	t.Helper()
	dir := filepath.Join(b.Dir, "bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, filepath.Base(path))
	if _, err := os.Stat(dst); err == nil {
		return dst
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}

// repoRoot is the directory holding go.mod, found from the test's working
// directory (its package directory) upwards.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("bustest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// RepoFile is the absolute path of a file of the repository, e.g.
// RepoFile(t, "data/io.github.keepsake.Keepsake1.service.in").
func RepoFile(t testing.TB, rel string) string {
	t.Helper()
	return filepath.Join(repoRoot(t), rel)
}

// readLine reads the first line of r, or fails after timeout.
func readLine(r io.Reader, timeout time.Duration) (string, error) {
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		line, err := bufio.NewReader(r).ReadString('\n')
		ch <- result{strings.TrimSpace(line), err}
	}()
	select {
	case res := <-ch:
		if res.err != nil && res.line == "" {
			return "", res.err
		}
		return res.line, nil
	case <-time.After(timeout):
		return "", fmt.Errorf("nothing after %s", timeout)
	}
}

// stop ends a process started by this package: SIGTERM, then SIGKILL if it
// has not exited within five seconds.
func stop(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// syncBuffer collects a process's output for failure messages.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}
