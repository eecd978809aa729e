package client

import (
	"context"
	"fmt"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/shared/dbusapi"
	"github.com/keepsake/keepsake/shared/kerr"
)

// Client talks to keepsaked.
type Client struct {
	conn *dbus.Conn
	own  bool
}

// Options are a{sv} options of a call.
type Options map[string]any

func (o Options) variant() map[string]dbus.Variant {
	m := map[string]dbus.Variant{}
	for k, v := range o {
		m[k] = dbus.MakeVariant(v)
	}
	return m
}

// Connect opens a private connection to the system bus
// (DBUS_SYSTEM_BUS_ADDRESS is honoured). A service that is not running
// (and cannot be started) is a NotFound error saying so.
func Connect() (*Client, error) {
	conn, err := dbus.ConnectSystemBus()
	if err != nil {
		return nil, kerr.Wrap(kerr.NotFound, err, "cannot reach the system bus")
	}
	c := &Client{conn: conn, own: true}
	return c, nil
}

// New uses an existing connection.
func New(conn *dbus.Conn) *Client { return &Client{conn: conn} }

// Close closes the connection if Connect made it.
func (c *Client) Close() error {
	if c.own {
		return c.conn.Close()
	}
	return nil
}

// Conn is the underlying connection.
func (c *Client) Conn() *dbus.Conn { return c.conn }

func (c *Client) call(path dbus.ObjectPath, method string, args ...any) *dbus.Call {
	return c.conn.Object(dbusapi.BusName, path).Call(method, 0, args...)
}

func (c *Client) err(call *dbus.Call) error {
	if call.Err == nil {
		return nil
	}
	if de, ok := call.Err.(dbus.Error); ok && (de.Name == "org.freedesktop.DBus.Error.ServiceUnknown" || de.Name == "org.freedesktop.DBus.Error.NameHasNoOwner") {
		return kerr.New(kerr.NotFound, "the Keepsake service (keepsaked) is not running: start it with `systemctl start keepsake`")
	}
	return dbusapi.FromDBus(call.Err)
}

func (c *Client) props(path dbus.ObjectPath, iface string, dst any) error {
	var m map[string]dbus.Variant
	call := c.conn.Object(dbusapi.BusName, path).Call(dbusapi.PropertiesInterface+".GetAll", 0, iface)
	if err := c.err(call); err != nil {
		return err
	}
	if err := call.Store(&m); err != nil {
		return err
	}
	return decode(m, dst)
}

// Manager reads the Manager's properties.
func (c *Client) Manager() (Manager, error) {
	var m Manager
	return m, c.props(dbusapi.ManagerPath, dbusapi.ManagerInterface, &m)
}

// objects returns GetManagedObjects.
func (c *Client) objects() (map[dbus.ObjectPath]map[string]map[string]dbus.Variant, error) {
	var out map[dbus.ObjectPath]map[string]map[string]dbus.Variant
	call := c.call(dbusapi.RootPath, dbusapi.ObjectManagerInterface+".GetManagedObjects")
	if err := c.err(call); err != nil {
		return nil, err
	}
	return out, call.Store(&out)
}

// collect decodes every object implementing iface.
func collect[T any](objs map[dbus.ObjectPath]map[string]map[string]dbus.Variant, iface string, withPath func(dbus.ObjectPath) T) ([]T, error) {
	var out []T
	for p, ifs := range objs {
		if props, ok := ifs[iface]; ok {
			v := withPath(p)
			if err := decode(props, &v); err != nil {
				return nil, err
			}
			out = append(out, v)
		}
	}
	return out, nil
}

func profilesOf(objs map[dbus.ObjectPath]map[string]map[string]dbus.Variant) ([]Profile, error) {
	out, err := collect(objs, dbusapi.ProfileInterface, func(p dbus.ObjectPath) Profile { return Profile{Path: p} })
	sortBy(out, func(p Profile) string { return p.Name })
	return out, err
}

func drivesOf(objs map[dbus.ObjectPath]map[string]map[string]dbus.Variant) ([]Drive, error) {
	out, err := collect(objs, dbusapi.DriveInterface, func(p dbus.ObjectPath) Drive { return Drive{Path: p} })
	sortBy(out, func(d Drive) string { return d.Label + "\x00" + d.UUID })
	return out, err
}

func jobsOf(objs map[dbus.ObjectPath]map[string]map[string]dbus.Variant) ([]Job, error) {
	out, err := collect(objs, dbusapi.JobInterface, func(p dbus.ObjectPath) Job { return Job{Path: p} })
	sortBy(out, func(j Job) string { return fmt.Sprintf("%020d", j.Started) + string(j.Path) })
	return out, err
}

// Profiles lists every profile.
func (c *Client) Profiles() ([]Profile, error) {
	objs, err := c.objects()
	if err != nil {
		return nil, err
	}
	return profilesOf(objs)
}

// Objects is every object of the service at one moment.
type Objects struct {
	Manager  Manager
	Profiles []Profile
	Drives   []Drive
	Jobs     []Job
}

// Objects reads the manager, profiles, drives and jobs in one call: a
// client following the service (the app, on every signal) should not
// ask for the whole object tree once per kind.
func (c *Client) Objects() (Objects, error) {
	var o Objects
	objs, err := c.objects()
	if err != nil {
		return o, err
	}
	if props, ok := objs[dbusapi.ManagerPath][dbusapi.ManagerInterface]; ok {
		err = decode(props, &o.Manager)
	} else {
		o.Manager, err = c.Manager()
	}
	if err != nil {
		return o, err
	}
	if o.Profiles, err = profilesOf(objs); err != nil {
		return o, err
	}
	if o.Drives, err = drivesOf(objs); err != nil {
		return o, err
	}
	o.Jobs, err = jobsOf(objs)
	return o, err
}

// Profile reads one profile by name.
func (c *Client) Profile(name string) (Profile, error) {
	p := Profile{Path: dbusapi.ProfilePath(name)}
	err := c.props(p.Path, dbusapi.ProfileInterface, &p)
	if kerr.Is(err, kerr.NotFound) {
		return p, kerr.Wrap(kerr.NotFound, err, "no profile %q", name)
	}
	return p, err
}

// Drives lists every known drive.
func (c *Client) Drives() ([]Drive, error) {
	objs, err := c.objects()
	if err != nil {
		return nil, err
	}
	return drivesOf(objs)
}

// Job reads a job's properties.
func (c *Client) Job(path dbus.ObjectPath) (Job, error) {
	j := Job{Path: path}
	return j, c.props(path, dbusapi.JobInterface, &j)
}

// CreateProfile makes a profile; settings are Profile.Configure's keys.
func (c *Client) CreateProfile(name string, settings, opts Options) (dbus.ObjectPath, error) {
	var p dbus.ObjectPath
	call := c.call(dbusapi.ManagerPath, dbusapi.ManagerInterface+".CreateProfile", name, settings.variant(), opts.variant())
	if err := c.err(call); err != nil {
		return "", err
	}
	return p, call.Store(&p)
}

// Reload asks the service to re-read its configuration file.
func (c *Client) Reload(opts Options) error {
	return c.err(c.call(dbusapi.ManagerPath, dbusapi.ManagerInterface+".Reload", opts.variant()))
}

// Status is Manager.GetStatus.
func (c *Client) Status(opts Options) ([]Dict, error) {
	return c.query(dbusapi.ManagerPath, dbusapi.ManagerInterface+".GetStatus", opts.variant())
}

func (c *Client) query(path dbus.ObjectPath, method string, args ...any) ([]Dict, error) {
	var out []map[string]dbus.Variant
	call := c.call(path, method, args...)
	if err := c.err(call); err != nil {
		return nil, err
	}
	if err := call.Store(&out); err != nil {
		return nil, err
	}
	return dicts(out), nil
}

func (c *Client) job(path dbus.ObjectPath, method string, args ...any) (dbus.ObjectPath, error) {
	var j dbus.ObjectPath
	call := c.call(path, method, args...)
	if err := c.err(call); err != nil {
		return "", err
	}
	return j, call.Store(&j)
}

func pi(m string) string { return dbusapi.ProfileInterface + "." + m }

// BackupNow starts a backup of the profile and returns its job.
func (c *Client) BackupNow(profile string, opts Options) (dbus.ObjectPath, error) {
	return c.job(dbusapi.ProfilePath(profile), pi("BackupNow"), opts.variant())
}

// Configure changes a profile's settings.
func (c *Client) Configure(profile string, settings, opts Options) error {
	return c.err(c.call(dbusapi.ProfilePath(profile), pi("Configure"), settings.variant(), opts.variant()))
}

// AddSource adds a folder to a profile.
func (c *Client) AddSource(profile, path string, opts Options) error {
	return c.err(c.call(dbusapi.ProfilePath(profile), pi("AddSource"), path, opts.variant()))
}

// RemoveSource removes a folder from a profile.
func (c *Client) RemoveSource(profile, path string, opts Options) error {
	return c.err(c.call(dbusapi.ProfilePath(profile), pi("RemoveSource"), path, opts.variant()))
}

// DeleteProfile forgets a profile (its snapshots stay on the drive).
func (c *Client) DeleteProfile(profile string, opts Options) error {
	return c.err(c.call(dbusapi.ProfilePath(profile), pi("Delete"), opts.variant()))
}

// Snapshots lists a profile's snapshots.
func (c *Client) Snapshots(profile string, opts Options) ([]Dict, error) {
	return c.query(dbusapi.ProfilePath(profile), pi("ListSnapshots"), opts.variant())
}

// List lists a folder of a snapshot.
func (c *Client) List(profile, snapshot, dir string, opts Options) ([]Dict, error) {
	return c.query(dbusapi.ProfilePath(profile), pi("ListDirectory"), snapshot, dir, opts.variant())
}

// Search finds files by name in every snapshot.
func (c *Client) Search(profile, pattern string, opts Options) ([]Dict, error) {
	return c.query(dbusapi.ProfilePath(profile), pi("Search"), pattern, opts.variant())
}

// Versions lists a file's distinct versions.
func (c *Client) Versions(profile, path string, opts Options) ([]Dict, error) {
	return c.query(dbusapi.ProfilePath(profile), pi("Versions"), path, opts.variant())
}

// Deleted lists files gone from a folder.
func (c *Client) Deleted(profile, dir string, opts Options) ([]Dict, error) {
	return c.query(dbusapi.ProfilePath(profile), pi("Deleted"), dir, opts.variant())
}

// Restore starts restoring paths of a snapshot.
func (c *Client) Restore(profile, snapshot string, paths []string, opts Options) (dbus.ObjectPath, error) {
	return c.job(dbusapi.ProfilePath(profile), pi("Restore"), snapshot, paths, opts.variant())
}

// Prune starts a prune.
func (c *Client) Prune(profile string, opts Options) (dbus.ObjectPath, error) {
	return c.job(dbusapi.ProfilePath(profile), pi("Prune"), opts.variant())
}

// Verify starts a verification.
func (c *Client) Verify(profile string, opts Options) (dbus.ObjectPath, error) {
	return c.job(dbusapi.ProfilePath(profile), pi("Verify"), opts.variant())
}

// Enroll writes a repository to a drive.
func (c *Client) Enroll(uuid string, opts Options) error {
	return c.err(c.call(dbusapi.DrivePath(uuid), dbusapi.DriveInterface+".Enroll", opts.variant()))
}

// Unmount unmounts a drive the service mounted.
func (c *Client) Unmount(uuid string, opts Options) error {
	return c.err(c.call(dbusapi.DrivePath(uuid), dbusapi.DriveInterface+".Unmount", opts.variant()))
}

// Cancel cancels a job.
func (c *Client) Cancel(job dbus.ObjectPath, opts Options) error {
	return c.err(c.call(job, dbusapi.JobInterface+".Cancel", opts.variant()))
}

// Wait follows a job until it completes, calling progress (if not nil) on
// each change, and returns its final state; a failed job's error is
// returned as a named error.
func (c *Client) Wait(ctx context.Context, path dbus.ObjectPath, progress func(Job)) (Job, error) {
	rules := []dbus.MatchOption{dbus.WithMatchObjectPath(path)}
	if err := c.conn.AddMatchSignal(rules...); err != nil {
		return Job{}, fmt.Errorf("watch job: %w", err)
	}
	defer c.conn.RemoveMatchSignal(rules...)
	ch := make(chan *dbus.Signal, 64)
	c.conn.Signal(ch)
	defer c.conn.RemoveSignal(ch)
	// Read after subscribing, so a job finishing in between is not missed.
	j, err := c.Job(path)
	if err != nil {
		return j, err
	}
	// The job is over when it was already finished on the first read, or
	// with its Completed signal, which carries the outcome.
	for done := j.Finished; !done; {
		if progress != nil {
			progress(j)
		}
		select {
		case <-ctx.Done():
			return j, ctx.Err()
		case s, ok := <-ch:
			if !ok || s == nil {
				// The connection closed (the bus or the service went away).
				return j, kerr.New(kerr.NotFound, "lost the connection to the backup service while following job %s", path)
			}
			if s.Path != path {
				continue
			}
			switch s.Name {
			case dbusapi.PropertiesInterface + ".PropertiesChanged":
				if len(s.Body) >= 2 {
					if m, ok := s.Body[1].(map[string]dbus.Variant); ok {
						decode(m, &j)
					}
				}
			case dbusapi.JobInterface + ".Completed":
				if len(s.Body) == 3 {
					done, j.Finished = true, true
					j.ErrorName, _ = s.Body[1].(string)
					j.Message, _ = s.Body[2].(string)
				}
			}
		}
	}
	if progress != nil {
		progress(j)
	}
	if j.ErrorName != "" {
		return j, dbusapi.FromDBus(dbus.Error{Name: j.ErrorName, Body: []any{j.Message}})
	}
	return j, nil
}

// ProfilePath and JobPath name objects (see dbusapi).
func ProfilePath(name string) dbus.ObjectPath { return dbusapi.ProfilePath(name) }
func JobPath(n uint64) dbus.ObjectPath        { return dbusapi.JobPath(n) }

// Jobs lists running and recently finished jobs, oldest first.
func (c *Client) Jobs() ([]Job, error) {
	objs, err := c.objects()
	if err != nil {
		return nil, err
	}
	return jobsOf(objs)
}

// Drive reads one drive by filesystem UUID.
func (c *Client) Drive(uuid string) (Drive, error) {
	d := Drive{Path: dbusapi.DrivePath(uuid)}
	err := c.props(d.Path, dbusapi.DriveInterface, &d)
	if kerr.Is(err, kerr.NotFound) {
		return d, kerr.Wrap(kerr.DriveNotFound, err, "no drive %s", uuid)
	}
	return d, err
}

// Flatpaks lists the Flatpak apps and runtimes a snapshot recorded, with
// what is installed now.
func (c *Client) Flatpaks(profile, snapshot string, opts Options) ([]Dict, error) {
	return c.query(dbusapi.ProfilePath(profile), pi("ListFlatpaks"), snapshot, opts.variant())
}

// RestoreFlatpaks starts reinstalling a snapshot's apps (all if refs is empty).
func (c *Client) RestoreFlatpaks(profile, snapshot string, refs []string, opts Options) (dbus.ObjectPath, error) {
	if refs == nil {
		refs = []string{}
	}
	return c.job(dbusapi.ProfilePath(profile), pi("RestoreFlatpaks"), snapshot, refs, opts.variant())
}

// RestoreAppData starts rolling one app's data back to a snapshot.
func (c *Client) RestoreAppData(profile, snapshot, appID string, opts Options) (dbus.ObjectPath, error) {
	return c.job(dbusapi.ProfilePath(profile), pi("RestoreAppData"), snapshot, appID, opts.variant())
}

// FlatpakOfflineSize estimates the size of an offline copy of the apps.
func (c *Client) FlatpakOfflineSize(profile string, opts Options) (uint64, error) {
	var n uint64
	call := c.call(dbusapi.ProfilePath(profile), pi("FlatpakOfflineSize"), opts.variant())
	if err := c.err(call); err != nil {
		return 0, err
	}
	return n, call.Store(&n)
}
