package daemon

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/config"
	"github.com/keepsake/keepsake/service/drives"
	"github.com/keepsake/keepsake/service/engine"
	"github.com/keepsake/keepsake/service/fsmeta"
	"github.com/keepsake/keepsake/service/repo"
	"github.com/keepsake/keepsake/shared/dbusapi"
	"github.com/keepsake/keepsake/shared/kerr"
	"golang.org/x/sys/unix"
)

// withRepo runs fn with the profile's repository and catalog open.
func (d *Daemon) withRepo(p *profile, fn func(r *repo.Repo, cat *catalog.Catalog) error) error {
	pc := p.config()
	if pc.Drive == "" {
		return kerr.New(kerr.DriveNotFound, "profile %s has no backup drive yet", pc.Name)
	}
	dr, ok := d.lookupDrive(pc.Drive)
	if !ok {
		return kerr.New(kerr.DriveNotFound, "the backup drive of profile %s has never been seen: plug it in", pc.Name)
	}
	mp, release, err := dr.acquire()
	if err != nil {
		return err
	}
	defer time.AfterFunc(d.opts.BrowseLinger, release)
	r, err := repo.Open(mp)
	if err != nil {
		return err
	}
	cat, done, err := dr.queryCatalog(mp, r.CatalogPath())
	if err != nil {
		return err
	}
	defer done()
	return fn(r, cat)
}

// scope decides what a caller may see, by the stored owner, group and mode
// of an entry and of the folders above it, as the kernel would have.
type scope struct {
	c    caller
	all  bool
	cat  *catalog.Catalog
	dirs map[string]bool // snapshot name + "\x00" + dir -> may search it
	host string
}

func (d *Daemon) newScope(c caller, opts map[string]dbus.Variant, cat *catalog.Catalog) (*scope, error) {
	all, err := d.seesAll(c, opts)
	if err != nil {
		return nil, err
	}
	return &scope{c: c, all: all, cat: cat, dirs: map[string]bool{}, host: d.opts.Host}, nil
}

// scoped is how a method that reads the profile's catalog for its caller
// begins: enter for action (taking all-users, which the scope honours, and
// the options in takes), then check, the method's own checks of its
// arguments (nil for none), then fn with the catalog open and what the
// caller may see in it. The error is the first of these to fail, in that
// order. It returns the caller and profile for what the method does after.
func (h *profileHandler) scoped(sender dbus.Sender, options map[string]dbus.Variant, action string, takes []string, check func() error, fn func(sc *scope, cat *catalog.Catalog) error) (caller, *profile, error) {
	d := h.d
	c, p, err := d.enter(sender, h.name, options, action, append([]string{dbusapi.OptAllUsers}, takes...)...)
	if err == nil && check != nil {
		err = check()
	}
	if err != nil {
		return c, p, err
	}
	err = d.withRepo(p, func(_ *repo.Repo, cat *catalog.Catalog) error {
		sc, err := d.newScope(c, options, cat)
		if err != nil {
			return err
		}
		return fn(sc, cat)
	})
	return c, p, err
}

// canReach says whether every folder from / down to dir may be searched
// (x) in snapshot s. Folders the catalog does not hold (above the
// sources) are not stored and pass.
func (sc *scope) canReach(s catalog.Snapshot, dir string) bool {
	if sc.all || dir == "/" || dir == "" {
		return true
	}
	key := s.Name + "\x00" + dir
	if ok, seen := sc.dirs[key]; seen {
		return ok
	}
	ok := sc.canReach(s, path.Dir(dir))
	if ok {
		if v, err := sc.cat.Lookup(s, dir); err == nil {
			ok = sc.c.mayAccess(v.Meta.UID, v.Meta.GID, v.Meta.Mode, 1)
		}
	}
	sc.dirs[key] = ok
	return ok
}

// canRead says whether the caller may read entry v of snapshot s.
func (sc *scope) canRead(s catalog.Snapshot, v catalog.Version) bool {
	if sc.all {
		return true
	}
	if v.Meta.Type != fsmeta.Symlink && !sc.c.mayAccess(v.Meta.UID, v.Meta.GID, v.Meta.Mode, 4) {
		return false
	}
	return sc.canReach(s, v.Dir)
}

// snapshotNamed finds a snapshot of this host by name (or "latest").
func (sc *scope) snapshot(name string) (catalog.Snapshot, error) {
	return sc.cat.Snapshot(sc.host, name)
}

func typeName(t fsmeta.Type) string {
	switch t {
	case fsmeta.File:
		return "file"
	case fsmeta.Dir:
		return "dir"
	case fsmeta.Symlink:
		return "symlink"
	}
	return "other"
}

func entryDict(v catalog.Version) map[string]dbus.Variant {
	return map[string]dbus.Variant{
		"name": dbus.MakeVariant(busText(v.Name)), "path": dbus.MakeVariant(busText(v.Path())), "type": dbus.MakeVariant(typeName(v.Meta.Type)),
		"size": dbus.MakeVariant(uint64(max(v.Meta.Size, 0))), "mode": dbus.MakeVariant(v.Meta.Mode),
		"uid": dbus.MakeVariant(v.Meta.UID), "gid": dbus.MakeVariant(v.Meta.GID),
		"mtime": dbus.MakeVariant(v.Meta.MtimeNs / 1000), "target": dbus.MakeVariant(busText(v.Meta.LinkTarget)),
	}
}

// ListSnapshots lists the profile's host's snapshots.
func (h *profileHandler) ListSnapshots(sender dbus.Sender, options map[string]dbus.Variant) ([]map[string]dbus.Variant, *dbus.Error) {
	d := h.d
	out := []map[string]dbus.Variant{}
	_, p, err := d.enter(sender, h.name, options, dbusapi.ActionBrowse)
	if err == nil {
		err = d.withRepo(p, func(r *repo.Repo, cat *catalog.Catalog) error {
			snaps, err := cat.Snapshots(d.opts.Host)
			for _, s := range snaps {
				out = append(out, map[string]dbus.Variant{
					"name": dbus.MakeVariant(s.Name), "time": dbus.MakeVariant(usec(s.Time)),
					"files": dbus.MakeVariant(uint64(s.Files)), "bytes": dbus.MakeVariant(uint64(s.Bytes)),
					"pinned": dbus.MakeVariant(s.Pinned), "host": dbus.MakeVariant(s.Host),
				})
			}
			return err
		})
	}
	return out, d.callErr("ListSnapshots", err)
}

// ListDirectory lists a folder of a snapshot, only what the caller may read.
func (h *profileHandler) ListDirectory(sender dbus.Sender, snapshot, dir string, options map[string]dbus.Variant) ([]map[string]dbus.Variant, *dbus.Error) {
	out := []map[string]dbus.Variant{}
	_, _, err := h.scoped(sender, options, dbusapi.ActionBrowse, nil, func() error { return checkPath(dir) },
		func(sc *scope, cat *catalog.Catalog) error {
			s, err := sc.snapshot(snapshot)
			if err != nil {
				return err
			}
			if dir != "/" {
				v, err := cat.Lookup(s, dir)
				if err == nil && (v.Meta.Type != fsmeta.Dir || !sc.canRead(s, v) || !sc.c.mayAccess(v.Meta.UID, v.Meta.GID, v.Meta.Mode, 1) && !sc.all) {
					return kerr.New(kerr.NotAuthorized, "you may not list %s in snapshot %s", dir, s.Name)
				}
				if err == nil && !sc.canReach(s, dir) {
					return kerr.New(kerr.NotAuthorized, "you may not list %s in snapshot %s", dir, s.Name)
				}
			}
			vs, err := cat.List(s, dir)
			if err != nil {
				return err
			}
			for _, v := range vs {
				if sc.all || sc.canRead(s, v) || v.Meta.Type == fsmeta.Dir && sc.c.mayAccess(v.Meta.UID, v.Meta.GID, v.Meta.Mode, 1) {
					out = append(out, entryDict(v))
				}
			}
			return nil
		})
	return out, h.d.callErr("ListDirectory", err)
}

// Search finds entries by name in every snapshot, only what the caller may read.
func (h *profileHandler) Search(sender dbus.Sender, pattern string, options map[string]dbus.Variant) ([]map[string]dbus.Variant, *dbus.Error) {
	d := h.d
	out := []map[string]dbus.Variant{}
	var o catalog.SearchOptions
	_, _, err := h.scoped(sender, options, dbusapi.ActionBrowse, []string{"in", "since", "until", "limit"},
		func() (err error) { o, err = searchOptions(pattern, options); return err },
		func(sc *scope, cat *catalog.Catalog) error {
			want := o.Limit
			if !sc.all {
				o.Limit = want * 4 // some hits will be filtered out
			}
			hits, err := cat.Search(o)
			if err != nil {
				return err
			}
			for _, hit := range hits {
				if hit.Host != d.opts.Host || len(hit.Snapshots) == 0 {
					continue
				}
				last, err := cat.Snapshot(d.opts.Host, hit.Snapshots[len(hit.Snapshots)-1])
				if err != nil || !sc.canRead(last, hit.Version) {
					continue
				}
				first, _ := cat.Snapshot(d.opts.Host, hit.Snapshots[0])
				m := entryDict(hit.Version)
				m["snapshots"] = dbus.MakeVariant(hit.Snapshots)
				m["first"] = dbus.MakeVariant(usec(first.Time))
				m["last"] = dbus.MakeVariant(usec(last.Time))
				out = append(out, m)
				if len(out) >= want {
					break
				}
			}
			return nil
		})
	return out, d.callErr("Search", err)
}

func searchOptions(pattern string, options map[string]dbus.Variant) (catalog.SearchOptions, error) {
	o := catalog.SearchOptions{Pattern: pattern, Limit: 200}
	if pattern == "" || strings.ContainsRune(pattern, 0) || len(pattern) > 4096 {
		return o, kerr.New(kerr.InvalidArgs, "give a name or pattern to search for (no NUL, at most 4096 bytes)")
	}
	in, err := optString(options, "in")
	if err != nil {
		return o, err
	}
	if in != "" {
		if err := checkPath(in); err != nil {
			return o, err
		}
		o.In = in
	}
	for _, k := range []string{"since", "until"} {
		n, ok, err := optInt(options, k)
		if err != nil {
			return o, err
		}
		if ok {
			t := time.UnixMicro(n)
			if k == "since" {
				o.Since = t
			} else {
				o.Until = t
			}
		}
	}
	if n, ok, err := optInt(options, "limit"); err != nil {
		return o, err
	} else if ok {
		if n < 1 || n > 10000 {
			return o, kerr.New(kerr.InvalidArgs, "limit must be between 1 and 10000")
		}
		o.Limit = int(n)
	}
	return o, nil
}

// Versions lists a file's distinct versions, only if the caller may read them.
func (h *profileHandler) Versions(sender dbus.Sender, file string, options map[string]dbus.Variant) ([]map[string]dbus.Variant, *dbus.Error) {
	d := h.d
	out := []map[string]dbus.Variant{}
	_, _, err := h.scoped(sender, options, dbusapi.ActionBrowse, nil, func() error { return checkPath(file) },
		func(sc *scope, cat *catalog.Catalog) error {
			cvs, err := cat.Versions(d.opts.Host, file)
			if err != nil {
				return err
			}
			for _, cv := range cvs {
				var paths, snaps []string
				for _, pl := range cv.Places {
					if pl.Host != d.opts.Host || len(pl.Snapshots) == 0 {
						continue
					}
					s, err := cat.Snapshot(d.opts.Host, pl.Snapshots[len(pl.Snapshots)-1])
					if err != nil {
						continue
					}
					v, err := cat.Lookup(s, pl.Path)
					if err != nil || !sc.canRead(s, v) {
						continue
					}
					paths = append(paths, busText(pl.Path))
					snaps = append(snaps, pl.Snapshots...)
				}
				if len(paths) == 0 {
					continue
				}
				last := cv.First
				if s, err := cat.Snapshot(d.opts.Host, snaps[len(snaps)-1]); err == nil {
					last = s.Time
				}
				out = append(out, map[string]dbus.Variant{
					"sha256": dbus.MakeVariant(fmt.Sprintf("%x", cv.SHA256)), "size": dbus.MakeVariant(uint64(max(cv.Size, 0))),
					"mtime": dbus.MakeVariant(usec(cv.Mtime)), "paths": dbus.MakeVariant(paths), "snapshots": dbus.MakeVariant(snaps),
					"first": dbus.MakeVariant(usec(cv.First)), "last": dbus.MakeVariant(usec(last)),
				})
			}
			return nil
		})
	return out, d.callErr("Versions", err)
}

// Deleted lists files gone from a folder, only those the caller may read.
func (h *profileHandler) Deleted(sender dbus.Sender, dir string, options map[string]dbus.Variant) ([]map[string]dbus.Variant, *dbus.Error) {
	d := h.d
	out := []map[string]dbus.Variant{}
	var since time.Time
	_, _, err := h.scoped(sender, options, dbusapi.ActionBrowse, []string{"since"},
		func() error {
			if err := checkPath(dir); err != nil {
				return err
			}
			n, ok, err := optInt(options, "since")
			if ok && err == nil {
				since = time.UnixMicro(n)
			}
			return err
		},
		func(sc *scope, cat *catalog.Catalog) error {
			gone, err := cat.Deleted(d.opts.Host, dir, since)
			if err != nil {
				return err
			}
			for _, g := range gone {
				s, err := cat.Snapshot(d.opts.Host, g.LastSnapshot)
				if err != nil || !sc.canRead(s, g.Version) {
					continue
				}
				m := entryDict(g.Version)
				m["last-snapshot"] = dbus.MakeVariant(g.LastSnapshot)
				out = append(out, m)
			}
			return nil
		})
	return out, d.callErr("Deleted", err)
}

// Restore brings paths of a snapshot back, written as the caller.
func (h *profileHandler) Restore(sender dbus.Sender, snapshot string, paths []string, options map[string]dbus.Variant) (dbus.ObjectPath, *dbus.Error) {
	d := h.d
	j, err := func() (*job, error) {
		var to string
		var overwrite bool
		check := func() (err error) {
			if len(paths) == 0 || len(paths) > 10000 {
				return kerr.New(kerr.InvalidArgs, "give between 1 and 10000 paths to restore")
			}
			for _, pth := range paths {
				if err := checkPath(pth); err != nil {
					return err
				}
			}
			if to, err = optString(options, "to"); err != nil {
				return err
			}
			if to != "" {
				if err := checkPath(to); err != nil {
					return err
				}
			}
			if overwrite, err = optBool(options, "overwrite"); err != nil {
				return err
			}
			if snapshot == "" || strings.ContainsAny(snapshot, "/\x00") {
				return kerr.New(kerr.InvalidArgs, "snapshot %q is not a snapshot name", snapshot)
			}
			return nil
		}
		// Check what the caller may read before the job starts, so a
		// refusal is the method's error, not a failed job.
		readAll := false
		c, p, err := h.scoped(sender, options, dbusapi.ActionRestore, []string{"to", "overwrite"}, check, func(sc *scope, cat *catalog.Catalog) error {
			readAll = sc.all
			s, err := sc.snapshot(snapshot)
			if err != nil {
				return err
			}
			snapshot = s.Name
			for _, pth := range paths {
				v, err := cat.Lookup(s, pth)
				if err != nil {
					return err
				}
				if !sc.canRead(s, v) {
					return kerr.New(kerr.NotAuthorized, "you may not restore %s: you could not read it when it was backed up", pth)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		var as *engine.Credentials
		if !c.root() {
			as = c.credentials()
		}
		return d.startJob("restore", h.name, "manual", c.uid, func(j *job) (string, error) {
			var res *engine.RestoreResult
			err := d.withRepo(p, func(r *repo.Repo, cat *catalog.Catalog) error {
				j.phase("restoring")
				var err error
				res, err = engine.Restore(j.ctx, r, engine.RestoreOptions{Host: d.opts.Host, Snapshot: snapshot,
					Paths: paths, To: to, Overwrite: overwrite, Actor: c.actor(), As: as, ReadAll: readAll, Progress: j.progress})
				return err
			})
			if err != nil {
				return "", writeRefused(err, c)
			}
			var where []string
			for _, it := range res.Items {
				where = append(where, it.To)
			}
			return strings.Join(where, "\n"), nil
		})
	}()
	if err != nil {
		return dbusapi.NoPath, d.callErr("Restore", err)
	}
	return j.obj.path, nil
}

// Prune applies the retention policy (or makes space) as a job.
func (h *profileHandler) Prune(sender dbus.Sender, options map[string]dbus.Variant) (dbus.ObjectPath, *dbus.Error) {
	d := h.d
	j, err := func() (*job, error) {
		c, p, err := d.enter(sender, h.name, options, dbusapi.ActionDeleteSnapshots, "free", "dry-run")
		if err != nil {
			return nil, err
		}
		free, err := optString(options, "free")
		if err != nil {
			return nil, err
		}
		dry, err := optBool(options, "dry-run")
		if err != nil {
			return nil, err
		}
		if free != "" {
			if _, err := config.MinFreeBytes(free, 1<<40); err != nil {
				return nil, err
			}
		}
		return d.startJob("prune", h.name, "manual", c.uid, func(j *job) (string, error) {
			var msg string
			err := d.withRepo(p, func(r *repo.Repo, cat *catalog.Catalog) error {
				o := engine.PruneOptions{Host: d.opts.Host, DryRun: dry, Actor: c.actor(), Progress: j.progress}
				if free != "" {
					_, size, err := drives.Free(r.Root)
					if err != nil {
						return err
					}
					if o.Free, err = config.MinFreeBytes(free, size); err != nil {
						return err
					}
				}
				j.phase("pruning")
				res, err := engine.Prune(j.ctx, r, o)
				if err != nil {
					return err
				}
				msg = fmt.Sprintf("%d snapshots removed, %d bytes freed", len(res.Removed), res.Freed)
				if dry {
					msg = fmt.Sprintf("would remove %d snapshots, freeing about %d bytes", len(res.Removed), res.Freed)
				}
				return nil
			})
			return msg, err
		})
	}()
	if err != nil {
		return dbusapi.NoPath, d.callErr("Prune", err)
	}
	return j.obj.path, nil
}

// Verify re-reads stored files as a job.
func (h *profileHandler) Verify(sender dbus.Sender, options map[string]dbus.Variant) (dbus.ObjectPath, *dbus.Error) {
	d := h.d
	j, err := func() (*job, error) {
		c, p, err := d.enter(sender, h.name, options, dbusapi.ActionBackup, "sample")
		if err != nil {
			return nil, err
		}
		sample, _, err := optInt(options, "sample")
		if err != nil {
			return nil, err
		}
		if sample < 0 || sample > 100 {
			return nil, kerr.New(kerr.InvalidArgs, "sample is a percentage: 1 to 100")
		}
		return d.startJob("verify", h.name, "manual", c.uid, func(j *job) (string, error) {
			var msg string
			err := d.withRepo(p, func(r *repo.Repo, cat *catalog.Catalog) error {
				j.phase("verifying")
				res, err := engine.Verify(j.ctx, r, engine.VerifyOptions{Host: d.opts.Host, SamplePercent: int(sample), Progress: j.progress})
				if res != nil {
					msg = fmt.Sprintf("%d files checked, %d damaged, %d catalog problems", res.Files, len(res.Damaged), len(res.CatalogProblems))
				}
				return err
			})
			return msg, err
		})
	}()
	if err != nil {
		return dbusapi.NoPath, d.callErr("Verify", err)
	}
	return j.obj.path, nil
}

// writeRefused names a restore the kernel refused for the caller's
// rights (a destination they may not write to) as NotAuthorized.
func writeRefused(err error, c caller) error {
	if kerr.NameOf(err) == kerr.Failed && (errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM)) {
		return kerr.Wrap(kerr.NotAuthorized, err, "%s may not write there (restores are written with your own rights)", c.name)
	}
	return err
}
