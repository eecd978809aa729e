package daemon

import (
	"bytes"
	"encoding/binary"
	"github.com/keepsake/keepsake/service/usecase"
	"github.com/keepsake/keepsake/shared/api"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/service/config"
	"github.com/keepsake/keepsake/shared/kerr"
)

// fuzzVariant turns fuzz input into a value of one of the D-Bus types a
// client could put in an a{sv}; kind picks the type.
func fuzzVariant(kind byte, s string, n int64, u uint64, b bool) dbus.Variant {
	switch kind % 12 {
	case 0:
		return dbus.MakeVariant(s)
	case 1:
		return dbus.MakeVariant(b)
	case 2:
		return dbus.MakeVariant(n)
	case 3:
		return dbus.MakeVariant(u)
	case 4:
		return dbus.MakeVariant(int32(n))
	case 5:
		return dbus.MakeVariant(uint32(u))
	case 6:
		return dbus.MakeVariant(strings.Split(s, "\n"))
	case 7:
		return dbus.MakeVariant(byte(u))
	case 8:
		return dbus.MakeVariant(float64(n))
	case 9:
		return dbus.MakeVariant(dbus.ObjectPath(s)) // may be invalid: the service never sees those, nor must it care
	case 10:
		return dbus.MakeVariant(dbus.MakeVariant(s))
	}
	return dbus.MakeVariant([]byte(s))
}

// settingKeys seed the corpus with every key CreateProfile and Configure know.
var settingKeys = []string{"sources", "excludes", "drive", "interval", "on-change", "quiet", "on-plug",
	"skip-on-battery", "retention", "min-free", "flatpak", "flatpak-offline", "nope", ""}

// FuzzApplySettings: whatever a{sv} a caller sends, applySettings never
// panics, refuses with InvalidArgs, and what it accepts and the
// configuration validates can be saved and read back unchanged, so a
// setting that went through D-Bus can never make the file unloadable.
func FuzzApplySettings(f *testing.F) {
	for i, k := range settingKeys {
		for kind := byte(0); kind < 12; kind++ {
			f.Add(k, kind, []string{"/home/u/Documents", "time-machine", "hourly=24 daily=30", "2%", "1234-ABCD", "*.tmp\n#x"}[i%6], int64(3600), uint64(60), true, "rel")
		}
	}
	f.Add("sources", byte(6), "/a\n/b/../c\n/d", int64(0), uint64(0), false, "excludes")
	f.Add("interval", byte(3), "", int64(0), uint64(math.MaxUint64), false, "quiet")
	f.Add("interval", byte(2), "", int64(-1), uint64(0), false, "quiet")
	f.Add("quiet", byte(2), "", int64(366*24*3600+1), uint64(0), false, "interval")
	f.Add("sources", byte(6), "/tmp/x\n[profile \"evil\"]\nsource = /etc", int64(0), uint64(0), false, "drive")
	f.Add("retention", byte(0), "weekly=99999999999999999999", int64(0), uint64(0), false, "min-free")
	f.Add("excludes", byte(6), "\"quoted\" # comment\n  spaced  \n\\#x", int64(0), uint64(0), false, "retention")
	f.Fuzz(func(t *testing.T, key string, kind byte, s string, n int64, u uint64, b bool, key2 string) {
		settings := map[string]dbus.Variant{key: fuzzVariant(kind, s, n, u, b), key2: fuzzVariant(kind+1, s, n, u, b)}
		pc := config.DefaultProfile("fuzz")
		err := applySettings(&pc, settings)
		if err != nil {
			if name := kerr.NameOf(err); name != kerr.InvalidArgs {
				t.Fatalf("applySettings(%v): %s error %v, want InvalidArgs", settings, name, err)
			}
			return
		}
		for _, src := range pc.Sources {
			if usecase.CheckPath(src) != nil {
				t.Fatalf("source %q accepted", src)
			}
		}
		if pc.Interval < 0 || pc.Quiet < 0 {
			t.Fatalf("negative durations accepted: %v %v", pc.Interval, pc.Quiet)
		}
		c := config.Default()
		c.Profiles = []config.Profile{pc}
		if c.Validate() != nil {
			return // changeConfig refuses it before saving
		}
		back, err := config.Parse(bytes.NewReader(c.Marshal()), "keepsake.conf")
		if err != nil {
			t.Fatalf("settings %v were accepted but the file they make does not load: %v\n%s", settings, err, c.Marshal())
		}
		if len(back.Profiles) != 1 || !sameProfile(back.Profiles[0], pc) {
			t.Fatalf("settings %v do not survive saving:\n got %+v\nwant %+v", settings, back.Profiles, pc)
		}
	})
}

func sameProfile(a, b config.Profile) bool {
	for _, p := range []*config.Profile{&a, &b} {
		if len(p.Sources) == 0 {
			p.Sources = nil
		}
		if len(p.Excludes) == 0 {
			p.Excludes = nil
		}
	}
	return reflect.DeepEqual(a, b)
}

// FuzzSearchOptions: Search's argument parsing never panics and what it
// accepts is within the documented bounds.
func FuzzSearchOptions(f *testing.F) {
	f.Add("*.txt", "in", byte(0), "/home", int64(0), uint64(0), false)
	f.Add("x", "limit", byte(5), "", int64(0), uint64(10001), false)
	f.Add("x", "limit", byte(5), "", int64(0), uint64(0), false)
	f.Add("x", "limit", byte(3), "", int64(0), uint64(1<<63), false)
	f.Add("x", "since", byte(2), "", int64(math.MinInt64), uint64(0), false)
	f.Add("x", "until", byte(2), "", int64(math.MaxInt64), uint64(0), false)
	f.Add("", "in", byte(0), "rel", int64(0), uint64(0), false)
	f.Add("a\x00b", "in", byte(0), "/a/../b", int64(0), uint64(0), false)
	f.Add(strings.Repeat("a", 4097), "in", byte(1), "", int64(0), uint64(0), true)
	f.Fuzz(func(t *testing.T, pattern, key string, kind byte, s string, n int64, u uint64, b bool) {
		var opts api.SearchOptions
		err := api.FromOptions(map[string]dbus.Variant{key: fuzzVariant(kind, s, n, u, b)}, &opts)
		var o usecase.SearchRequest
		if err == nil {
			o, err = usecase.SearchRequest{Pattern: pattern, In: string(opts.In), Since: opts.Since, Until: opts.Until, Limit: int(opts.Limit)}.Check()
		}
		if err != nil {
			if name := kerr.NameOf(err); name != kerr.InvalidArgs {
				t.Fatalf("%s error %v, want InvalidArgs", name, err)
			}
			return
		}
		if o.Pattern == "" || strings.ContainsRune(o.Pattern, 0) || len(o.Pattern) > 4096 {
			t.Fatalf("pattern %q accepted", o.Pattern)
		}
		if o.Limit < 1 || o.Limit > 10000 {
			t.Fatalf("limit %d accepted", o.Limit)
		}
		if o.In != "" && usecase.CheckPath(o.In) != nil {
			t.Fatalf("in %q accepted", o.In)
		}
	})
}

// FuzzCheckPath: an accepted path is absolute, clean and NUL-free, so no
// ".." or relative part reaches the engine.
func FuzzCheckPath(f *testing.F) {
	for _, p := range []string{"", "/", "/a", "a", "/a/", "/a//b", "/a/./b", "/a/../b", "/..", "/\x00", "//", "/é/ü €", "/tmp/x\n"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if err := usecase.CheckPath(p); err != nil {
			if kerr.NameOf(err) != kerr.InvalidArgs {
				t.Fatalf("usecase.CheckPath(%q): %v is not InvalidArgs", p, err)
			}
			return
		}
		if !filepath.IsAbs(p) || filepath.Clean(p) != p || strings.ContainsRune(p, 0) {
			t.Fatalf("checkPath accepted %q", p)
		}
		for _, c := range strings.Split(p, "/") {
			if c == ".." || c == "." {
				t.Fatalf("checkPath accepted %q", p)
			}
		}
	})
}

// FuzzOptions: the typed option readers never panic, refuse wrong types
// with InvalidArgs, and optInt never returns a value its type could not
// hold.
func FuzzOptions(f *testing.F) {
	for kind := byte(0); kind < 12; kind++ {
		f.Add(kind, "x", int64(-1), uint64(math.MaxUint64), true)
	}
	f.Add(byte(0), "a\x00b", int64(0), uint64(0), false)
	f.Add(byte(3), "", int64(0), uint64(1<<62+1), false)
	f.Fuzz(func(t *testing.T, kind byte, s string, n int64, u uint64, b bool) {
		named := func(err error) {
			t.Helper()
			if err != nil && kerr.NameOf(err) != kerr.InvalidArgs {
				t.Fatalf("%v is not InvalidArgs", err)
			}
		}
		// Every typed option of Search (s, x, u, b, and a path): any value
		// is taken with its type or refused as InvalidArgs.
		for _, key := range []string{"in", "since", "limit", "all-users", "auth.no_user_interaction", "unknown"} {
			opts := map[string]dbus.Variant{key: fuzzVariant(kind, s, n, u, b)}
			var o api.SearchOptions
			err := api.FromOptions(opts, &o)
			named(err)
			if key == "unknown" && err == nil {
				t.Fatal("an unknown option was taken")
			}
			if err == nil && key == "limit" {
				if x, ok := opts[key].Value().(uint32); ok && o.Limit != x {
					t.Fatalf("limit %d read as %d", x, o.Limit)
				}
			}
		}
		opts := map[string]dbus.Variant{"k": fuzzVariant(kind, s, n, u, b)}
		_, err := optBool(opts, "k")
		named(err)
		named(checkOptions(opts, "other"))
		if checkOptions(opts, "k") != nil {
			t.Fatal("checkOptions refuses an allowed key")
		}
	})
}

// FuzzBusText: whatever bytes a file name holds, busText makes a string
// godbus can send, and leaves valid names alone.
func FuzzBusText(f *testing.F) {
	for _, s := range []string{"", "plain", "ü €", "bad-\xff\xfe.txt", "a\x00b", "\xed\xa0\x80", strings.Repeat("\xff", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := busText(s)
		if !utf8.ValidString(got) || strings.ContainsRune(got, 0) {
			t.Fatalf("busText(%q) = %q, not a D-Bus string", s, got)
		}
		if utf8.ValidString(s) && !strings.ContainsRune(s, 0) && got != s {
			t.Fatalf("busText changed the valid %q to %q", s, got)
		}
		// godbus agrees it can be sent.
		msg := &dbus.Message{Type: dbus.TypeSignal, Headers: map[dbus.HeaderField]dbus.Variant{
			dbus.FieldPath: dbus.MakeVariant(dbus.ObjectPath("/a")), dbus.FieldInterface: dbus.MakeVariant("a.b"),
			dbus.FieldMember: dbus.MakeVariant("C"), dbus.FieldSignature: dbus.MakeVariant(dbus.SignatureOf(got))},
			Body: []any{got}}
		if err := msg.EncodeTo(&bytes.Buffer{}, binary.LittleEndian); err != nil {
			t.Fatalf("godbus cannot encode busText(%q) = %q: %v", s, got, err)
		}
	})
}
