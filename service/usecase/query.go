package usecase

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/fsmeta"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/kerr"
)

// CheckPath refuses paths that are not absolute and clean: every path a
// use case takes names an entry as it was backed up.
func CheckPath(p string) error {
	switch {
	case p == "":
		return kerr.New(kerr.InvalidArgs, "empty path")
	case strings.ContainsRune(p, 0):
		return kerr.New(kerr.InvalidArgs, "path contains a NUL byte")
	case !filepath.IsAbs(p):
		return kerr.New(kerr.InvalidArgs, "path %q is not absolute", p)
	case filepath.Clean(p) != p:
		return kerr.New(kerr.InvalidArgs, "path %q is not clean (no .., . or // please)", p)
	}
	return nil
}

// Snapshots lists the host's snapshots, oldest first (every host's with
// allHosts).
func (x *Repo) Snapshots(allHosts bool) ([]api.Snapshot, error) {
	host := x.Host
	if allHosts {
		host = ""
	}
	snaps, err := x.Cat.Snapshots(host)
	out := make([]api.Snapshot, 0, len(snaps))
	for _, s := range snaps {
		out = append(out, snapshot(s))
	}
	return out, err
}

// ListRequest asks for a folder of a snapshot.
type ListRequest struct {
	Snapshot string
	// Dir is the folder ("/" for the top); a file lists itself.
	Dir string
}

// List lists a folder of a snapshot: only the entries the caller may see,
// and folders they may list.
func (x *Repo) List(c Caller, q ListRequest) ([]api.Entry, error) {
	if q.Dir == "" {
		q.Dir = "/"
	}
	if err := CheckPath(q.Dir); err != nil {
		return nil, err
	}
	s, err := x.Snapshot(q.Snapshot)
	if err != nil {
		return nil, err
	}
	sc := x.Scope(c)
	if q.Dir != "/" {
		v, err := x.Cat.Lookup(s, q.Dir)
		if err != nil && !kerr.Is(err, kerr.PathNotFound) {
			return nil, err
		}
		if err == nil && v.Meta.Type != fsmeta.Dir {
			if !sc.CanSee(s, v) {
				return nil, kerr.New(kerr.NotAuthorized, "you may not see %s in snapshot %s", q.Dir, s.Name)
			}
			return []api.Entry{entry(v)}, nil
		}
		if err == nil && !(sc.CanReach(s, v.Dir) && Allowed(c, stored(v), ListDir)) {
			return nil, kerr.New(kerr.NotAuthorized, "you may not list %s in snapshot %s", q.Dir, s.Name)
		}
	}
	vs, err := x.Cat.List(s, q.Dir)
	if err != nil {
		return nil, err
	}
	out := []api.Entry{}
	for _, v := range vs {
		if Allowed(c, stored(v), See) || Allowed(c, stored(v), Enter) {
			out = append(out, entry(v))
		}
	}
	return out, nil
}

// SearchRequest narrows a search by name.
type SearchRequest struct {
	// Pattern is a glob when it has * ? or [, else a case-insensitive
	// substring of the name.
	Pattern string
	In      string
	Since   time.Time
	Until   time.Time
	// Limit is at most this many hits (default 200, at most 10000).
	Limit int
}

// Check checks a search's arguments and fills in the default limit.
func (q SearchRequest) Check() (SearchRequest, error) {
	if q.Pattern == "" || strings.ContainsRune(q.Pattern, 0) || len(q.Pattern) > 4096 {
		return q, kerr.New(kerr.InvalidArgs, "give a name or pattern to search for (no NUL, at most 4096 bytes)")
	}
	if q.In != "" {
		if err := CheckPath(q.In); err != nil {
			return q, err
		}
	}
	if q.Limit == 0 {
		q.Limit = 200
	}
	if q.Limit < 1 || q.Limit > 10000 {
		return q, kerr.New(kerr.InvalidArgs, "limit must be between 1 and 10000")
	}
	return q, nil
}

// Search finds versions by name in the host's snapshots, only those the
// caller may see.
func (x *Repo) Search(c Caller, q SearchRequest) ([]api.SearchHit, error) {
	q, err := q.Check()
	if err != nil {
		return nil, err
	}
	o := catalog.SearchOptions{Pattern: q.Pattern, In: q.In, Since: q.Since, Until: q.Until, Limit: q.Limit}
	if !c.All {
		o.Limit = q.Limit * 4 // some hits will be filtered out
	}
	hits, err := x.Cat.Search(o)
	if err != nil {
		return nil, err
	}
	sc := x.Scope(c)
	out := []api.SearchHit{}
	for _, hit := range hits {
		if hit.Host != x.Host || len(hit.Snapshots) == 0 {
			continue
		}
		last, err := x.Cat.Snapshot(x.Host, hit.Snapshots[len(hit.Snapshots)-1])
		if err != nil || !sc.CanSee(last, hit.Version) {
			continue
		}
		first, _ := x.Cat.Snapshot(x.Host, hit.Snapshots[0])
		out = append(out, api.SearchHit{Entry: entry(hit.Version), Snapshots: hit.Snapshots,
			First: api.Stamp(first.Time), Last: api.Stamp(last.Time)})
		if len(out) >= q.Limit {
			break
		}
	}
	return out, nil
}

// Versions lists a file's distinct contents, newest first, following it
// across renames: only the places the caller may see.
func (x *Repo) Versions(c Caller, file string) ([]api.Version, error) {
	if err := CheckPath(file); err != nil {
		return nil, err
	}
	cvs, err := x.Cat.Versions(x.Host, file)
	if err != nil {
		return nil, err
	}
	sc := x.Scope(c)
	out := []api.Version{}
	for _, cv := range cvs {
		var paths []api.Path
		var snaps []string
		for _, pl := range cv.Places {
			if pl.Host != x.Host || len(pl.Snapshots) == 0 {
				continue
			}
			s, err := x.Cat.Snapshot(x.Host, pl.Snapshots[len(pl.Snapshots)-1])
			if err != nil {
				continue
			}
			v, err := x.Cat.Lookup(s, pl.Path)
			if err != nil || !sc.CanSee(s, v) {
				continue
			}
			paths = append(paths, api.Path(pl.Path))
			snaps = append(snaps, pl.Snapshots...)
		}
		if len(paths) == 0 {
			continue
		}
		last := cv.First
		if s, err := x.Cat.Snapshot(x.Host, snaps[len(snaps)-1]); err == nil {
			last = s.Time
		}
		out = append(out, api.Version{SHA256: fmt.Sprintf("%x", cv.SHA256), Size: uint64(max(cv.Size, 0)),
			Mtime: api.Stamp(cv.Mtime), Paths: paths, Snapshots: snaps, First: api.Stamp(cv.First), Last: api.Stamp(last)})
	}
	return out, nil
}

// Deleted lists files that earlier snapshots of dir hold and the latest
// does not, gone since since (zero: ever): only those the caller may see.
func (x *Repo) Deleted(c Caller, dir string, since time.Time) ([]api.DeletedFile, error) {
	if err := CheckPath(dir); err != nil {
		return nil, err
	}
	gone, err := x.Cat.Deleted(x.Host, dir, since)
	if err != nil {
		return nil, err
	}
	sc := x.Scope(c)
	out := []api.DeletedFile{}
	for _, g := range gone {
		s, err := x.Cat.Snapshot(x.Host, g.LastSnapshot)
		if err != nil || !sc.CanSee(s, g.Version) {
			continue
		}
		out = append(out, api.DeletedFile{Entry: entry(g.Version), LastSnapshot: g.LastSnapshot})
	}
	return out, nil
}
