package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/service/config"
	"github.com/keepsake/keepsake/service/state"
	"github.com/keepsake/keepsake/service/usecase"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/dbusapi"
	"github.com/keepsake/keepsake/shared/kerr"
)

// Other computers: a profile whose sources are ssh:// addresses is pulled
// with rsync over ssh by the service's own key, when it is due and the
// computer answers.

// trust is the service's ssh key and accepted host keys.
func (d *Daemon) trust() usecase.Trust { return usecase.Trust{Dir: d.opts.StateDir} }

// GetRemoteKey returns the authorized_keys line for another computer.
func (h *managerHandler) GetRemoteKey(sender dbus.Sender, options map[string]dbus.Variant) (string, *dbus.Error) {
	d := h.d
	var o api.RemoteKeyOptions
	c, err := d.identify(sender)
	if err == nil {
		err = api.FromOptions(options, &o)
	}
	if err == nil {
		err = d.authorize(c, dbusapi.ActionConfigure, options)
	}
	if err != nil {
		return "", d.callErr("GetRemoteKey", err)
	}
	line, err := d.trust().KeyLine(o.WriteDir)
	return line, d.callErr("GetRemoteKey", err)
}

// remoteOf is the other computer a profile backs up.
func remoteOf(pc config.Profile) (usecase.Remote, error) {
	r, ok, err := pc.Remote()
	if err == nil && !ok {
		err = kerr.New(kerr.InvalidArgs, "profile %s backs up folders of this computer, not another computer", pc.Name)
	}
	return r, err
}

// ScanHostKeys shows the host keys the profile's computer offers.
func (h *profileHandler) ScanHostKeys(sender dbus.Sender, options map[string]dbus.Variant) ([]map[string]dbus.Variant, string, *dbus.Error) {
	d := h.d
	_, p, err := d.enterWith(sender, h.name, options, &api.Auth{}, dbusapi.ActionConfigure)
	if err != nil {
		return nil, "", d.callErr("ScanHostKeys", err)
	}
	r, err := remoteOf(p.config())
	if err != nil {
		return nil, "", d.callErr("ScanHostKeys", err)
	}
	keys, st, err := d.trust().HostKeys(context.Background(), r)
	if err != nil {
		return nil, "", d.callErr("ScanHostKeys", err)
	}
	p.setHostKey(string(st))
	out := []api.HostKey{}
	for _, k := range keys {
		out = append(out, api.HostKey{Type: k.Type, Fingerprint: k.Fingerprint})
	}
	return api.ToDicts(out), string(st), nil
}

// AcceptHostKey trusts the computer's key with this fingerprint.
func (h *profileHandler) AcceptHostKey(sender dbus.Sender, fingerprint string, options map[string]dbus.Variant) *dbus.Error {
	d := h.d
	_, p, err := d.enterWith(sender, h.name, options, &api.Auth{}, dbusapi.ActionConfigure)
	if err != nil {
		return d.callErr("AcceptHostKey", err)
	}
	r, err := remoteOf(p.config())
	if err != nil {
		return d.callErr("AcceptHostKey", err)
	}
	if err := d.trust().AcceptHostKey(context.Background(), r, fingerprint); err != nil {
		return d.callErr("AcceptHostKey", err)
	}
	name := p.config().Name
	d.logf("profile %s: host key %s of %s accepted", name, fingerprint, r.Address())
	// The key was what stopped its pulls: they were not failures to back
	// off from, and the computer is probed again at once.
	d.store.UpdateProfile(name, func(s *state.ProfileState) {
		if s.LastResult == kerr.HostKeyUnknown || s.LastResult == kerr.HostKeyChanged {
			s.Failures = 0
		}
	})
	p.mu.Lock()
	p.lastProbe = time.Time{}
	p.mu.Unlock()
	p.setHostKey(string(usecase.HostKeyAccepted))
	d.poke() // a computer waiting for its key may be due now
	return nil
}

// setHostKey remembers what the service last learnt of the computer's key.
func (p *profile) setHostKey(s string) {
	p.mu.Lock()
	p.hostKey = s
	p.mu.Unlock()
	p.publish()
}

// hostKeyState is the HostKey property: what the last scan or pull said,
// else whether a key is accepted at all.
func (p *profile) hostKeyState(pc config.Profile) string {
	r, ok, err := pc.Remote()
	if err != nil || !ok {
		return ""
	}
	p.mu.Lock()
	s := p.hostKey
	p.mu.Unlock()
	if s != "" {
		return s
	}
	// Read known_hosts once per profile, not at every refresh of the
	// properties (each tick): only the service changes it, and it says so
	// with setHostKey.
	s = string(usecase.HostKeyNew)
	if p.d.trust().HasHostKey(r) {
		s = string(usecase.HostKeyAccepted)
	}
	p.mu.Lock()
	if p.hostKey == "" {
		p.hostKey = s
	}
	p.mu.Unlock()
	return s
}

// viewAs is the caller for a query of the profile's files.
func (d *Daemon) viewAs(c caller, p *profile, options map[string]dbus.Variant) (usecase.Caller, error) {
	pc := p.config()
	if pc.HostName() != "" {
		return usecase.RemoteViewer(c.uc(false), pc, func() error { return d.authorize(c, dbusapi.ActionBrowseAll, options) })
	}
	all, err := d.seesAll(c, options)
	if err != nil {
		return usecase.Caller{}, err
	}
	return c.uc(all), nil
}

// probeRemote asks, off the scheduler's goroutine, whether a due computer
// answers on its ssh port, and backs it up when it does. A computer away
// from the network is not a failure (no retry back-off): it is tried again
// at the next probe, so a laptop that comes home is backed up within
// minutes.
func (d *Daemon) probeRemote(p *profile, pc config.Profile, trigger string) {
	p.mu.Lock()
	if p.probing || time.Since(p.lastProbe) < d.opts.RemoteProbe {
		p.mu.Unlock()
		return
	}
	p.probing, p.lastProbe = true, time.Now()
	p.mu.Unlock()
	go func() {
		defer func() {
			p.mu.Lock()
			p.probing = false
			p.mu.Unlock()
		}()
		r, err := remoteOf(pc)
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), d.opts.RemoteProbeTimeout)
			err = usecase.ReachableWithin(ctx, r, d.opts.RemoteProbeTimeout)
			cancel()
		}
		if err != nil {
			now := time.Now()
			d.store.UpdateProfile(pc.Name, func(s *state.ProfileState) {
				s.LastAttempt = now
				s.LastResult, s.LastMessage = kerr.NameOf(err), err.Error()
			})
			p.publish()
			d.writeStatus()
			return
		}
		if _, err := d.startBackup(p, trigger, 0, false); err != nil && !kerr.Is(err, kerr.Busy) {
			d.logf("profile %s: %s backup: %v", pc.Name, trigger, err)
		}
	}()
}

// sender sends restores into the profile's restore-to folder on the
// other computer.
func (d *Daemon) sender(p *profile) (*usecase.Sender, error) {
	pc := p.config()
	to, ok := pc.RestoreTarget()
	if !ok {
		return nil, kerr.New(kerr.InvalidArgs, "profile %s has no folder on the other computer to send restores to: an administrator sets restore-to (Configure)", pc.Name)
	}
	return d.trust().Send(to)
}

// pull is the body of a backup job of another computer: with its host key
// checked, rsync over ssh into a new snapshot of its own host folder,
// indexed and linked like a local backup, then its own retention.
func (d *Daemon) pull(j *job, p *profile, pc config.Profile, r usecase.Remote, drv *usecase.Drive, minFree int64) (api.BackupResult, error) {
	host := pc.HostName()
	j.phase("reaching " + r.Address())
	if err := usecase.ReachableWithin(j.ctx, r, d.opts.RemoteProbeTimeout); err != nil {
		return api.BackupResult{}, err
	}
	fetch, err := d.trust().Fetch(r)
	if err != nil {
		return api.BackupResult{}, err
	}
	j.phase("pulling " + r.Address())
	sum, res, err := drv.Backup(j.ctx, usecase.PullRequest(usecase.BackupRequest{
		Host:     host,
		Actor:    usecase.Actor{UID: int(j.uid), User: fmt.Sprintf("keepsaked (%s of %s)", j.op, host)},
		MinFree:  minFree,
		Progress: j.progress,
	}, r, fetch))
	switch {
	case kerr.Is(err, kerr.HostKeyChanged):
		p.setHostKey(string(usecase.HostKeyDifferent))
	case kerr.Is(err, kerr.HostKeyUnknown):
		p.setHostKey(string(usecase.HostKeyNew))
	case err == nil:
		p.setHostKey(string(usecase.HostKeyAccepted))
	}
	if err != nil {
		return api.BackupResult{}, err
	}
	for _, w := range res.Warnings {
		d.logf("profile %s: %s: %s", pc.Name, w.Path, w.Message)
	}
	j.setResult(api.ToDict(sum))
	j.phase("pruning")
	if err := drv.Prune(j.ctx, host, usecase.Actor{UID: 0, User: "keepsaked (retention)"}); err != nil {
		d.logf("profile %s: prune after backup: %v", pc.Name, err)
	}
	return sum, nil
}

// driveTurn is the queue of backup jobs for one drive.
type driveTurn struct {
	slot   chan struct{} // holds a token while a job writes
	holder string        // the profile writing, for the others' phase
}

// takeTurn waits until no other backup job of this service writes to the
// drive, saying in the job's phase whose turn it is, and returns what
// ends this job's turn. Cancelling the job stops the wait.
func (d *Daemon) takeTurn(j *job, uuid string) (func(), error) {
	d.writersMu.Lock()
	if d.writers == nil {
		d.writers = map[string]*driveTurn{}
	}
	t := d.writers[uuid]
	if t == nil {
		t = &driveTurn{slot: make(chan struct{}, 1)}
		d.writers[uuid] = t
	}
	d.writersMu.Unlock()
	select {
	case t.slot <- struct{}{}:
	default:
		d.writersMu.Lock()
		holder := t.holder
		d.writersMu.Unlock()
		j.phase("waiting for the backup of " + holder + " to finish")
		select {
		case t.slot <- struct{}{}:
		case <-j.ctx.Done():
			return nil, kerr.Wrap(kerr.Cancelled, j.ctx.Err(), "backup cancelled while waiting for the drive")
		}
	}
	d.writersMu.Lock()
	t.holder = j.profile
	d.writersMu.Unlock()
	return func() { <-t.slot }, nil
}

// driveBusy says whether a job of any profile is writing to the drive.
func (d *Daemon) driveBusy(uuid string) bool {
	for _, p := range d.profileList() {
		p.mu.Lock()
		busy := p.job != nil && !p.job.finished() && p.cfg.Drive == uuid
		p.mu.Unlock()
		if busy {
			return true
		}
	}
	return false
}
