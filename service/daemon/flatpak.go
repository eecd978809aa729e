package daemon

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/engine"
	"github.com/keepsake/keepsake/service/flatpak"
	"github.com/keepsake/keepsake/service/repo"
	"github.com/keepsake/keepsake/service/usecase"
	"github.com/keepsake/keepsake/shared/dbusapi"
	"github.com/keepsake/keepsake/shared/kerr"
)

// FlatpakFile is the name of the Flatpak inventory a snapshot carries
// (in <snapshot>/.keepsake/ and the catalog).
const FlatpakFile = "flatpak.txt"

func (d *Daemon) flatpakOptions() flatpak.Options { return flatpak.Options{Env: d.opts.FlatpakEnv} }

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

// installationName is how the interface names an installation.
func installationName(in flatpak.Installation) string {
	if in.Scope == flatpak.ScopeSystem {
		return "system"
	}
	return "user:" + in.User
}

// collectFlatpaks records the apps of the installations in the scope of
// a profile's sources: the system one, and each user's whose home the
// profile backs up (or part of it). Problems are warnings: a backup of
// files never fails because of Flatpak.
func (d *Daemon) collectFlatpaks(ctx context.Context, sources []string) ([]flatpak.Inventory, []string) {
	opts := d.flatpakOptions()
	insts, err := flatpak.Installations(ctx, opts)
	if err != nil {
		return nil, []string{fmt.Sprintf("cannot list Flatpak installations: %v", err)}
	}
	var invs []flatpak.Inventory
	var warns []string
	for _, in := range insts {
		if in.Scope != flatpak.ScopeSystem && !homeInScope(in.Home, sources) {
			continue
		}
		inv, err := flatpak.Collect(ctx, in, opts)
		if err != nil {
			warns = append(warns, fmt.Sprintf("Flatpak installation %s: %v", installationName(in), err))
			continue
		}
		invs = append(invs, inv)
	}
	return invs, warns
}

// offlineDir is where the offline copy of an installation's apps lives on
// the drive: one per host and installation, refreshed by each backup.
func offlineDir(r *repo.Repo, host string, in flatpak.Installation) string {
	name := "system"
	if in.Scope != flatpak.ScopeSystem {
		name = "user-" + in.User
	}
	return filepath.Join(r.Root, "flatpak-offline", host, name)
}

// updateOffline refreshes the offline copies (create-usb pulls only what
// is new).
func (d *Daemon) updateOffline(ctx context.Context, r *repo.Repo, invs []flatpak.Inventory) []string {
	var warns []string
	for _, inv := range invs {
		c, err := flatpak.CreateUSB(ctx, inv, offlineDir(r, d.opts.Host, inv.Installation), d.flatpakOptions())
		if err != nil {
			warns = append(warns, fmt.Sprintf("offline copy of %s: %v", installationName(inv.Installation), err))
			continue
		}
		for _, s := range c.Skipped {
			warns = append(warns, fmt.Sprintf("offline copy of %s: %s not copied: %s", installationName(inv.Installation), s.Ref, s.Message))
		}
	}
	return warns
}

// snapshotFlatpaks reads the inventories a snapshot recorded.
func snapshotFlatpaks(cat *catalog.Catalog, s catalog.Snapshot) ([]flatpak.Inventory, error) {
	data, err := cat.SnapshotFile(s, FlatpakFile)
	if kerr.Is(err, kerr.PathNotFound) {
		return nil, kerr.New(kerr.NotFound, "snapshot %s recorded no Flatpak apps (Flatpak backup was off, or flatpak is not installed)", s.Name)
	}
	if err != nil {
		return nil, err
	}
	return flatpak.ParseText(data)
}

// mayUseInstallation: the system installation and one's own are visible;
// all of them with all-users (browse-all).
func mayUseInstallation(c caller, all bool, in flatpak.Installation) bool {
	return all || in.Scope == flatpak.ScopeSystem || in.UID == c.uid
}

// dataHome is whose ~/.var/app an installation's apps use when restoring
// for c: the installation's user, or the caller for the system one.
func dataHome(c caller, in flatpak.Installation) (string, *engine.Credentials) {
	if in.Scope != flatpak.ScopeSystem {
		if in.UID == c.uid {
			return in.Home, c.uc(false).Credentials()
		}
		return in.Home, &engine.Credentials{UID: in.UID, GID: in.GID}
	}
	return c.home, c.uc(false).Credentials()
}

// ListFlatpaks compares a snapshot's apps with what is installed now.
func (h *profileHandler) ListFlatpaks(sender dbus.Sender, snapshot string, options map[string]dbus.Variant) ([]map[string]dbus.Variant, *dbus.Error) {
	d := h.d
	out := []map[string]dbus.Variant{}
	c, p, err := d.enter(sender, h.name, options, dbusapi.ActionBrowse, dbusapi.OptAllUsers)
	ctx, cancel := d.flatpakQueryContext()
	defer cancel()
	if err == nil {
		err = d.withRepo(p, func(x *usecase.Repo) error {
			r, cat := x.R, x.Cat
			_ = r
			all, err := d.seesAll(c, options)
			if err != nil {
				return err
			}
			sc := x.Scope(c.uc(all))
			s, err := x.Snapshot(snapshot)
			if err != nil {
				return err
			}
			invs, err := snapshotFlatpaks(cat, s)
			if err != nil {
				return err
			}
			for _, inv := range invs {
				if !mayUseInstallation(c, sc.C.All, inv.Installation) {
					continue
				}
				now, _ := flatpak.Collect(ctx, inv.Installation, d.flatpakOptions())
				if ctx.Err() != nil {
					return kerr.Wrap(kerr.Failed, ctx.Err(), "flatpak did not list the installed apps in time")
				}
				home, _ := dataHome(c, inv.Installation)
				for _, st := range flatpak.Compare(inv, now) {
					m := map[string]dbus.Variant{
						"installation": dbus.MakeVariant(installationName(inv.Installation)),
						"ref":          dbus.MakeVariant(st.Ref.Ref), "kind": dbus.MakeVariant(st.Ref.Kind),
						"id": dbus.MakeVariant(st.Ref.ID), "branch": dbus.MakeVariant(st.Ref.Branch),
						"origin": dbus.MakeVariant(st.Ref.Origin), "version": dbus.MakeVariant(st.Ref.Version),
						"commit": dbus.MakeVariant(st.Ref.Commit), "installed-size": dbus.MakeVariant(uint64(max(st.Ref.InstalledSize, 0))),
						"state": dbus.MakeVariant(st.State), "installed-version": dbus.MakeVariant(""), "data": dbus.MakeVariant(false),
					}
					if st.Installed != nil {
						m["installed-version"] = dbus.MakeVariant(st.Installed.Version)
					}
					if st.Ref.Kind == flatpak.KindApp && home != "" {
						if v, err := cat.Lookup(s, flatpak.DataDir(home, st.Ref.ID)); err == nil && sc.CanSee(s, v) {
							m["data"] = dbus.MakeVariant(true)
						}
					}
					out = append(out, m)
				}
			}
			return nil
		})
	}
	return out, d.callErr("ListFlatpaks", err)
}

// RestoreFlatpaks reinstalls a snapshot's apps of one installation.
func (h *profileHandler) RestoreFlatpaks(sender dbus.Sender, snapshot string, refs []string, options map[string]dbus.Variant) (dbus.ObjectPath, *dbus.Error) {
	d := h.d
	j, err := func() (*job, error) {
		c, err := d.identify(sender)
		if err != nil {
			return nil, err
		}
		if err := checkOptions(options, "installation", "offline", "data", "overwrite"); err != nil {
			return nil, err
		}
		want, err := optString(options, "installation")
		if err != nil {
			return nil, err
		}
		if want == "" {
			want = "user:" + c.name
			if c.root() {
				want = "system"
			}
		}
		offline, err := optBool(options, "offline")
		if err != nil {
			return nil, err
		}
		withData := true
		if _, ok := options["data"]; ok {
			if withData, err = optBool(options, "data"); err != nil {
				return nil, err
			}
		}
		overwrite, err := optBool(options, "overwrite")
		if err != nil {
			return nil, err
		}
		for _, r := range refs {
			if r == "" || len(r) > 512 || strings.ContainsAny(r, " \x00\n") {
				return nil, kerr.New(kerr.InvalidArgs, "%q is not a Flatpak ref or app id", r)
			}
		}
		if err := d.authorize(c, dbusapi.ActionRestore, options); err != nil {
			return nil, err
		}
		p, err := d.profile(h.name)
		if err != nil {
			return nil, err
		}
		var inv flatpak.Inventory
		err = d.withRepo(p, func(x *usecase.Repo) error {
			r, cat := x.R, x.Cat
			_ = r
			s, err := x.Snapshot(snapshot)
			if err != nil {
				return err
			}
			snapshot = s.Name
			invs, err := snapshotFlatpaks(cat, s)
			if err != nil {
				return err
			}
			found := false
			for _, x := range invs {
				if installationName(x.Installation) == want {
					inv, found = x, true
					break
				}
			}
			if !found {
				return kerr.New(kerr.NotFound, "snapshot %s recorded no Flatpak installation %q", s.Name, want)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		// One's own installation is one's own business; the system's or
		// another user's is an administrator's.
		if inv.Installation.Scope == flatpak.ScopeSystem || inv.Installation.UID != c.uid {
			if err := d.authorize(c, dbusapi.ActionConfigure, options); err != nil {
				return nil, err
			}
		}
		// A name the snapshot does not have is the caller's mistake: said
		// now, not as a failed job (and only to who may restore it, so
		// that nobody learns what another user had installed).
		for _, w := range refs {
			if !hasRef(inv, w) {
				return nil, kerr.New(kerr.NotFound, "%s was not installed in the %s installation in snapshot %s", w, want, snapshot)
			}
		}
		return d.startJob("flatpak-restore", h.name, "manual", c.uid, func(j *job) (string, error) {
			return d.runFlatpakRestore(j, p, c, snapshot, inv, refs, offline, withData, overwrite)
		})
	}()
	if err != nil {
		return dbusapi.NoPath, d.callErr("RestoreFlatpaks", err)
	}
	return j.obj.path, nil
}

func (d *Daemon) runFlatpakRestore(j *job, p *profile, c caller, snapshot string, inv flatpak.Inventory, refs []string, offline, withData, overwrite bool) (string, error) {
	var msg string
	err := d.withRepo(p, func(x *usecase.Repo) error {
		r, cat := x.R, x.Cat
		_ = r
		o := flatpak.RestoreOptions{Refs: refs, Options: d.flatpakOptions()}
		if offline {
			o.SideloadRepo = offlineDir(r, d.opts.Host, inv.Installation)
		}
		o.Progress = func(done, total int, ref string) {
			j.obj.Set("Phase", "installing "+ref)
			j.obj.Set("FilesDone", uint64(done))
			j.obj.Set("FilesTotal", uint64(total))
			j.obj.Set("Progress", float64(done)/float64(max(total, 1)))
		}
		j.phase("installing")
		results, err := flatpak.Restore(j.ctx, inv, o)
		summary := map[string]dbus.Variant{}
		installed, failed := 0, 0
		var apps []string
		for _, res := range results {
			v := res.Outcome
			if res.Outcome == flatpak.OutcomeFailed {
				v += ": " + res.Message
				failed++
			} else if res.Kind == flatpak.KindApp || res.Kind == flatpak.KindRuntime {
				installed++
			}
			summary[res.Kind+" "+res.Ref] = dbus.MakeVariant(v)
			if res.Kind == flatpak.KindApp && res.Outcome != flatpak.OutcomeFailed {
				apps = append(apps, refID(res.Ref))
			}
		}
		if err != nil {
			j.setResult(summary)
			return err
		}
		if withData {
			home, creds := dataHome(c, inv.Installation)
			s, err := x.Snapshot(snapshot)
			if err != nil {
				return err
			}
			var paths []string
			for _, id := range apps {
				if _, err := cat.Lookup(s, flatpak.DataDir(home, id)); err == nil {
					paths = append(paths, flatpak.DataDir(home, id))
				}
			}
			if len(paths) > 0 {
				j.phase("restoring app data")
				res, err := engine.Restore(j.ctx, r, engine.RestoreOptions{Host: d.opts.Host, Snapshot: snapshot,
					Paths: paths, Overwrite: overwrite, Actor: c.uc(false).Actor(), As: asUnlessRoot(creds), Progress: j.progress})
				if err != nil {
					summary["data"] = dbus.MakeVariant("failed: " + err.Error())
					failed++
				} else {
					for _, it := range res.Items {
						summary["data "+it.Path] = dbus.MakeVariant("restored to " + it.To)
					}
				}
			}
		}
		j.setResult(summary)
		msg = fmt.Sprintf("%d apps and runtimes installed or present, %d failed", installed, failed)
		if failed > 0 {
			return kerr.New(kerr.Failed, "%s (see the job's Result)", msg)
		}
		return nil
	})
	return msg, err
}

// hasRef says whether an inventory has w, a full ref or an app id (what
// flatpak.RestoreOptions.Refs takes).
func hasRef(inv flatpak.Inventory, w string) bool {
	for _, ref := range inv.Refs {
		if ref.Ref == w || (ref.Kind == flatpak.KindApp && ref.ID == w) {
			return true
		}
	}
	return false
}

// refID is the app id of a full ref or an id.
func refID(ref string) string {
	if parts := strings.Split(ref, "/"); len(parts) == 4 {
		return parts[1]
	}
	return ref
}

func asUnlessRoot(c *engine.Credentials) *engine.Credentials {
	if c == nil || c.UID == 0 {
		return nil
	}
	return c
}

var appIDPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)+$`)

// RestoreAppData rolls one app's data back to a snapshot.
func (h *profileHandler) RestoreAppData(sender dbus.Sender, snapshot, appID string, options map[string]dbus.Variant) (dbus.ObjectPath, *dbus.Error) {
	d := h.d
	j, err := func() (*job, error) {
		if !appIDPattern.MatchString(appID) || len(appID) > 255 {
			return nil, kerr.New(kerr.InvalidArgs, "%q is not a Flatpak app id (like org.gnome.TextEditor)", appID)
		}
		c, p, err := d.enter(sender, h.name, options, dbusapi.ActionRestore, "overwrite")
		if err != nil {
			return nil, err
		}
		if c.home == "" || c.home == "/" {
			return nil, kerr.New(kerr.PathNotFound, "user %s has no home folder", c.name)
		}
		overwrite, err := optBool(options, "overwrite")
		if err != nil {
			return nil, err
		}
		path := flatpak.DataDir(c.home, appID)
		err = d.withRepo(p, func(x *usecase.Repo) error {
			r, cat := x.R, x.Cat
			_ = r
			sc := x.Scope(c.uc(false))
			s, err := x.Snapshot(snapshot)
			if err != nil {
				return err
			}
			snapshot = s.Name
			v, err := cat.Lookup(s, path)
			if err != nil {
				return kerr.New(kerr.PathNotFound, "snapshot %s holds no data of %s (%s)", s.Name, appID, path)
			}
			if !sc.CanSee(s, v) {
				return kerr.New(kerr.NotAuthorized, "you may not restore %s", path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		return d.startJob("app-data-restore", h.name, "manual", c.uid, func(j *job) (string, error) {
			var to string
			err := d.withRepo(p, func(x *usecase.Repo) error {
				r := x.R
				j.phase("restoring")
				res, err := engine.Restore(j.ctx, r, engine.RestoreOptions{Host: d.opts.Host, Snapshot: snapshot,
					Paths: []string{path}, Overwrite: overwrite, Actor: c.uc(false).Actor(), As: asUnlessRoot(c.uc(false).Credentials()), Progress: j.progress})
				if err == nil && len(res.Items) == 1 {
					to = res.Items[0].To
				}
				return err
			})
			return to, err
		})
	}()
	if err != nil {
		return dbusapi.NoPath, d.callErr("RestoreAppData", err)
	}
	return j.obj.path, nil
}

// FlatpakOfflineSize estimates what an offline copy of the apps takes.
func (h *profileHandler) FlatpakOfflineSize(sender dbus.Sender, options map[string]dbus.Variant) (uint64, *dbus.Error) {
	d := h.d
	_, p, err := d.enter(sender, h.name, options, dbusapi.ActionBrowse)
	if err != nil {
		return 0, d.callErr("FlatpakOfflineSize", err)
	}
	ctx, cancel := d.flatpakQueryContext()
	defer cancel()
	invs, _ := d.collectFlatpaks(ctx, p.config().Sources)
	var n int64
	for _, inv := range invs {
		n += flatpak.EstimateUSB(inv)
	}
	return uint64(max(n, 0)), nil
}

// homeInScope says whether a profile with these sources backs up (part
// of) the home folder.
func homeInScope(home string, sources []string) bool {
	if home == "" {
		return false
	}
	for _, s := range sources {
		if s == "/" || home == s || strings.HasPrefix(home, s+"/") || strings.HasPrefix(s, home+"/") {
			return true
		}
	}
	return false
}
