package usecase

import (
	"context"
	"fmt"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/engine"
	"github.com/keepsake/keepsake/service/flatpak"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/kerr"
)

// Flatpak apps on a drive. Each snapshot a backup with Flatpak on makes
// carries the inventory of the installations in the scope of its sources
// as FlatpakFile (in <snapshot>/.keepsake/ and in the catalog), and,
// with the offline copy on, <repo>/flatpak-offline/<host>/system or
// user-NAME holds what `flatpak create-usb` made of each installation.
// An installation is named "system" or "user:NAME" everywhere.

// FlatpakFile is the name of the Flatpak inventory a snapshot carries.
const FlatpakFile = "flatpak.txt"

const (
	systemInstallation = "system"
	userPrefix         = "user:"
)

// installationName is how Keepsake names an installation.
func installationName(in flatpak.Installation) string {
	if in.Scope == flatpak.ScopeSystem {
		return systemInstallation
	}
	return userPrefix + in.User
}

// CheckInstallation accepts "system" or "user:NAME".
func CheckInstallation(name string) error {
	if name == systemInstallation {
		return nil
	}
	if u, ok := strings.CutPrefix(name, userPrefix); ok && u != "" && !strings.ContainsAny(u, "/:\x00 \n") {
		return nil
	}
	return kerr.New(kerr.InvalidArgs, "installation is \"system\" or \"user:NAME\", not %q", name)
}

// offlineDir is where the offline copy of an installation's apps lives in
// the repository at root: one per host and installation, refreshed by
// each backup.
func offlineDir(root, host string, in flatpak.Installation) string {
	name := systemInstallation
	if in.Scope != flatpak.ScopeSystem {
		name = "user-" + in.User
	}
	return filepath.Join(root, "flatpak-offline", host, name)
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

// FlatpakRecord is what a backup records of this machine's Flatpak
// installations: the system one, and each user's whose home the sources
// hold (or part of it).
type FlatpakRecord struct {
	invs []flatpak.Inventory
	// Warnings are the installations that could not be read: a backup of
	// files never fails because of Flatpak.
	Warnings []string
}

// RecordFlatpaks reads the installations in the scope of sources.
func RecordFlatpaks(ctx context.Context, sources []string, o FlatpakOptions) FlatpakRecord {
	var r FlatpakRecord
	insts, err := flatpak.Installations(ctx, o)
	if err != nil {
		r.Warnings = append(r.Warnings, fmt.Sprintf("cannot list Flatpak installations: %v", err))
		return r
	}
	for _, in := range insts {
		if in.Scope != flatpak.ScopeSystem && !homeInScope(in.Home, sources) {
			continue
		}
		inv, err := flatpak.Collect(ctx, in, o)
		if err != nil {
			r.Warnings = append(r.Warnings, fmt.Sprintf("Flatpak installation %s: %v", installationName(in), err))
			continue
		}
		r.invs = append(r.invs, inv)
	}
	return r
}

// Installations names the installations recorded.
func (r FlatpakRecord) Installations() []string {
	var out []string
	for _, inv := range r.invs {
		out = append(out, installationName(inv.Installation))
	}
	return out
}

// Extras are the files the snapshot carries for the record (BackupRequest
// Extras): none when nothing was recorded.
func (r FlatpakRecord) Extras() []Extra {
	if len(r.invs) == 0 {
		return nil
	}
	return []Extra{{Name: FlatpakFile, Data: flatpak.Text(r.invs)}}
}

// OfflineSize is about what an offline copy of the recorded apps and
// runtimes takes on a drive.
func (r FlatpakRecord) OfflineSize() uint64 {
	var n int64
	for _, inv := range r.invs {
		n += flatpak.EstimateUSB(inv)
	}
	return uint64(max(n, 0))
}

// UpdateFlatpakOffline refreshes the drive's offline copies of the
// recorded installations of host (create-usb pulls only what is new).
// Problems are warnings, as for the record.
func (d *Drive) UpdateFlatpakOffline(ctx context.Context, host string, r FlatpakRecord, o FlatpakOptions) []string {
	var warns []string
	for _, inv := range r.invs {
		name := installationName(inv.Installation)
		c, err := flatpak.CreateUSB(ctx, inv, offlineDir(d.R.Root, host, inv.Installation), o)
		if err != nil {
			warns = append(warns, fmt.Sprintf("offline copy of %s: %v", name, err))
			continue
		}
		for _, s := range c.Skipped {
			warns = append(warns, fmt.Sprintf("offline copy of %s: %s not copied: %s", name, s.Ref, s.Message))
		}
	}
	return warns
}

// flatpakInventories reads the inventories snapshot s recorded.
func (x *Repo) flatpakInventories(s catalog.Snapshot) ([]flatpak.Inventory, error) {
	data, err := x.Cat.SnapshotFile(s, FlatpakFile)
	if kerr.Is(err, kerr.PathNotFound) {
		return nil, kerr.New(kerr.NotFound, "snapshot %s recorded no Flatpak apps (Flatpak backup was off, or flatpak is not installed)", s.Name)
	}
	if err != nil {
		return nil, err
	}
	invs, err := flatpak.ParseText(data)
	if err != nil {
		return nil, fmt.Errorf("read %s of snapshot %s: %w", FlatpakFile, s.Name, err)
	}
	return invs, nil
}

// localInstallation is where a recorded installation lives on this
// machine, which may not be the one that was backed up (a drive read on a
// new machine): the system installation flatpak names here, and the
// installation in the home of the user of that name.
func localInstallation(ctx context.Context, saved flatpak.Installation, o FlatpakOptions) (flatpak.Installation, error) {
	if saved.Scope == flatpak.ScopeSystem {
		o.Users = []flatpak.Installation{}
		insts, err := flatpak.Installations(ctx, o)
		if err != nil {
			return saved, err
		}
		for _, in := range insts {
			if in.Scope == flatpak.ScopeSystem {
				return in, nil
			}
		}
		return saved, nil // none yet (or no flatpak): where it was
	}
	u, err := user.Lookup(saved.User)
	if err != nil {
		return saved, kerr.New(kerr.NotFound, "user %s does not exist on this machine: create the account first, then restore its apps", saved.User)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil || !filepath.IsAbs(u.HomeDir) || u.HomeDir == "/" {
		return saved, kerr.New(kerr.NotFound, "user %s has no usable home folder on this machine", saved.User)
	}
	home := filepath.Clean(u.HomeDir)
	return flatpak.Installation{Scope: flatpak.ScopeUser, User: u.Username, UID: uint32(uid), GID: uint32(gid),
		Home: home, Dir: filepath.Join(home, ".local", "share", "flatpak")}, nil
}

// ownInstallation says whether local (lerr: its lookup failed) is c's
// own: a user's installation whose owner on this machine is c.
func ownInstallation(c Caller, local flatpak.Installation, lerr error) bool {
	return lerr == nil && local.Scope == flatpak.ScopeUser && local.UID == c.UID
}

// needsAdmin says whether c needs an administrator's rights to restore
// local: anything but their own, unless they are root.
func needsAdmin(c Caller, local flatpak.Installation, lerr error) bool {
	return !c.Root() && !ownInstallation(c, local, lerr)
}

// dataHome is the home whose ~/.var/app the apps of a recorded
// installation used, as backed up: the installation's user's, or, for the
// system installation, the caller's.
func dataHome(c Caller, saved flatpak.Installation) string {
	if saved.Scope == flatpak.ScopeSystem {
		return c.Home
	}
	return saved.Home
}

// FlatpakListRequest asks what a snapshot recorded of Flatpak apps.
type FlatpakListRequest struct {
	Snapshot string
	// Flatpak is how flatpak runs here, to look at what is installed.
	Flatpak FlatpakOptions
	// Warn, if set, hears of an installation of this machine that could
	// not be looked at (its apps' state is then "unknown").
	Warn func(error)
}

// ListFlatpaks lists the apps and runtimes a snapshot recorded beside
// what this machine has installed now, in the installations the caller
// may see: the system one and their own (every one with All).
func (x *Repo) ListFlatpaks(ctx context.Context, c Caller, q FlatpakListRequest) ([]api.FlatpakRef, error) {
	s, err := x.Snapshot(q.Snapshot)
	if err != nil {
		return nil, err
	}
	invs, err := x.flatpakInventories(s)
	if err != nil {
		return nil, err
	}
	sc := x.Scope(c)
	out := []api.FlatpakRef{}
	for _, inv := range invs {
		local, lerr := localInstallation(ctx, inv.Installation, q.Flatpak)
		if !c.All && inv.Installation.Scope != flatpak.ScopeSystem && !ownInstallation(c, local, lerr) {
			continue
		}
		name := installationName(inv.Installation)
		now := flatpak.Inventory{Installation: local}
		unknown := false
		if lerr == nil {
			var cerr error
			if now, cerr = flatpak.Collect(ctx, local, q.Flatpak); kerr.Is(cerr, kerr.Cancelled) {
				return nil, cerr
			} else if cerr != nil && !kerr.Is(cerr, kerr.NotFound) {
				// No flatpak is "nothing installed"; anything else means
				// this machine could not be looked at.
				unknown = true
				if q.Warn != nil {
					q.Warn(fmt.Errorf("cannot look at installation %s on this machine: %w", name, cerr))
				}
			}
		}
		home := dataHome(c, inv.Installation)
		for _, st := range flatpak.Compare(inv, now) {
			ref := api.FlatpakRef{Installation: name, Ref: st.Ref.Ref, Kind: st.Ref.Kind, ID: st.Ref.ID,
				Branch: st.Ref.Branch, Origin: st.Ref.Origin, Version: st.Ref.Version, Commit: st.Ref.Commit,
				InstalledSize: uint64(max(st.Ref.InstalledSize, 0)), State: st.State}
			if unknown {
				ref.State = "unknown"
			}
			if st.Installed != nil {
				ref.InstalledVersion = st.Installed.Version
			}
			if p := flatpak.DataDir(home, st.Ref.ID); st.Ref.Kind == flatpak.KindApp && p != "" {
				if v, err := x.Cat.Lookup(s, p); err == nil && sc.CanSee(s, v) {
					ref.Data = true
				}
			}
			out = append(out, ref)
		}
	}
	return out, nil
}

// FlatpakRestoreRequest asks for a snapshot's Flatpak apps back.
type FlatpakRestoreRequest struct {
	Snapshot string
	// Refs are full refs ("app/ID/ARCH/BRANCH") or app ids of the
	// installation; none: every app, and the runtimes it had pinned.
	Refs []string
	// Installation is "system" or "user:NAME"; "": the caller's own
	// ("system" for root).
	Installation string
	// Offline installs from the drive's offline copy, not the network.
	Offline bool
	// Data also puts back the data (~/.var/app/ID) of each app restored.
	Data bool
	// Overwrite replaces newer app data; otherwise both are kept.
	Overwrite bool
	// Flatpak is how flatpak runs on this machine.
	Flatpak FlatpakOptions
}

// FlatpakProgress is how a Flatpak restore reports; each is optional.
type FlatpakProgress struct {
	// Phase hears each step: "installing", "restoring app data".
	Phase func(string)
	// Installed hears after each ref: how many of how many, and which.
	Installed func(done, total int, ref string)
	// Progress hears how the app data restore goes.
	Progress func(Progress)
}

func (h FlatpakProgress) phase(s string) {
	if h.Phase != nil {
		h.Phase(s)
	}
}

// CheckFlatpakRestoreArgs checks a Flatpak restore's arguments alone,
// before any drive is touched.
func CheckFlatpakRestoreArgs(q FlatpakRestoreRequest) error {
	for _, r := range q.Refs {
		if r == "" || len(r) > 512 || strings.ContainsAny(r, " \x00\n") {
			return kerr.New(kerr.InvalidArgs, "%q is not a Flatpak ref or app id", r)
		}
	}
	if q.Installation != "" {
		return CheckInstallation(q.Installation)
	}
	return nil
}

// FlatpakRestore is a Flatpak restore checked as far as the snapshot
// goes (PlanFlatpakRestore). The front end then settles NeedsAdmin, calls
// Check and, when both pass, Run.
type FlatpakRestore struct {
	// Snapshot is the snapshot's name.
	Snapshot string
	// Installation is the installation restored, "system" or "user:NAME".
	Installation string
	// NeedsAdmin: the installation is not the caller's own (it is the
	// system's, or another user's) and the caller is not root: only an
	// administrator may restore it. Restoring one's own needs no more
	// than the right to restore.
	NeedsAdmin bool

	x        *Repo
	c        Caller
	q        FlatpakRestoreRequest
	snap     catalog.Snapshot
	inv      flatpak.Inventory    // as recorded
	local    flatpak.Installation // where it goes on this machine
	localErr error                // the installation has no place here
}

// PlanFlatpakRestore checks a Flatpak restore up to who may do it: its
// arguments, the snapshot, and that the snapshot recorded the
// installation.
func (x *Repo) PlanFlatpakRestore(ctx context.Context, c Caller, q FlatpakRestoreRequest) (*FlatpakRestore, error) {
	if err := CheckFlatpakRestoreArgs(q); err != nil {
		return nil, err
	}
	want := q.Installation
	if want == "" {
		want = userPrefix + c.Name
		if c.Root() {
			want = systemInstallation
		}
	}
	s, err := x.Snapshot(q.Snapshot)
	if err != nil {
		return nil, err
	}
	invs, err := x.flatpakInventories(s)
	if err != nil {
		return nil, err
	}
	for _, inv := range invs {
		if installationName(inv.Installation) != want {
			continue
		}
		p := &FlatpakRestore{Snapshot: s.Name, Installation: want, x: x, c: c, q: q, snap: s, inv: inv}
		p.local, p.localErr = localInstallation(ctx, inv.Installation, q.Flatpak)
		p.NeedsAdmin = needsAdmin(c, p.local, p.localErr)
		return p, nil
	}
	return nil, kerr.New(kerr.NotFound, "snapshot %s recorded no Flatpak installation %q", s.Name, want)
}

// Check finishes the checks once the caller may restore the installation
// (NeedsAdmin settled): it has a place on this machine, and the snapshot
// holds every ref asked for. Said only to who may restore it, so that
// nobody learns what another user had installed.
func (p *FlatpakRestore) Check() error {
	if p.localErr != nil {
		return p.localErr
	}
	for _, w := range p.q.Refs {
		if !hasRef(p.inv, w) {
			return kerr.New(kerr.NotFound, "%s was not installed in the %s installation in snapshot %s", w, p.Installation, p.Snapshot)
		}
	}
	return nil
}

// Run restores: missing remotes, the apps and their runtimes, overrides,
// pins and masks, as the installation's owner, then (with Data) each
// restored app's data as the user it belongs to. One thing failing never
// stops the rest: the result says what became of each, and Counts how
// many failed. The error is for a restore that could not start or was
// cancelled; the result then says how far it got.
func (p *FlatpakRestore) Run(ctx context.Context, h FlatpakProgress) (api.FlatpakRestoreResult, error) {
	res := api.FlatpakRestoreResult{Outcomes: []api.FlatpakOutcome{}}
	if err := p.Check(); err != nil {
		return res, err
	}
	x, q := p.x, p.q
	inv := p.inv
	inv.Installation = p.local
	o := flatpak.RestoreOptions{Refs: q.Refs, Options: q.Flatpak, Progress: h.Installed}
	if q.Offline {
		o.SideloadRepo = offlineDir(x.R.Root, x.Host, p.inv.Installation)
	}
	h.phase("installing")
	results, err := flatpak.Restore(ctx, inv, o)
	var apps []string
	for _, r := range results {
		res.Outcomes = append(res.Outcomes, api.FlatpakOutcome{Kind: r.Kind, Ref: api.Path(r.Ref), Outcome: r.Outcome, Message: r.Message})
		if r.Kind == flatpak.KindApp && r.Outcome != flatpak.OutcomeFailed {
			apps = append(apps, refID(r.Ref))
		}
	}
	if err == nil && q.Data {
		p.restoreData(ctx, h, &res, apps)
	}
	res.Sort()
	return res, err
}

// restoreData puts back the data of apps that the snapshot holds, as the
// user it belongs to, where that user's home is now.
func (p *FlatpakRestore) restoreData(ctx context.Context, h FlatpakProgress, res *api.FlatpakRestoreResult, apps []string) {
	x, q, c := p.x, p.q, p.c
	home := dataHome(c, p.inv.Installation)
	var paths []string
	for _, id := range apps {
		if d := flatpak.DataDir(home, id); d != "" {
			if _, err := x.Cat.Lookup(p.snap, d); err == nil {
				paths = append(paths, d)
			}
		}
	}
	if len(paths) == 0 {
		return
	}
	as, to := c.Credentials(), ""
	if p.local.Scope == flatpak.ScopeUser {
		if p.local.UID != c.UID {
			as = &engine.Credentials{UID: p.local.UID, GID: p.local.GID}
		}
		if p.local.Home != home {
			to = filepath.Join(p.local.Home, ".var", "app")
		}
	}
	if as != nil && as.UID == 0 {
		as = nil
	}
	h.phase("restoring app data")
	r, err := engine.Restore(ctx, x.R, engine.RestoreOptions{Host: x.Host, Snapshot: p.Snapshot, Paths: paths, To: to,
		Overwrite: q.Overwrite, Actor: c.Actor(), As: as, Progress: h.Progress})
	if err != nil {
		res.Outcomes = append(res.Outcomes, api.FlatpakOutcome{Kind: api.KindData, Outcome: api.OutcomeFailed, Message: err.Error()})
		return
	}
	for _, it := range r.Items {
		res.Outcomes = append(res.Outcomes, api.FlatpakOutcome{Kind: api.KindData, Ref: api.Path(it.Path), Outcome: api.OutcomeRestored, To: api.Path(it.To)})
	}
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

var appIDPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)+$`)

// CheckAppID refuses what is not a Flatpak app id.
func CheckAppID(id string) error {
	if !appIDPattern.MatchString(id) || len(id) > 255 {
		return kerr.New(kerr.InvalidArgs, "%q is not a Flatpak app id (like org.gnome.TextEditor)", id)
	}
	return nil
}

// AppDataRequest asks for one app's data (~/.var/app/ID of the caller)
// as a snapshot holds it.
type AppDataRequest struct {
	Snapshot string
	AppID    string
	// Overwrite replaces the data there; otherwise both are kept.
	Overwrite bool
	Progress  func(Progress)
}

// CheckAppData checks an app data restore before it starts: the app id,
// the caller's home, the snapshot (returned by its name), that it holds
// the data and that the caller may restore it.
func (x *Repo) CheckAppData(c Caller, q AppDataRequest) (string, error) {
	if err := CheckAppID(q.AppID); err != nil {
		return "", err
	}
	if c.Home == "" || c.Home == "/" {
		return "", kerr.New(kerr.PathNotFound, "user %s has no home folder", c.Name)
	}
	s, err := x.Snapshot(q.Snapshot)
	if err != nil {
		return "", err
	}
	p := flatpak.DataDir(c.Home, q.AppID)
	v, err := x.Cat.Lookup(s, p)
	if err != nil {
		return "", kerr.New(kerr.PathNotFound, "snapshot %s holds no data of %s (%s)", s.Name, q.AppID, p)
	}
	if !x.Scope(c).CanSee(s, v) {
		return "", kerr.New(kerr.NotAuthorized, "you may not restore %s", p)
	}
	return s.Name, nil
}

// RestoreAppData rolls one app's data back to a snapshot, touching
// nothing else, written with the caller's rights.
func (x *Repo) RestoreAppData(ctx context.Context, c Caller, q AppDataRequest) (api.RestoreResult, error) {
	name, err := x.CheckAppData(c, q)
	if err != nil {
		return api.RestoreResult{}, err
	}
	return x.restore(ctx, c, RestoreRequest{Snapshot: name, Paths: []string{flatpak.DataDir(c.Home, q.AppID)},
		Overwrite: q.Overwrite, Progress: q.Progress})
}
