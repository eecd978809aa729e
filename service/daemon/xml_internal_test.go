package daemon

import (
	"testing"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/shared/dbusapi"
)

// The Go handlers export exactly the methods the XML declares, with the
// XML's signatures: godbus would export any other method too.
func TestHandlersMatchXML(t *testing.T) {
	for _, tc := range []struct {
		iface   string
		handler any
	}{
		{dbusapi.ManagerInterface, &managerHandler{}},
		{dbusapi.ProfileInterface, &profileHandler{}},
		{dbusapi.DriveInterface, &driveHandler{}},
		{dbusapi.JobInterface, &jobHandler{}},
	} {
		t.Run(tc.iface, func(t *testing.T) {
			if err := dbusapi.CheckMethods(dbusapi.MustInterface(tc.iface), tc.handler); err != nil {
				t.Error(err)
			}
		})
	}
}

// A call whose arguments are not of the XML's types reaches godbus with
// no arguments, which it refuses with InvalidArgs; a call of the right
// types, and every message that is not a Keepsake method call, pass
// untouched.
func TestStrictSignatures(t *testing.T) {
	check := strictSignatures()
	opts := map[string]dbus.Variant{}
	for _, tc := range []struct {
		name    string
		typ     dbus.Type
		iface   string
		member  string
		body    []any
		cleared bool
	}{
		{"right types", dbus.TypeMethodCall, dbusapi.ManagerInterface, "CreateProfile", []any{"work", opts, opts}, false},
		{"an int32 for the name", dbus.TypeMethodCall, dbusapi.ManagerInterface, "CreateProfile", []any{int32(65), opts, opts}, true},
		{"an object path for the name", dbus.TypeMethodCall, dbusapi.ManagerInterface, "CreateProfile", []any{dbus.ObjectPath("/a"), opts, opts}, true},
		{"options of another type", dbus.TypeMethodCall, dbusapi.ManagerInterface, "CreateProfile", []any{"work", opts, map[string]int32{}}, true},
		{"one argument short", dbus.TypeMethodCall, dbusapi.ManagerInterface, "CreateProfile", []any{"work", opts}, true},
		{"no interface, right types", dbus.TypeMethodCall, "", "CreateProfile", []any{"work", opts, opts}, false},
		{"no interface, wrong types", dbus.TypeMethodCall, "", "CreateProfile", []any{int32(1), opts, opts}, true},
		{"Profile.Delete", dbus.TypeMethodCall, dbusapi.ProfileInterface, "Delete", []any{opts}, false},
		{"a method of another interface", dbus.TypeMethodCall, "org.freedesktop.DBus.Properties", "Get", []any{int32(1)}, false},
		{"a signal", dbus.TypeSignal, dbusapi.ManagerInterface, "CreateProfile", []any{int32(1)}, false},
	} {
		msg := &dbus.Message{Type: tc.typ, Headers: map[dbus.HeaderField]dbus.Variant{
			dbus.FieldMember: dbus.MakeVariant(tc.member),
		}, Body: tc.body}
		if tc.iface != "" {
			msg.Headers[dbus.FieldInterface] = dbus.MakeVariant(tc.iface)
		}
		if len(tc.body) > 0 {
			msg.Headers[dbus.FieldSignature] = dbus.MakeVariant(dbus.SignatureOf(tc.body...))
		}
		check(msg)
		if cleared := msg.Body == nil; cleared != tc.cleared {
			t.Errorf("%s: body cleared %v, want %v", tc.name, cleared, tc.cleared)
		}
	}
}
