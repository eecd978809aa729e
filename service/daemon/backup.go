package daemon

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/keepsake/keepsake/service/config"
	"github.com/keepsake/keepsake/service/schedule"
	"github.com/keepsake/keepsake/service/state"
	"github.com/keepsake/keepsake/service/status"
	"github.com/keepsake/keepsake/service/usecase"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/kerr"
)

// dailyRescan: even with a watcher, read everything once a day, so a
// change inotify cannot see (another machine writing to a network home,
// a missed event) is not missed for long.
const dailyRescan = 24 * time.Hour

// startBackup starts a backup job of p, or fails with Busy when one runs.
func (d *Daemon) startBackup(p *profile, trigger string, uid uint32, full bool) (*job, error) {
	pc := p.config()
	if len(pc.Sources) == 0 {
		return nil, kerr.New(kerr.InvalidArgs, "profile %s has no folders to back up: add one first", pc.Name)
	}
	if pc.Drive == "" {
		return nil, kerr.New(kerr.DriveNotFound, "profile %s has no backup drive yet: choose (enroll) one first", pc.Name)
	}
	p.mu.Lock()
	if p.job != nil && !p.job.finished() {
		p.mu.Unlock()
		return nil, kerr.New(kerr.Busy, "a %s of profile %s is already running", p.job.op, pc.Name)
	}
	// Reserve the slot before the job exists so two callers cannot both start.
	p.job = &job{op: "backup", done: make(chan struct{})}
	p.mu.Unlock()
	j, err := d.startJob("backup", pc.Name, trigger, uid, func(j *job) (string, error) {
		return d.runBackup(j, p, pc, full)
	})
	p.mu.Lock()
	if err != nil {
		p.job = nil
	} else {
		p.job = j
	}
	p.mu.Unlock()
	p.publish()
	return j, err
}

// runBackup is the body of a backup job.
func (d *Daemon) runBackup(j *job, p *profile, pc config.Profile, full bool) (msg string, err error) {
	started := time.Now()
	var out api.BackupResult
	defer func() {
		err = j.causeOf(err)
		d.finishBackup(p, pc, started, out, err)
	}()
	dr, ok := d.lookupDrive(pc.Drive)
	if !ok {
		return "", kerr.New(kerr.DriveNotFound, "the backup drive %s has never been seen: plug it in", pc.Drive)
	}
	j.phase("mounting")
	mp, release, err := dr.acquire()
	if err != nil {
		return "", err
	}
	defer func() {
		j.phase("unmounting")
		release()
	}()
	leave, err := d.takeTurn(j, pc.Drive)
	if err != nil {
		return "", err
	}
	defer leave()
	drv, err := usecase.OpenDrive(mp)
	if kerr.Is(err, kerr.Locked) {
		return "", d.lockedDrive(dr, err)
	}
	if err != nil {
		return "", err
	}
	policy, err := config.RetentionPolicy(pc.Retention)
	if err != nil {
		return "", err
	}
	if err := drv.ApplyPolicy(policy, usecase.Actor{UID: 0, User: "keepsaked (profile " + pc.Name + ")"}); err != nil {
		return "", err
	}
	minFree, _ := drv.MinFreeBytes(pc.MinFree) // a bad text was refused when it was set

	if r, remote, _ := pc.Remote(); remote {
		out, err = d.pull(j, p, pc, r, drv, minFree)
		msg = out.Snapshot
		switch kerr.NameOf(err) {
		case kerr.HostUnreachable, kerr.HostKeyUnknown, kerr.HostKeyChanged, kerr.RemoteRefused, "":
			// the other computer's side, or no error
		default:
			err = d.explainFailure(err, mp, pc.Drive)
		}
		return msg, err
	}
	p.mu.Lock()
	w := p.watcher
	dailyDue := time.Since(p.lastFull) > dailyRescan
	p.changed = false
	p.mu.Unlock()
	var changed, changedNames []string
	var token uint64
	useJournal := false
	if w != nil && !full && !dailyDue {
		c := w.Changes()
		token = c.Token
		if !c.Full {
			changed, changedNames, useJournal = c.Dirs, c.Names, true
			if changed == nil {
				changed = []string{}
			}
		}
	} else if w != nil {
		token = w.Changes().Token
	}

	var fp usecase.FlatpakRecord
	if pc.Flatpak {
		j.phase("recording Flatpak apps")
		fp = usecase.RecordFlatpaks(j.ctx, pc.Sources, d.flatpakOptions())
		for _, w := range fp.Warnings {
			d.logf("profile %s: %s", pc.Name, w)
		}
	}

	j.phase("backing up")
	sum, _, err := drv.Backup(j.ctx, usecase.BackupRequest{
		Extras:        fp.Extras(),
		Host:          d.opts.Host,
		Sources:       pc.Sources,
		Excludes:      pc.Excludes,
		IncludeMounts: pc.IncludeMounts,
		ChangedDirs:   changed,
		ChangedNames:  changedNames,
		Actor:         usecase.Actor{UID: int(j.uid), User: fmt.Sprintf("keepsaked (%s)", j.op)},
		MinFree:       minFree,
		Progress:      j.progress,
	})
	if err != nil {
		return "", d.explainFailure(err, mp, pc.Drive)
	}
	out = sum
	j.setResult(api.ToDict(sum))
	if w != nil {
		if err := w.Commit(token, !useJournal); err != nil {
			d.logf("profile %s: journal: %v", pc.Name, err)
		}
	}
	if !useJournal {
		p.mu.Lock()
		p.lastFull = time.Now()
		p.mu.Unlock()
	}
	if pc.FlatpakOffline && len(fp.Installations()) > 0 {
		j.phase("updating the offline copy of the Flatpak apps")
		for _, w := range drv.UpdateFlatpakOffline(j.ctx, d.opts.Host, fp, d.flatpakOptions()) {
			d.logf("profile %s: %s", pc.Name, w)
		}
	}
	j.phase("pruning")
	if err := drv.Prune(j.ctx, d.opts.Host, usecase.Actor{UID: 0, User: "keepsaked (retention)"}); err != nil {
		// The backup is safe on the drive; a failed prune is said, not fatal.
		d.logf("profile %s: prune after backup: %v", pc.Name, err)
	}
	return sum.Snapshot, nil
}

// PartialResult is the result, in the status files and to the on-failure
// command, of a backup that completed but could not take some entries.
const PartialResult = "partial"

// finishBackup records the outcome, writes the status files and runs the
// on-failure command.
func (d *Daemon) finishBackup(p *profile, pc config.Profile, started time.Time, out api.BackupResult, err error) {
	var errName kerr.Name
	msg := ""
	if err != nil {
		errName, msg = kerr.NameOf(err), err.Error()
	}
	d.store.UpdateProfile(pc.Name, func(s *state.ProfileState) {
		s.LastAttempt = started
		s.LastResult, s.LastMessage = errName, msg
		if err == nil {
			s.LastSuccess = started
			s.LastSnapshot = out.Snapshot
			s.Failures = 0
			s.LastReceived = int64(out.Received)
			s.Problems, s.ProblemCount = out.Problems, int(out.ProblemCount)
			s.SkippedMounts = nil
			for _, m := range out.SkippedMounts {
				s.SkippedMounts = append(s.SkippedMounts, string(m))
			}
		} else if !kerr.Is(err, kerr.Cancelled) {
			s.Failures++
		}
	})
	// One line per backup in the service's log (the journal): what an
	// administrator reads first when a backup is missing something.
	if err != nil {
		d.logf("profile %s: backup failed: %s: %s", pc.Name, errName, msg)
	} else {
		how := "the watcher's changes"
		switch {
		case pc.HostName() != "":
			how = "a pull from " + pc.HostName()
		case out.FullScan:
			how = "a full scan"
		}
		d.logf("profile %s: backup %s by %s: %d new, %d modified, %d deleted, %d moved; %d folders read, %d patched, %d carried",
			pc.Name, out.Snapshot, how, out.New, out.Modified, out.Deleted, out.Moved, out.ReadDirs, out.PatchedDirs, out.ReusedDirs)
	}
	p.publish()
	d.writeStatus()
	partial := err == nil && len(out.Problems) > 0
	if partial {
		// A backup that left entries out completed, but someone should
		// look: the hook hears of it as the result "partial".
		errName, msg = PartialResult, fmt.Sprintf("%d files or folders could not be backed up, e.g. %s", out.ProblemCount, out.Problems[0])
	}
	if (err != nil && !kerr.Is(err, kerr.Cancelled)) || partial {
		d.mu.Lock()
		cmd := d.cfg.OnFailure
		d.mu.Unlock()
		if cmd != "" {
			go func() {
				for _, s := range d.statusList() {
					if s.Name == pc.Name {
						if e := status.RunOnFailure(context.Background(), cmd, s, string(errName), msg); e != nil {
							d.logf("on-failure command: %v", e)
						}
					}
				}
			}()
		}
	}
	d.poke()
}

// schedule starts the backups that are due.
func (d *Daemon) schedule(now time.Time) {
	onBattery := d.onBattery()
	for _, p := range d.profileList() {
		pc := p.config()
		p.mu.Lock()
		running := p.job != nil && !p.job.finished()
		changed := p.changed
		p.mu.Unlock()
		if running || pc.Drive == "" || len(pc.Sources) == 0 {
			continue
		}
		dr, ok := d.lookupDrive(pc.Drive)
		if !ok {
			continue
		}
		dr.mu.Lock()
		present, plugged := dr.info.Present, dr.justAdded
		dr.mu.Unlock()
		if !present {
			continue
		}
		ps := d.store.Profile(pc.Name)
		trigger := ""
		due := schedule.Due(pc, ps.LastSuccess, now)
		retryOK := ps.Failures == 0 || !now.Before(schedule.Retry(ps.LastAttempt, ps.Failures))
		switch {
		case plugged && pc.OnPlug && (due || changed || pc.Interval == 0 || ps.LastResult != ""):
			// A plug retries a failed backup at once: the drive being
			// away is the usual reason it failed.
			trigger = "plug"
		case due && retryOK && ps.LastAttempt.Before(d.started) && !ps.LastSuccess.IsZero():
			trigger = "missed"
		case due && retryOK:
			trigger = "interval"
		case changed && pc.OnChange && retryOK:
			trigger = "change"
		}
		if trigger == "" {
			continue
		}
		if onBattery && pc.SkipOnBattery && trigger != "plug" {
			continue
		}
		if pc.HostName() != "" {
			// Another computer: one pull at a time per drive, and only
			// once it answers.
			if !d.driveBusy(pc.Drive) {
				d.probeRemote(p, pc, trigger)
			}
			continue
		}
		if _, err := d.startBackup(p, trigger, 0, false); err != nil {
			d.logf("profile %s: %s backup: %v", pc.Name, trigger, err)
		}
	}
	d.mu.Lock()
	var ds []*drive
	for _, dr := range d.drives {
		ds = append(ds, dr)
	}
	d.mu.Unlock()
	for _, dr := range ds {
		// A plug counts once: for the profiles that looked just now.
		dr.mu.Lock()
		dr.justAdded = false
		dr.mu.Unlock()
		dr.publish()
	}
	for _, p := range d.profileList() {
		p.publish()
	}
	d.writeStatus()
}

// onBattery asks UPower, when it runs, whether the machine is on battery.
func (d *Daemon) onBattery() bool {
	obj := d.conn.Object("org.freedesktop.UPower", "/org/freedesktop/UPower")
	v, err := obj.GetProperty("org.freedesktop.UPower.OnBattery")
	if err != nil {
		return false
	}
	b, _ := v.Value().(bool)
	return b
}

// statusList is the state of every profile for the status files.
func (d *Daemon) statusList() []status.Profile {
	out := []status.Profile{} // never nil: "no profiles" is a state to write once
	for _, p := range d.profileList() {
		pc := p.config()
		ps := d.store.Profile(pc.Name)
		result := "ok"
		switch {
		case ps.LastResult != "":
			result = string(ps.LastResult)
		case ps.LastAttempt.IsZero():
			result = "never"
		case ps.ProblemCount > 0:
			result = PartialResult
		}
		msg := ps.LastMessage
		if wp := p.watchProblem(); wp != "" && msg == "" {
			msg = wp
		}
		sp := status.Profile{
			Name: pc.Name, State: p.state().String(), LastSuccess: ps.LastSuccess, LastAttempt: ps.LastAttempt,
			NextDue: p.nextRun(), Result: result, Message: msg, Drive: pc.Drive,
			DrivePresent: pc.Drive != "" && d.drivePresent(pc.Drive), TargetFree: d.driveFree(pc.Drive),
			Host: d.opts.Host, AgeHours: -1, Received: -1,
			Problems: ps.ProblemCount, ProblemList: ps.Problems, SkippedMounts: ps.SkippedMounts,
		}
		if h := pc.HostName(); h != "" {
			sp.Host, sp.Remote, sp.Received = h, true, ps.LastReceived
		}
		if !ps.LastSuccess.IsZero() {
			age := time.Since(ps.LastSuccess)
			sp.AgeHours = int64(age / time.Hour)
			sp.Overdue = schedule.Overdue(pc, ps.LastSuccess, time.Now())
		}
		out = append(out, sp)
	}
	return out
}

// writeStatus rewrites the status files when what they say changed: the
// scheduler looks every few seconds, and an idle laptop should not write
// (and fsync) a file each time.
func (d *Daemon) writeStatus() {
	list := d.statusList()
	d.mu.Lock()
	same := d.lastStatus != nil && reflect.DeepEqual(list, d.lastStatus)
	d.mu.Unlock()
	if same {
		return
	}
	err := status.Write(d.opts.RunDir, list, time.Now())
	d.mu.Lock()
	defer d.mu.Unlock()
	if err == nil {
		d.lastStatus, d.statusErr = list, ""
		return
	}
	if d.statusErr != err.Error() {
		d.logf("status files: %v", err)
	}
	d.statusErr = err.Error()
}

// explainFailure turns the I/O errors of a drive that went away into
// DeviceGone: a pulled drive shows up first as whatever call failed (EIO
// from SQLite, a short copy), and udev may say it is gone a moment later.
func (d *Daemon) explainFailure(err error, mp, uuid string) error {
	if kerr.Is(err, kerr.Cancelled) || kerr.Is(err, kerr.DeviceGone) {
		return err
	}
	if gone := usecase.DeviceGone(mp); gone != nil {
		return gone
	}
	for i := 0; i < 10; i++ {
		if !d.drivePresent(uuid) {
			return kerr.Wrap(kerr.DeviceGone, err, "the backup drive was removed during the backup: nothing half-done is kept; plug it in again to finish")
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}
