package api

import (
	"reflect"
	"sort"
	"testing"
	"time"
)

// A caller sends only what it chose: zero values stay at home, except an
// optional field that is set, whose zero value is a choice too.
func TestToOptions(t *testing.T) {
	no := false
	for _, c := range []struct {
		name string
		v    any
		want []string
	}{
		{"nothing chosen", SearchOptions{}, nil},
		{"auth", Auth{NoUserInteraction: true}, []string{"auth.no_user_interaction"}},
		{"search", SearchOptions{In: "/home/me", Since: time.Unix(1, 0), Limit: 5}, []string{"in", "limit", "since"}},
		{"data off is sent", FlatpakRestoreOptions{Data: &no}, []string{"data"}},
		{"data unset is not", FlatpakRestoreOptions{Installation: "system"}, []string{"installation"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := ToOptions(c.v)
			var got []string
			for k := range m {
				got = append(got, k)
			}
			sort.Strings(got)
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("ToOptions(%+v) has keys %v, want %v", c.v, got, c.want)
			}
		})
	}
	m := ToOptions(&RestoreOptions{To: "/tmp/caf\xe9"})
	if got := m["to"].Value(); got != EncodePath("/tmp/caf\xe9") {
		t.Fatalf("to = %q, want the encoded path", got)
	}
	var back RestoreOptions
	if err := FromOptions(m, &back); err != nil || back.To != "/tmp/caf\xe9" {
		t.Fatalf("FromOptions gave %+v, %v", back, err)
	}
}
