package daemon

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/service/state"
	"github.com/keepsake/keepsake/service/usecase"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/dbusapi"
	"github.com/keepsake/keepsake/shared/kerr"
)

// progressEvery throttles property updates: a few a second is what a
// progress bar needs, and each update is a signal to every listener. It
// is a little under the engine's interval (250ms), so that a report that
// comes a few milliseconds early is not dropped, halving the updates.
const progressEvery = 200 * time.Millisecond

// job is one long piece of work exported as a Job object.
type job struct {
	d       *Daemon
	id      uint64
	obj     *object
	op      string
	profile string
	uid     uint32
	started time.Time

	ctx       context.Context
	cancelFn  context.CancelCauseFunc
	done      chan struct{}
	mu        sync.Mutex
	lastEmit  time.Time
	fin       bool
	cancelled bool
	res       map[string]dbus.Variant
}

// setResult records the figures shown in the Result property at the end.
func (j *job) setResult(r map[string]dbus.Variant) {
	j.mu.Lock()
	j.res = r
	j.mu.Unlock()
}

func (j *job) result() map[string]dbus.Variant {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.res
}

// startJob exports a Job and runs work in a goroutine; the object is
// returned at once. work reports progress through the job and returns the
// message of success (e.g. the snapshot name).
func (d *Daemon) startJob(op, profileName, trigger string, uid uint32, work func(j *job) (string, error)) (*job, error) {
	id := d.store.NextJobID()
	ctx, cancel := context.WithCancelCause(d.ctx)
	j := &job{d: d, id: id, op: op, profile: profileName, uid: uid, started: time.Now(),
		ctx: ctx, cancelFn: cancel, done: make(chan struct{})}
	pp := dbusapi.NoPath
	if profileName != "" {
		pp = dbusapi.ProfilePath(profileName)
	}
	obj, err := d.reg.add(dbusapi.JobPath(id), dbusapi.JobInterface, &jobHandler{j}, map[string]any{
		"Operation": op, "Profile": pp, "StartedBy": uid, "Trigger": trigger, "Started": usec(j.started),
		"Progress": float64(-1), "Phase": "starting", "FilesDone": uint64(0), "FilesTotal": uint64(0),
		"BytesDone": uint64(0), "BytesTotal": uint64(0), "Rate": uint64(0), "ExpectedEnd": int64(0),
		"Cancelable": true, "Finished": false, "ErrorName": "", "Message": "",
		"Result": map[string]dbus.Variant{},
	})
	if err != nil {
		cancel(nil)
		return nil, err
	}
	j.obj = obj
	d.mu.Lock()
	d.jobs[obj.path] = j
	d.mu.Unlock()
	d.refreshLists()
	go j.run(work)
	return j, nil
}

func (j *job) run(work func(j *job) (string, error)) {
	msg, err := work(j)
	if err == nil && j.ctx.Err() != nil {
		err = context.Cause(j.ctx)
	}
	success, errName := err == nil, ""
	if err != nil {
		errName = kerr.NameOf(err).DBusName()
		if kerr.NameOf(err) == kerr.InvalidArgs {
			errName = dbusapi.InvalidArgsError
		}
		msg = err.Error()
		if kerr.NameOf(err) == kerr.Failed {
			j.d.logf("job %d (%s %s): %v", j.id, j.op, j.profile, err)
		}
	}
	msg = busText(msg) // paths in it may be any bytes
	j.mu.Lock()
	j.fin = true
	j.mu.Unlock()
	if r := j.result(); r != nil {
		j.obj.Set("Result", r)
	}
	// Finished goes last: a reader that sees it sees the outcome too.
	j.obj.Set("ErrorName", errName)
	j.obj.Set("Message", msg)
	if success {
		j.obj.Set("Phase", "done")
		j.obj.Set("Progress", float64(1))
	}
	j.obj.Set("Cancelable", false)
	j.obj.Set("Finished", true)
	j.d.publishProfiles() // State, Job and the status files no longer say running
	j.d.conn.Emit(j.obj.path, dbusapi.JobInterface+".Completed", success, errName, msg)
	j.d.store.AddJob(state.JobRecord{ID: j.id, Operation: j.op, Profile: j.profile, UID: j.uid,
		Started: j.started, Ended: time.Now(), Error: kerr.NameOf(err), Message: msg})
	j.cancelFn(nil)
	close(j.done)
	time.AfterFunc(j.d.opts.JobLinger, func() {
		j.d.mu.Lock()
		delete(j.d.jobs, j.obj.path)
		j.d.mu.Unlock()
		j.d.reg.remove(j.obj.path)
		j.d.refreshLists()
	})
}

func (j *job) finished() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.fin
}

// cancel stops the job with cause (a named error).
func (j *job) cancel(cause error) {
	if j.cancelFn == nil {
		return // a slot reserved for a job that is being created
	}
	j.mu.Lock()
	j.cancelled = true
	j.mu.Unlock()
	j.cancelFn(cause)
}

// phase sets the phase at once (phases change rarely).
func (j *job) phase(s string) { j.obj.Set("Phase", s) }

// progress publishes an engine progress report, at most every progressEvery.
func (j *job) progress(p usecase.Progress) {
	j.mu.Lock()
	now := time.Now()
	if now.Sub(j.lastEmit) < progressEvery {
		j.mu.Unlock()
		return
	}
	j.lastEmit = now
	j.mu.Unlock()
	f := jobFigures(p, now)
	if p.Phase != "" {
		j.obj.Set("Phase", p.Phase)
	}
	// Each property is a signal of its own: the fraction goes last, so
	// that a client reading the Job at any signal never sees a fraction
	// without the totals it rests on (the sources' count arriving mid-run).
	j.obj.Set("FilesDone", f.filesDone)
	j.obj.Set("FilesTotal", f.filesTotal)
	j.obj.Set("BytesDone", f.bytesDone)
	j.obj.Set("BytesTotal", f.bytesTotal)
	j.obj.Set("Rate", f.rate)
	j.obj.Set("ExpectedEnd", f.expectedEnd)
	j.obj.Set("Progress", f.progress)
}

// figures are a Job's progress properties.
type figures struct {
	progress                                           float64 // -1: unknown
	filesDone, filesTotal, bytesDone, bytesTotal, rate uint64
	expectedEnd                                        int64 // µs since the epoch, 0: unknown
}

// jobFigures turns an engine report at time now into the Job's progress
// properties. The fraction and the time left are the engine's (the CLI
// draws the same); the end is now plus the time left, not the job's
// start plus a duration, since the engine's clock started after mounting.
func jobFigures(p usecase.Progress, now time.Time) figures {
	done := p.DoneBytes()
	files, bytes := p.Totals()
	f := figures{progress: p.Fraction(), filesDone: uint64(max(p.Files, 0)), bytesDone: uint64(done),
		filesTotal: uint64(files), bytesTotal: uint64(bytes)}
	if s := p.Elapsed.Seconds(); s > 0.5 {
		f.rate = uint64(float64(done) / s)
	}
	if left := p.Left(); left > 0 {
		f.expectedEnd = now.Add(left).UnixMicro()
	}
	return f
}

// jobHandler carries the Job interface's methods.
type jobHandler struct{ j *job }

// Cancel stops the job; allowed to whoever started it and to administrators.
func (h *jobHandler) Cancel(sender dbus.Sender, options map[string]dbus.Variant) *dbus.Error {
	d := h.j.d
	c, err := d.identify(sender)
	if err != nil {
		return d.callErr("Cancel", err)
	}
	if err := api.FromOptions(options, &api.Auth{}); err != nil {
		return d.callErr("Cancel", err)
	}
	if c.uid != h.j.uid {
		if err := d.authorize(c, dbusapi.ActionConfigure, options); err != nil {
			return d.callErr("Cancel", err)
		}
	} else if err := d.authorize(c, dbusapi.ActionBackup, options); err != nil {
		return d.callErr("Cancel", err)
	}
	if h.j.finished() {
		return d.callErr("Cancel", kerr.New(kerr.InvalidArgs, "job %d has already finished", h.j.id))
	}
	h.j.cancel(kerr.New(kerr.Cancelled, "cancelled by %s", c.name))
	return nil
}

// causeOf gives the reason a job's context ended, or err itself.
func (j *job) causeOf(err error) error {
	if j.ctx.Err() != nil {
		if c := context.Cause(j.ctx); c != nil && !errors.Is(c, context.Canceled) {
			return c
		}
	}
	return err
}
