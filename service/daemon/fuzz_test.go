package daemon_test

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/introspect"
	"github.com/keepsake/keepsake/data"
	"github.com/keepsake/keepsake/service/internal/bustest"
	"github.com/keepsake/keepsake/service/internal/realfs"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/dbusapi"
	"github.com/keepsake/keepsake/shared/kerr"
)

// fuzzRules give group ks-fuzzers every Keepsake action, so the fuzzer's
// calls get past polkit and reach the code behind it, while the service
// still treats the caller as an ordinary user (restores run with its
// rights, so a hostile destination meets the kernel's checks).
const fuzzRules = `
polkit.addRule(function(action, subject) {
	if (action.id.indexOf("io.github.keepsake.keepsake1.") == 0 && subject.isInGroup("ks-fuzzers")) {
		return polkit.Result.YES;
	}
	return polkit.Result.NOT_HANDLED;
});
`

// fuzzCallsPerMethod is how many random calls each method gets.
const fuzzCallsPerMethod = 200

// allowedErrors are the error names a reply may carry besides Keepsake's
// own: malformed calls and objects or methods that do not exist.
var allowedErrors = map[string]bool{
	"org.freedesktop.DBus.Error.InvalidArgs":      true,
	"org.freedesktop.DBus.Error.UnknownMethod":    true,
	"org.freedesktop.DBus.Error.UnknownObject":    true,
	"org.freedesktop.DBus.Error.UnknownInterface": true,
}

// keepsakeErrors are the names the interface XML documents (its comment
// "Errors: io.github.keepsake.Keepsake1.Error.NAME (A, B, ...)"), read
// from the XML itself so the two cannot drift apart. Failed is not
// among them: it is what every error without a name becomes (kerr.NameOf),
// so a reply named Failed means the service met input it has no name for.
var keepsakeErrors = map[string]bool{}

// failedAllowed are the methods whose contract allows Failed in a reply,
// with what its message must say. None does: every refusal of bad input
// has a name, and a Failed reply is a failure of the test.
var failedAllowed = map[string]*regexp.Regexp{}

var failedName = kerr.Failed.DBusName()

func init() {
	m := regexp.MustCompile(`(?s)Errors: io\.github\.keepsake\.Keepsake1\.Error\.NAME \(([^)]*)\)`).FindSubmatch(data.InterfaceXML)
	if m == nil {
		panic("the interface XML lists no error names")
	}
	for _, n := range strings.FieldsFunc(string(m[1]), func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		if n != string(kerr.Failed) {
			keepsakeErrors[kerr.Name(n).DBusName()] = true
		}
	}
}

// connectAs connects to the bus as uid/gid. The bus daemon learns a
// client's identity from the socket (SO_PEERCRED: the credentials of the
// thread that connected), so the connection is made on a locked thread
// whose effective ids alone are switched with raw system calls (Go's own
// calls would switch every thread), then switched back.
//
// The thread must not die with the goroutine: bustest starts dbus-daemon
// and polkitd with Pdeathsig, which fires when the thread that forked
// them exits, and that may be this very thread. If switching back fails
// the goroutine parks on the locked thread for good instead.
func connectAs(t *testing.T, address string, uid, gid uint32) *dbus.Conn {
	t.Helper()
	type result struct {
		conn *dbus.Conn
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		groups, err := syscall.Getgroups()
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{nil, err}
			return
		}
		gids := make([]uint32, len(groups))
		for i, g := range groups {
			gids[i] = uint32(g)
		}
		setIDs := func(groups []uint32, uid, gid uint32) error {
			// Root's euid first when going back, the user's last when leaving.
			if uid == 0 {
				if _, _, e := syscall.RawSyscall(syscall.SYS_SETRESUID, ^uintptr(0), 0, ^uintptr(0)); e != 0 {
					return fmt.Errorf("setresuid: %v", e)
				}
			}
			var list unsafe.Pointer
			if len(groups) > 0 {
				list = unsafe.Pointer(&groups[0])
			}
			if _, _, e := syscall.RawSyscall(syscall.SYS_SETGROUPS, uintptr(len(groups)), uintptr(list), 0); e != 0 {
				return fmt.Errorf("setgroups: %v", e)
			}
			if _, _, e := syscall.RawSyscall(syscall.SYS_SETRESGID, ^uintptr(0), uintptr(gid), ^uintptr(0)); e != 0 {
				return fmt.Errorf("setresgid: %v", e)
			}
			if uid != 0 {
				if _, _, e := syscall.RawSyscall(syscall.SYS_SETRESUID, ^uintptr(0), uintptr(uid), ^uintptr(0)); e != 0 {
					return fmt.Errorf("setresuid: %v", e)
				}
			}
			return nil
		}
		var conn *dbus.Conn
		err = setIDs(nil, uid, gid)
		if err == nil {
			conn, err = dbus.Connect(address, dbus.WithAuth(dbus.AuthExternal(strconv.FormatUint(uint64(uid), 10))))
		}
		back := setIDs(gids, 0, uint32(os.Getgid()))
		ch <- result{conn, err}
		if back != nil {
			select {} // see above: this thread keeps the user's identity
		}
		runtime.UnlockOSThread()
	}()
	r := <-ch
	if r.err != nil {
		t.Fatalf("connect as uid %d: %v", uid, r.err)
	}
	t.Cleanup(func() { r.conn.Close() })
	return r.conn
}

// fuzzFixture is what the fuzzer aims at.
type fuzzFixture struct {
	s      *service
	conn   *dbus.Conn // the fuzzing user's connection
	uid    uint32
	dir    string // every file the test makes lives below: the source, restore targets
	src    string
	drive  drive
	ifaces map[string]introspect.Interface

	mu     sync.Mutex
	jobs   []dbus.ObjectPath
	tally  map[string]map[string]int // method -> outcome -> count
	failed []string                  // calls whose reply broke the rules
	snaps  []string
}

// Names every fixture entry starts with, so the checks for strays can
// tell them from anything else on the machine.
const fuzzPrefix = "ksfuzz"

func newFuzzFixture(t *testing.T) *fuzzFixture {
	s := startService(t, fuzzRules)
	uid, gid := bustest.User(t, "ks-fuzz", "ks-fuzzers")
	// Not t.TempDir(): the fuzzing user must reach its files here.
	dir, err := os.MkdirTemp("", fuzzPrefix+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.RemoveAll(dir)
		// Restored copies of the fixture beside it, should a bug make any.
		copies, _ := filepath.Glob(dir + " (restored*")
		for _, c := range copies {
			os.RemoveAll(c)
		}
	})
	os.Chmod(dir, 0o755)
	f := &fuzzFixture{s: s, uid: uid, dir: dir, src: filepath.Join(dir, fuzzPrefix+"-src"), tally: map[string]map[string]int{}}
	realfs.WriteTree(t, f.src, map[string]string{
		fuzzPrefix + "-a.txt":                          "a\n",
		fuzzPrefix + "-sub/" + fuzzPrefix + "-b.txt":   "b\n",
		fuzzPrefix + "-sub/" + fuzzPrefix + "-ü €.txt": "unicode\n",
		// Not UTF-8: Linux allows any bytes but NUL and / in a name,
		// while a D-Bus string must be UTF-8.
		fuzzPrefix + "-bad-\xff\xfe.txt": "latin1\n",
	})
	os.Chmod(filepath.Join(f.src, fuzzPrefix+"-a.txt"), 0o600)
	for _, d := range []string{"dest", "dest/sub"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	// A destination that leads out of the test's folders.
	os.Symlink("/etc", filepath.Join(dir, "dest-link"))
	filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error {
		if p != dir {
			os.Lchown(p, int(uid), int(gid))
		}
		return nil
	})

	f.drive = newDrive(t, "KSFUZZ", 64)
	s.waitFor("the drive to appear", 10*time.Second, func() bool {
		ds, _ := s.client.Drives(bg)
		for _, d := range ds {
			if d.UUID == f.drive.uuid && d.Present {
				return true
			}
		}
		return false
	})
	if f.ifaces, err = dbusapi.Interfaces(); err != nil {
		t.Fatal(err)
	}
	f.reset(t)
	if err := s.client.Enroll(bg, f.drive.uuid, client.EnrollOptions{Profile: "fuzz"}); err != nil {
		t.Fatal(err)
	}
	job, err := s.client.BackupNow(bg, "fuzz", api.BackupOptions{Full: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.wait(job); err != nil {
		t.Fatalf("first backup: %v", err)
	}
	snaps, err := s.client.Snapshots(bg, "fuzz", api.ListOptions{})
	if err != nil || len(snaps) == 0 {
		t.Fatalf("no snapshot after the first backup: %v", err)
	}
	for _, sn := range snaps {
		f.snaps = append(f.snaps, sn.Name)
	}
	f.conn = connectAs(t, s.bus.Address, uid, gid)
	return f
}

// reset puts profiles "fuzz" (the main one, with the drive) and "spare"
// (which fuzzing may delete) back as they were and forgets every profile
// fuzzing made, so random settings cannot starve the rest of the run.
func (f *fuzzFixture) reset(t *testing.T) {
	t.Helper()
	c := f.s.client
	settings := api.Settings{Sources: paths(f.src), Excludes: &[]string{}, Drive: ptr(f.drive.uuid),
		Interval: ptr(uint64(0)), OnChange: ptr(false), OnPlug: ptr(false), Quiet: ptr(uint64(0)), SkipOnBattery: ptr(false),
		Retention: ptr("time-machine"), MinFree: ptr("0")}
	ps, err := c.Profiles(bg)
	if err != nil {
		t.Fatalf("keepsaked does not answer: %v", err)
	}
	have := map[string]bool{}
	for _, p := range ps {
		have[p.Name] = true
		if p.Name != "fuzz" && p.Name != "spare" {
			if err := c.DeleteProfile(bg, p.Name, api.Auth{}); err != nil {
				t.Logf("delete profile %q: %v", p.Name, err)
			}
		}
	}
	if !have["fuzz"] {
		if _, err := c.CreateProfile(bg, "fuzz", settings, api.Auth{}); err != nil {
			t.Fatalf("create profile fuzz: %v", err)
		}
	} else if err := c.Configure(bg, "fuzz", settings, api.Auth{}); err != nil {
		t.Fatalf("reset profile fuzz: %v", err)
	}
	if !have["spare"] {
		spare := api.Settings{Sources: paths(f.src), Interval: ptr(uint64(0)), OnChange: ptr(false), OnPlug: ptr(false)}
		if _, err := c.CreateProfile(bg, "spare", spare, api.Auth{}); err != nil {
			t.Fatalf("create profile spare: %v", err)
		}
	}
}

// fuzzGen makes random arguments.
type fuzzGen struct {
	r *rand.Rand
	f *fuzzFixture
}

func (g fuzzGen) pick(ss ...string) string { return ss[g.r.Intn(len(ss))] }

// str is a random string: empty, dots, hostile or odd paths, unicode
// (never NUL, always UTF-8, as D-Bus requires), very long.
func (g fuzzGen) str() string {
	f := g.f
	switch g.r.Intn(14) {
	case 0:
		return ""
	case 1:
		return g.pick("..", ".", "/..", "/../etc", "../../etc/passwd", "/etc/../etc", "//", "/./", "~", "~/")
	case 2:
		return g.pick("/", "/etc", "/root", "/proc/self/root", "/dev/null", "/home", "/nonexistent/"+fuzzPrefix)
	case 3:
		return g.unicode(1 + g.r.Intn(40))
	case 4:
		n := []int{256, 4096, 4097, 65536, 1 << 20}[g.r.Intn(5)]
		return "/" + strings.Repeat(g.pick("a", "é", "/", "a/"), n)
	case 5:
		return g.fixturePath()
	case 6:
		return g.pick("rel", "rel/path", "./x", fuzzPrefix)
	case 7:
		return g.pick(append([]string{"latest", "LATEST", "latest/..", "2026-01-01T000000Z"}, f.snaps...)...)
	case 8:
		return g.pick("*", "**", "*.txt", "[", "[a-", "\\", "?", "*/*", "**/"+fuzzPrefix+"*", "%", "_", "'", "\"", "a\nb")
	case 9:
		return f.src + g.pick("/", "//", "/.", "/../", "/"+fuzzPrefix+"-sub/..")
	case 10:
		return g.pick("time-machine", "keep-last=1", "hourly=24 daily=30", "daily=-1", "weekly=99999999999", "2%", "100%", "0", "1TiB", "-5%", "NaN")
	case 11:
		return g.pick(f.drive.uuid, strings.ToUpper(f.drive.uuid), "1234-ABCD", "not a uuid")
	case 12:
		// A config file injection attempt; below the fixture, since a
		// restore may create it as a folder.
		return f.dir + "/x\n[profile \"evil\"]\nsource = /etc"
	}
	b := make([]byte, g.r.Intn(64))
	g.r.Read(b)
	return strings.ReplaceAll(strings.ToValidUTF8(string(b), "?"), "\x00", "")
}

func (g fuzzGen) unicode(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		var r rune
		switch g.r.Intn(4) {
		case 0:
			r = rune(0x20 + g.r.Intn(0x5f))
		case 1:
			r = rune(0xa0 + g.r.Intn(0x2000))
		case 2:
			r = []rune{'\u202e', '\u200b', '\ufeff', '\U0001F600', '\u0301', '/', '\n', '\t', '\u0085'}[g.r.Intn(9)]
		default:
			r = rune(1 + g.r.Intn(utf8.MaxRune))
		}
		if r == 0 || !utf8.ValidRune(r) {
			r = 'x'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// fixturePath is a path the snapshot holds (or nearly). Never the
// fixture's own folder: restored "back where it was" it would land in
// /tmp, outside the fixture (the strays check catches that).
func (g fuzzGen) fixturePath() string {
	f := g.f
	return g.pick(f.src, f.src+"/"+fuzzPrefix+"-a.txt", f.src+"/"+fuzzPrefix+"-sub", f.src+"/"+fuzzPrefix+"-sub/"+fuzzPrefix+"-b.txt",
		f.src+"/"+fuzzPrefix+"-sub/"+fuzzPrefix+"-ü €.txt", f.src+"/missing", "/")
}

// source is a folder to back up: the fixture, missing ones, or invalid
// ones, never a real folder of the machine (backing up / would take the
// rest of the day).
func (g fuzzGen) source() string {
	f := g.f
	switch g.r.Intn(4) {
	case 0:
		return f.src
	case 1:
		return f.src + "/" + fuzzPrefix + "-sub"
	case 2:
		return g.pick("", "rel", "/a/../b", "/a//b", "/a/", "/nonexistent/"+fuzzPrefix+"/"+g.unicode(5), "/nonexistent/x\n[profile \"evil\"]")
	}
	return "/nonexistent/" + fuzzPrefix + "/" + strings.ReplaceAll(g.str(), "/", "_")
}

// dest is a restore destination, hostile ones included. The fuzzing user
// may write only below the fixture; everything else must fail.
func (g fuzzGen) dest() string {
	f := g.f
	return g.pick(filepath.Join(f.dir, "dest"), filepath.Join(f.dir, "dest/sub/new"), filepath.Join(f.dir, "dest-link"),
		filepath.Join(f.dir, "dest-link/"+fuzzPrefix), "/etc", "/etc/"+fuzzPrefix, "/root", "/", "/usr/bin",
		"/tmp/x/../../etc", f.dir+"/dest/../../../etc", "etc", "", "/proc/1", "/sys/kernel", "/dev")
}

func (g fuzzGen) objectPath() dbus.ObjectPath {
	f := g.f
	return dbus.ObjectPath(g.pick("/", string(dbusapi.ProfilePath("fuzz")), string(dbusapi.ProfilePath("spare")),
		string(dbusapi.ProfilePath("nope")), string(dbusapi.DrivePath(f.drive.uuid)), string(dbusapi.JobPath(1)),
		string(dbusapi.ManagerPath), "/a/b/c", string(dbusapi.RootPath)+"/profiles/"+strings.Repeat("x", 300)))
}

// value is a value of a random D-Bus type.
func (g fuzzGen) value(depth int) any {
	switch g.r.Intn(16) {
	case 0:
		return g.r.Intn(2) == 0
	case 1:
		return g.str()
	case 2:
		return []int32{0, -1, 1, math.MinInt32, math.MaxInt32}[g.r.Intn(5)]
	case 3:
		return []int64{0, -1, 1, 3600, math.MinInt64, math.MaxInt64, 1 << 62, -(1 << 62)}[g.r.Intn(8)]
	case 4:
		return []uint32{0, 1, 50, 100, 101, 10000, 10001, math.MaxUint32}[g.r.Intn(8)]
	case 5:
		return []uint64{0, 1, 60, 3600, 366*24*3600 + 1, 1 << 62, 1<<62 + 1, math.MaxUint64}[g.r.Intn(8)]
	case 6:
		return byte(g.r.Intn(256))
	case 7:
		return []float64{0, -1, 1e308, math.NaN(), math.Inf(1), math.Inf(-1)}[g.r.Intn(6)]
	case 8:
		n := g.r.Intn(5)
		l := make([]string, n)
		for i := range l {
			l[i] = g.str()
		}
		return l
	case 9:
		return g.objectPath()
	case 10:
		return []int16{0, -1, math.MinInt16}[g.r.Intn(3)]
	case 11:
		return uint16(g.r.Intn(65536))
	case 12:
		if depth < 2 {
			return g.options(depth+1, nil)
		}
		return "deep"
	case 13:
		if depth < 2 {
			return dbus.MakeVariant(g.value(depth + 1))
		}
		return int32(7)
	case 14:
		b := make([]byte, g.r.Intn(16))
		g.r.Read(b)
		return b
	}
	return []int32{1, 2, 3}
}

// optionKeys are every key any method or setting knows.
var optionKeys = []string{"sources", "excludes", "drive", "interval", "on-change", "quiet", "on-plug", "skip-on-battery",
	"retention", "min-free", "full", "all-users", "in", "since", "until", "limit", "to", "overwrite", "free", "dry-run",
	"sample", "profile", "auth.no_user_interaction"}

// typed is a value of the type key expects, often hostile.
func (g fuzzGen) typed(key string) any {
	switch key {
	case "sources":
		l := make([]string, g.r.Intn(3))
		for i := range l {
			l[i] = g.source()
		}
		return l
	case "excludes":
		l := make([]string, g.r.Intn(3))
		for i := range l {
			l[i] = g.pick("*.tmp", "#x", "", " ", "[", "~/.cache", "/", "**", "!keep", g.str())
		}
		return l
	case "drive", "retention", "min-free", "free", "in":
		if key == "in" && g.r.Intn(2) == 0 {
			return g.fixturePath()
		}
		return g.str()
	case "interval", "quiet", "since", "until":
		return g.value(0)
	case "limit", "sample":
		return []uint32{0, 1, 5, 100, 101, 10000, 10001, math.MaxUint32}[g.r.Intn(8)]
	case "to":
		return g.dest()
	case "profile":
		return g.objectPath()
	case "installation":
		return g.pick("system", "user:ks-fuzz", "user:root", "user:", "user:../..", g.str())
	}
	return g.r.Intn(4) != 0 // the booleans
}

// options is a random a{sv}: known keys with the right or a wrong type,
// unknown keys, and mostly auth.no_user_interaction = true so nothing
// waits for a password agent.
func (g fuzzGen) options(depth int, keys []string) map[string]dbus.Variant {
	m := map[string]dbus.Variant{}
	if depth == 0 && g.r.Intn(10) != 0 {
		m[dbusapi.OptNoUserInteraction] = dbus.MakeVariant(true)
	}
	// Mostly keys the method knows with values of their type, so calls
	// get past the argument checks into the code behind them.
	for i, n := 0, g.r.Intn(4); i < n; i++ {
		var k string
		switch x := g.r.Intn(10); {
		case x == 0:
			k = g.str()
		case x == 1 || len(keys) == 0:
			k = optionKeys[g.r.Intn(len(optionKeys))]
		default:
			k = keys[g.r.Intn(len(keys))]
		}
		// Sources always come from the generator's safe set: a backup
		// of / would take the rest of the day.
		if g.r.Intn(6) == 0 && k != "sources" {
			m[k] = dbus.MakeVariant(g.value(depth + 1))
		} else {
			m[k] = dbus.MakeVariant(g.typed(k))
		}
	}
	return m
}

// methodKeys are the keys that mean something to a method (the rest of
// optionKeys is still sent now and then).
var methodKeys = map[string][]string{
	"CreateProfile": {"sources", "excludes", "drive", "interval", "on-change", "quiet", "on-plug", "skip-on-battery", "retention", "min-free"},
	"Configure":     {"sources", "excludes", "drive", "interval", "on-change", "quiet", "on-plug", "skip-on-battery", "retention", "min-free"},
	"BackupNow":     {"full"},
	"ListDirectory": {"all-users"},
	"Search":        {"in", "since", "until", "limit", "all-users"},
	"Versions":      {"all-users"},
	"Deleted":       {"since", "all-users"},
	"Restore":       {"to", "overwrite", "all-users"},
	"Prune":         {"free", "dry-run"},
	"Verify":        {"sample"},
	"Enroll":        {"profile"},
	// The Flatpak ones only reinstall what a snapshot recorded, and the
	// fixture's snapshots record no installation: nothing is installed.
	"ListFlatpaks":    {"all-users"},
	"RestoreFlatpaks": {"installation", "offline", "data", "overwrite"},
	"RestoreAppData":  {"overwrite"},
}

// args are random arguments of m's signature.
func (g fuzzGen) args(m introspect.Method) []any {
	var out []any
	var names []string
	for _, a := range m.Args {
		if a.Direction != "out" {
			names = append(names, a.Name)
		}
	}
	for _, a := range m.Args {
		if a.Direction == "out" {
			continue
		}
		switch a.Type {
		case "s":
			switch {
			case a.Name == "name":
				out = append(out, g.pick(fuzzPrefix+"-"+strconv.Itoa(g.r.Intn(5)), "fuzz", "spare", "", "a-b_c", strings.Repeat("n", 200), g.str()))
			case a.Name == "path" && (m.Name == "AddSource" || m.Name == "RemoveSource"):
				out = append(out, g.source())
			case a.Name == "app_id":
				out = append(out, g.pick("org.test.Hello", "io.github.keepsake.Keepsake", "a.b", "../../etc", "org.x/../../y", g.str()))
			case a.Name == "snapshot":
				out = append(out, g.pick("latest", g.str()))
			case g.r.Intn(2) == 0 && a.Name != "pattern":
				out = append(out, g.fixturePath())
			default:
				out = append(out, g.str())
			}
		case "as":
			l := make([]string, g.r.Intn(4))
			for i := range l {
				if g.r.Intn(2) == 0 {
					l[i] = g.fixturePath()
				} else {
					l[i] = g.str()
				}
			}
			out = append(out, l)
		case "a{sv}":
			if a.Name == "settings" {
				out = append(out, g.options(1, methodKeys[m.Name]))
			} else {
				out = append(out, g.options(0, methodKeys[m.Name]))
			}
		default:
			panic("fuzz: no generator for signature " + a.Type)
		}
	}
	return out
}

// wrongArgs are arguments that do not match m's signature.
func (g fuzzGen) wrongArgs(m introspect.Method) []any {
	good := g.args(m)
	switch g.r.Intn(4) {
	case 0:
		return nil
	case 1:
		return append(good, g.value(0))
	case 2:
		if len(good) > 1 {
			return good[:len(good)-1]
		}
		return []any{int32(1), int32(2)}
	}
	bad := append([]any(nil), good...)
	i := g.r.Intn(len(bad))
	bad[i] = []any{int32(1), true, 2.5, []int32{}, map[string]int32{"x": 1}, dbus.ObjectPath("/")}[g.r.Intn(6)]
	return bad
}

// call makes one call, records its outcome and returns it ("ok",
// "unsent" when godbus refused to send it, else the error's name); a reply
// outside the rules is remembered with the call that caused it.
func (f *fuzzFixture) call(conn *dbus.Conn, path dbus.ObjectPath, iface, method string, args []any) string {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := conn.Object(dbusapi.BusName, path).CallWithContext(ctx, iface+"."+method, 0, args...)
	outcome := "ok"
	bad := false
	if c.Err != nil {
		var name, msg string
		switch e := c.Err.(type) {
		case dbus.Error:
			name, msg = e.Name, e.Error()
		case *dbus.Error:
			name, msg = e.Name, e.Error()
		default:
			name = "local: " + c.Err.Error()
			// godbus refused to send it (e.g. a value it cannot encode):
			// nothing reached the service.
			if !strings.Contains(c.Err.Error(), "context deadline") {
				outcome = "unsent"
				f.record(method, outcome)
				return outcome
			}
		}
		outcome = name
		bad = !allowedErrors[name] && !keepsakeErrors[name]
		if name == failedName {
			re := failedAllowed[method]
			bad = re == nil || !re.MatchString(msg)
		}
		if bad {
			f.mu.Lock()
			f.failed = append(f.failed, fmt.Sprintf("%s %s.%s%s: %s %v", path, iface, method, shortArgs(args), name, c.Err))
			f.mu.Unlock()
		}
	} else if len(c.Body) == 1 {
		if p, ok := c.Body[0].(dbus.ObjectPath); ok && dbusapi.IsJobPath(p) {
			f.mu.Lock()
			f.jobs = append(f.jobs, p)
			f.mu.Unlock()
		}
	}
	f.record(method, strings.TrimPrefix(outcome, "io.github.keepsake.Keepsake1.Error."))
	return outcome
}

// malformedTally counts the malformed calls (wrong signatures, objects,
// interfaces or methods that do not exist): how many were made, how many
// reached the service and how many of those it answered with a named
// error; answers that were a result are kept with the call.
type malformedTally struct {
	made, sent, named int
	// Wrong signatures sent to objects that always exist (the Manager,
	// profile "fuzz", the drive): each must be refused with InvalidArgs.
	live, liveInvalid int
	liveOther         []string
	accepted          []string
}

func (m *malformedTally) add(outcome, what string) {
	m.made++
	switch {
	case outcome == "unsent":
		return
	case outcome == "ok":
		m.accepted = append(m.accepted, what)
	case allowedErrors[outcome] || keepsakeErrors[outcome]:
		m.named++
	}
	m.sent++
}

func (f *fuzzFixture) record(method, outcome string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tally[method] == nil {
		f.tally[method] = map[string]int{}
	}
	f.tally[method][outcome]++
}

// shortArgs prints arguments for a failure message, long strings cut.
func shortArgs(args []any) string {
	s := fmt.Sprintf("%#v", args)
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return "(" + s + ")"
}

// pathFor is the object a call to iface goes to.
func (f *fuzzFixture) pathFor(g fuzzGen, iface, method string) dbus.ObjectPath {
	switch iface {
	case dbusapi.ManagerInterface:
		return dbusapi.ManagerPath
	case dbusapi.ProfileInterface:
		// Deleting the main profile would leave nothing to fuzz.
		if method == "Delete" || g.r.Intn(5) == 0 {
			return dbusapi.ProfilePath(g.pick("spare", "nope"))
		}
		return dbusapi.ProfilePath("fuzz")
	case dbusapi.DriveInterface:
		return dbusapi.DrivePath(f.drive.uuid)
	case dbusapi.JobInterface:
		f.mu.Lock()
		defer f.mu.Unlock()
		if len(f.jobs) > 0 && g.r.Intn(4) != 0 {
			return f.jobs[g.r.Intn(len(f.jobs))]
		}
		return dbusapi.JobPath(uint64(g.r.Intn(50)))
	}
	panic("fuzz: unknown interface " + iface)
}

// strays lists fixture names that turned up outside the fixture: any
// in the system's folders, and restored copies of the fixture itself
// ("ksfuzz-123 (restored ...)") beside it in /tmp, where every user may
// write. Other runs' fixtures in /tmp are theirs.
func (f *fuzzFixture) strays() []string {
	var out []string
	for _, dir := range []string{"/", "/etc", "/root", "/usr/bin", "/dev", "/home", "/var/tmp", filepath.Dir(f.dir)} {
		es, _ := os.ReadDir(dir)
		for _, e := range es {
			p := filepath.Join(dir, e.Name())
			if p == f.dir || dir == filepath.Dir(f.dir) && !strings.HasPrefix(e.Name(), filepath.Base(f.dir)) {
				continue
			}
			if strings.HasPrefix(e.Name(), fuzzPrefix) {
				out = append(out, p)
			}
		}
	}
	return out
}

// TestFuzzMethods calls every method of the interface XML with random
// arguments of the right signature, with wrong signatures and on objects
// that do not exist, as a user polkit allows everything. Every reply must
// be a result or a documented error; the service must survive, keep a
// configuration it can load, and write nothing outside the test's folders.
// The seed is fixed so every run makes the same calls (the service's
// timing still varies); KEEPSAKE_FUZZ_SEED picks another.
func TestFuzzMethods(t *testing.T) {
	seed := int64(20261123)
	if v := os.Getenv("KEEPSAKE_FUZZ_SEED"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("KEEPSAKE_FUZZ_SEED=%q: %v", v, err)
		}
		seed = n
	}
	t.Logf("seed %d (replay with KEEPSAKE_FUZZ_SEED=%d)", seed, seed)
	for _, n := range []kerr.Name{kerr.NotAuthorized, kerr.InvalidConfig, kerr.SystemDisk, kerr.MistypedRecoveryKey} {
		if !keepsakeErrors[n.DBusName()] {
			t.Fatalf("%s is missing from the error names read from the interface XML: %v", n, keepsakeErrors)
		}
	}
	f := newFuzzFixture(t)
	s := f.s
	// A name that is not UTF-8 comes back with its exact bytes (it
	// crosses the bus escaped, api.EncodePath) instead of failing the
	// whole listing.
	entries, err := s.client.List(bg, "fuzz", "latest", f.src, api.ListOptions{})
	if err != nil {
		t.Fatalf("list a folder holding a non-UTF-8 name: %v", err)
	}
	found := false
	for _, e := range entries {
		found = found || string(e.Name) == fuzzPrefix+"-bad-\xff\xfe.txt"
	}
	if !found {
		t.Errorf("the non-UTF-8 name is missing from the listing: %v", entries)
	}
	// The same for a configuration file an administrator wrote in
	// Latin-1: the service reloads it and its properties stay readable.
	conf := filepath.Join(s.dir, "etc", "keepsake.conf")
	text, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	header := "[profile \"spare\"]\n"
	if !strings.Contains(string(text), header) {
		t.Fatalf("no profile spare in %s:\n%s", conf, text)
	}
	latin1 := "/nonexistent/" + fuzzPrefix + "-M\xfcll"
	edited := strings.Replace(string(text), header, header+"source = "+latin1+"\n", 1)
	if err := os.WriteFile(conf, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.client.Reload(bg, api.Auth{}); err != nil {
		t.Errorf("reload a configuration with a Latin-1 path: %v", err)
	}
	if p, err := s.client.Profile(bg, "spare"); err != nil {
		t.Errorf("profile spare after a Latin-1 path: %v", err)
	} else if !strings.Contains(strings.Join(p.Sources, "\n"), fuzzPrefix+"-M\uFFFDll") {
		t.Errorf("sources of spare: %q", p.Sources)
	}
	etcBefore := etcNames()
	strayBefore := f.strays()

	type target struct {
		iface string
		m     introspect.Method
	}
	var targets []target
	for _, name := range []string{dbusapi.ManagerInterface, dbusapi.ProfileInterface, dbusapi.DriveInterface, dbusapi.JobInterface} {
		iface, ok := f.ifaces[name]
		if !ok {
			t.Fatalf("interface %s missing from the XML", name)
		}
		for _, m := range iface.Methods {
			targets = append(targets, target{name, m})
		}
	}
	if len(targets) < 19 {
		t.Fatalf("only %d methods in the XML", len(targets))
	}

	// Each method in turn, the fixture reset now and then.
	var malformed malformedTally
	rng := rand.New(rand.NewSource(seed))
	for _, tg := range targets {
		g := fuzzGen{r: rand.New(rand.NewSource(rng.Int63())), f: f}
		for i := 0; i < fuzzCallsPerMethod; i++ {
			if i%50 == 0 {
				f.reset(t)
			}
			f.call(f.conn, f.pathFor(g, tg.iface, tg.m.Name), tg.iface, tg.m.Name, g.args(tg.m))
		}
		// Wrong signatures.
		for i := 0; i < 20; i++ {
			path, args := f.pathFor(g, tg.iface, tg.m.Name), g.wrongArgs(tg.m)
			out := f.call(f.conn, path, tg.iface, tg.m.Name, args)
			what := fmt.Sprintf("%s %s.%s%s", path, tg.iface, tg.m.Name, shortArgs(args))
			malformed.add(out, what)
			if out != "unsent" && (path == dbusapi.ManagerPath || path == dbusapi.ProfilePath("fuzz") || path == dbusapi.DrivePath(f.drive.uuid)) {
				malformed.live++
				if out == dbusapi.InvalidArgsError {
					malformed.liveInvalid++
				} else {
					malformed.liveOther = append(malformed.liveOther, what+": "+out)
				}
			}
		}
	}

	// Objects, interfaces and methods that do not exist.
	g := fuzzGen{r: rand.New(rand.NewSource(rng.Int63())), f: f}
	bogus := []dbus.ObjectPath{"/", "/io", dbusapi.RootPath, dbusapi.RootPath + "/nope", dbusapi.ProfilePath("does_not_exist"),
		dbusapi.DrivePath("00000000-0000-0000-0000-000000000000"), dbusapi.JobPath(999999999), dbusapi.ManagerPath + "/x",
		dbus.ObjectPath(string(dbusapi.RootPath) + "/profiles"), dbus.ObjectPath(string(dbusapi.RootPath) + "/jobs")}
	for i := 0; i < 200; i++ {
		tg := targets[g.r.Intn(len(targets))]
		iface := tg.iface
		method := tg.m.Name
		path := bogus[g.r.Intn(len(bogus))]
		// Every call here is malformed but one to a real object of the
		// method's own interface (case 0 may pick it).
		bad := true
		switch g.r.Intn(4) {
		case 0: // a real object, another interface's method
			other := targets[g.r.Intn(len(targets))].iface
			path = f.pathFor(g, other, "")
			bad = other != iface
		case 1: // a real object, a method nobody declared
			path = f.pathFor(g, iface, "")
			method = g.pick("Frobnicate", "backupnow", "Delete2", "X")
		case 2:
			iface = g.pick(dbusapi.BusName+".Nope", "org.example.Nope", dbusapi.BusName)
		}
		if iface == dbusapi.ProfileInterface && method == "Delete" {
			path = dbusapi.ProfilePath("spare") // the main profile stays
			bad = false
		}
		args := g.args(tg.m)
		out := f.call(f.conn, path, iface, method, args)
		if bad {
			malformed.add(out, fmt.Sprintf("%s %s.%s%s", path, iface, method, shortArgs(args)))
		}
	}
	f.reset(t)

	// Everything at once from several connections, to shake out races.
	var wg sync.WaitGroup
	deadline := time.Now().Add(3 * time.Second)
	for w := 0; w < 6; w++ {
		conn := f.conn
		if w%2 == 1 {
			conn = s.client.Conn() // root: no polkit round trip, other paths
		}
		g := fuzzGen{r: rand.New(rand.NewSource(rng.Int63())), f: f}
		wg.Add(1)
		go func(conn *dbus.Conn, root bool) {
			defer wg.Done()
			for time.Now().Before(deadline) {
				tg := targets[g.r.Intn(len(targets))]
				args := g.args(tg.m)
				// Root may write anywhere; its restores stay in the fixture.
				if root && tg.m.Name == "Restore" {
					opts := args[2].(map[string]dbus.Variant)
					opts["to"] = dbus.MakeVariant(filepath.Join(f.dir, "dest/root"))
				}
				if root && (tg.m.Name == "AddSource" || tg.m.Name == "Configure" || tg.m.Name == "CreateProfile") {
					continue // sources are kept to the fixture by the generator, but keep root's hands clean
				}
				f.call(conn, f.pathFor(g, tg.iface, tg.m.Name), tg.iface, tg.m.Name, args)
			}
		}(conn, w%2 == 1)
	}
	wg.Wait()

	// Let the jobs fuzzing started finish (or cancel them) before judging.
	f.mu.Lock()
	jobs := append([]dbus.ObjectPath(nil), f.jobs...)
	f.mu.Unlock()
	for _, j := range jobs {
		s.client.Cancel(bg, j, api.Auth{})
	}
	jobFailed := 0
	for _, j := range jobs {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if res, err := s.client.Wait(ctx, j, nil); err != nil && ctx.Err() != nil {
			t.Errorf("job %s did not finish: %v", j, err)
		} else if res.ErrorName == failedName {
			// A job ends like a call: with a named error.
			if jobFailed++; jobFailed <= 10 {
				t.Errorf("job %s ended with an error that has no name: %s", j, res.Message)
			}
		}
		cancel()
	}

	var b strings.Builder
	var methods []string
	for m := range f.tally {
		methods = append(methods, m)
	}
	sort.Strings(methods)
	for _, m := range methods {
		var outs []string
		for o, n := range f.tally[m] {
			outs = append(outs, fmt.Sprintf("%s=%d", o, n))
		}
		sort.Strings(outs)
		fmt.Fprintf(&b, "  %s: %s\n", m, strings.Join(outs, " "))
	}
	t.Logf("outcomes:\n%s", b.String())
	// The malformed calls really reached the service and were answered
	// with a name: nearly all were sent (godbus refuses to encode only a
	// few), every one sent was refused by name, and the wrong signatures
	// sent to objects that exist, most of them, with InvalidArgs (the
	// others went to jobs or profiles that are not there).
	t.Logf("malformed calls: %d made, %d sent, %d answered with a named error; wrong signatures to live objects: %d, %d answered InvalidArgs",
		malformed.made, malformed.sent, malformed.named, malformed.live, malformed.liveInvalid)
	wrongSigMade := len(targets) * 20
	if malformed.sent < malformed.made*9/10 {
		t.Errorf("only %d of %d malformed calls reached the service", malformed.sent, malformed.made)
	}
	if n := malformed.sent - malformed.named - len(malformed.accepted); n != 0 {
		t.Errorf("%d of %d malformed calls that reached the service got an error without a name", n, malformed.sent)
	}
	if malformed.live < wrongSigMade/2 {
		t.Errorf("only %d of %d calls with a wrong signature went to an object that exists", malformed.live, wrongSigMade)
	}
	for i, o := range malformed.liveOther {
		if i == 10 {
			t.Errorf("... and %d more", len(malformed.liveOther)-10)
			break
		}
		t.Errorf("a wrong signature was not refused with InvalidArgs: %s", o)
	}
	for i, a := range malformed.accepted {
		if i == 10 {
			t.Errorf("... and %d more", len(malformed.accepted)-10)
			break
		}
		t.Errorf("a malformed call succeeded: %s", a)
	}
	for i, fl := range f.failed {
		if i == 20 {
			t.Errorf("... and %d more", len(f.failed)-20)
			break
		}
		t.Errorf("reply outside the documented errors: %s", fl)
	}

	// The service is alive, answers, and its configuration still loads.
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid)); err != nil || strings.Contains(string(st), ") Z ") {
		t.Fatalf("keepsaked is gone: %v\n%s", err, s.log.String())
	}
	if _, err := s.client.Status(bg, api.Auth{}); err != nil {
		t.Fatalf("keepsaked does not answer after fuzzing: %v", err)
	}
	if err := s.client.Reload(bg, api.Auth{}); err != nil {
		t.Errorf("the configuration fuzzing left behind does not load: %v", err)
	}
	if m, err := s.client.Manager(bg); err != nil || m.ConfigError != "" {
		t.Errorf("configuration error after fuzzing: %v %q", err, m.ConfigError)
	}
	log := s.log.String()
	for _, bad := range []string{"panic", "fatal error", "invalid reply", "data race"} {
		if strings.Contains(log, bad) {
			t.Errorf("keepsaked's log mentions %q", bad)
		}
	}

	// Nothing was written outside the fixture.
	if got := f.strays(); strings.Join(got, "\n") != strings.Join(strayBefore, "\n") {
		t.Errorf("fixture files turned up outside the test's folders: %v", got)
	}
	if etcAfter := etcNames(); len(etcAfter) > len(etcBefore) {
		added := map[string]bool{}
		for _, n := range etcAfter {
			added[n] = true
		}
		for _, n := range etcBefore {
			delete(added, n)
		}
		for n := range added {
			if strings.HasPrefix(n, fuzzPrefix) || strings.Contains(n, "restored") {
				t.Errorf("/etc gained %s", n)
			}
		}
	}
	if t.Failed() {
		t.Logf("keepsaked log (tail):\n%s", logTail(log, 4000))
	}
}

func logTail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
