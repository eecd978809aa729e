package usecase

import (
	"encoding/hex"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/repo"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/grammar"
	"github.com/keepsake/keepsake/shared/kerr"
)

// Repo is a repository with its catalog open, seen from one host: what
// every use case on a drive works with.
type Repo struct {
	R    *repo.Repo
	Cat  *catalog.Catalog
	Host string
	own  bool
	// Now is the clock for times people type ("yesterday"); tests set it.
	Now func() time.Time
}

// OpenOptions say how keepsakectl opens a drive.
type OpenOptions struct {
	// Host is --host; "" picks: this machine's name when the drive holds
	// it, else the only host on the drive; several others are an error
	// that names them.
	Host string
	// ThisHost is this machine's name.
	ThisHost string
	// ReadOnly opens the catalog for reading only, so that a user who may
	// read the drive but not write to it can list and search it.
	ReadOnly bool
}

// Open opens the repository at dir (a drive's mount point or its Keepsake
// folder).
func Open(dir string, o OpenOptions) (*Repo, error) {
	r, err := repo.Open(dir)
	if err != nil {
		return nil, err
	}
	var cat *catalog.Catalog
	if o.ReadOnly {
		cat, err = catalog.OpenReadOnly(r.CatalogPath())
	} else {
		cat, err = catalog.Open(r.CatalogPath())
	}
	if err != nil {
		return nil, err
	}
	x := &Repo{R: r, Cat: cat, own: true, Host: o.Host}
	if x.Host == "" {
		if x.Host, err = x.pickHost(o.ThisHost); err != nil {
			cat.Close()
			return nil, err
		}
	}
	return x, nil
}

// New wraps a repository and catalog the caller keeps open (keepsaked
// keeps a drive's catalog open between queries); Close leaves them open.
func New(r *repo.Repo, cat *catalog.Catalog, host string) *Repo {
	return &Repo{R: r, Cat: cat, Host: host}
}

// Close closes the catalog if Open opened it.
func (x *Repo) Close() error {
	if x.own {
		return x.Cat.Close()
	}
	return nil
}

func (x *Repo) now() time.Time {
	if x.Now != nil {
		return x.Now()
	}
	return time.Now()
}

// Hosts are the hosts with snapshots on the drive, sorted.
func (x *Repo) Hosts() ([]string, error) {
	snaps, err := x.Cat.Snapshots("")
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var hosts []string
	for _, s := range snaps {
		if !seen[s.Host] {
			seen[s.Host] = true
			hosts = append(hosts, s.Host)
		}
	}
	sort.Strings(hosts)
	return hosts, nil
}

// pickHost is the host a command means when --host is not given: a drive
// plugged into a new machine after a disk died holds the old machine's
// name, and restoring must not need it typed.
func (x *Repo) pickHost(this string) (string, error) {
	hosts, err := x.Hosts()
	if err != nil {
		return "", err
	}
	for _, h := range hosts {
		if h == this {
			return h, nil
		}
	}
	switch len(hosts) {
	case 0:
		return this, nil // a new drive: this machine's first backup
	case 1:
		return hosts[0], nil
	}
	return "", kerr.New(kerr.InvalidArgs, "the drive holds backups of several computers (%s) and none is called %s: pick one with --host NAME",
		strings.Join(hosts, ", "), this)
}

// Snapshot finds one of the host's snapshots by name, "latest", or a time
// as people type it ("2026-12-01", "yesterday", "3d"): the newest snapshot
// at or before that time.
func (x *Repo) Snapshot(name string) (catalog.Snapshot, error) {
	s, err := x.Cat.Snapshot(x.Host, name)
	if err == nil || !kerr.Is(err, kerr.SnapshotNotFound) || name == "latest" {
		return s, err
	}
	t, perr := grammar.ParseTime(name, x.now())
	if perr != nil {
		return s, err
	}
	snaps, lerr := x.Cat.Snapshots(x.Host)
	if lerr != nil {
		return s, lerr
	}
	for i := len(snaps) - 1; i >= 0; i-- {
		if !snaps[i].Time.After(t) {
			return snaps[i], nil
		}
	}
	return s, kerr.New(kerr.SnapshotNotFound, "no snapshot of %s at or before %s (%s)", x.Host, name, t.Local().Format("2006-01-02 15:04"))
}

// Scope answers, for one caller and one catalog, what the caller may see:
// Allowed for the entry, Enter for every stored folder above it. Folder
// answers are remembered for the life of the scope (one request).
type Scope struct {
	C    Caller
	cat  *catalog.Catalog
	dirs map[string]bool // snapshot id + "\x00" + dir -> may enter it
}

// Scope begins a request's access checks for c.
func (x *Repo) Scope(c Caller) *Scope {
	return &Scope{C: c, cat: x.Cat, dirs: map[string]bool{}}
}

func stored(v catalog.Version) Stored {
	return Stored{UID: v.Meta.UID, GID: v.Meta.GID, Mode: v.Meta.Mode, Type: v.Meta.Type.String()}
}

// CanReach says whether every folder from / down to dir may be entered in
// snapshot s. Folders the catalog does not hold (above the sources) are
// not stored and pass.
func (sc *Scope) CanReach(s catalog.Snapshot, dir string) bool {
	if sc.C.All || dir == "/" || dir == "" {
		return true
	}
	key := s.Name + "\x00" + dir
	if ok, seen := sc.dirs[key]; seen {
		return ok
	}
	ok := sc.CanReach(s, path.Dir(dir))
	if ok {
		if v, err := sc.cat.Lookup(s, dir); err == nil {
			ok = Allowed(sc.C, stored(v), Enter)
		}
	}
	sc.dirs[key] = ok
	return ok
}

// CanSee says whether the caller may see (and restore) entry v of s.
func (sc *Scope) CanSee(s catalog.Snapshot, v catalog.Version) bool {
	return Allowed(sc.C, stored(v), See) && sc.CanReach(s, v.Dir)
}

// entry is the api form of a catalog version.
func entry(v catalog.Version) api.Entry {
	m := v.Meta
	return api.Entry{Path: api.Path(v.Path()), Name: api.Path(v.Name), Type: m.Type.String(), Size: uint64(max(m.Size, 0)),
		Mode: api.Mode(m.Mode), UID: m.UID, GID: m.GID, User: m.User, Group: m.Group,
		Mtime: api.Stamp(time.Unix(0, m.MtimeNs)), Target: api.Path(m.LinkTarget), SHA256: hex.EncodeToString(v.SHA256)}
}

func snapshot(s catalog.Snapshot) api.Snapshot {
	return api.Snapshot{Name: s.Name, Host: s.Host, Time: api.Stamp(s.Time), Files: uint64(max(s.Files, 0)),
		Bytes: uint64(max(s.Bytes, 0)), Pinned: s.Pinned}
}
