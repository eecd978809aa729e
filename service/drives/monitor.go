package drives

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/pilebones/go-udev/netlink"
	"golang.org/x/sys/unix"
)

// Options configures a Monitor.
type Options struct {
	// OnEvent is called from Run's goroutine, one call at a time, after the
	// monitor's own state reflects the event (Drives and Lookup may be
	// called from it). It must not block for long: events queue behind it.
	OnEvent func(Drive, Event)
}

// Monitor keeps the list of present drives up to date.
type Monitor struct {
	opts    Options
	paths   sysPaths
	conn    netlink.UEventConn
	mountFd int // /proc/self/mountinfo, polled for POLLPRI
	wakeFd  int // eventfd that interrupts Run's poll

	mu       sync.Mutex
	state    int
	closeReq bool
	devs     map[string]device // by kernel name
	mounts   []mountEntry
	pending  []notice
}

type notice struct {
	d Drive
	e Event
}

const (
	stateNew = iota
	stateRunning
	stateDone
)

// NewMonitor starts listening for udev events, then enumerates the block
// devices present, so that nothing plugged in between is missed: events
// for devices already enumerated only confirm what is known. It does not
// need udevd to be running, but without it no device has properties, so
// none shows up until udevd starts and announces them.
func NewMonitor(opts Options) (*Monitor, error) {
	m := &Monitor{opts: opts, paths: hostPaths, mountFd: -1, wakeFd: -1, devs: map[string]device{}}
	if err := m.open(); err != nil {
		m.release()
		return nil, err
	}
	if err := m.readMounts(); err != nil {
		m.release()
		return nil, err
	}
	if err := m.rescan(); err != nil {
		m.release()
		return nil, err
	}
	m.pending = nil // what is present at start is not news
	return m, nil
}

func (m *Monitor) open() error {
	m.conn.Fd = -1
	if err := m.conn.Connect(netlink.UdevEvent); err != nil {
		m.conn.Fd = -1
		return fmt.Errorf("listen for udev events: %w", err)
	}
	// The library opens the socket blocking and inheritable; Run polls it
	// and drains it without blocking, and helpers the service starts must
	// not hold it.
	unix.CloseOnExec(m.conn.Fd)
	if err := unix.SetNonblock(m.conn.Fd, true); err != nil {
		return fmt.Errorf("udev socket: %w", err)
	}
	// A burst of events (a hub with many disks) must not overflow the
	// socket; if it does anyway, Run rescans. SO_RCVBUFFORCE needs root.
	if unix.SetsockoptInt(m.conn.Fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 4<<20) != nil {
		_ = unix.SetsockoptInt(m.conn.Fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20)
	}
	fd, err := unix.Open("/proc/self/mountinfo", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open mount table: %w", err)
	}
	m.mountFd = fd
	if m.wakeFd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		m.wakeFd = -1
		return fmt.Errorf("eventfd: %w", err)
	}
	return nil
}

// release closes the monitor's descriptors; the monitor cannot run again.
func (m *Monitor) release() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.state = stateDone
	if m.conn.Fd >= 0 {
		m.conn.Close()
		m.conn.Fd = -1
	}
	for _, fd := range []*int{&m.mountFd, &m.wakeFd} {
		if *fd >= 0 {
			unix.Close(*fd)
			*fd = -1
		}
	}
}

// Close stops a running monitor (Run returns nil) or releases one that
// never ran.
func (m *Monitor) Close() error {
	m.mu.Lock()
	state := m.state
	if state == stateRunning {
		m.closeReq = true
		m.wakeLocked()
	}
	m.mu.Unlock()
	if state == stateNew {
		m.release()
	}
	return nil
}

func (m *Monitor) wake() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.wakeLocked()
}

// wakeLocked interrupts Run's poll. Holding mu guarantees the eventfd has
// not been closed (and its number reused) by release.
func (m *Monitor) wakeLocked() {
	if m.state == stateRunning && m.wakeFd >= 0 {
		var one [8]byte
		binary.NativeEndian.PutUint64(one[:], 1)
		_, _ = unix.Write(m.wakeFd, one[:])
	}
}

// Run follows udev events and mount table changes until ctx is done or
// Close is called (it then returns nil), or until it cannot go on. It
// releases the monitor's resources when it returns and runs only once.
func (m *Monitor) Run(ctx context.Context) error {
	m.mu.Lock()
	if m.state != stateNew {
		m.mu.Unlock()
		return errors.New("drive monitor already ran or was closed")
	}
	m.state = stateRunning
	m.mu.Unlock()
	defer m.release()
	stop := context.AfterFunc(ctx, m.wake)
	defer stop()

	fds := make([]unix.PollFd, 3)
	for {
		m.mu.Lock()
		quit := m.closeReq
		m.mu.Unlock()
		if quit || ctx.Err() != nil {
			return nil
		}
		fds[0] = unix.PollFd{Fd: int32(m.conn.Fd), Events: unix.POLLIN}
		// The mount table is signalled with POLLPRI (and POLLERR); it is
		// always "readable", so POLLIN must not be asked for.
		fds[1] = unix.PollFd{Fd: int32(m.mountFd), Events: unix.POLLPRI}
		fds[2] = unix.PollFd{Fd: int32(m.wakeFd), Events: unix.POLLIN}
		if _, err := unix.Poll(fds, -1); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return fmt.Errorf("wait for drive events: %w", err)
		}
		if fds[2].Revents != 0 {
			var buf [8]byte
			_, _ = unix.Read(m.wakeFd, buf[:])
			continue
		}
		if fds[1].Revents&(unix.POLLPRI|unix.POLLERR) != 0 {
			if err := m.update(m.readMounts); err != nil {
				return err
			}
		}
		if fds[0].Revents&unix.POLLNVAL != 0 {
			return errors.New("udev socket closed")
		}
		// POLLERR on the socket means it overflowed; reading reports
		// ENOBUFS, which readUevents handles.
		if fds[0].Revents&(unix.POLLIN|unix.POLLERR) != 0 {
			if err := m.readUevents(); err != nil {
				return err
			}
		}
	}
}

// update runs f with the lock held, then delivers the events f queued,
// without the lock so OnEvent may call Drives or Lookup.
func (m *Monitor) update(f func() error) error {
	m.mu.Lock()
	err := f()
	pending := m.pending
	m.pending = nil
	m.mu.Unlock()
	if m.opts.OnEvent != nil {
		for _, n := range pending {
			m.opts.OnEvent(n.d, n.e)
		}
	}
	return err
}

// readUevents drains the netlink socket.
func (m *Monitor) readUevents() error {
	for {
		msg, err := m.conn.ReadMsg()
		switch {
		case errors.Is(err, unix.EAGAIN):
			return nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.ENOBUFS):
			// Events were lost: what udev knows now is the truth.
			if err := m.update(m.rescan); err != nil {
				return err
			}
			continue
		case err != nil:
			return fmt.Errorf("read udev event: %w", err)
		}
		ev, err := parseUEvent(msg)
		if err != nil {
			continue // not a udev event this monitor understands
		}
		if err := m.update(func() error { m.handle(ev); return nil }); err != nil {
			return err
		}
	}
}

// parseUEvent parses a message from udevd. netlink.ParseUEvent rejects a
// whole event when any property value contains '=' (a label can); such
// events are parsed here, splitting at the first '='.
func parseUEvent(msg []byte) (netlink.UEvent, error) {
	if ev, err := netlink.ParseUEvent(msg); err == nil {
		return *ev, nil
	}
	const headerLen = 40 // struct udev_monitor_netlink_header
	if len(msg) < headerLen || !bytes.HasPrefix(msg, []byte("libudev\x00")) ||
		binary.BigEndian.Uint32(msg[8:]) != 0xfeedcafe {
		return netlink.UEvent{}, errors.New("not a udev event")
	}
	off := binary.NativeEndian.Uint32(msg[16:])
	if off < headerLen || off >= uint32(len(msg)) {
		return netlink.UEvent{}, errors.New("udev event: bad payload offset")
	}
	env := map[string]string{}
	for _, kv := range bytes.Split(msg[off:], []byte{0}) {
		if k, v, ok := bytes.Cut(kv, []byte("=")); ok {
			env[string(k)] = string(v)
		}
	}
	action, err := netlink.ParseKObjAction(strings.ToLower(env["ACTION"]))
	if err != nil {
		return netlink.UEvent{}, err
	}
	return netlink.UEvent{Action: action, KObj: env["DEVPATH"], Env: env}, nil
}

// handle applies one udev event; the lock is held.
func (m *Monitor) handle(ev netlink.UEvent) {
	if ev.Env["SUBSYSTEM"] != "block" {
		return
	}
	name := path.Base(ev.Env["DEVPATH"])
	if !validName(name) {
		return
	}
	switch ev.Action {
	case netlink.REMOVE:
		m.set(name, nil)
	case netlink.MOVE:
		if old := path.Base(ev.Env["DEVPATH_OLD"]); validName(old) {
			m.set(old, nil)
		}
		m.probeSet(name, ev.Env)
	case netlink.ADD, netlink.CHANGE:
		// A change event is how a loop device announces attach and detach,
		// and how a freshly formatted device announces its filesystem.
		m.probeSet(name, ev.Env)
	}
}

func (m *Monitor) probeSet(name string, props map[string]string) {
	dev, ok, err := m.paths.probe(name, props)
	if err != nil || !ok {
		// Gone before it could be read, or holds nothing usable.
		m.set(name, nil)
		return
	}
	m.set(name, &dev)
}

// set records what a kernel device now holds (nil: nothing usable) and
// queues the events that makes; the lock is held.
func (m *Monitor) set(name string, nd *device) {
	old, had := m.devs[name]
	if nd == nil {
		if had {
			delete(m.devs, name)
			gone := old.drive
			gone.Present = false
			m.queue(gone, Removed)
		}
		return
	}
	nd.drive.MountPoint = m.mountPoint(*nd)
	m.devs[name] = *nd
	switch {
	case !had:
		m.queue(nd.drive, Added)
	case old.drive.UUID != nd.drive.UUID:
		// Reformatted in place: a different drive to the user.
		gone := old.drive
		gone.Present = false
		m.queue(gone, Removed)
		m.queue(nd.drive, Added)
	case old.drive == nd.drive:
	default:
		same := old.drive
		same.MountPoint = nd.drive.MountPoint
		if same == nd.drive {
			m.queue(nd.drive, mountEvent(old.drive.MountPoint, nd.drive.MountPoint))
		} else {
			m.queue(nd.drive, Changed)
		}
	}
}

func mountEvent(before, after string) Event {
	switch {
	case before == "":
		return Mounted
	case after == "":
		return Unmounted
	}
	return Changed
}

func (m *Monitor) queue(d Drive, e Event) {
	m.pending = append(m.pending, notice{d, e})
}

func (m *Monitor) mountPoint(d device) string {
	me, _ := rootMount(m.mounts, d.devno, d.drive.Device)
	return me.MountPoint
}

// readMounts rereads the mount table through the polled descriptor and
// updates every drive's mount point; the lock is held.
func (m *Monitor) readMounts() error {
	if _, err := unix.Seek(m.mountFd, 0, 0); err != nil {
		return fmt.Errorf("read mount table: %w", err)
	}
	var buf bytes.Buffer
	chunk := make([]byte, 64<<10)
	for {
		n, err := unix.Read(m.mountFd, chunk)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read mount table: %w", err)
		}
		if n == 0 {
			break
		}
		buf.Write(chunk[:n])
	}
	m.mounts = parseMountinfo(buf.String())
	for name, d := range m.devs {
		mp := m.mountPoint(d)
		if mp == d.drive.MountPoint {
			continue
		}
		e := mountEvent(d.drive.MountPoint, mp)
		d.drive.MountPoint = mp
		m.devs[name] = d
		m.queue(d.drive, e)
	}
	return nil
}

// rescan reads every block device from sysfs and the udev database; the
// lock is held.
func (m *Monitor) rescan() error {
	entries, err := os.ReadDir(m.paths.block)
	if err != nil {
		return fmt.Errorf("list block devices: %w", err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		seen[e.Name()] = true
		dev, ok, err := m.paths.probe(e.Name(), nil)
		if err != nil || !ok {
			m.set(e.Name(), nil)
			continue
		}
		m.set(e.Name(), &dev)
	}
	for name := range m.devs {
		if !seen[name] {
			m.set(name, nil)
		}
	}
	return nil
}

// Drives returns the present drives, sorted by UUID (then device, for
// clones that share one).
func (m *Monitor) Drives() []Drive {
	m.mu.Lock()
	out := make([]Drive, 0, len(m.devs))
	for _, d := range m.devs {
		out = append(out, d.drive)
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].UUID != out[j].UUID {
			return out[i].UUID < out[j].UUID
		}
		return out[i].Device < out[j].Device
	})
	return out
}

// Lookup returns the present drive with the given filesystem UUID.
func (m *Monitor) Lookup(uuid string) (Drive, bool) {
	for _, d := range m.Drives() {
		if d.UUID == uuid {
			return d, true
		}
	}
	return Drive{}, false
}
