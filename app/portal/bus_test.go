package portal

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/godbus/dbus/v5"
)

// fakePortals stands in for xdg-desktop-portal, which does not run on
// this machine: it records the calls and answers as the portal
// documentation says, so the tests check the method names, signatures
// and arguments the app sends through a real dbus-daemon.
type fakePortals struct {
	options map[string]dbus.Variant
	parent  string
}

func (f *fakePortals) RequestBackground(parent string, options map[string]dbus.Variant) (dbus.ObjectPath, *dbus.Error) {
	f.parent, f.options = parent, options
	return "/org/freedesktop/portal/desktop/request/1_1/t", nil
}

func (f *fakePortals) GetHostPaths(ids []string) (map[string][]byte, *dbus.Error) {
	out := map[string][]byte{}
	for _, id := range ids {
		if id == "ef34" {
			out[id] = []byte("/home/ann/Music\x00")
		}
	}
	return out, nil
}

func privateSessionBus(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("dbus-daemon"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("dbus-daemon is missing (build-aux/deps.sh installs dbus)")
		}
		t.Skip("dbus-daemon is missing (Debian: dbus)")
	}
	cmd := exec.Command("dbus-daemon", "--session", "--fork", "--print-address=1", "--print-pid=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(out)
	addr, _ := r.ReadString('\n')
	pidLine, _ := r.ReadString('\n')
	cmd.Wait()
	pid, err := strconv.Atoi(strings.TrimSpace(pidLine))
	if err != nil {
		t.Fatalf("dbus-daemon: %q %q", addr, pidLine)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGTERM) })
	return strings.TrimSpace(addr)
}

func connect(t *testing.T, addr string) *dbus.Conn {
	t.Helper()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func TestPortalCallsOverTheBus(t *testing.T) {
	addr := privateSessionBus(t)
	portalConn := connect(t, addr)
	f := &fakePortals{}
	if err := portalConn.ExportMethodTable(map[string]any{"RequestBackground": f.RequestBackground}, desktopPath, "org.freedesktop.portal.Background"); err != nil {
		t.Fatal(err)
	}
	if err := portalConn.ExportMethodTable(map[string]any{"GetHostPaths": f.GetHostPaths}, docsPath, "org.freedesktop.portal.Documents"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{desktopName, docsName} {
		if _, err := portalConn.RequestName(name, dbus.NameFlagDoNotQueue); err != nil {
			t.Fatal(err)
		}
	}

	// The app's side, on its own connection to the same bus.
	app := connect(t, addr)
	handle, err := RequestBackground(context.Background(), app, "Back up when the drive is plugged in", []string{"keepsake", "--hide-window"})
	if err != nil || handle == "" {
		t.Fatalf("RequestBackground = %q, %v", handle, err)
	}
	if got := f.options["commandline"].Value(); !reflect.DeepEqual(got, []string{"keepsake", "--hide-window"}) || f.options["autostart"].Value() != true {
		t.Errorf("the portal was asked %v", f.options)
	}
	host, err := NewResolver(app).Host(context.Background(), "/run/user/"+strconv.Itoa(os.Getuid())+"/doc/ef34/Music/Jazz")
	if err != nil || host != "/home/ann/Music/Jazz" {
		t.Errorf("Host = %q, %v", host, err)
	}
}
