// Package portal is what the app asks of the desktop's portals when it
// runs as a Flatpak: to run in the background and start at login (the
// Background portal; a sandboxed app's autostart entry is never read),
// and the real place of a folder chosen through the file chooser (the
// document portal hands the sandbox /run/user/UID/doc/… paths, which
// keepsaked, outside, cannot use). Outside a sandbox none of it is
// needed and nothing is asked. No GTK: godbus on the session bus, off
// the main loop.
package portal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"
)

// Sandboxed says whether the app runs inside Flatpak (flatpak puts
// /.flatpak-info in every sandbox).
func Sandboxed() bool {
	_, err := os.Stat("/.flatpak-info")
	return err == nil
}

const (
	desktopName = "org.freedesktop.portal.Desktop"
	desktopPath = "/org/freedesktop/portal/desktop"
	docsName    = "org.freedesktop.portal.Documents"
	docsPath    = "/org/freedesktop/portal/documents"
)

// BackgroundOptions are RequestBackground's options: why (shown to the
// person when the desktop asks), and the command line that starts the
// app at login.
func BackgroundOptions(reason string, commandline []string) map[string]dbus.Variant {
	return map[string]dbus.Variant{
		"reason":      dbus.MakeVariant(reason),
		"autostart":   dbus.MakeVariant(true),
		"commandline": dbus.MakeVariant(commandline),
		// The app is D-Bus activatable, but --hide-window must reach it.
		"dbus-activatable": dbus.MakeVariant(false),
	}
}

// RequestBackground asks the Background portal to let the app run with
// no window and to start it at login with commandline. The answer comes
// later as a Request's Response signal (the desktop may ask the person);
// the returned handle names it. It does not wait for it.
func RequestBackground(ctx context.Context, conn *dbus.Conn, reason string, commandline []string) (dbus.ObjectPath, error) {
	var handle dbus.ObjectPath
	err := conn.Object(desktopName, desktopPath).CallWithContext(ctx, "org.freedesktop.portal.Background.RequestBackground", 0,
		"", BackgroundOptions(reason, commandline)).Store(&handle)
	if err != nil {
		return "", fmt.Errorf("ask the Background portal: %w", err)
	}
	return handle, nil
}

// hostPathXattr is where the document portal's FUSE file system says the
// real path of a document (recent xdg-desktop-portal releases).
const hostPathXattr = "user.document-portal.host-path"

// ErrNotResolved says a folder from the document portal has no host path
// the portal would tell: the app then explains and offers the home folder.
var ErrNotResolved = errors.New("the document portal does not say where this folder is on the computer")

// Resolver turns paths the file chooser gave the sandbox into paths on
// the host. Its parts are replaceable for tests.
type Resolver struct {
	// DocRoot is the document portal's mount (/run/user/UID/doc).
	DocRoot string
	// Xattr reads an extended attribute of a path.
	Xattr func(path, name string) ([]byte, error)
	// HostPaths asks the Documents portal where documents are, by id
	// (GetHostPaths, version 5 of its interface).
	HostPaths func(ctx context.Context, ids []string) (map[string]string, error)
}

// NewResolver is the Resolver of this session: the user's document
// portal mount, its xattrs, and the portal over conn (nil: none).
func NewResolver(conn *dbus.Conn) *Resolver {
	r := &Resolver{
		DocRoot: filepath.Join("/run/user", fmt.Sprint(os.Getuid()), "doc"),
		Xattr: func(path, name string) ([]byte, error) {
			buf := make([]byte, 4096)
			n, err := unix.Getxattr(path, name, buf)
			if err != nil {
				return nil, err
			}
			return buf[:n], nil
		},
	}
	if conn != nil {
		r.HostPaths = func(ctx context.Context, ids []string) (map[string]string, error) {
			var out map[string][]byte
			err := conn.Object(docsName, docsPath).CallWithContext(ctx, "org.freedesktop.portal.Documents.GetHostPaths", 0, ids).Store(&out)
			if err != nil {
				return nil, err
			}
			res := map[string]string{}
			for k, v := range out {
				res[k] = string(bytes.TrimSuffix(v, []byte{0}))
			}
			return res, nil
		}
	}
	return r
}

// Host is the host's path of p: p itself unless it is inside the
// document portal; else what the portal's xattr or GetHostPaths says.
func (r *Resolver) Host(ctx context.Context, p string) (string, error) {
	root := strings.TrimSuffix(r.DocRoot, "/")
	if root == "" || (p != root && !strings.HasPrefix(p, root+"/")) {
		return p, nil
	}
	if r.Xattr != nil {
		if b, err := r.Xattr(p, hostPathXattr); err == nil && len(b) > 0 {
			if h := string(bytes.TrimSuffix(b, []byte{0})); strings.HasPrefix(h, "/") {
				return h, nil
			}
		}
	}
	// /run/user/UID/doc/ID/NAME/rest: the document ID is NAME on the
	// host; rest is below it.
	parts := strings.SplitN(strings.TrimPrefix(p, root+"/"), "/", 3)
	if r.HostPaths != nil && len(parts) >= 2 && parts[0] != "" {
		if m, err := r.HostPaths(ctx, []string{parts[0]}); err == nil {
			if h := m[parts[0]]; strings.HasPrefix(h, "/") {
				if len(parts) == 3 {
					h = filepath.Join(h, parts[2])
				}
				return h, nil
			}
		}
	}
	return "", fmt.Errorf("%s: %w", p, ErrNotResolved)
}
