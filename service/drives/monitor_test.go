package drives

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/internal/realfs"
	"github.com/keepsake/keepsake/shared/kerr"
)

type seen struct {
	d Drive
	e Event
	// found is what Lookup said from inside OnEvent: the monitor's state
	// must already reflect the event.
	found bool
}

// startMonitor runs a Monitor until the test ends and returns its events.
func startMonitor(t *testing.T) (*Monitor, <-chan seen) {
	t.Helper()
	events := make(chan seen, 256)
	var m *Monitor
	m, err := NewMonitor(Options{OnEvent: func(d Drive, e Event) {
		_, found := m.Lookup(d.UUID)
		events <- seen{d, e, found}
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after its context was cancelled")
		}
	})
	return m, events
}

// next returns the next event about the drive with uuid, skipping other
// drives (other tests plug loop devices too).
func next(t *testing.T, events <-chan seen, uuid string) seen {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case s := <-events:
			if s.d.UUID == uuid {
				return s
			}
		case <-timeout:
			t.Fatalf("no event for drive %s within 10s", uuid)
		}
	}
}

func expect(t *testing.T, events <-chan seen, uuid string, want Event) Drive {
	t.Helper()
	s := next(t, events, uuid)
	if s.e != want {
		t.Fatalf("event for %s = %v (%+v), want %v", uuid, s.e, s.d, want)
	}
	if wantFound := want != Removed; s.found != wantFound || s.d.Present != wantFound {
		t.Fatalf("%v: Lookup inside OnEvent found=%v, Present=%v; want %v", want, s.found, s.d.Present, wantFound)
	}
	return s.d
}

func mountOptions(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, me := range parseMountinfo(string(b)) {
		if me.MountPoint == dir {
			return me.Options
		}
	}
	return nil
}

func TestDriveLifecycle(t *testing.T) {
	realfs.RequireRoot(t, "loop devices, udevd and mount")
	dev, uuid := realfs.UdevLoop(t, "ext4", "Backup Disk", 64)

	m, events := startMonitor(t)
	d, ok := m.Lookup(uuid)
	if !ok {
		t.Fatalf("drive %s on %s not enumerated; drives: %+v", uuid, dev, m.Drives())
	}
	want := Drive{UUID: uuid, Label: "Backup Disk", FSType: "ext4", Device: dev, Size: 64 << 20, Present: true}
	if d != want {
		t.Fatalf("enumerated %+v, want %+v", d, want)
	}
	if !slices.Contains(m.Drives(), want) {
		t.Errorf("Drives() lacks %+v", want)
	}
	if !slices.IsSortedFunc(m.Drives(), func(a, b Drive) int { return strings.Compare(a.UUID, b.UUID) }) {
		t.Errorf("Drives() not sorted by UUID: %+v", m.Drives())
	}

	t.Run("unplug and plug", func(t *testing.T) {
		realfs.UdevTrigger(t, "remove", dev)
		if got := expect(t, events, uuid, Removed); got.Device != dev {
			t.Errorf("Removed %+v", got)
		}
		if _, ok := m.Lookup(uuid); ok {
			t.Error("removed drive still listed")
		}
		realfs.UdevTrigger(t, "add", dev)
		if got := expect(t, events, uuid, Added); got != want {
			t.Errorf("Added %+v, want %+v", got, want)
		}
	})

	base := filepath.Join(t.TempDir(), "keepsake")
	var mnt string
	t.Run("mount", func(t *testing.T) {
		var err error
		mnt, err = Mount(want, base)
		if err != nil {
			t.Fatal(err)
		}
		if mnt != filepath.Join(base, uuid) {
			t.Errorf("mounted on %s, want %s", mnt, filepath.Join(base, uuid))
		}
		if got := expect(t, events, uuid, Mounted); got.MountPoint != mnt {
			t.Errorf("Mounted event says %q, want %q", got.MountPoint, mnt)
		}
		if d, _ := m.Lookup(uuid); d.MountPoint != mnt {
			t.Errorf("Lookup says mount point %q", d.MountPoint)
		}
		opts := mountOptions(t, mnt)
		for _, o := range []string{"nosuid", "nodev", "noexec", "rw"} {
			if !slices.Contains(opts, o) {
				t.Errorf("mount options %v lack %s", opts, o)
			}
		}
		if fi, err := os.Stat(base); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("base %s: %v %v, want mode 0700", base, fi.Mode(), err)
		}
		// Mounting again is harmless: same mount point, no second mount.
		again, err := Mount(want, base)
		if err != nil || again != mnt {
			t.Errorf("second Mount = %q, %v", again, err)
		}
		// A monitor started now finds the drive mounted.
		m2, err := NewMonitor(Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer m2.Close()
		if d, _ := m2.Lookup(uuid); d.MountPoint != mnt {
			t.Errorf("enumerated mount point %q, want %q", d.MountPoint, mnt)
		}
		free, size, err := Free(mnt)
		if err != nil || size <= 0 || size > want.Size || free <= 0 || free > size {
			t.Errorf("Free = %d of %d, %v", free, size, err)
		}
	})
	if mnt == "" {
		t.FailNow()
	}

	t.Run("unmount refused while in use", func(t *testing.T) {
		f, err := os.Create(filepath.Join(mnt, "open-file"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := Unmount(mnt, base); !kerr.Is(err, kerr.Busy) {
			t.Errorf("Unmount with an open file = %v, want Busy", err)
		}
		if opts := mountOptions(t, mnt); opts == nil {
			t.Error("busy drive got unmounted anyway")
		}
	})

	t.Run("unmount", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(mnt, "kept"), []byte("data"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := Unmount(mnt, base); err != nil {
			t.Fatal(err)
		}
		if got := expect(t, events, uuid, Unmounted); got.MountPoint != "" {
			t.Errorf("Unmounted event still has mount point %q", got.MountPoint)
		}
		if _, err := os.Stat(mnt); !os.IsNotExist(err) {
			t.Errorf("mount point %s left behind: %v", mnt, err)
		}
		// The data was flushed and survives: mount it again through the kernel.
		mnt2, err := Mount(want, base)
		if err != nil {
			t.Fatal(err)
		}
		expect(t, events, uuid, Mounted)
		if b, err := os.ReadFile(filepath.Join(mnt2, "kept")); string(b) != "data" {
			t.Errorf("file written before Unmount: %q, %v", b, err)
		}
		if err := Unmount(mnt2, base); err != nil {
			t.Fatal(err)
		}
		expect(t, events, uuid, Unmounted)
		// Unmounting what is not mounted any more only tidies up.
		if err := Unmount(mnt2, base); err != nil {
			t.Errorf("second Unmount: %v", err)
		}
	})

	t.Run("detach", func(t *testing.T) {
		if out, err := exec.Command("losetup", "-d", dev).CombinedOutput(); err != nil {
			t.Fatalf("losetup -d: %v %s", err, out)
		}
		expect(t, events, uuid, Removed)
		if _, ok := m.Lookup(uuid); ok {
			t.Error("detached drive still listed")
		}
	})
}

// Devices that are not backup drives make no events and are never listed.
func TestNotDrives(t *testing.T) {
	realfs.RequireRoot(t, "loop devices and udevd")
	realfs.StartUdevd(t)
	m, events := startMonitor(t)
	bare, _ := realfs.UdevLoop(t, "", "", 16)
	swap, swapUUID := realfs.UdevLoop(t, "swap", "SWAP", 16)
	realfs.UdevTrigger(t, "change", bare)
	realfs.UdevTrigger(t, "remove", swap)
	realfs.UdevTrigger(t, "add", swap)
	// udevd sends its events in order and every step above waited for
	// them: once this drive's Added arrives, the ones before were handled.
	_, marker := realfs.UdevLoop(t, "ext4", "marker", 16)

	timeout := time.After(10 * time.Second)
	for done := false; !done; {
		select {
		case s := <-events:
			// Other packages' tests make loop drives meanwhile, which may
			// get the name bare or swap had: bare has no filesystem, so an
			// event there with a filesystem's UUID is one of theirs.
			if s.d.UUID == swapUUID || (s.d.Device == bare || s.d.Device == swap) && s.d.UUID == "" {
				t.Errorf("event for a device that is no drive: %v %+v", s.e, s.d)
			}
			done = s.d.UUID == marker && s.e == Added
		case <-timeout:
			t.Fatal("no Added event for the marker drive")
		}
	}
	for _, d := range m.Drives() {
		if d.Device == bare || d.Device == swap {
			t.Errorf("listed: %+v", d)
		}
		if strings.HasPrefix(d.Device, "/dev/loop") {
			if _, err := os.Stat(filepath.Join("/sys/class/block", filepath.Base(d.Device), "loop", "backing_file")); err != nil {
				t.Errorf("unbound loop device listed: %+v", d)
			}
		}
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}

func TestMonitorClose(t *testing.T) {
	before := openFDs(t)
	m, err := NewMonitor(Options{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(context.Background()) }()
	time.Sleep(50 * time.Millisecond) // let Run reach poll
	m.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after Close = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not stop Run")
	}
	if err := m.Run(context.Background()); err == nil {
		t.Error("a second Run succeeded")
	}

	idle, err := NewMonitor(Options{})
	if err != nil {
		t.Fatal(err)
	}
	idle.Close()
	if err := idle.Run(context.Background()); err == nil {
		t.Error("Run after Close succeeded")
	}
	if after := openFDs(t); after != before {
		t.Errorf("%d descriptors open before, %d after: monitors leak", before, after)
	}
}
