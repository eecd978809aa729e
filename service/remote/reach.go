package remote

import (
	"context"
	"net"
	"slices"
	"time"

	"github.com/keepsake/keepsake/shared/grammar"
	"github.com/keepsake/keepsake/shared/kerr"
)

// Reachable checks that something accepts TCP connections on the
// computer's ssh port (no ICMP, no login). It fails with HostUnreachable,
// naming the address, when the name does not resolve, nothing listens or
// nothing answers within timeout (0: 30 seconds).
func Reachable(ctx context.Context, r grammar.Remote, timeout time.Duration) error {
	if err := checkRemote(r); err != nil {
		return err
	}
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", r.Address())
	if ctx.Err() != nil {
		return kerr.Wrap(kerr.Cancelled, ctx.Err(), "reach %s", r.Address())
	}
	if err != nil {
		return kerr.Wrap(kerr.HostUnreachable, err, "nothing answers at %s", r.Address())
	}
	conn.Close()
	return nil
}

// checkRemote refuses a Remote that ParseRemote would not have made: its
// fields go on command lines.
func checkRemote(r grammar.Remote) error {
	p, err := grammar.ParseRemote(grammar.Remote{User: r.User, Host: r.Host, Port: r.Port}.String())
	if err != nil {
		return err
	}
	if p.User != r.User || p.Host != r.Host || p.SSHPort() != r.SSHPort() {
		return kerr.New(kerr.InvalidArgs, "remote %q is not in canonical form (user %q, host %q, port %d)", r.String(), r.User, r.Host, r.Port)
	}
	return nil
}

// checkPaths refuses paths that ParseRemote would not have made.
func checkPaths(r grammar.Remote) error {
	if len(r.Paths) == 0 {
		return kerr.New(kerr.InvalidArgs, "remote %s names no path", r.Address())
	}
	p, err := grammar.ParseRemote(r.String())
	if err != nil {
		return err
	}
	if !slices.Equal(p.Paths, r.Paths) {
		return kerr.New(kerr.InvalidArgs, "the paths of %q are not absolute, clean and distinct: %q", r.String(), r.Paths)
	}
	return nil
}
