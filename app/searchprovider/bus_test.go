package searchprovider

import (
	"bufio"
	"os"
	"os/exec"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/shared/api"
)

// sessionBus starts a private session bus (a real dbus-daemon) and
// returns a connection to it for the test's client side and its address.
func sessionBus(t testing.TB) string {
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
	addr, err1 := r.ReadString('\n')
	pidLine, err2 := r.ReadString('\n')
	cmd.Wait()
	if err1 != nil || err2 != nil {
		t.Fatalf("dbus-daemon did not say its address and pid: %v %v", err1, err2)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(pidLine))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGTERM) })
	return strings.TrimSpace(addr)
}

func connect(t testing.TB, addr string) *dbus.Conn {
	t.Helper()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TestOverTheSessionBus calls the provider as GNOME Shell does, through
// a real dbus-daemon: results, their metas, activating one and "search
// in the app".
func TestOverTheSessionBus(t *testing.T) {
	addr := sessionBus(t)
	f := &fakeService{hits: []api.SearchHit{
		hit("/home/ann/Documents/report.txt", "file", day.Add(10*time.Hour), "2026-12-02T100000Z"),
		hit("/home/ann/caf\xe9-report.txt", "file", day, "2026-12-01T100000Z"),
	}}
	opened := make(chan string, 1)
	searched := make(chan string, 1)
	p := provider(f)
	p.opts.ActivateResult = func(path string) { opened <- path }
	p.opts.LaunchSearch = func(text string) { searched <- text }
	if err := Export(connect(t, addr), p); err != nil {
		t.Fatal(err)
	}
	// A second app instance cannot take the name away.
	if err := Export(connect(t, addr), New(Options{})); err == nil {
		t.Error("a second provider took the bus name")
	}

	shell := connect(t, addr).Object(BusName, ObjectPath)
	var ids []string
	if err := shell.Call(Interface+".GetInitialResultSet", 0, []string{"report"}).Store(&ids); err != nil {
		t.Fatal(err)
	}
	if want := []string{"/home/ann/Documents/report.txt", ID("/home/ann/caf\xe9-report.txt")}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("GetInitialResultSet = %q, want %q", ids, want)
	}
	var sub []string
	if err := shell.Call(Interface+".GetSubsearchResultSet", 0, ids, []string{"report", "caf"}).Store(&sub); err != nil {
		t.Fatal(err)
	}
	if want := ids[1:]; !reflect.DeepEqual(sub, want) {
		t.Errorf("GetSubsearchResultSet = %q, want %q", sub, want)
	}
	var metas []map[string]dbus.Variant
	if err := shell.Call(Interface+".GetResultMetas", 0, ids[:1]).Store(&metas); err != nil {
		t.Fatal(err)
	}
	if len(metas) != 1 {
		t.Fatalf("GetResultMetas gave %d metas", len(metas))
	}
	got := map[string]string{}
	var keys []string
	for k, v := range metas[0] {
		got[k], _ = v.Value().(string)
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if want := []string{"description", "gicon", "id", "name"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("meta keys %q, want %q", keys, want)
	}
	if got["name"] != "report.txt" || got["description"] != "In ~/Documents, in the latest backup" || got["id"] != ids[0] {
		t.Errorf("meta = %q", got)
	}
	if err := shell.Call(Interface+".ActivateResult", 0, ids[1], []string{"report"}, uint32(0)).Err; err != nil {
		t.Fatal(err)
	}
	if p := <-opened; p != "/home/ann/caf\xe9-report.txt" {
		t.Errorf("ActivateResult opened %q", p)
	}
	if err := shell.Call(Interface+".LaunchSearch", 0, []string{"report"}, uint32(0)).Err; err != nil {
		t.Fatal(err)
	}
	if s := <-searched; s != "report" {
		t.Errorf("LaunchSearch searched %q", s)
	}
	var xml string
	if err := shell.Call("org.freedesktop.DBus.Introspectable.Introspect", 0).Store(&xml); err != nil || !strings.Contains(xml, Interface) {
		t.Errorf("Introspect = %v, %q", err, xml)
	}
}

// BenchmarkOverTheSessionBus is the provider's own share of a keystroke
// in the overview: GetInitialResultSet and GetResultMetas of its 20
// results through a real dbus-daemon, with the service's answer (60
// versions) at hand. The service's search itself is measured by
// BenchmarkShellSearch1M in service/catalog.
//
//	go test -run '^$' -bench OverTheSessionBus ./app/searchprovider/
func BenchmarkOverTheSessionBus(b *testing.B) {
	addr := sessionBus(b)
	var hits []api.SearchHit
	for i := 0; i < hitLimit; i++ {
		hits = append(hits, hit("/home/ann/Documents/report-"+strconv.Itoa(i/3)+".txt", "file", day.Add(time.Duration(i)*time.Minute), "2026-12-02T100000Z"))
	}
	p := provider(&fakeService{hits: hits})
	if err := Export(connect(b, addr), p); err != nil {
		b.Fatal(err)
	}
	shell := connect(b, addr).Object(BusName, ObjectPath)
	var worst time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		var ids []string
		if err := shell.Call(Interface+".GetInitialResultSet", 0, []string{"report"}).Store(&ids); err != nil {
			b.Fatal(err)
		}
		var metas []map[string]dbus.Variant
		if err := shell.Call(Interface+".GetResultMetas", 0, ids).Store(&metas); err != nil {
			b.Fatal(err)
		}
		if len(ids) != Limit || len(metas) != Limit {
			b.Fatalf("%d ids, %d metas", len(ids), len(metas))
		}
		worst = max(worst, time.Since(t0))
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "max-ms")
}
