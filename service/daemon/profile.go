package daemon

import (
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/service/config"
	"github.com/keepsake/keepsake/service/exclude"
	"github.com/keepsake/keepsake/service/schedule"
	"github.com/keepsake/keepsake/service/usecase"
	"github.com/keepsake/keepsake/service/watch"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/dbusapi"
	"github.com/keepsake/keepsake/shared/kerr"
)

// profile is a configured backup profile with its object and watcher.
type profile struct {
	d   *Daemon
	obj *object

	mu       sync.Mutex
	cfg      config.Profile
	watcher  *watch.Watcher
	watchErr string
	job      *job
	changed  bool // the watcher saw changes and they have been quiet
	lastFull time.Time

	// Another computer: a reachability probe is running, when the last
	// one started, and what the last scan or pull said of its host key.
	probing   bool
	lastProbe time.Time
	hostKey   string
}

func (d *Daemon) newProfile(pc config.Profile) (*profile, error) {
	p := &profile{d: d, cfg: pc}
	obj, err := d.reg.add(dbusapi.ProfilePath(pc.Name), dbusapi.ProfileInterface, &profileHandler{d: d, name: pc.Name}, p.props())
	if err != nil {
		return nil, err
	}
	p.obj = obj
	p.startWatcher()
	p.publish()
	return p, nil
}

// reconfigure takes new settings; the watcher restarts when what it
// watches changed.
func (p *profile) reconfigure(pc config.Profile) {
	p.mu.Lock()
	old := p.cfg
	p.cfg = pc
	if strings.Join(old.Sources, "\x00") != strings.Join(pc.Sources, "\x00") {
		p.hostKey = "" // another address: ask known_hosts again
	}
	w := p.watcher
	p.mu.Unlock()
	// A restarted watcher knows nothing of what changed before it, so
	// its first backup is a full scan: restart it only when what it
	// watches changed (or it is not running). Turning "back up on
	// change" on or off keeps it: it records either way.
	switch {
	case strings.Join(old.Sources, "\x00") != strings.Join(pc.Sources, "\x00") ||
		strings.Join(old.Excludes, "\x00") != strings.Join(pc.Excludes, "\x00") ||
		w == nil && (old.Quiet != pc.Quiet || old.OnChange != pc.OnChange):
		p.stopWatcher()
		p.startWatcher()
	case w != nil && old.Quiet != pc.Quiet:
		w.SetQuiet(pc.Quiet)
	}
	p.publish()
}

func (p *profile) close() { p.stopWatcher() }

func (p *profile) config() config.Profile {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg
}

func (p *profile) stopWatcher() {
	p.mu.Lock()
	w := p.watcher
	p.watcher = nil
	p.mu.Unlock()
	if w != nil {
		w.Close()
	}
}

// startWatcher watches the sources. A profile without sources, or one
// whose sources cannot be watched, backs up with full scans.
func (p *profile) startWatcher() {
	pc := p.config()
	if len(pc.Sources) == 0 || pc.HostName() != "" {
		return // nothing to watch, or another computer's folders
	}
	m, err := exclude.New(append(exclude.DefaultPatterns(), pc.Excludes...), exclude.Homes())
	if err != nil {
		p.setWatchErr("exclusions: " + err.Error())
		return
	}
	w, err := watch.New(pc.Sources, watch.Options{
		JournalPath: filepath.Join(p.d.opts.StateDir, "journal", pc.Name),
		Exclude: func(path string, isDir bool) bool {
			return m.Excluded(path, isDir) || isDir && exclude.CacheDirTagged(path)
		},
		Quiet:      pc.Quiet,
		MaxWatches: p.d.opts.MaxWatches,
		OnQuiet: func() {
			p.mu.Lock()
			p.changed = true
			p.mu.Unlock()
			p.d.poke()
		},
	})
	if err != nil {
		p.setWatchErr("cannot watch the folders (" + err.Error() + "): falling back to periodic full scans")
		return
	}
	p.mu.Lock()
	p.watcher = w
	p.watchErr = ""
	p.mu.Unlock()
}

func (p *profile) setWatchErr(s string) {
	p.mu.Lock()
	p.watchErr = s
	name := p.cfg.Name
	p.mu.Unlock()
	p.d.logf("profile %s: %s", name, s)
}

// watchProblem is "" when every folder is watched.
func (p *profile) watchProblem() string {
	p.mu.Lock()
	w, e := p.watcher, p.watchErr
	p.mu.Unlock()
	if e != "" || w == nil {
		return e
	}
	if st := w.State(); st.Degraded {
		return st.Reason
	}
	return ""
}

// state computes the State enum.
func (p *profile) state() dbusapi.ProfileState {
	p.mu.Lock()
	pc, j := p.cfg, p.job
	p.mu.Unlock()
	switch {
	case j != nil && !j.finished():
		return dbusapi.StateRunning
	case pc.Drive == "":
		return dbusapi.StateNoDrive
	case !p.d.drivePresent(pc.Drive):
		return dbusapi.StateWaitingForDrive
	case p.d.store.Profile(pc.Name).LastResult != "":
		return dbusapi.StateFailed
	case p.watchProblem() != "":
		return dbusapi.StateDegraded
	}
	return dbusapi.StateIdle
}

func (p *profile) nextRun() time.Time {
	pc := p.config()
	ps := p.d.store.Profile(pc.Name)
	return schedule.NextRun(pc, ps.LastSuccess, ps.LastAttempt, ps.Failures, time.Now())
}

func (p *profile) props() map[string]any {
	pc := p.config()
	ps := p.d.store.Profile(pc.Name)
	drivePath := dbusapi.NoPath
	free := int64(-1)
	if pc.Drive != "" {
		drivePath = dbusapi.DrivePath(pc.Drive)
		free = p.d.driveFree(pc.Drive)
	}
	jobPath := dbusapi.NoPath
	p.mu.Lock()
	if p.job != nil && p.job.obj != nil && !p.job.finished() {
		jobPath = p.job.obj.path
	}
	p.mu.Unlock()
	next := int64(0)
	if p.obj != nil {
		next = usec(p.nextRun())
	}
	st := dbusapi.StateUnknown
	if p.obj != nil {
		st = p.state()
	}
	host, remote := p.d.opts.Host, false
	if h := pc.HostName(); h != "" {
		host, remote = h, true
	}
	overdue := schedule.Overdue(pc, ps.LastSuccess, time.Now())
	return map[string]any{
		"Name": pc.Name, "Owner": pc.Owner, "Sources": nonNil(pc.Sources), "Excludes": nonNil(pc.Excludes),
		"DriveUUID": pc.Drive, "Drive": drivePath, "Interval": uint64(pc.Interval / time.Second),
		"OnChange": pc.OnChange, "QuietPeriod": uint64(pc.Quiet / time.Second), "OnPlug": pc.OnPlug,
		"SkipOnBattery": pc.SkipOnBattery, "Flatpak": pc.Flatpak, "FlatpakOffline": pc.FlatpakOffline, "Retention": pc.Retention, "State": uint32(st),
		"WatchProblem": busText(p.watchProblem()), "LastSuccess": usec(ps.LastSuccess), "LastAttempt": usec(ps.LastAttempt),
		"NextRun": next, "LastResult": ps.LastResult, "LastMessage": busText(ps.LastMessage), "LastSnapshot": ps.LastSnapshot,
		"TargetFree": free, "Job": jobPath,
		"Host": host, "Remote": remote, "OverdueDays": uint32(pc.OverdueDays), "Overdue": overdue,
		"Viewers": nonNilUIDs(pc.Viewers), "HostKey": p.hostKeyState(pc), "LastReceived": uint64(max(ps.LastReceived, 0)),
		"RestoreTo": pc.RestoreTo, "IncludeMounts": nonNil(pc.IncludeMounts), "SkippedMounts": nonNil(ps.SkippedMounts),
		"LastProblems": nonNil(ps.Problems), "LastProblemCount": uint32(max(ps.ProblemCount, 0)),
	}
}

// publish refreshes every property (only changed ones are signalled).
func (p *profile) publish() {
	for k, v := range p.props() {
		p.obj.Set(k, v)
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// profileHandler carries the Profile interface's methods.
type profileHandler struct {
	d    *Daemon
	name string
}

// BackupNow starts a backup of the profile.
func (h *profileHandler) BackupNow(sender dbus.Sender, options map[string]dbus.Variant) (dbus.ObjectPath, *dbus.Error) {
	d := h.d
	var o api.BackupOptions
	c, p, err := d.enterWith(sender, h.name, options, &o, dbusapi.ActionBackup)
	if err != nil {
		return dbusapi.NoPath, d.callErr("BackupNow", err)
	}
	j, err := d.startBackup(p, "manual", c.uid, o.Full)
	if err != nil {
		return dbusapi.NoPath, d.callErr("BackupNow", err)
	}
	return j.obj.path, nil
}

// Configure changes the profile's settings (administrators).
func (h *profileHandler) Configure(sender dbus.Sender, settings map[string]dbus.Variant, options map[string]dbus.Variant) *dbus.Error {
	d := h.d
	if _, _, err := d.enterWith(sender, h.name, options, &api.Auth{}, dbusapi.ActionConfigure); err != nil {
		return d.callErr("Configure", err)
	}
	err := d.changeConfig(func(c *config.Config) error {
		pc, ok := c.Profile(h.name)
		if !ok {
			return kerr.New(kerr.NotFound, "no profile %q", h.name)
		}
		return applySettings(pc, settings)
	})
	return d.callErr("Configure", err)
}

// AddSource adds a folder: inside the caller's home with
// manage-own-folders, anywhere else with configure.
func (h *profileHandler) AddSource(sender dbus.Sender, path string, options map[string]dbus.Variant) *dbus.Error {
	return h.d.callErr("AddSource", h.editSource(sender, path, options, true))
}

// RemoveSource removes a folder, with the same rules as AddSource.
func (h *profileHandler) RemoveSource(sender dbus.Sender, path string, options map[string]dbus.Variant) *dbus.Error {
	return h.d.callErr("RemoveSource", h.editSource(sender, path, options, false))
}

func (h *profileHandler) editSource(sender dbus.Sender, path string, options map[string]dbus.Variant, add bool) error {
	d := h.d
	path = api.DecodePath(path)
	c, err := d.identify(sender)
	if err != nil {
		return err
	}
	var o api.Auth
	if err := api.FromOptions(options, &o); err != nil {
		return err
	}
	if err := usecase.CheckPath(path); err != nil {
		return err
	}
	action := dbusapi.ActionConfigure
	if c.insideHome(path) {
		action = dbusapi.ActionManageOwn
	}
	if err := d.authorize(c, action, options); err != nil {
		return err
	}
	if _, err := d.profile(h.name); err != nil {
		return err
	}
	return d.changeConfig(func(cf *config.Config) error {
		pc, ok := cf.Profile(h.name)
		if !ok {
			return kerr.New(kerr.NotFound, "no profile %q", h.name)
		}
		return usecase.EditSource(pc, path, add)
	})
}

// Delete forgets the profile; its snapshots stay on the drive.
func (h *profileHandler) Delete(sender dbus.Sender, options map[string]dbus.Variant) *dbus.Error {
	d := h.d
	_, p, err := d.enterWith(sender, h.name, options, &api.Auth{}, dbusapi.ActionConfigure)
	if err != nil {
		return d.callErr("Delete", err)
	}
	p.mu.Lock()
	running := p.job != nil && !p.job.finished()
	p.mu.Unlock()
	if running {
		return d.callErr("Delete", kerr.New(kerr.Busy, "profile %s has a job running: cancel it first", h.name))
	}
	err = d.changeConfig(func(c *config.Config) error {
		usecase.DeleteProfile(c, h.name)
		return nil
	})
	if err == nil {
		d.store.RemoveProfile(h.name)
	}
	return d.callErr("Delete", err)
}

// enterWith is the common start of a profile method: who calls, are the
// options known (dst is one of shared/api's option structs: unknown keys
// and wrong types are refused by name), may they, does the profile exist.
func (d *Daemon) enterWith(sender dbus.Sender, name string, options map[string]dbus.Variant, dst any, action string) (caller, *profile, error) {
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
	p, err := d.profile(name)
	return c, p, err
}

// applySettings reads the a{sv} settings of Configure and CreateProfile
// (shared/api's Settings: unknown keys and wrong types are InvalidArgs)
// and applies them to pc.
func applySettings(pc *config.Profile, m map[string]dbus.Variant) error {
	var s api.Settings
	if err := api.FromOptions(m, &s); err != nil {
		return err
	}
	return usecase.ApplySettings(pc, s)
}

func nonNilUIDs(v []uint32) []uint32 {
	if v == nil {
		return []uint32{}
	}
	return v
}
