package usecase

import (
	"os/user"
	"strconv"

	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/config"
	"github.com/keepsake/keepsake/service/engine"
	"github.com/keepsake/keepsake/shared/kerr"
)

// Caller is who asks: the uid and groups the kernel would check.
type Caller struct {
	UID    uint32
	GID    uint32
	Groups []uint32
	Name   string
	Home   string
	// All: sees and restores every user's files (root, or an
	// administrator who asked for all users and was allowed).
	All bool
}

// Root is uid 0.
func (c Caller) Root() bool { return c.UID == 0 }

// Actor is how the audit log names the caller.
func (c Caller) Actor() catalog.Actor { return catalog.Actor{UID: int(c.UID), User: c.Name} }

// Credentials are what restores run with for a caller who is not root.
func (c Caller) Credentials() *engine.Credentials {
	if c.Root() {
		return nil
	}
	return &engine.Credentials{UID: c.UID, GID: c.GID, Groups: c.Groups}
}

// CurrentCaller is the process's own user (keepsakectl on a drive).
func CurrentCaller(uid, gid uint32, groups []uint32) Caller {
	c := Caller{UID: uid, GID: gid, Groups: groups, All: uid == 0}
	if u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil {
		c.Name, c.Home = u.Username, u.HomeDir
	}
	return c
}

// Stored is what the catalog keeps of an entry that decides access.
type Stored struct {
	UID, GID uint32
	Mode     uint32
	Type     string // api.TypeFile, TypeDir, TypeSymlink, ...
}

// Access is what a caller wants to do with a stored entry.
type Access int

const (
	// See: the entry shows in listings, searches, versions and deleted
	// files, and may be restored: the caller could read it (a symlink
	// holds no content: seeing it needs only the folder).
	See Access = iota
	// ListDir: the caller could list the folder (read and search).
	ListDir
	// Enter: the caller could pass through the folder (search).
	Enter
)

// Allowed decides, as the kernel did when the entry was backed up, whether
// c may do a with an entry stored with st. Folders above the entry are
// checked by Scope with Enter.
func Allowed(c Caller, st Stored, a Access) bool {
	if c.All || c.Root() {
		return true
	}
	switch a {
	case See:
		return st.Type == "symlink" || mayAccess(c, st, 4)
	case ListDir:
		return st.Type == "dir" && mayAccess(c, st, 4|1)
	case Enter:
		return st.Type == "dir" && mayAccess(c, st, 1)
	}
	return false
}

// mayAccess applies the classic permission bits; want is a mask of 4
// (read), 2 (write) and 1 (search/execute).
func mayAccess(c Caller, st Stored, want uint32) bool {
	var bits uint32
	switch {
	case st.UID == c.UID:
		bits = (st.Mode >> 6) & 7
	case c.inGroup(st.GID):
		bits = (st.Mode >> 3) & 7
	default:
		bits = st.Mode & 7
	}
	return bits&want == want
}

func (c Caller) inGroup(gid uint32) bool {
	if gid == c.GID {
		return true
	}
	for _, g := range c.Groups {
		if g == gid {
			return true
		}
	}
	return false
}

// RemoteViewer is the caller as the use cases see them on another
// computer's files (a profile whose sources are ssh:// addresses). User
// ids there name nobody here, so it is all or nothing: root, one of the
// profile's viewers, or an administrator (admin asks the front end's
// authority, polkit's browse-all) sees every file of that computer;
// anyone else is NotAuthorized.
func RemoteViewer(c Caller, pc config.Profile, admin func() error) (Caller, error) {
	c.All = true
	if c.Root() {
		return c, nil
	}
	for _, v := range pc.Viewers {
		if v == c.UID {
			return c, nil
		}
	}
	if err := admin(); err != nil {
		if kerr.Is(err, kerr.NotAuthorized) {
			return Caller{}, kerr.Wrap(kerr.NotAuthorized, err,
				"profile %s backs up another computer: only administrators and its viewers may see its files", pc.Name)
		}
		return Caller{}, err
	}
	return c, nil
}
