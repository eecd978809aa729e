package live

import (
	"context"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/dbusapi"
)

// State is one reading of the service.
type State struct {
	// Err is why the service cannot be reached (nil when it can).
	Err      error
	Manager  client.Manager
	Profiles []client.Profile
	Drives   []client.Drive
	Jobs     []client.Job
	Read     time.Time
}

// Profile returns the profile called name.
func (s State) Profile(name string) (client.Profile, bool) {
	for _, p := range s.Profiles {
		if p.Name == name {
			return p, true
		}
	}
	return client.Profile{}, false
}

// Drive returns the drive with that object path.
func (s State) Drive(path dbus.ObjectPath) (client.Drive, bool) {
	for _, d := range s.Drives {
		if d.Path == path {
			return d, true
		}
	}
	return client.Drive{}, false
}

// Job returns the job with that object path.
func (s State) Job(path dbus.ObjectPath) (client.Job, bool) {
	for _, j := range s.Jobs {
		if j.Path == path {
			return j, true
		}
	}
	return client.Job{}, false
}

// EventKind says what happened.
type EventKind int

const (
	// BackupFailed: a profile's last attempt ended with an error.
	BackupFailed EventKind = iota + 1
	// BackupSucceeded: a profile has a new successful backup.
	BackupSucceeded
	// DriveBackupStarted: a drive was plugged in and its backup started.
	DriveBackupStarted
	// SafeToRemove: the service synced and unmounted the drive it mounted.
	SafeToRemove
	// DriveMissing: a drive has not been seen for the configured days.
	DriveMissing
	// UnlockNeeded: a backup to an encrypted drive waits for a person to
	// unlock it (the service's UnlockNeeded signal).
	UnlockNeeded
)

// Event is something worth telling the user about.
type Event struct {
	Kind    EventKind
	Profile string
	// Computer names the other computer a profile backs up ("" for
	// this one).
	Computer string
	Drive    client.Drive
	// ErrorName and Message are set for BackupFailed.
	ErrorName, Message string
}

// waitsForPerson are the failures of another computer that last until
// it is back on the network or someone acts.
var waitsForPerson = map[string]bool{"HostUnreachable": true, "HostKeyUnknown": true, "HostKeyChanged": true, "RemoteRefused": true}

// Diff lists the events between two readings. The first reading of a
// session (prev without profiles) only reports drives already missing:
// old failures were notified when they happened.
func Diff(prev, cur State) []Event {
	var out []Event
	first := prev.Read.IsZero()
	for _, p := range cur.Profiles {
		old, known := prev.Profile(p.Name)
		if first || !known {
			continue
		}
		computer := ""
		if p.Remote {
			computer = p.Host
		}
		// Another computer away from the network, or waiting for a
		// person to check its key or let Keepsake in, is tried again and
		// again: told once, not at every try.
		again := old.LastResult == p.LastResult && waitsForPerson[p.LastResult]
		if p.LastAttempt != old.LastAttempt && p.LastResult != "" && p.LastResult != "Cancelled" && !again {
			out = append(out, Event{Kind: BackupFailed, Profile: p.Name, Computer: computer, ErrorName: p.LastResult, Message: p.LastMessage})
		}
		if p.LastSuccess != old.LastSuccess && p.LastSuccess != 0 {
			out = append(out, Event{Kind: BackupSucceeded, Profile: p.Name, Computer: computer})
		}
		if p.Job != "/" && p.Job != "" && p.Job != old.Job {
			if j, ok := cur.Job(p.Job); ok && j.Trigger == "plug" {
				d, _ := cur.Drive(p.Drive)
				out = append(out, Event{Kind: DriveBackupStarted, Profile: p.Name, Drive: d})
			}
		}
	}
	for _, d := range cur.Drives {
		if d.Warning == "" {
			continue
		}
		if old, ok := prev.Drive(d.Path); first || !ok || old.Warning == "" {
			out = append(out, Event{Kind: DriveMissing, Drive: d, Message: d.Warning})
		}
	}
	return out
}

// Options configures a Watcher.
type Options struct {
	// Connect opens the client; default client.Connect.
	Connect func() (*client.Client, error)
	// Every is how often the service is read without a signal (default 5 s).
	Every time.Duration
	// OnState receives every reading, OnEvent every event; both are called
	// from the watcher's goroutine.
	OnState func(State)
	OnEvent func(Event)
}

// Watcher reads the service until its context ends.
type Watcher struct {
	opts Options
	poke chan struct{}
}

// NewWatcher makes a watcher; Run starts it.
func NewWatcher(opts Options) *Watcher {
	if opts.Connect == nil {
		opts.Connect = client.Connect
	}
	if opts.Every <= 0 {
		opts.Every = 5 * time.Second
	}
	return &Watcher{opts: opts, poke: make(chan struct{}, 1)}
}

// Refresh asks for a new reading now (after the app changed something).
func (w *Watcher) Refresh() {
	select {
	case w.poke <- struct{}{}:
	default:
	}
}

// Run reads the service, reconnecting when it goes away, until ctx ends.
func (w *Watcher) Run(ctx context.Context) {
	var prev State
	for ctx.Err() == nil {
		c, err := w.opts.Connect()
		if err == nil {
			prev = w.follow(ctx, c, prev)
			c.Close()
		} else {
			prev = w.report(prev, State{Err: err, Read: time.Now()})
		}
		select {
		case <-ctx.Done():
		case <-time.After(w.opts.Every):
		case <-w.poke:
		}
	}
}

// follow reads over one connection until it fails, refreshing on every
// signal of the service (debounced: a job's progress signals come a few
// times a second).
func (w *Watcher) follow(ctx context.Context, c *client.Client, prev State) State {
	conn := c.Conn()
	match := []dbus.MatchOption{dbus.WithMatchSender(dbusapi.BusName), dbus.WithMatchPathNamespace(dbus.ObjectPath(dbusapi.RootPath))}
	signals := make(chan *dbus.Signal, 256)
	if conn.AddMatchSignal(match...) == nil {
		defer conn.RemoveMatchSignal(match...)
	}
	conn.Signal(signals)
	defer conn.RemoveSignal(signals)
	tick := time.NewTicker(w.opts.Every)
	defer tick.Stop()
	for {
		st := Read(ctx, c)
		if ctx.Err() != nil {
			return prev // the app is quitting: not a reading
		}
		prev = w.report(prev, st)
		if st.Err != nil {
			return prev
		}
		select {
		case <-ctx.Done():
			return prev
		case <-tick.C:
		case <-w.poke:
		case s, ok := <-signals:
			if !ok {
				return prev
			}
			w.signal(s, prev)
			// Let a burst of signals settle into one reading.
			time.Sleep(150 * time.Millisecond)
			for drained := false; !drained; {
				select {
				case s := <-signals:
					w.signal(s, prev)
				default:
					drained = true
				}
			}
		}
	}
}

// signal passes on the signals that are events by themselves.
func (w *Watcher) signal(s *dbus.Signal, prev State) {
	if w.opts.OnEvent == nil {
		return
	}
	if e, ok := SignalEvent(s, prev); ok {
		w.opts.OnEvent(e)
	}
}

// SignalEvent is the event a signal of the service is by itself, with
// the drive it is about as last read.
func SignalEvent(s *dbus.Signal, prev State) (Event, bool) {
	var kind EventKind
	switch s.Name {
	case dbusapi.SignalSafeToRemove:
		kind = SafeToRemove
	case dbusapi.SignalUnlockNeeded:
		kind = UnlockNeeded
	default:
		return Event{}, false
	}
	d, _ := prev.Drive(s.Path)
	d.Path = s.Path
	return Event{Kind: kind, Drive: d}, true
}

func (w *Watcher) report(prev, cur State) State {
	if cur.Err == nil && w.opts.OnEvent != nil {
		for _, e := range Diff(prev, cur) {
			w.opts.OnEvent(e)
		}
	}
	if w.opts.OnState != nil {
		w.opts.OnState(cur)
	}
	if cur.Err != nil {
		// Keep what was known, so a service restart does not replay events.
		prev.Err = cur.Err
		return prev
	}
	return cur
}

// Read takes one reading of the service, in one call.
func Read(ctx context.Context, c *client.Client) State {
	st := State{Read: time.Now()}
	objs, err := c.Objects(ctx)
	if err != nil {
		st.Err = err
		return st
	}
	st.Manager, st.Profiles, st.Drives, st.Jobs = objs.Manager, objs.Profiles, objs.Drives, objs.Jobs
	return st
}
