package dbusapi

import (
	"errors"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/shared/kerr"
)

// InvalidArgsError is the standard D-Bus error for malformed arguments.
const InvalidArgsError = "org.freedesktop.DBus.Error.InvalidArgs"

// ToDBus turns an error into the D-Bus error a caller sees: a named
// Keepsake error keeps its name (InvalidArgs becomes the standard
// org.freedesktop.DBus.Error.InvalidArgs), anything else is Failed. The
// message is the error's text, which names what went wrong.
func ToDBus(err error) *dbus.Error {
	if err == nil {
		return nil
	}
	var de *dbus.Error
	if errors.As(err, &de) {
		return de
	}
	name := kerr.NameOf(err).DBusName()
	if kerr.NameOf(err) == kerr.InvalidArgs {
		name = InvalidArgsError
	}
	return &dbus.Error{Name: name, Body: []any{err.Error()}}
}

// FromDBus turns a D-Bus error back into a named error, so a client can
// test kerr.Is(err, kerr.Busy). Errors outside Keepsake's namespace keep
// their D-Bus name in the message and are Failed (InvalidArgs is mapped).
func FromDBus(err error) error {
	if err == nil {
		return nil
	}
	var de dbus.Error
	var dep *dbus.Error
	switch {
	case errors.As(err, &dep):
		de = *dep
	case errors.As(err, &de):
	default:
		return err
	}
	msg := ""
	if len(de.Body) > 0 {
		if s, ok := de.Body[0].(string); ok {
			msg = s
		}
	}
	switch de.Name {
	case InvalidArgsError:
		return &kerr.Error{Name: kerr.InvalidArgs, Message: msg}
	case "org.freedesktop.DBus.Error.UnknownObject", "org.freedesktop.DBus.Error.UnknownInterface":
		// The object is gone (a profile deleted, a job that ended long
		// ago, a drive never seen): callers test for NotFound.
		return &kerr.Error{Name: kerr.NotFound, Message: msg, Err: err}
	}
	if n, ok := kerr.FromDBusName(de.Name); ok {
		return &kerr.Error{Name: n, Message: msg}
	}
	if msg == "" {
		msg = de.Name
	} else {
		msg = de.Name + ": " + msg
	}
	return &kerr.Error{Name: kerr.Failed, Message: msg, Err: err}
}
