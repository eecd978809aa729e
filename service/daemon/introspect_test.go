package daemon_test

import (
	"encoding/xml"
	"sort"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5/introspect"
)

func parseIntrospection(t *testing.T, s string) map[string][]string {
	t.Helper()
	var n introspect.Node
	if err := xml.Unmarshal([]byte(s), &n); err != nil {
		t.Fatalf("parse introspection: %v", err)
	}
	out := map[string][]string{}
	for _, i := range n.Interfaces {
		out[i.Name] = summary(i)
	}
	return out
}

// summary is an interface as sorted "kind name(signature)" lines.
func summary(i introspect.Interface) []string {
	var out []string
	for _, m := range i.Methods {
		var in, o []string
		for _, a := range m.Args {
			if a.Direction == "out" {
				o = append(o, a.Type)
			} else {
				in = append(in, a.Type)
			}
		}
		out = append(out, "method "+m.Name+"("+strings.Join(in, "")+")"+strings.Join(o, ""))
	}
	for _, s := range i.Signals {
		var a []string
		for _, x := range s.Args {
			a = append(a, x.Type)
		}
		out = append(out, "signal "+s.Name+"("+strings.Join(a, "")+")")
	}
	for _, p := range i.Properties {
		out = append(out, "property "+p.Name+" "+p.Type+" "+p.Access)
	}
	sort.Strings(out)
	return out
}
