package api

import (
	"testing"

	"github.com/godbus/dbus/v5"
)

// Numbers typed in busctl or gdbus come as whatever integer type the user
// wrote; any that fits is taken, one that does not is refused by name.
func TestFromDictIntegers(t *testing.T) {
	cases := map[string]struct {
		v     any
		limit uint32
		bad   bool
	}{
		"u as declared":   {v: uint32(20), limit: 20},
		"i from gdbus":    {v: int32(20), limit: 20},
		"t":               {v: uint64(20), limit: 20},
		"negative":        {v: int32(-1), bad: true},
		"too large for u": {v: int64(1) << 40, bad: true},
		"a string":        {v: "20", bad: true},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			var o SearchOptions
			err := FromOptions(Dict{"limit": dbus.MakeVariant(c.v)}, &o)
			if c.bad != (err != nil) || o.Limit != c.limit {
				t.Fatalf("limit %#v: got %d, %v", c.v, o.Limit, err)
			}
		})
	}
	var o SearchOptions
	if err := FromOptions(Dict{"limt": dbus.MakeVariant(uint32(1))}, &o); err == nil {
		t.Fatal("an unknown option was accepted")
	}
}

func TestSettingsSet(t *testing.T) {
	var s Settings
	for _, kv := range [][2]string{{"interval", "1h"}, {"quiet", "300"}, {"on-change", "yes"}, {"sources", "/a:/b"},
		{"excludes", ""}, {"min-free", "2%"}, {"flatpak-offline", "off"}} {
		if err := s.Set(kv[0], kv[1]); err != nil {
			t.Fatalf("%s=%s: %v", kv[0], kv[1], err)
		}
	}
	if *s.Interval != 3600 || *s.Quiet != 300 || !*s.OnChange || len(*s.Sources) != 2 || len(*s.Excludes) != 0 ||
		*s.MinFree != "2%" || *s.FlatpakOffline || s.Drive != nil {
		t.Fatalf("settings %+v", s)
	}
	for _, kv := range [][2]string{{"interval", "hourly"}, {"on-plug", "maybe"}, {"intreval", "1h"}} {
		if err := s.Set(kv[0], kv[1]); err == nil {
			t.Errorf("%s=%s accepted", kv[0], kv[1])
		}
	}
	m := ToDict(s)
	if len(m) != 7 {
		t.Fatalf("only the settings given are sent: %v", m)
	}
}
