package dbusapi

import (
	"errors"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/shared/kerr"
)

// InvalidArgsError is the standard D-Bus error for malformed arguments.
const InvalidArgsError = "org.freedesktop.DBus.Error.InvalidArgs"

// ServiceUnknownError is the bus's own error for a call to a name nobody
// owns and nothing can start.
const ServiceUnknownError = "org.freedesktop.DBus.Error.ServiceUnknown"

// noService are the errors the bus (or the local end of the connection)
// gives when nothing answers for the service: not running and not
// activatable, gone during the call (NoReply: the recipient disconnected
// without replying), or no bus to talk to.
var noService = map[string]bool{
	ServiceUnknownError:                         true,
	"org.freedesktop.DBus.Error.NameHasNoOwner": true,
	"org.freedesktop.DBus.Error.NoReply":        true,
	"org.freedesktop.DBus.Error.Disconnected":   true,
	"org.freedesktop.DBus.Error.NoServer":       true,
}

// ToDBus turns an error into the D-Bus error a caller sees: a named
// Keepsake error keeps its name (InvalidArgs becomes the standard
// org.freedesktop.DBus.Error.InvalidArgs), anything else is Failed. The
// message is the error's text, which names what went wrong.
//
// The service never sends ServiceNotRunning (a service that answers is
// running; only the client makes that name): should one reach ToDBus it
// becomes the bus's own ServiceUnknown, which FromDBus reads back as
// ServiceNotRunning, so the mapping holds both ways.
func ToDBus(err error) *dbus.Error {
	if err == nil {
		return nil
	}
	var de *dbus.Error
	if errors.As(err, &de) {
		return de
	}
	name := kerr.NameOf(err).DBusName()
	switch kerr.NameOf(err) {
	case kerr.InvalidArgs:
		name = InvalidArgsError
	case kerr.ServiceNotRunning:
		name = ServiceUnknownError
	}
	return &dbus.Error{Name: name, Body: []any{err.Error()}}
}

// FromDBus turns a D-Bus error back into a named error, so a client can
// test kerr.Is(err, kerr.Busy). Errors outside Keepsake's namespace keep
// their D-Bus name in the message and are Failed, except InvalidArgs, the
// bus's errors for an object that is not there (NotFound) and its errors
// for a service nobody runs (ServiceNotRunning).
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
	if noService[de.Name] {
		return &kerr.Error{Name: kerr.ServiceNotRunning, Message: msg}
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
