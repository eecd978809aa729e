package polkit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/godbus/dbus/v5"
)

const (
	busName    = "org.freedesktop.PolicyKit1"
	objPath    = dbus.ObjectPath("/org/freedesktop/PolicyKit1/Authority")
	iface      = "org.freedesktop.PolicyKit1.Authority"
	checkCall  = iface + ".CheckAuthorization"
	cancelCall = iface + ".CancelCheckAuthorization"

	// flagAllowUserInteraction lets polkit ask the user (through their
	// authentication agent) for a password; without it an auth_admin
	// action answers Challenge=true at once.
	flagAllowUserInteraction uint32 = 1
)

// ErrNotRunning means no polkit daemon answers on the bus. The service
// treats it as "not authorized", with this reason, rather than as an
// internal failure: without polkit nobody but root can be let in.
var ErrNotRunning = errors.New("polkit is not running")

// Authority checks authorizations through polkit on one bus connection.
type Authority struct {
	conn *dbus.Conn
}

// New returns an Authority that talks to polkit over conn (the system bus
// connection the service also serves its interface on).
func New(conn *dbus.Conn) *Authority {
	return &Authority{conn: conn}
}

// Result is polkit's answer.
type Result struct {
	// Authorized: the caller may go ahead.
	Authorized bool
	// Challenge: the caller would be authorized after authenticating
	// (auth_self or auth_admin), but the check was not interactive or no
	// authentication agent could ask.
	Challenge bool
	// Details from polkit, e.g. "polkit.dismissed" = "true" when the user
	// closed the password dialog.
	Details map[string]string
}

// checkSeq makes cancellation ids unique within this process; polkit
// needs them unique per bus connection.
var checkSeq atomic.Uint64

// Check asks whether the bus client sender (a unique name such as ":1.42")
// may perform action. With interactive set, polkit may ask the user for a
// password, so the call can take as long as the user takes to answer;
// cancelling ctx withdraws the question.
func (a *Authority) Check(ctx context.Context, sender, action string, interactive bool) (Result, error) {
	subject := struct {
		Kind    string
		Details map[string]dbus.Variant
	}{"system-bus-name", map[string]dbus.Variant{"name": dbus.MakeVariant(sender)}}
	var flags uint32
	if interactive {
		flags |= flagAllowUserInteraction
	}
	cancelID := "keepsake-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatUint(checkSeq.Add(1), 10)

	var reply struct {
		Authorized bool
		Challenge  bool
		Details    map[string]string
	}
	obj := a.conn.Object(busName, objPath)
	err := obj.CallWithContext(ctx, checkCall, 0, subject, action, map[string]string{}, flags, cancelID).Store(&reply)
	if err != nil {
		if ctx.Err() != nil {
			a.cancel(cancelID)
			return Result{}, fmt.Errorf("polkit check %s for %s: %w", action, sender, ctx.Err())
		}
		if notRunning(err) {
			return Result{}, fmt.Errorf("polkit check %s for %s: %w", action, sender, ErrNotRunning)
		}
		return Result{}, fmt.Errorf("polkit check %s for %s: %w", action, sender, err)
	}
	if reply.Details == nil {
		reply.Details = map[string]string{}
	}
	return Result{Authorized: reply.Authorized, Challenge: reply.Challenge, Details: reply.Details}, nil
}

// cancel withdraws a pending interactive check so that the password dialog
// goes away when the caller has given up. Best effort: the check may have
// finished meanwhile, which polkit reports as an error we do not need.
func (a *Authority) cancel(id string) {
	ctx, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	a.conn.Object(busName, objPath).CallWithContext(ctx, cancelCall, 0, id)
}

// notRunning reports whether err says nobody owns polkit's name (and the
// bus could not start it).
func notRunning(err error) bool {
	var de dbus.Error
	if !errors.As(err, &de) {
		return false
	}
	switch de.Name {
	case "org.freedesktop.DBus.Error.ServiceUnknown",
		"org.freedesktop.DBus.Error.Spawn.ServiceNotFound",
		"org.freedesktop.DBus.Error.Spawn.ChildExited",
		"org.freedesktop.DBus.Error.Spawn.ExecFailed",
		"org.freedesktop.DBus.Error.Spawn.Failed":
		return true
	}
	return false
}
