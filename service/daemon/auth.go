package daemon

import (
	"context"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/service/usecase"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/dbusapi"
	"github.com/keepsake/keepsake/shared/kerr"
)

// caller is who sent a method call, as the bus daemon vouches for it (not
// as the message claims).
type caller struct {
	sender string
	uid    uint32
	gid    uint32
	groups []uint32
	name   string
	home   string
}

func (c caller) root() bool { return c.uid == 0 }

// uc is the caller as the use cases see them; all: they may see every
// user's files (root, or browse-all granted with the all-users option).
func (c caller) uc(all bool) usecase.Caller {
	return usecase.Caller{UID: c.uid, GID: c.gid, Groups: c.groups, Name: c.name, Home: c.home, All: all || c.root()}
}

// identify asks the bus daemon for the sender's uid (and groups where the
// daemon knows them; otherwise from the user database).
func (d *Daemon) identify(sender dbus.Sender) (caller, error) {
	c := caller{sender: string(sender)}
	var creds map[string]dbus.Variant
	err := d.conn.BusObject().Call("org.freedesktop.DBus.GetConnectionCredentials", 0, string(sender)).Store(&creds)
	if err != nil {
		return c, kerr.Wrap(kerr.NotAuthorized, err, "cannot tell who %s is", sender)
	}
	uid, ok := creds["UnixUserID"].Value().(uint32)
	if !ok {
		return c, kerr.New(kerr.NotAuthorized, "the bus does not say who %s is", sender)
	}
	c.uid = uid
	if gids, ok := creds["UnixGroupIDs"].Value().([]uint32); ok {
		c.groups = gids
	}
	if u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil {
		c.name, c.home = u.Username, filepath.Clean(u.HomeDir)
		g, _ := strconv.ParseUint(u.Gid, 10, 32)
		c.gid = uint32(g)
		if c.groups == nil {
			ids, _ := u.GroupIds()
			for _, s := range ids {
				if n, err := strconv.ParseUint(s, 10, 32); err == nil {
					c.groups = append(c.groups, uint32(n))
				}
			}
		}
	} else {
		c.name = strconv.FormatUint(uint64(uid), 10)
		c.gid = uid
	}
	return c, nil
}

// authorize checks action for c with polkit. Root is always allowed (as
// polkit itself would say) so scripts run as root work without polkitd.
func (d *Daemon) authorize(c caller, action string, opts map[string]dbus.Variant) error {
	if c.root() {
		return nil
	}
	if d.authority == nil {
		return kerr.New(kerr.NotAuthorized, "polkit is not available: only root may use Keepsake")
	}
	interactive := true
	if v, ok := opts[dbusapi.OptNoUserInteraction]; ok {
		b, ok := v.Value().(bool)
		if !ok {
			return kerr.New(kerr.InvalidArgs, "option %s must be a boolean", dbusapi.OptNoUserInteraction)
		}
		interactive = !b
	}
	// A password dialog can take a while; polkit itself times out.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := d.authority.Check(ctx, c.sender, action, interactive)
	if err != nil {
		return kerr.Wrap(kerr.NotAuthorized, err, "cannot check authorization for %s", action)
	}
	if res.Authorized {
		return nil
	}
	if res.Challenge {
		return kerr.New(kerr.NotAuthorized, "%s needs an administrator's authorization (polkit action %s)", describe(action), action)
	}
	return kerr.New(kerr.NotAuthorized, "%s is not allowed for user %s (polkit action %s)", describe(action), c.name, action)
}

func describe(action string) string {
	switch action {
	case dbusapi.ActionBackup:
		return "backing up"
	case dbusapi.ActionBrowse:
		return "browsing backups"
	case dbusapi.ActionRestore:
		return "restoring files"
	case dbusapi.ActionManageOwn:
		return "changing the folders of your home that are backed up"
	case dbusapi.ActionConfigure:
		return "changing Keepsake's settings"
	case dbusapi.ActionBrowseAll:
		return "seeing every user's files"
	case dbusapi.ActionDeleteSnapshots:
		return "deleting backups"
	}
	return action
}

// seesAll says whether c may see every user's entries: root, or with the
// all-users option and the browse-all action.
func (d *Daemon) seesAll(c caller, opts map[string]dbus.Variant) (bool, error) {
	if c.root() {
		return true, nil
	}
	all, err := optBool(opts, dbusapi.OptAllUsers)
	if err != nil || !all {
		return false, err
	}
	return true, d.authorize(c, dbusapi.ActionBrowseAll, opts)
}

// insideHome says whether p is c's home or below it.
func (c caller) insideHome(p string) bool {
	if c.home == "" || c.home == "/" {
		return false
	}
	return p == c.home || strings.HasPrefix(p, c.home+"/")
}

// callErr turns err into what a D-Bus caller sees, logging unexpected ones.
func (d *Daemon) callErr(method string, err error) *dbus.Error {
	if err == nil {
		return nil
	}
	if kerr.NameOf(err) == kerr.Failed {
		d.logf("%s: %v", method, err)
	}
	e := dbusapi.ToDBus(err)
	for i, b := range e.Body {
		if s, ok := b.(string); ok {
			e.Body[i] = busText(s)
		}
	}
	return e
}

// busText makes s fit a D-Bus string. A file name on Linux is bytes (any
// but NUL and /), a D-Bus string must be UTF-8 without NUL, and godbus
// refuses to send a message holding anything else: one oddly named file
// would fail a whole listing, and an error naming it would leave the
// caller with no reply at all. Invalid bytes become U+FFFD.
func busText(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

func optBool(opts map[string]dbus.Variant, key string) (bool, error) {
	v, ok := opts[key]
	if !ok {
		return false, nil
	}
	b, ok := v.Value().(bool)
	if !ok {
		return false, kerr.New(kerr.InvalidArgs, "option %q must be a boolean (b), not %s", key, v.Signature())
	}
	return b, nil
}

// checkOptions refuses unknown option keys so a typo is not silently ignored.
func checkOptions(opts map[string]dbus.Variant, allowed ...string) error {
	for k := range opts {
		if k == dbusapi.OptNoUserInteraction {
			continue
		}
		ok := false
		for _, a := range allowed {
			ok = ok || a == k
		}
		if !ok {
			return kerr.New(kerr.InvalidArgs, "unknown option %q (known: %s)", k, strings.Join(append(allowed, dbusapi.OptNoUserInteraction), ", "))
		}
	}
	return nil
}

func usec(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// admit identifies the caller of a method that takes only the
// authorization options and asks polkit whether it may do action.
func (d *Daemon) admit(sender dbus.Sender, options map[string]dbus.Variant, action string) (caller, error) {
	c, err := d.identify(sender)
	if err != nil {
		return caller{}, err
	}
	if err := api.FromOptions(options, &api.Auth{}); err != nil {
		return caller{}, err
	}
	if err := d.authorize(c, action, options); err != nil {
		return caller{}, err
	}
	return c, nil
}
