package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/dbusapi"
	"github.com/keepsake/keepsake/shared/kerr"
)

// Client talks to keepsaked.
type Client struct {
	conn *dbus.Conn
	own  bool
}

// notRunning is the message of every ServiceNotRunning error the client
// makes for a call that nothing answered.
const notRunning = "the Keepsake service (keepsaked) is not running: start it with `systemctl start keepsake`"

// Connect opens a private connection to the system bus
// (DBUS_SYSTEM_BUS_ADDRESS is honoured). A bus that cannot be reached is
// a ServiceNotRunning error: nothing can answer for the service.
func Connect() (*Client, error) {
	conn, err := dbus.ConnectSystemBus()
	if err != nil {
		return nil, kerr.Wrap(kerr.ServiceNotRunning, err, "cannot reach the system bus")
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

func (c *Client) call(ctx context.Context, path dbus.ObjectPath, method string, args ...any) *dbus.Call {
	return c.conn.Object(dbusapi.BusName, path).CallWithContext(ctx, method, 0, args...)
}

// err turns a call's error into a named one. Nothing answering for the
// service (the bus says so, or the connection to the bus broke) is
// ServiceNotRunning; the end of ctx stays the context's error.
func (c *Client) err(call *dbus.Call) error {
	return callError(call.Err)
}

func callError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if connectionLost(err) {
		return kerr.Wrap(kerr.ServiceNotRunning, err, "lost the connection to the system bus")
	}
	err = dbusapi.FromDBus(err)
	if kerr.Is(err, kerr.ServiceNotRunning) {
		return kerr.New(kerr.ServiceNotRunning, notRunning)
	}
	return err
}

// connectionLost says whether a call failed because the connection to
// the bus is gone (closed, or its socket broke) rather than with an
// answer.
func connectionLost(err error) bool {
	var ne net.Error
	return errors.Is(err, dbus.ErrClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) || errors.As(err, &ne)
}

func (c *Client) props(ctx context.Context, path dbus.ObjectPath, iface string, dst any) error {
	var m map[string]dbus.Variant
	call := c.call(ctx, path, dbusapi.PropertiesInterface+".GetAll", iface)
	if err := c.err(call); err != nil {
		return err
	}
	if err := call.Store(&m); err != nil {
		return err
	}
	return decode(m, dst)
}

// Manager reads the Manager's properties.
func (c *Client) Manager(ctx context.Context) (Manager, error) {
	var m Manager
	return m, c.props(ctx, dbusapi.ManagerPath, dbusapi.ManagerInterface, &m)
}

// objects returns GetManagedObjects.
func (c *Client) objects(ctx context.Context) (map[dbus.ObjectPath]map[string]map[string]dbus.Variant, error) {
	var out map[dbus.ObjectPath]map[string]map[string]dbus.Variant
	call := c.call(ctx, dbusapi.RootPath, dbusapi.ObjectManagerInterface+".GetManagedObjects")
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
func (c *Client) Profiles(ctx context.Context) ([]Profile, error) {
	objs, err := c.objects(ctx)
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
func (c *Client) Objects(ctx context.Context) (Objects, error) {
	var o Objects
	objs, err := c.objects(ctx)
	if err != nil {
		return o, err
	}
	if props, ok := objs[dbusapi.ManagerPath][dbusapi.ManagerInterface]; ok {
		err = decode(props, &o.Manager)
	} else {
		o.Manager, err = c.Manager(ctx)
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
func (c *Client) Profile(ctx context.Context, name string) (Profile, error) {
	p := Profile{Path: dbusapi.ProfilePath(name)}
	err := c.props(ctx, p.Path, dbusapi.ProfileInterface, &p)
	if kerr.Is(err, kerr.NotFound) {
		return p, kerr.Wrap(kerr.NotFound, err, "no profile %q", name)
	}
	return p, err
}

// Drives lists every known drive.
func (c *Client) Drives(ctx context.Context) ([]Drive, error) {
	objs, err := c.objects(ctx)
	if err != nil {
		return nil, err
	}
	return drivesOf(objs)
}

// Job reads a job's properties.
func (c *Client) Job(ctx context.Context, path dbus.ObjectPath) (Job, error) {
	j := Job{Path: path}
	return j, c.props(ctx, path, dbusapi.JobInterface, &j)
}

// CreateProfile makes a profile with the settings given (nil fields are
// the service's defaults).
func (c *Client) CreateProfile(ctx context.Context, name string, settings api.Settings, opts api.Auth) (dbus.ObjectPath, error) {
	var p dbus.ObjectPath
	call := c.call(ctx, dbusapi.ManagerPath, dbusapi.ManagerInterface+".CreateProfile", name, api.ToDict(settings), api.ToOptions(opts))
	if err := c.err(call); err != nil {
		return "", err
	}
	return p, call.Store(&p)
}

// Reload asks the service to re-read its configuration file.
func (c *Client) Reload(ctx context.Context, opts api.Auth) error {
	return c.err(c.call(ctx, dbusapi.ManagerPath, dbusapi.ManagerInterface+".Reload", api.ToOptions(opts)))
}

// Status is Manager.GetStatus: each profile's state.
func (c *Client) Status(ctx context.Context, opts api.Auth) ([]api.Status, error) {
	return query[api.Status](ctx, c, dbusapi.ManagerPath, dbusapi.ManagerInterface+".GetStatus", api.ToOptions(opts))
}

// query makes a call whose answer is an aa{sv} of T.
func query[T any](ctx context.Context, c *Client, path dbus.ObjectPath, method string, args ...any) ([]T, error) {
	var out []api.Dict
	call := c.call(ctx, path, method, args...)
	if err := c.err(call); err != nil {
		return nil, err
	}
	if err := call.Store(&out); err != nil {
		return nil, err
	}
	ts, err := api.FromDicts[T](out)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	return ts, nil
}

func (c *Client) job(ctx context.Context, path dbus.ObjectPath, method string, args ...any) (dbus.ObjectPath, error) {
	var j dbus.ObjectPath
	call := c.call(ctx, path, method, args...)
	if err := c.err(call); err != nil {
		return "", err
	}
	return j, call.Store(&j)
}

func pi(m string) string { return dbusapi.ProfileInterface + "." + m }

// BackupNow starts a backup of the profile and returns its job.
func (c *Client) BackupNow(ctx context.Context, profile string, opts api.BackupOptions) (dbus.ObjectPath, error) {
	return c.job(ctx, dbusapi.ProfilePath(profile), pi("BackupNow"), api.ToOptions(opts))
}

// Configure changes the profile's settings that are not nil.
func (c *Client) Configure(ctx context.Context, profile string, settings api.Settings, opts api.Auth) error {
	return c.err(c.call(ctx, dbusapi.ProfilePath(profile), pi("Configure"), api.ToDict(settings), api.ToOptions(opts)))
}

// AddSource adds a folder to a profile.
func (c *Client) AddSource(ctx context.Context, profile, path string, opts api.Auth) error {
	return c.err(c.call(ctx, dbusapi.ProfilePath(profile), pi("AddSource"), api.EncodePath(path), api.ToOptions(opts)))
}

// RemoveSource removes a folder from a profile.
func (c *Client) RemoveSource(ctx context.Context, profile, path string, opts api.Auth) error {
	return c.err(c.call(ctx, dbusapi.ProfilePath(profile), pi("RemoveSource"), api.EncodePath(path), api.ToOptions(opts)))
}

// DeleteProfile forgets a profile (its snapshots stay on the drive).
func (c *Client) DeleteProfile(ctx context.Context, profile string, opts api.Auth) error {
	return c.err(c.call(ctx, dbusapi.ProfilePath(profile), pi("Delete"), api.ToOptions(opts)))
}

// RemoteKey is Manager.GetRemoteKey: the authorized_keys line another
// computer needs so that the service may back it up.
func (c *Client) RemoteKey(ctx context.Context, opts api.RemoteKeyOptions) (string, error) {
	var line string
	call := c.call(ctx, dbusapi.ManagerPath, dbusapi.ManagerInterface+".GetRemoteKey", api.ToOptions(opts))
	if err := c.err(call); err != nil {
		return "", err
	}
	if err := call.Store(&line); err != nil {
		return "", err
	}
	return line, nil
}

// ScanHostKeys asks the profile's computer for its ssh host keys; state is
// "new", "accepted" or "changed".
func (c *Client) ScanHostKeys(ctx context.Context, profile string, opts api.Auth) ([]api.HostKey, string, error) {
	var dicts []api.Dict
	var state string
	call := c.call(ctx, dbusapi.ProfilePath(profile), pi("ScanHostKeys"), api.ToOptions(opts))
	if err := c.err(call); err != nil {
		return nil, "", err
	}
	if err := call.Store(&dicts, &state); err != nil {
		return nil, "", err
	}
	keys, err := api.FromDicts[api.HostKey](dicts)
	return keys, state, err
}

// AcceptHostKey trusts the profile's computer's key with this fingerprint.
func (c *Client) AcceptHostKey(ctx context.Context, profile, fingerprint string, opts api.Auth) error {
	return c.err(c.call(ctx, dbusapi.ProfilePath(profile), pi("AcceptHostKey"), fingerprint, api.ToOptions(opts)))
}

// Snapshots lists a profile's snapshots.
func (c *Client) Snapshots(ctx context.Context, profile string, opts api.ListOptions) ([]api.Snapshot, error) {
	return query[api.Snapshot](ctx, c, dbusapi.ProfilePath(profile), pi("ListSnapshots"), api.ToOptions(opts))
}

// List lists a folder of a snapshot.
func (c *Client) List(ctx context.Context, profile, snapshot, dir string, opts api.ListOptions) ([]api.Entry, error) {
	return query[api.Entry](ctx, c, dbusapi.ProfilePath(profile), pi("ListDirectory"), snapshot, api.EncodePath(dir), api.ToOptions(opts))
}

// Search finds files by name in every snapshot.
func (c *Client) Search(ctx context.Context, profile, pattern string, opts api.SearchOptions) ([]api.SearchHit, error) {
	return query[api.SearchHit](ctx, c, dbusapi.ProfilePath(profile), pi("Search"), pattern, api.ToOptions(opts))
}

// Versions lists a file's distinct versions.
func (c *Client) Versions(ctx context.Context, profile, path string, opts api.ListOptions) ([]api.Version, error) {
	return query[api.Version](ctx, c, dbusapi.ProfilePath(profile), pi("Versions"), api.EncodePath(path), api.ToOptions(opts))
}

// Deleted lists files gone from a folder.
func (c *Client) Deleted(ctx context.Context, profile, dir string, opts api.DeletedOptions) ([]api.DeletedFile, error) {
	return query[api.DeletedFile](ctx, c, dbusapi.ProfilePath(profile), pi("Deleted"), api.EncodePath(dir), api.ToOptions(opts))
}

// Restore starts restoring paths of a snapshot.
func (c *Client) Restore(ctx context.Context, profile, snapshot string, paths []string, opts api.RestoreOptions) (dbus.ObjectPath, error) {
	return c.job(ctx, dbusapi.ProfilePath(profile), pi("Restore"), snapshot, api.EncodePaths(paths), api.ToOptions(opts))
}

// Prune starts a prune.
func (c *Client) Prune(ctx context.Context, profile string, opts api.PruneOptions) (dbus.ObjectPath, error) {
	return c.job(ctx, dbusapi.ProfilePath(profile), pi("Prune"), api.ToOptions(opts))
}

// Verify starts a verification.
func (c *Client) Verify(ctx context.Context, profile string, opts api.VerifyOptions) (dbus.ObjectPath, error) {
	return c.job(ctx, dbusapi.ProfilePath(profile), pi("Verify"), api.ToOptions(opts))
}

// EnrollOptions are Drive.Enroll's options.
type EnrollOptions struct {
	api.Auth
	// Profile, when not empty, is the name of the profile whose drive
	// this becomes.
	Profile string
}

// dict is the options as the call carries them ("profile" is an object
// path, a type the api structs do not carry).
func (o EnrollOptions) dict() api.Dict {
	m := api.ToOptions(o.Auth)
	if o.Profile != "" {
		m["profile"] = dbus.MakeVariant(dbusapi.ProfilePath(o.Profile))
	}
	return m
}

// Enroll writes a repository to a drive.
func (c *Client) Enroll(ctx context.Context, uuid string, opts EnrollOptions) error {
	return c.err(c.call(ctx, dbusapi.DrivePath(uuid), dbusapi.DriveInterface+".Enroll", opts.dict()))
}

// Unmount unmounts a drive the service mounted.
func (c *Client) Unmount(ctx context.Context, uuid string, opts api.Auth) error {
	return c.err(c.call(ctx, dbusapi.DrivePath(uuid), dbusapi.DriveInterface+".Unmount", api.ToOptions(opts)))
}

// Unlock unlocks an encrypted drive with its passphrase or recovery key
// (opts.Remember: the service keeps the key and unlocks it by itself).
func (c *Client) Unlock(ctx context.Context, uuid string, opts api.UnlockOptions) error {
	return c.err(c.call(ctx, dbusapi.DrivePath(uuid), dbusapi.DriveInterface+".Unlock", api.ToOptions(opts)))
}

// Lock removes an encrypted drive's key from the kernel.
func (c *Client) Lock(ctx context.Context, uuid string, opts api.Auth) error {
	return c.err(c.call(ctx, dbusapi.DrivePath(uuid), dbusapi.DriveInterface+".Lock", api.ToOptions(opts)))
}

// ChangePassphrase sets an encrypted drive's new passphrase, proven by
// the current one or the recovery key.
func (c *Client) ChangePassphrase(ctx context.Context, uuid string, opts api.ChangePassphraseOptions) error {
	return c.err(c.call(ctx, dbusapi.DrivePath(uuid), dbusapi.DriveInterface+".ChangePassphrase", api.ToOptions(opts)))
}

// ForgetKey deletes the key the service remembers for a drive.
func (c *Client) ForgetKey(ctx context.Context, uuid string, opts api.Auth) error {
	return c.err(c.call(ctx, dbusapi.DrivePath(uuid), dbusapi.DriveInterface+".ForgetKey", api.ToOptions(opts)))
}

// EnrollEncrypted writes an encrypted repository to a drive and returns
// its recovery key, which is shown this once.
func (c *Client) EnrollEncrypted(ctx context.Context, uuid string, opts api.EnrollEncryptedOptions) (string, error) {
	var rk string
	m := api.ToOptions(opts)
	if opts.Profile == "" {
		delete(m, "profile") // "" is no object path; no profile is no key
	}
	call := c.call(ctx, dbusapi.DrivePath(uuid), dbusapi.DriveInterface+".EnrollEncrypted", m)
	if err := c.err(call); err != nil {
		return "", err
	}
	if err := call.Store(&rk); err != nil {
		return "", fmt.Errorf("EnrollEncrypted: %w", err)
	}
	return rk, nil
}

// Cancel cancels a job.
func (c *Client) Cancel(ctx context.Context, job dbus.ObjectPath, opts api.Auth) error {
	return c.err(c.call(ctx, job, dbusapi.JobInterface+".Cancel", api.ToOptions(opts)))
}

// Wait follows a job until it completes, calling progress (if not nil) on
// each change, and returns its final state; a failed job's error is
// returned as a named error. The service leaving the bus meanwhile, or
// the connection closing, is ServiceNotRunning.
func (c *Client) Wait(ctx context.Context, path dbus.ObjectPath, progress func(Job)) (Job, error) {
	rules := []dbus.MatchOption{dbus.WithMatchObjectPath(path)}
	gone := []dbus.MatchOption{dbus.WithMatchSender("org.freedesktop.DBus"), dbus.WithMatchInterface("org.freedesktop.DBus"),
		dbus.WithMatchMember("NameOwnerChanged"), dbus.WithMatchArg(0, dbusapi.BusName)}
	for _, r := range [][]dbus.MatchOption{rules, gone} {
		if err := c.conn.AddMatchSignalContext(ctx, r...); err != nil {
			if err = callError(err); kerr.Is(err, kerr.ServiceNotRunning) || ctx.Err() != nil {
				return Job{Path: path}, err
			}
			return Job{Path: path}, fmt.Errorf("watch job: %w", err)
		}
		defer c.conn.RemoveMatchSignal(r...)
	}
	ch := make(chan *dbus.Signal, 64)
	c.conn.Signal(ch)
	defer c.conn.RemoveSignal(ch)
	lost := func() error {
		return kerr.New(kerr.ServiceNotRunning, "lost the connection to the backup service while following job %s", path)
	}
	// Read after subscribing, so a job finishing in between is not missed.
	j, err := c.Job(ctx, path)
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
				return j, lost() // the connection closed
			}
			if ownerGone(s) {
				return j, lost()
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

// ownerGone says whether s is the bus saying the service left it.
func ownerGone(s *dbus.Signal) bool {
	if s.Name != "org.freedesktop.DBus.NameOwnerChanged" || len(s.Body) != 3 {
		return false
	}
	name, _ := s.Body[0].(string)
	owner, _ := s.Body[2].(string)
	return name == dbusapi.BusName && owner == ""
}

// ProfilePath and JobPath name objects (see dbusapi).
func ProfilePath(name string) dbus.ObjectPath { return dbusapi.ProfilePath(name) }
func JobPath(n uint64) dbus.ObjectPath        { return dbusapi.JobPath(n) }

// Jobs lists running and recently finished jobs, oldest first.
func (c *Client) Jobs(ctx context.Context) ([]Job, error) {
	objs, err := c.objects(ctx)
	if err != nil {
		return nil, err
	}
	return jobsOf(objs)
}

// Drive reads one drive by filesystem UUID.
func (c *Client) Drive(ctx context.Context, uuid string) (Drive, error) {
	d := Drive{Path: dbusapi.DrivePath(uuid)}
	err := c.props(ctx, d.Path, dbusapi.DriveInterface, &d)
	if kerr.Is(err, kerr.NotFound) {
		return d, kerr.Wrap(kerr.DriveNotFound, err, "no drive %s", uuid)
	}
	return d, err
}

// Flatpaks lists the Flatpak apps and runtimes a snapshot recorded, with
// what is installed now.
func (c *Client) Flatpaks(ctx context.Context, profile, snapshot string, opts api.ListOptions) ([]api.FlatpakRef, error) {
	return query[api.FlatpakRef](ctx, c, dbusapi.ProfilePath(profile), pi("ListFlatpaks"), snapshot, api.ToOptions(opts))
}

// RestoreFlatpaks starts reinstalling a snapshot's apps (all if refs is empty).
func (c *Client) RestoreFlatpaks(ctx context.Context, profile, snapshot string, refs []string, opts api.FlatpakRestoreOptions) (dbus.ObjectPath, error) {
	if refs == nil {
		refs = []string{}
	}
	return c.job(ctx, dbusapi.ProfilePath(profile), pi("RestoreFlatpaks"), snapshot, refs, api.ToOptions(opts))
}

// RestoreAppData starts rolling one app's data back to a snapshot.
func (c *Client) RestoreAppData(ctx context.Context, profile, snapshot, appID string, opts api.AppDataOptions) (dbus.ObjectPath, error) {
	return c.job(ctx, dbusapi.ProfilePath(profile), pi("RestoreAppData"), snapshot, appID, api.ToOptions(opts))
}

// FlatpakOfflineSize estimates the size of an offline copy of the apps.
func (c *Client) FlatpakOfflineSize(ctx context.Context, profile string, opts api.Auth) (uint64, error) {
	var n uint64
	call := c.call(ctx, dbusapi.ProfilePath(profile), pi("FlatpakOfflineSize"), api.ToOptions(opts))
	if err := c.err(call); err != nil {
		return 0, err
	}
	return n, call.Store(&n)
}

// DescribeDevice says what erasing a block device (e.g. /dev/sdb) would
// destroy, with the token PrepareDrive needs; a device that may not be
// erased fails with the reason (SystemDisk, DeviceInUse, NotWholeDisk,
// NotRemovable, DriveNotFound).
func (c *Client) DescribeDevice(ctx context.Context, device string, opts api.Auth) (api.DeviceInfo, error) {
	var d api.DeviceInfo
	var out api.Dict
	call := c.call(ctx, dbusapi.ManagerPath, dbusapi.ManagerInterface+".DescribeDevice", device, api.ToOptions(opts))
	if err := c.err(call); err != nil {
		return d, err
	}
	if err := call.Store(&out); err != nil {
		return d, err
	}
	if err := api.FromDict(out, &d); err != nil {
		return d, fmt.Errorf("DescribeDevice: %w", err)
	}
	return d, nil
}

// PrepareDrive starts erasing a drive and making it a backup drive;
// opts.Confirm is DescribeDevice's token. Follow the job with Wait and
// read its PrepareResult.
func (c *Client) PrepareDrive(ctx context.Context, device string, opts api.PrepareOptions) (dbus.ObjectPath, error) {
	return c.job(ctx, dbusapi.ManagerPath, dbusapi.ManagerInterface+".PrepareDrive", device, api.ToOptions(opts))
}
