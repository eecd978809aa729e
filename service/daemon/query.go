package daemon

import (
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/service/usecase"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/dbusapi"
	"github.com/keepsake/keepsake/shared/kerr"
)

// openRepo mounts the profile's drive if needed and opens its catalog (kept
// open between queries) for use cases; release gives both back.
func (d *Daemon) openRepo(p *profile) (x *usecase.Repo, release func(), err error) {
	pc := p.config()
	if pc.Drive == "" {
		return nil, nil, kerr.New(kerr.DriveNotFound, "profile %s has no backup drive yet", pc.Name)
	}
	dr, ok := d.lookupDrive(pc.Drive)
	if !ok {
		return nil, nil, kerr.New(kerr.DriveNotFound, "the backup drive of profile %s has never been seen: plug it in", pc.Name)
	}
	mp, unmount, err := dr.acquire()
	if err != nil {
		return nil, nil, err
	}
	linger := func() { time.AfterFunc(d.opts.BrowseLinger, unmount) }
	drv, err := usecase.OpenDrive(mp)
	if err != nil {
		linger()
		return nil, nil, err
	}
	x, done, err := dr.queryRepo(mp, drv, d.opts.Host)
	if err != nil {
		linger()
		return nil, nil, err
	}
	if h := pc.HostName(); h != "" {
		x = x.ForHost(h) // another computer's snapshots on the same drive
	}
	return x, func() { done(); linger() }, nil
}

// withRepo runs fn with the profile's repository open.
func (d *Daemon) withRepo(p *profile, fn func(x *usecase.Repo) error) error {
	x, release, err := d.openRepo(p)
	if err != nil {
		return err
	}
	defer release()
	return fn(x)
}

// query is how a method that reads the profile's drive for its caller
// begins: who calls, the options (dst, one of shared/api's option
// structs), polkit for action, all-users (browse-all), the profile; then
// fn with the repository and the caller as the use cases see them.
func (h *profileHandler) query(sender dbus.Sender, options api.Dict, dst any, action string, fn func(x *usecase.Repo, c usecase.Caller) error) (caller, *profile, error) {
	d := h.d
	c, err := d.identify(sender)
	if err != nil {
		return c, nil, err
	}
	if err := api.FromOptions(options, dst); err != nil {
		return c, nil, err
	}
	if err := d.authorize(c, action, options); err != nil {
		return c, nil, err
	}
	p, err := d.profile(h.name)
	if err != nil {
		return c, nil, err
	}
	uc, err := d.viewAs(c, p, options)
	if err != nil {
		return c, p, err
	}
	return c, p, d.withRepo(p, func(x *usecase.Repo) error { return fn(x, uc) })
}

// ListSnapshots lists the profile's host's snapshots.
func (h *profileHandler) ListSnapshots(sender dbus.Sender, options map[string]dbus.Variant) ([]map[string]dbus.Variant, *dbus.Error) {
	var o api.Auth
	var out []api.Snapshot
	_, _, err := h.query(sender, options, &o, dbusapi.ActionBrowse, func(x *usecase.Repo, _ usecase.Caller) (err error) {
		out, err = x.Snapshots(false)
		return err
	})
	return api.ToDicts(out), h.d.callErr("ListSnapshots", err)
}

// ListDirectory lists a folder of a snapshot, only what the caller may see.
func (h *profileHandler) ListDirectory(sender dbus.Sender, snapshot, dir string, options map[string]dbus.Variant) ([]map[string]dbus.Variant, *dbus.Error) {
	var o api.ListOptions
	var out []api.Entry
	_, _, err := h.query(sender, options, &o, dbusapi.ActionBrowse, func(x *usecase.Repo, c usecase.Caller) (err error) {
		out, err = x.List(c, usecase.ListRequest{Snapshot: snapshot, Dir: api.DecodePath(dir)})
		return err
	})
	return api.ToDicts(out), h.d.callErr("ListDirectory", err)
}

// Search finds entries by name in every snapshot, only what the caller may see.
func (h *profileHandler) Search(sender dbus.Sender, pattern string, options map[string]dbus.Variant) ([]map[string]dbus.Variant, *dbus.Error) {
	var o api.SearchOptions
	var out []api.SearchHit
	_, _, err := h.query(sender, options, &o, dbusapi.ActionBrowse, func(x *usecase.Repo, c usecase.Caller) (err error) {
		out, err = x.Search(c, usecase.SearchRequest{Pattern: api.DecodePath(pattern), In: string(o.In),
			Since: o.Since, Until: o.Until, Limit: int(o.Limit)})
		return err
	})
	return api.ToDicts(out), h.d.callErr("Search", err)
}

// Versions lists a file's distinct versions, only those the caller may see.
func (h *profileHandler) Versions(sender dbus.Sender, file string, options map[string]dbus.Variant) ([]map[string]dbus.Variant, *dbus.Error) {
	var o api.ListOptions
	var out []api.Version
	_, _, err := h.query(sender, options, &o, dbusapi.ActionBrowse, func(x *usecase.Repo, c usecase.Caller) (err error) {
		out, err = x.Versions(c, api.DecodePath(file))
		return err
	})
	return api.ToDicts(out), h.d.callErr("Versions", err)
}

// Deleted lists files gone from a folder, only those the caller may see.
func (h *profileHandler) Deleted(sender dbus.Sender, dir string, options map[string]dbus.Variant) ([]map[string]dbus.Variant, *dbus.Error) {
	var o api.DeletedOptions
	var out []api.DeletedFile
	_, _, err := h.query(sender, options, &o, dbusapi.ActionBrowse, func(x *usecase.Repo, c usecase.Caller) (err error) {
		out, err = x.Deleted(c, api.DecodePath(dir), o.Since)
		return err
	})
	return api.ToDicts(out), h.d.callErr("Deleted", err)
}

// Restore brings paths of a snapshot back, written as the caller. The
// request is checked (arguments, snapshot, what the caller may see) before
// the job starts, so a refusal is the method's error; the job then uses the
// same mounted drive and open catalog.
func (h *profileHandler) Restore(sender dbus.Sender, snapshot string, paths []string, options map[string]dbus.Variant) (dbus.ObjectPath, *dbus.Error) {
	d := h.d
	j, err := func() (*job, error) {
		var o api.RestoreOptions
		c, err := d.identify(sender)
		if err != nil {
			return nil, err
		}
		if err := api.FromOptions(options, &o); err != nil {
			return nil, err
		}
		if err := d.authorize(c, dbusapi.ActionRestore, options); err != nil {
			return nil, err
		}
		p, err := d.profile(h.name)
		if err != nil {
			return nil, err
		}
		uc, err := d.viewAs(c, p, options)
		if err != nil {
			return nil, err
		}
		q := usecase.RestoreRequest{Snapshot: snapshot, Paths: api.DecodePaths(paths), To: string(o.To), Overwrite: o.Overwrite}
		if q.ToComputer = o.ToComputer; q.ToComputer {
			if q.Send, err = d.sender(p); err != nil {
				return nil, err
			}
		}
		if err := usecase.CheckRestoreArgs(q); err != nil {
			return nil, err
		}
		x, release, err := d.openRepo(p)
		if err != nil {
			return nil, err
		}
		if q.Snapshot, err = x.CheckRestore(uc, q); err != nil {
			release()
			return nil, err
		}
		j, err := d.startJob("restore", h.name, "manual", c.uid, func(j *job) (string, error) {
			defer release()
			j.phase("restoring")
			q.Progress = j.progress
			res, err := x.Restore(j.ctx, uc, q)
			if err != nil {
				return "", err
			}
			j.setResult(api.ToDict(res))
			where := make([]string, len(res.Restored))
			for i, r := range res.Restored {
				where[i] = busText(string(r))
			}
			return strings.Join(where, "\n"), nil
		})
		if err != nil {
			release()
		}
		return j, err
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
		var o api.PruneOptions
		c, p, err := d.enterWith(sender, h.name, options, &o, dbusapi.ActionDeleteSnapshots)
		if err != nil {
			return nil, err
		}
		if o.Free != "" {
			if _, err := usecase.ParseFree(o.Free); err != nil {
				return nil, err
			}
		}
		return d.startJob("prune", h.name, "manual", c.uid, func(j *job) (string, error) {
			var msg string
			err := d.withRepo(p, func(x *usecase.Repo) error {
				j.phase("pruning")
				res, _, err := x.Prune(j.ctx, usecase.PruneRequest{DryRun: o.DryRun, Free: o.Free, Actor: c.uc(false).Actor(), Progress: j.progress})
				if err != nil {
					return err
				}
				j.setResult(api.ToDict(res))
				msg = res.Summary()
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
		var o api.VerifyOptions
		c, p, err := d.enterWith(sender, h.name, options, &o, dbusapi.ActionBackup)
		if err != nil {
			return nil, err
		}
		if err := usecase.CheckSample(int(o.Sample)); err != nil {
			return nil, err
		}
		return d.startJob("verify", h.name, "manual", c.uid, func(j *job) (string, error) {
			var msg string
			err := d.withRepo(p, func(x *usecase.Repo) error {
				j.phase("verifying")
				res, full, err := x.Verify(j.ctx, usecase.VerifyRequest{Sample: int(o.Sample), Progress: j.progress})
				if full != nil {
					j.setResult(api.ToDict(res))
					msg = res.Summary()
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
