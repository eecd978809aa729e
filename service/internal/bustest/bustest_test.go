package bustest_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/keepsake/keepsake/service/internal/bustest"
	"github.com/keepsake/keepsake/service/internal/realfs"
)

// These tests check the shipped system files (data/ and systemd/) on a real
// bus: they are what bustest exists for, and they keep the harness honest.

const (
	busName        = "io.github.keepsake.Keepsake1"
	activationFile = "data/io.github.keepsake.Keepsake1.service.in"
	unitFile       = "systemd/keepsake.service.in"
)

func requireUsers(t *testing.T) {
	t.Helper()
	realfs.RequireRoot(t, "a private system bus and other users")
	realfs.RequireCommands(t, "dbus-daemon", "setpriv", "useradd", "busctl")
}

// The shipped bus policy: root may own the service's name, nobody else may;
// everyone may call it. The control case shows the bus denies calls by
// default, so the call going through is the policy's doing.
func TestBusPolicy(t *testing.T) {
	requireUsers(t)
	bus := bustest.StartSystemBus(t)
	bustest.User(t, "ks-bus-user")
	root := bus.Conn(t)
	client := bus.Share(t, bustest.BusClient(t))

	// Another user tries first, while the name is free.
	_, stderr, code := bus.AsUser(t, "ks-bus-user", client, "-own", busName)
	if code == 0 || !strings.Contains(stderr, "not allowed to own") {
		t.Errorf("a user owning %s: exit %d, %q; want it refused", busName, code, stderr)
	}

	reply, err := root.RequestName(busName, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("root owning %s: %v %v", busName, reply, err)
	}

	ping := func(dest string) (string, int) {
		_, stderr, code := bus.AsUser(t, "ks-bus-user", "busctl", "--address="+bus.Address,
			"call", dest, "/", "org.freedesktop.DBus.Peer", "Ping")
		return stderr, code
	}
	if stderr, code := ping(busName); code != 0 {
		t.Errorf("a user calling %s: exit %d: %s", busName, code, stderr)
	}
	// Control: the same call to another root connection, which owns no
	// name no policy opens. (Not root's unique name: dbus-daemon applies
	// send_destination to every name the receiver owns, however the
	// message is addressed.)
	other := bus.Conn(t)
	if stderr, code := ping(other.Names()[0]); code == 0 || !strings.Contains(stderr, "denied") {
		t.Errorf("a user calling another root connection: exit %d, %q; want access denied", code, stderr)
	}
}

// The service's signals reach every user.
func TestBusPolicySignals(t *testing.T) {
	requireUsers(t)
	realfs.RequireCommands(t, "gdbus", "timeout")
	bus := bustest.StartSystemBus(t)
	bustest.User(t, "ks-bus-user")
	root := bus.Conn(t)
	if reply, err := root.RequestName(busName, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("root owning %s: %v %v", busName, reply, err)
	}

	// gdbus monitor prints the signals of one sender; it runs as the user
	// until the test has seen the signal arrive or gives up.
	cmd := exec.Command("setpriv", "--reuid=ks-bus-user", "--regid=ks-bus-user", "--init-groups", "--",
		"timeout", "20", "gdbus", "monitor", "--system", "--dest", busName)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "DBUS_SYSTEM_BUS_ADDRESS=" + bus.Address}
	cmd.Dir = "/"
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	// gdbus subscribes to the owner's unique name some time after it
	// prints anything: send until the user has seen one.
	stopEmit := make(chan struct{})
	defer close(stopEmit)
	go func() {
		for {
			root.Emit("/io/github/keepsake/Keepsake1", "io.github.keepsake.Keepsake1.Manager.Test", "hello")
			select {
			case <-stopEmit:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	waitLine(t, lines, "io.github.keepsake.Keepsake1.Manager.Test ('hello',)")
}

func waitLine(t *testing.T, lines <-chan string, want string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	var seen []string
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("output ended before %q:\n%s", want, strings.Join(seen, "\n"))
			}
			if strings.Contains(l, want) {
				return
			}
			seen = append(seen, l)
		case <-timeout:
			t.Fatalf("no %q after 10s:\n%s", want, strings.Join(seen, "\n"))
		}
	}
}

// The shipped activation file: a user's call starts keepsaked, as root,
// and the call reaches it.
func TestActivation(t *testing.T) {
	requireUsers(t)
	bus := bustest.StartSystemBus(t)
	bustest.User(t, "ks-bus-user")
	client := bus.Share(t, bustest.BusClient(t))

	// A stand-in keepsaked in a stand-in libexecdir that takes the name the
	// way the real one does.
	libexec := filepath.Join(bus.Dir, "libexec")
	if err := os.Mkdir(libexec, 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\nexec " + client + " -own " + busName + " -stay\n"
	if err := os.WriteFile(filepath.Join(libexec, "keepsaked"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.ReadFile(bustest.RepoFile(t, activationFile))
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.ReplaceAll(string(in), "@libexecdir@", libexec)
	if err := os.WriteFile(filepath.Join(bus.ServiceDir, busName+".service"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}

	_, stderr, code := bus.AsUser(t, "ks-bus-user", "busctl", "--address="+bus.Address,
		"call", busName, "/", "org.freedesktop.DBus.Peer", "Ping")
	if code != 0 {
		t.Fatalf("a user's call did not start the service: exit %d: %s", code, stderr)
	}
	var uid uint32
	root := bus.Conn(t)
	if err := root.BusObject().Call("org.freedesktop.DBus.GetConnectionUnixUser", 0, busName).Store(&uid); err != nil {
		t.Fatal(err)
	}
	if uid != 0 {
		t.Errorf("activated service runs as uid %d, want root", uid)
	}
}

// The activation file and the systemd unit describe the same service: the
// bus asks systemd for the unit the file names, the unit claims the bus
// name the file activates, and both start the same binary.
func TestActivationMatchesUnit(t *testing.T) {
	act := keys(t, activationFile)
	unit := keys(t, unitFile)
	want := []struct{ what, got, want string }{
		{"activation Name", act["Name"], busName},
		{"unit BusName", unit["BusName"], busName},
		{"unit Type", unit["Type"], "dbus"},
		{"activation SystemdService", act["SystemdService"], strings.TrimSuffix(filepath.Base(unitFile), ".in")},
		{"activation User", act["User"], "root"},
		{"unit ExecStart", unit["ExecStart"], act["Exec"]},
		{"activation Exec", act["Exec"], "@libexecdir@/keepsaked"},
		{"unit WantedBy", unit["WantedBy"], "multi-user.target"},
	}
	for _, w := range want {
		if w.got != w.want {
			t.Errorf("%s = %q, want %q", w.what, w.got, w.want)
		}
	}
}

// keys reads the key=value lines of an ini-style file (last one wins).
func keys(t *testing.T, rel string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(bustest.RepoFile(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = v
		}
	}
	return m
}

// systemd accepts the unit as written: every key known, every value valid.
// systemd-analyze verify works without systemd running, but wants the
// ExecStart binary to exist and reports unknown keys on stderr only, with
// exit status 0: any output fails the test.
func TestUnitVerifies(t *testing.T) {
	realfs.RequireCommands(t, "systemd-analyze")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keepsaked"), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.ReadFile(bustest.RepoFile(t, unitFile))
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(dir, "keepsake.service")
	if err := os.WriteFile(unit, []byte(strings.ReplaceAll(string(in), "@libexecdir@", dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "verify", unit).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// User creates a user once and is idempotent, adding groups later.
func TestUser(t *testing.T) {
	realfs.RequireRoot(t, "creating users")
	realfs.RequireCommands(t, "useradd", "setpriv", "dbus-daemon")
	uid, gid := bustest.User(t, "ks-bus-user2")
	uid2, gid2 := bustest.User(t, "ks-bus-user2", "ks-bus-group")
	if uid == 0 || uid != uid2 || gid != gid2 {
		t.Fatalf("User twice: %d:%d then %d:%d", uid, gid, uid2, gid2)
	}
	bus := bustest.StartSystemBus(t)
	out, _, code := bus.AsUser(t, "ks-bus-user2", "id", "-nG")
	if code != 0 || !strings.Contains(out, "ks-bus-group") {
		t.Errorf("id -nG as the user: %q (exit %d), want ks-bus-group among them", out, code)
	}
	out, _, _ = bus.AsUser(t, "ks-bus-user2", "sh", "-c", "id -u; echo $DBUS_SYSTEM_BUS_ADDRESS")
	if want := strings.Join([]string{strconv.FormatUint(uint64(uid), 10), bus.Address}, "\n") + "\n"; out != want {
		t.Errorf("as the user: %q, want %q", out, want)
	}
	if _, _, code := bus.AsUser(t, "ks-bus-user2", "sh", "-c", "exit 3"); code != 3 {
		t.Errorf("exit code %d, want 3", code)
	}
}
