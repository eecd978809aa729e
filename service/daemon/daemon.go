package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/service/config"
	"github.com/keepsake/keepsake/service/drives"
	"github.com/keepsake/keepsake/service/polkit"
	"github.com/keepsake/keepsake/service/state"
	"github.com/keepsake/keepsake/service/status"
	"github.com/keepsake/keepsake/service/usecase"
	"github.com/keepsake/keepsake/shared/dbusapi"
	"github.com/keepsake/keepsake/shared/kerr"
	"golang.org/x/sys/unix"
)

// Options configure the service. The zero values are the installed
// locations.
type Options struct {
	ConfigPath string // default /etc/keepsake/keepsake.conf
	StateDir   string // default /var/lib/keepsake
	RunDir     string // default /run/keepsake: status files and mount points
	Host       string // default: the host name
	Version    string
	// Conn is the bus connection; nil connects to the system bus
	// (DBUS_SYSTEM_BUS_ADDRESS is honoured) with the check of argument
	// types (strictSignatures), which a Conn given here must bring itself.
	Conn *dbus.Conn
	// Logf receives what the service has to say (journald via stderr).
	Logf func(format string, args ...any)
	// JobLinger keeps finished Job objects this long (default 1 min).
	JobLinger time.Duration
	// BrowseLinger keeps a drive the service mounted for browsing mounted
	// this long after a query (default 1 min), so walking folders does not
	// mount and unmount at every click.
	BrowseLinger time.Duration
	// Tick is how often schedules are looked at and properties refreshed
	// (default 5 s; cheap: no disk is touched unless a backup is due).
	Tick time.Duration
	// MaxWatches limits the inotify watches of each profile (0: only the
	// kernel's limit), to keep the service from using up a user's budget
	// on a huge tree and to test the fallback to full scans.
	MaxWatches int
	// FlatpakEnv is added to the environment flatpak runs in (tests point
	// FLATPAK_SYSTEM_DIR at a temporary installation).
	FlatpakEnv []string
	// NoDriveMonitor turns off udev (tests of the bus API alone).
	NoDriveMonitor bool
	// RemoteProbe is how often a due other computer that did not answer is
	// tried again (default 2 min); RemoteProbeTimeout how long one try
	// waits for its ssh port (default 5 s).
	RemoteProbe, RemoteProbeTimeout time.Duration
}

// Daemon is a running keepsaked.
type Daemon struct {
	opts      Options
	conn      *dbus.Conn
	reg       *registry
	authority *polkit.Authority
	store     *state.Store
	monitor   *drives.Monitor
	lockFile  *os.File
	started   time.Time

	// cfgMu serialises configuration changes (changeConfig, Reload): each
	// reads the configuration, writes the file and applies it before the
	// next one reads, so no change is lost to another made meanwhile.
	// It is taken before mu, never while holding it.
	cfgMu sync.Mutex

	mu         sync.Mutex
	cfg        *config.Config
	cfgErr     string
	mgr        *object
	profiles   map[string]*profile
	drives     map[string]*drive
	jobs       map[dbus.ObjectPath]*job
	statusErr  string
	lastStatus []status.Profile // what the status files say now

	kick chan struct{}
	// keys are the remembered keys of encrypted drives (root-only files
	// in the state folder); tries counts wrong passphrases per drive.
	keys  usecase.KeyStore
	tries usecase.Throttle
	// writers holds, per drive UUID, the backup job writing to it: the
	// repository has one writer at a time, so other computers due
	// together, or a local backup and a pull, take turns instead of the
	// later ones failing with Busy.
	writersMu sync.Mutex
	writers   map[string]*driveTurn
	// ctx lasts as long as the service: jobs, and the commands methods
	// run, end with it. New sets it before anything can read it; Run ends
	// it when it returns (after shutdown has cancelled the jobs with a
	// reason), Close when Run was never called.
	ctx    context.Context
	cancel context.CancelFunc
}

// New claims the bus name, loads the configuration and state and exports
// the objects. A second instance fails with Busy.
func New(opts Options) (*Daemon, error) {
	if opts.ConfigPath == "" {
		opts.ConfigPath = "/etc/keepsake/keepsake.conf"
	}
	if opts.StateDir == "" {
		opts.StateDir = "/var/lib/keepsake"
	}
	if opts.RunDir == "" {
		opts.RunDir = "/run/keepsake"
	}
	if opts.Host == "" {
		opts.Host, _ = os.Hostname()
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	if opts.JobLinger == 0 {
		opts.JobLinger = time.Minute
	}
	if opts.BrowseLinger == 0 {
		opts.BrowseLinger = time.Minute
	}
	if opts.Tick == 0 {
		opts.Tick = 5 * time.Second
	}
	if opts.RemoteProbe == 0 {
		opts.RemoteProbe = 2 * time.Minute
	}
	if opts.RemoteProbeTimeout == 0 {
		opts.RemoteProbeTimeout = 5 * time.Second
	}
	d := &Daemon{opts: opts, profiles: map[string]*profile{}, drives: map[string]*drive{},
		jobs: map[dbus.ObjectPath]*job{}, kick: make(chan struct{}, 1), started: time.Now()}
	d.ctx, d.cancel = context.WithCancel(context.Background())

	for _, dir := range []string{opts.StateDir, opts.RunDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", dir, err)
		}
	}
	// One service per state directory, whatever bus it is on.
	lf, err := os.OpenFile(filepath.Join(opts.StateDir, "keepsaked.lock"), os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock: %w", err)
	}
	if err := unix.Flock(int(lf.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lf.Close()
		return nil, kerr.New(kerr.Busy, "another keepsaked is running with state in %s", opts.StateDir)
	}
	d.lockFile = lf

	st, warns, err := state.Open(opts.StateDir)
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("open state: %w", err)
	}
	for _, w := range warns {
		opts.Logf("state: %v", w)
	}
	d.store = st
	d.keys = usecase.KeyStore{Dir: filepath.Join(opts.StateDir, "keys")}

	cfg, err := config.Load(opts.ConfigPath)
	if err != nil {
		// Start anyway, with nothing configured, and say why: a service
		// that refuses to start cannot be fixed from the app.
		opts.Logf("config: %v", err)
		d.cfgErr = err.Error()
		cfg = config.Default()
	}
	d.cfg = cfg

	conn := opts.Conn
	if conn == nil {
		conn, err = dbus.ConnectSystemBus(dbus.WithIncomingInterceptor(strictSignatures()))
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("connect to the system bus: %w", err)
		}
	}
	d.conn = conn
	d.authority = polkit.New(conn)
	if d.reg, err = newRegistry(conn); err != nil {
		d.Close()
		return nil, fmt.Errorf("export objects: %w", err)
	}
	d.mgr, err = d.reg.add(dbusapi.ManagerPath, dbusapi.ManagerInterface, &managerHandler{d}, map[string]any{
		"Version": opts.Version, "Host": opts.Host, "ConfigPath": opts.ConfigPath, "ConfigError": d.cfgErr,
		"Profiles": []dbus.ObjectPath{}, "Drives": []dbus.ObjectPath{}, "Jobs": []dbus.ObjectPath{},
	})
	if err != nil {
		d.Close()
		return nil, err
	}
	if !opts.NoDriveMonitor {
		m, err := drives.NewMonitor(drives.Options{OnEvent: d.driveEvent})
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("watch drives: %w", err)
		}
		d.monitor = m
		for _, dr := range m.Drives() {
			d.updateDrive(dr, false)
		}
	}
	// Drives known from earlier runs stay visible while away...
	for uuid := range d.store.Drives() {
		d.mu.Lock()
		_, ok := d.drives[uuid]
		d.mu.Unlock()
		if !ok {
			ds := d.store.Drive(uuid)
			d.updateDrive(drives.Drive{UUID: uuid, Label: ds.Label, FSType: ds.FSType}, false)
		}
	}
	d.applyConfig(cfg)
	// ...except those that were only seen (see forgettable), judged once
	// the profiles are read.
	for uuid := range d.store.Drives() {
		if !d.drivePresent(uuid) && d.forgettable(uuid) {
			d.forgetDrive(uuid)
		}
	}

	reply, err := conn.RequestName(dbusapi.BusName, dbus.NameFlagDoNotQueue)
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("request bus name %s: %w", dbusapi.BusName, err)
	}
	if reply != dbus.RequestNameReplyPrimaryOwner {
		d.Close()
		return nil, kerr.New(kerr.Busy, "another keepsaked owns %s on this bus", dbusapi.BusName)
	}
	d.writeStatus()
	return d, nil
}

// Run serves until ctx ends: drive events, schedules, watchers.
func (d *Daemon) Run(ctx context.Context) error {
	defer d.cancel()
	if d.monitor != nil {
		go func() {
			if err := d.monitor.Run(ctx); err != nil && ctx.Err() == nil {
				d.logf("drive monitor stopped: %v", err)
			}
		}()
	}
	d.poke()
	t := time.NewTicker(d.opts.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			d.shutdown()
			return nil
		case <-d.conn.Context().Done():
			// The bus is gone (dbus-daemon restarted): without it nobody
			// can reach the service; exit so systemd restarts it.
			d.shutdown()
			return fmt.Errorf("lost the system bus connection: %w", context.Cause(d.conn.Context()))
		case <-t.C:
		case <-d.kick:
		}
		d.schedule(time.Now())
	}
}

// poke asks the scheduler to look now.
func (d *Daemon) poke() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// runningJobs are the jobs not finished yet.
func (d *Daemon) runningJobs() []*job {
	d.mu.Lock()
	defer d.mu.Unlock()
	var running []*job
	for _, j := range d.jobs {
		if !j.finished() {
			running = append(running, j)
		}
	}
	return running
}

// shutdown cancels jobs and waits a little for them to clean up.
func (d *Daemon) shutdown() {
	running := d.runningJobs()
	for _, j := range running {
		j.cancel(kerr.New(kerr.Cancelled, "the service is stopping"))
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, j := range running {
		select {
		case <-j.done:
		case <-time.After(time.Until(deadline)):
		}
	}
	// Drives still mounted for browsing: nobody can unmount them after us.
	d.mu.Lock()
	var ds []*drive
	for _, dr := range d.drives {
		ds = append(ds, dr)
	}
	d.mu.Unlock()
	for _, dr := range ds {
		dr.unmountOurs()
	}
}

// Close releases what New took (the bus connection only if New made it).
func (d *Daemon) Close() {
	d.cancel()
	d.mu.Lock()
	for _, p := range d.profiles {
		if p.watcher != nil {
			p.watcher.Close()
		}
	}
	d.mu.Unlock()
	if d.conn != nil {
		d.conn.ReleaseName(dbusapi.BusName)
		if d.opts.Conn == nil {
			d.conn.Close()
		}
	}
	if d.lockFile != nil {
		d.lockFile.Close()
	}
}

func (d *Daemon) logf(format string, args ...any) { d.opts.Logf(format, args...) }

// Reload re-reads the configuration file. A bad file keeps the last good
// configuration and the error is returned (and shown as ConfigError).
func (d *Daemon) Reload() error {
	d.cfgMu.Lock()
	defer d.cfgMu.Unlock()
	cfg, err := config.Load(d.opts.ConfigPath)
	d.mu.Lock()
	if err != nil {
		d.cfgErr = err.Error()
	} else {
		d.cfgErr = ""
	}
	msg := d.cfgErr
	d.mu.Unlock()
	d.mgr.Set("ConfigError", msg)
	if err != nil {
		d.logf("reload: %v (keeping the last good configuration)", err)
		return err
	}
	d.applyConfig(cfg)
	d.poke()
	return nil
}

// changeConfig edits a copy of the configuration, validates and saves it,
// then applies it, all under cfgMu: edit must not change the configuration
// itself.
func (d *Daemon) changeConfig(edit func(c *config.Config) error) error {
	d.cfgMu.Lock()
	defer d.cfgMu.Unlock()
	d.mu.Lock()
	c := cloneConfig(d.cfg)
	d.mu.Unlock()
	if err := edit(c); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	if err := config.Save(d.opts.ConfigPath, c); err != nil {
		return fmt.Errorf("save configuration: %w", err)
	}
	d.applyConfig(c)
	d.poke()
	return nil
}

func cloneConfig(c *config.Config) *config.Config {
	n := *c
	n.Profiles = make([]config.Profile, len(c.Profiles))
	for i, p := range c.Profiles {
		p.Sources = append([]string(nil), p.Sources...)
		p.Excludes = append([]string(nil), p.Excludes...)
		n.Profiles[i] = p
	}
	return &n
}

// applyConfig makes the objects match cfg. Caller holds cfgMu (or is New,
// before anything else can run).
func (d *Daemon) applyConfig(cfg *config.Config) {
	d.mu.Lock()
	d.cfg = cfg
	keep := map[string]bool{}
	var added []config.Profile
	type update struct {
		p  *profile
		pc config.Profile
	}
	var updates []update
	for _, pc := range cfg.Profiles {
		keep[pc.Name] = true
		if p, ok := d.profiles[pc.Name]; ok {
			updates = append(updates, update{p, pc})
		} else {
			added = append(added, pc)
		}
	}
	var gone []*profile
	for name, p := range d.profiles {
		if !keep[name] {
			gone = append(gone, p)
			delete(d.profiles, name)
		}
	}
	d.mu.Unlock()
	for _, u := range updates {
		u.p.reconfigure(u.pc)
	}
	for _, p := range gone {
		p.close()
		d.reg.remove(p.obj.path)
	}
	for _, pc := range added {
		p, err := d.newProfile(pc)
		if err != nil {
			d.logf("profile %s: %v", pc.Name, err)
			continue
		}
		d.mu.Lock()
		d.profiles[pc.Name] = p
		d.mu.Unlock()
	}
	d.refreshLists()
	d.writeStatus()
}

// refreshLists updates the Manager's Profiles, Drives and Jobs.
func (d *Daemon) refreshLists() {
	d.mu.Lock()
	var ps, ds, js []dbus.ObjectPath
	for _, p := range d.profiles {
		ps = append(ps, p.obj.path)
	}
	for _, dr := range d.drives {
		ds = append(ds, dr.obj.path)
	}
	for p := range d.jobs {
		js = append(js, p)
	}
	d.mu.Unlock()
	for _, l := range [][]dbus.ObjectPath{ps, ds, js} {
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	}
	if ps == nil {
		ps = []dbus.ObjectPath{}
	}
	if ds == nil {
		ds = []dbus.ObjectPath{}
	}
	if js == nil {
		js = []dbus.ObjectPath{}
	}
	d.mgr.Set("Profiles", ps)
	d.mgr.Set("Drives", ds)
	d.mgr.Set("Jobs", js)
}

func (d *Daemon) profile(name string) (*profile, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, ok := d.profiles[name]
	if !ok {
		return nil, kerr.New(kerr.NotFound, "no profile %q", name)
	}
	return p, nil
}
