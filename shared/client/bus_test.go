package client

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/shared/dbusapi"
)

// startBus runs a private dbus-daemon for one test and returns its
// address. The tests in this package need no keepsaked: a fake owns the
// service's name where one is needed.
func startBus(t *testing.T) string {
	t.Helper()
	daemon, err := exec.LookPath("dbus-daemon")
	if err != nil {
		// build-aux/deps.sh installs it; CI runs that first, so there a
		// missing dbus-daemon is a broken setup, not a reason to pass.
		if os.Getenv("CI") == "true" {
			t.Fatal("dbus-daemon is not installed (build-aux/deps.sh installs it; CI=true: a failure, not a skip)")
		}
		t.Skip("dbus-daemon is not installed (build-aux/deps.sh installs it)")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "bus.conf")
	err = os.WriteFile(conf, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=`+filepath.Join(dir, "bus")+`</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(daemon, "--config-file="+conf, "--nofork", "--nopidfile", "--print-address=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	addr := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		addr <- strings.TrimSpace(line)
	}()
	select {
	case a := <-addr:
		if a == "" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("dbus-daemon printed no address: %s", stderr.String())
		}
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("dbus-daemon did not start")
	}
	return ""
}

// dial connects to the bus at addr.
func dial(t *testing.T, addr string) *dbus.Conn {
	t.Helper()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatalf("connect to %s: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// call is one method call the fake service received.
type call struct {
	Path   dbus.ObjectPath
	Member string // Interface.Method
	Sig    string
	Body   []any
	// conn is the fake service's connection, to emit signals on.
	conn *dbus.Conn
}

// fakeService owns the service's name and answers every call with what
// reply returns for it, recording the calls.
type fakeService struct {
	conn  *dbus.Conn
	mu    sync.Mutex
	calls []call
	reply func(c call) []any
}

func startFake(t *testing.T, addr string, reply func(c call) []any) *fakeService {
	t.Helper()
	conn := dial(t, addr)
	r, err := conn.RequestName(dbusapi.BusName, dbus.NameFlagDoNotQueue)
	if err != nil || r != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own %s: %v %v", dbusapi.BusName, r, err)
	}
	f := &fakeService{conn: conn, reply: reply}
	in := make(chan *dbus.Message, 64)
	conn.Eavesdrop(in)
	go func() {
		for m := range in {
			if m.Type != dbus.TypeMethodCall {
				continue
			}
			c := call{Body: m.Body, conn: conn}
			c.Path, _ = m.Headers[dbus.FieldPath].Value().(dbus.ObjectPath)
			iface, _ := m.Headers[dbus.FieldInterface].Value().(string)
			member, _ := m.Headers[dbus.FieldMember].Value().(string)
			c.Member = iface + "." + member
			if s, ok := m.Headers[dbus.FieldSignature].Value().(dbus.Signature); ok {
				c.Sig = s.String()
			}
			f.mu.Lock()
			f.calls = append(f.calls, c)
			f.mu.Unlock()
			var body []any
			if f.reply != nil {
				body = f.reply(c)
			}
			out := &dbus.Message{Type: dbus.TypeMethodReply, Headers: map[dbus.HeaderField]dbus.Variant{
				dbus.FieldDestination: m.Headers[dbus.FieldSender],
				dbus.FieldReplySerial: dbus.MakeVariant(m.Serial()),
			}, Body: body}
			if len(body) > 0 {
				out.Headers[dbus.FieldSignature] = dbus.MakeVariant(dbus.SignatureOf(body...))
			}
			conn.Send(out, nil)
		}
	}()
	return f
}

// last is the last call received.
func (f *fakeService) last(t *testing.T) call {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		t.Fatal("the fake service received no call")
	}
	return f.calls[len(f.calls)-1]
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}
