package portal

import (
	"context"
	"errors"
	"reflect"
	"syscall"
	"testing"
)

// The portals themselves (xdg-desktop-portal inside a Flatpak session)
// do not run on this machine: these tests give the Resolver the answers
// the document portal's xattr and GetHostPaths give, and check what the
// app then does with them.
func TestHostPaths(t *testing.T) {
	const root = "/run/user/1000/doc"
	xattrs := map[string]string{"/run/user/1000/doc/ab12cd/Photos": "/home/ann/Photos\x00"}
	portal := map[string]string{"ef34": "/home/ann/Music"}
	for _, tc := range []struct {
		name, path, want string
		noPortal         bool
		err              error
	}{
		{"a path outside the portal is itself", "/home/ann/Documents", "/home/ann/Documents", false, nil},
		{"a name that only starts the same", "/run/user/1000/docs/x", "/run/user/1000/docs/x", false, nil},
		{"the xattr says", "/run/user/1000/doc/ab12cd/Photos", "/home/ann/Photos", false, nil},
		{"GetHostPaths says", "/run/user/1000/doc/ef34/Music", "/home/ann/Music", false, nil},
		{"below a document", "/run/user/1000/doc/ef34/Music/Jazz/a.ogg", "/home/ann/Music/Jazz/a.ogg", false, nil},
		{"the mount itself", "/run/user/1000/doc", "", false, ErrNotResolved},
		{"neither says", "/run/user/1000/doc/9999/Secret", "", false, ErrNotResolved},
		{"no portal on the bus", "/run/user/1000/doc/ef34/Music", "", true, ErrNotResolved},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Resolver{
				DocRoot: root,
				Xattr: func(p, name string) ([]byte, error) {
					if name != hostPathXattr {
						t.Errorf("read xattr %q", name)
					}
					if v, ok := xattrs[p]; ok {
						return []byte(v), nil
					}
					return nil, syscall.ENODATA
				},
				HostPaths: func(_ context.Context, ids []string) (map[string]string, error) {
					out := map[string]string{}
					for _, p := range ids {
						if v, ok := portal[p]; ok {
							out[p] = v
						}
					}
					return out, nil
				},
			}
			if tc.noPortal {
				r.HostPaths = nil
			}
			got, err := r.Host(context.Background(), tc.path)
			if got != tc.want || !errors.Is(err, tc.err) {
				t.Errorf("Host(%q) = %q, %v; want %q, %v", tc.path, got, err, tc.want, tc.err)
			}
		})
	}
}

func TestBackgroundOptions(t *testing.T) {
	got := BackgroundOptions("Back up when the drive is plugged in", []string{"keepsake", "--hide-window"})
	want := map[string]any{
		"reason": "Back up when the drive is plugged in", "autostart": true,
		"commandline": []string{"keepsake", "--hide-window"}, "dbus-activatable": false,
	}
	plain := map[string]any{}
	for k, v := range got {
		plain[k] = v.Value()
	}
	if !reflect.DeepEqual(plain, want) {
		t.Errorf("options = %v, want %v", plain, want)
	}
}
