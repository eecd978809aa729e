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
