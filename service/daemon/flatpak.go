package daemon

import (
	"context"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/service/usecase"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/dbusapi"
	"github.com/keepsake/keepsake/shared/kerr"
)

func (d *Daemon) flatpakOptions() usecase.FlatpakOptions {
	return usecase.FlatpakOptions{Env: d.opts.FlatpakEnv}
}

// ListFlatpaks compares a snapshot's apps with what is installed now.
func (h *profileHandler) ListFlatpaks(sender dbus.Sender, snapshot string, options map[string]dbus.Variant) ([]map[string]dbus.Variant, *dbus.Error) {
	d := h.d
	var o api.ListOptions
	var out []api.FlatpakRef
	_, _, err := h.query(sender, options, &o, dbusapi.ActionBrowse, func(x *usecase.Repo, c usecase.Caller) (err error) {
		ctx, cancel := d.flatpakQueryContext()
		defer cancel()
		out, err = x.ListFlatpaks(ctx, c, usecase.FlatpakListRequest{Snapshot: snapshot, Flatpak: d.flatpakOptions(),
			Warn: func(err error) { d.logf("ListFlatpaks: %v", err) }})
		return err
	})
	return api.ToDicts(out), d.callErr("ListFlatpaks", err)
}

// RestoreFlatpaks reinstalls a snapshot's apps of one installation. The
// request is checked (arguments, snapshot, installation, who may restore
// it, the refs) before the job starts, so a refusal is the method's
// error; the job then uses the same mounted drive and open catalog.
func (h *profileHandler) RestoreFlatpaks(sender dbus.Sender, snapshot string, refs []string, options map[string]dbus.Variant) (dbus.ObjectPath, *dbus.Error) {
	d := h.d
	j, err := func() (*job, error) {
		var o api.FlatpakRestoreOptions
		c, err := d.identify(sender)
		if err != nil {
			return nil, err
		}
		if err := api.FromOptions(options, &o); err != nil {
			return nil, err
		}
		q := usecase.FlatpakRestoreRequest{Snapshot: snapshot, Refs: refs, Installation: o.Installation, Offline: o.Offline,
			Data: o.Data == nil || *o.Data, Overwrite: o.Overwrite, Flatpak: d.flatpakOptions()}
		if err := usecase.CheckFlatpakRestoreArgs(q); err != nil {
			return nil, err
		}
		if err := d.authorize(c, dbusapi.ActionRestore, options); err != nil {
			return nil, err
		}
		p, err := d.profile(h.name)
		if err != nil {
			return nil, err
		}
		plan, release, err := d.planFlatpakRestore(p, c, q, options)
		if err != nil {
			return nil, err
		}
		j, err := d.startJob("flatpak-restore", h.name, "manual", c.uid, func(j *job) (string, error) {
			defer release()
			return d.runFlatpakRestore(j, plan)
		})
		if err != nil {
			release()
		}
		return j, err
	}()
	if err != nil {
		return dbusapi.NoPath, d.callErr("RestoreFlatpaks", err)
	}
	return j.obj.path, nil
}

// planFlatpakRestore checks a Flatpak restore with the profile's drive
// open, and returns the plan with the drive still open for the job. One's
// own installation is one's own business; the system's or another user's
// is an administrator's, asked for with the drive let go (a password
// prompt can take minutes) and checked again after.
func (d *Daemon) planFlatpakRestore(p *profile, c caller, q usecase.FlatpakRestoreRequest, options api.Dict) (*usecase.FlatpakRestore, func(), error) {
	admin := false
	for {
		x, release, err := d.openRepo(p)
		if err != nil {
			return nil, nil, err
		}
		plan, err := x.PlanFlatpakRestore(d.ctx, c.uc(false), q)
		if err == nil && plan.NeedsAdmin && !admin {
			release()
			if err := d.authorize(c, dbusapi.ActionConfigure, options); err != nil {
				return nil, nil, err
			}
			admin = true
			continue
		}
		if err == nil {
			err = plan.Check()
		}
		if err != nil {
			release()
			return nil, nil, err
		}
		return plan, release, nil
	}
}

func (d *Daemon) runFlatpakRestore(j *job, plan *usecase.FlatpakRestore) (string, error) {
	res, err := plan.Run(j.ctx, usecase.FlatpakProgress{
		Phase: j.phase,
		Installed: func(done, total int, ref string) {
			j.obj.Set("Phase", "installing "+ref)
			j.obj.Set("FilesDone", uint64(done))
			j.obj.Set("FilesTotal", uint64(total))
			j.obj.Set("Progress", float64(done)/float64(max(total, 1)))
		},
		Progress: j.progress,
	})
	j.setResult(api.ToDict(res))
	if err != nil {
		return "", err
	}
	msg := res.Summary()
	if _, failed := res.Counts(); failed > 0 {
		return msg, kerr.New(kerr.Failed, "%s (see the job's Result)", msg)
	}
	return msg, nil
}

// RestoreAppData rolls one app's data back to a snapshot.
func (h *profileHandler) RestoreAppData(sender dbus.Sender, snapshot, appID string, options map[string]dbus.Variant) (dbus.ObjectPath, *dbus.Error) {
	d := h.d
	j, err := func() (*job, error) {
		if err := usecase.CheckAppID(appID); err != nil {
			return nil, err
		}
		var o api.AppDataOptions
		c, p, err := d.enterWith(sender, h.name, options, &o, dbusapi.ActionRestore)
		if err != nil {
			return nil, err
		}
		uc := c.uc(false)
		q := usecase.AppDataRequest{Snapshot: snapshot, AppID: appID, Overwrite: o.Overwrite}
		x, release, err := d.openRepo(p)
		if err != nil {
			return nil, err
		}
		if q.Snapshot, err = x.CheckAppData(uc, q); err != nil {
			release()
			return nil, err
		}
		j, err := d.startJob("app-data-restore", h.name, "manual", c.uid, func(j *job) (string, error) {
			defer release()
			j.phase("restoring")
			q.Progress = j.progress
			res, err := x.RestoreAppData(j.ctx, uc, q)
			if err != nil || len(res.Restored) != 1 {
				return "", err
			}
			j.setResult(api.ToDict(res))
			return busText(string(res.Restored[0])), nil
		})
		if err != nil {
			release()
		}
		return j, err
	}()
	if err != nil {
		return dbusapi.NoPath, d.callErr("RestoreAppData", err)
	}
	return j.obj.path, nil
}

// FlatpakOfflineSize estimates what an offline copy of the apps takes.
func (h *profileHandler) FlatpakOfflineSize(sender dbus.Sender, options map[string]dbus.Variant) (uint64, *dbus.Error) {
	d := h.d
	var o api.Auth
	_, p, err := d.enterWith(sender, h.name, options, &o, dbusapi.ActionBrowse)
	if err != nil {
		return 0, d.callErr("FlatpakOfflineSize", err)
	}
	ctx, cancel := d.flatpakQueryContext()
	defer cancel()
	return usecase.RecordFlatpaks(ctx, p.config().Sources, d.flatpakOptions()).OfflineSize(), nil
}

// flatpakQueryTimeout bounds the flatpak commands a method runs while its
// caller waits (jobs use their own context, which Cancel ends): D-Bus
// callers give up after 25 s by default, and a flatpak that hangs must
// not outlive them for long.
const flatpakQueryTimeout = time.Minute

// flatpakQueryContext is the context of those commands: it ends with the
// service or after flatpakQueryTimeout.
func (d *Daemon) flatpakQueryContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(d.ctx, flatpakQueryTimeout)
}
