package daemon

import (
	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/shared/dbusapi"
)

// strictSignatures makes a call whose arguments are not of the types the
// interface XML declares fail with InvalidArgs. godbus stores an argument
// in any Go type it converts to, so without this an int32 sent where a
// string belongs arrives as the one-character string of that code point
// (CreateProfile(65, ...) would make a profile "A"), and an object path
// arrives as a string.
//
// It runs on every incoming message before godbus decodes the arguments.
// An interceptor cannot answer, so it empties the body of a call that does
// not match: godbus then refuses it with InvalidArgs, as it refuses a
// wrong number of arguments (every Keepsake method takes at least its
// options, so an empty body never matches).
func strictSignatures() dbus.Interceptor {
	want := map[string]map[string]string{} // method -> interface -> in-signature
	ifaces, err := dbusapi.Interfaces()
	if err != nil {
		panic(err) // the embedded XML is broken; TestHandlersMatchXML says so first
	}
	for name, iface := range ifaces {
		for _, m := range iface.Methods {
			sig := ""
			for _, a := range m.Args {
				if a.Direction != "out" {
					sig += a.Type
				}
			}
			if want[m.Name] == nil {
				want[m.Name] = map[string]string{}
			}
			want[m.Name][name] = sig
		}
	}
	return func(msg *dbus.Message) {
		if msg.Type != dbus.TypeMethodCall {
			return
		}
		member, _ := msg.Headers[dbus.FieldMember].Value().(string)
		sigs, ok := want[member]
		if !ok {
			return
		}
		got := ""
		if v, ok := msg.Headers[dbus.FieldSignature]; ok {
			s, _ := v.Value().(dbus.Signature)
			got = s.String()
		}
		iface, _ := msg.Headers[dbus.FieldInterface].Value().(string)
		if iface != "" {
			sig, ok := sigs[iface]
			if ok && got != sig {
				msg.Body = nil
			}
			return
		}
		// No interface named: godbus looks the method up in any of the
		// object's interfaces; the arguments must fit one of them.
		for _, sig := range sigs {
			if got == sig {
				return
			}
		}
		msg.Body = nil
	}
}
