package dbusapi

import (
	"encoding/xml"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/introspect"
	"github.com/keepsake/keepsake/data"
)

// Interfaces returns the interfaces of data/io.github.keepsake.Keepsake1.xml
// by name.
func Interfaces() (map[string]introspect.Interface, error) {
	var n introspect.Node
	if err := xml.Unmarshal(data.InterfaceXML, &n); err != nil {
		return nil, fmt.Errorf("parse interface XML: %w", err)
	}
	m := map[string]introspect.Interface{}
	for _, i := range n.Interfaces {
		m[i.Name] = i
	}
	return m, nil
}

// MustInterface returns one interface of the XML; it panics when the
// embedded file is broken, which a test catches first.
func MustInterface(name string) introspect.Interface {
	m, err := Interfaces()
	if err != nil {
		panic(err)
	}
	i, ok := m[name]
	if !ok {
		panic("interface " + name + " missing from the XML")
	}
	return i
}

var (
	senderType = reflect.TypeOf(dbus.Sender(""))
	errorType  = reflect.TypeOf((*dbus.Error)(nil))
)

// CheckMethods reports every difference between the methods iface declares
// and those v exports the way godbus does (every exported method whose last
// result is *dbus.Error; a leading dbus.Sender argument is the caller, not a
// D-Bus argument). godbus would export any such method, so an extra one is
// an error too: nothing reaches the bus that the XML does not declare.
func CheckMethods(iface introspect.Interface, v any) error {
	var probs []string
	rt := reflect.TypeOf(v)
	seen := map[string]bool{}
	for _, m := range iface.Methods {
		seen[m.Name] = true
		gm, ok := rt.MethodByName(m.Name)
		if !ok {
			probs = append(probs, fmt.Sprintf("%s.%s: not implemented", iface.Name, m.Name))
			continue
		}
		in, out := goSignature(gm.Type)
		var xin, xout []string
		for _, a := range m.Args {
			if a.Direction == "out" {
				xout = append(xout, a.Type)
			} else {
				xin = append(xin, a.Type)
			}
		}
		if strings.Join(in, "") != strings.Join(xin, "") || strings.Join(out, "") != strings.Join(xout, "") {
			probs = append(probs, fmt.Sprintf("%s.%s: Go takes (%s) returns (%s), XML says (%s) -> (%s)",
				iface.Name, m.Name, strings.Join(in, ","), strings.Join(out, ","), strings.Join(xin, ","), strings.Join(xout, ",")))
		}
	}
	for i := 0; i < rt.NumMethod(); i++ {
		gm := rt.Method(i)
		t := gm.Type
		if t.NumOut() == 0 || t.Out(t.NumOut()-1) != errorType || seen[gm.Name] {
			continue
		}
		probs = append(probs, fmt.Sprintf("%s.%s: exported by Go but not in the XML", iface.Name, gm.Name))
	}
	sort.Strings(probs)
	if len(probs) > 0 {
		return fmt.Errorf("interface and implementation disagree:\n  %s", strings.Join(probs, "\n  "))
	}
	return nil
}

// goSignature is the D-Bus signature of a method value's arguments and
// results, without the receiver, the caller and the error.
func goSignature(t reflect.Type) (in, out []string) {
	for i := 1; i < t.NumIn(); i++ { // 0 is the receiver
		if t.In(i) == senderType {
			continue
		}
		in = append(in, dbus.SignatureOfType(t.In(i)).String())
	}
	for i := 0; i < t.NumOut()-1; i++ {
		out = append(out, dbus.SignatureOfType(t.Out(i)).String())
	}
	return in, out
}
