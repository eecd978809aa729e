package dbusapi

import (
	"testing"

	"github.com/godbus/dbus/v5"
)

// escapeCases are names that look alike or are awkward: the seed corpus
// of FuzzEscape and a table of their escapes.
var escapeCases = []struct{ name, escaped string }{
	{"", "_"},
	{"home", "home"},
	{"Home2", "Home2"},
	{"work-2", "work_2d2"},
	{"work_2", "work_5f2"},
	{"work.2", "work_2e2"},
	{"work 2", "work_202"},
	{"2work", "2work"},
	{"_", "_5f"},
	{"-", "_2d"},
	{"__", "_5f_5f"},
	{"_5f", "_5f5f"},
	{"/", "_2f"},
	{"a/b", "a_2fb"},
	{"\x00", "_00"},
	{"é", "_c3_a9"},
	{"\xff\xfe", "_ff_fe"},
	{"\xc3", "_c3"},
	{"2f7c1b3e-8a9d-4c1e-9f00-1234567890ab", "2f7c1b3e_2d8a9d_2d4c1e_2d9f00_2d1234567890ab"},
	{"1234-ABCD", "1234_2dABCD"},
}

func TestEscapeTable(t *testing.T) {
	for _, tc := range escapeCases {
		if got := escape(tc.name); got != tc.escaped {
			t.Errorf("escape(%q) = %q, want %q", tc.name, got, tc.escaped)
		}
		if got, ok := unescape(tc.escaped, true); !ok || got != tc.name {
			t.Errorf("unescape(%q) = %q, %v, want %q", tc.escaped, got, ok, tc.name)
		}
	}
}

// TestUnescapeRefuses: only what escape makes is read back, so a name
// has exactly one path.
func TestUnescapeRefuses(t *testing.T) {
	for _, e := range []string{"", "-", "a-b", ".", "é", "_2", "a_", "_2D", "_zz", "_41", "_61", "_30", "__", "_5f_", "a/b"} {
		if got, ok := unescape(e, true); ok {
			t.Errorf("unescape(%q) = %q, want a refusal", e, got)
		}
	}
}

// TestEscapeDistinct: every pair of distinct names from a generated set
// (all strings of up to three pieces: letters, digits, '-', '_', '.',
// '/', space, NUL, non-ASCII UTF-8, bytes that are not UTF-8, and text
// that looks like an escape) has distinct, valid object paths, and each
// path reads back as its name.
func TestEscapeDistinct(t *testing.T) {
	pieces := []string{"a", "Z", "0", "9", "-", "_", ".", "/", " ", "\x00", "\xff", "\xc3", "é", "_2d", "_5f", "2d", "5f"}
	names := map[string]bool{"": true}
	last := []string{""}
	for range 3 {
		var next []string
		for _, n := range last {
			for _, p := range pieces {
				if !names[n+p] {
					names[n+p] = true
					next = append(next, n+p)
				}
			}
		}
		last = next
	}
	seen := map[dbus.ObjectPath]string{}
	for n := range names {
		for _, path := range []dbus.ObjectPath{ProfilePath(n), DrivePath(n)} {
			if !path.IsValid() {
				t.Fatalf("%q: %q is not a valid object path", n, path)
			}
			if other, dup := seen[path]; dup {
				t.Fatalf("%q and %q share the object path %q", n, other, path)
			}
			seen[path] = n
		}
		if back, ok := ProfileName(ProfilePath(n)); !ok || back != n {
			t.Fatalf("ProfileName(ProfilePath(%q)) = %q, %v", n, back, ok)
		}
		if back, ok := DriveUUID(DrivePath(n)); !ok || back != n {
			t.Fatalf("DriveUUID(DrivePath(%q)) = %q, %v", n, back, ok)
		}
	}
	if len(names) < 4000 {
		t.Fatalf("only %d names generated", len(names))
	}
}

// FuzzEscape: any bytes escape to a valid path element that unescapes to
// them; any element unescape accepts is what escape makes of its result.
func FuzzEscape(f *testing.F) {
	for _, tc := range escapeCases {
		f.Add(tc.name)
		f.Add(tc.escaped)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := escape(s)
		if p := dbus.ObjectPath(profilesPath + e); !p.IsValid() {
			t.Fatalf("escape(%q) = %q: not a valid path element", s, e)
		}
		if back, ok := unescape(e, true); !ok || back != s {
			t.Fatalf("unescape(escape(%q)) = %q, %v", s, back, ok)
		}
		if n, ok := unescape(s, true); ok && escape(n) != s {
			t.Fatalf("unescape(%q) = %q, which escapes to %q", s, n, escape(n))
		}
	})
}
