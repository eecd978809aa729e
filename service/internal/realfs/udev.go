package realfs

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// udevControl is udevd's control socket. It outlives a udevd that was
// killed, so its presence alone does not mean udevd runs.
const udevControl = "/run/udev/control"

// StartUdevd makes sure a systemd-udevd runs that processes events and
// delivers them to this process, starting one as a daemon when none
// answers. A daemon it starts is left running: it is the machine's udevd,
// which other test processes may be using at the same time.
//
// Two broken states are repaired rather than waited on, because both
// look healthy to "udevadm settle": a stale control socket left by a
// killed udevd (nothing processes events: devices never get properties
// and "udevadm trigger --settle" waits forever), and a udevd that answers
// but whose processed events never reach this process (it runs in
// another network namespace, where its netlink broadcasts stay).
func StartUdevd(t testing.TB) {
	t.Helper()
	RequireRoot(t, "systemd-udevd")
	RequireCommands(t, "udevadm")
	// Test packages run in parallel processes: one at a time decides
	// whether udevd must be (re)started, or two would be.
	unlock := lockFile(t, "/run/keepsake-test-udevd.lock")
	defer unlock()

	if udevdAnswers() {
		err := udevdDelivers()
		if err == nil {
			return
		}
		t.Logf("systemd-udevd answers but its events do not reach this process (%v): restarting it here", err)
		stopUdevd()
	} else if _, err := os.Stat(udevControl); err == nil {
		t.Logf("%s is left from a systemd-udevd that no longer runs: starting a new one", udevControl)
	}
	os.Remove(udevControl)

	bin := ""
	for _, p := range []string{"/lib/systemd/systemd-udevd", "/usr/lib/systemd/systemd-udevd"} {
		if _, err := os.Stat(p); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		RequireCommands(t, "systemd-udevd") // skips, or fails under CI
		bin = "systemd-udevd"
	}
	out, runErr := runFor(30*time.Second, bin, "--daemon")
	deadline := time.Now().Add(10 * time.Second)
	for !udevdAnswers() {
		if time.Now().After(deadline) {
			t.Fatalf("systemd-udevd did not start (%v): %s", runErr, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := udevdDelivers(); err != nil {
		t.Fatalf("systemd-udevd started but its events do not reach this process: %v", err)
	}
	runWithin(t, time.Minute, "udevadm", "settle", "--timeout=30")
}

// udevdAnswers reports whether a udevd listens on the control socket.
func udevdAnswers() bool {
	_, err := runFor(10*time.Second, "udevadm", "control", "--ping", "--timeout=5")
	return err == nil
}

// udevdDelivers replays a harmless event (a change of /dev/null, whose
// rules only set its mode) and waits until udevd announced it processed:
// "udevadm trigger --settle" listens for that announcement the same way
// the drive monitor does.
func udevdDelivers() error {
	out, err := runFor(20*time.Second, "udevadm", "trigger", "--action=change", "--settle", "/sys/devices/virtual/mem/null")
	if err != nil {
		return fmt.Errorf("udevadm trigger --settle /dev/null: %v %s", err, out)
	}
	return nil
}

// stopUdevd ends every systemd-udevd process this process can see.
func stopUdevd() {
	pids := udevdPids()
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(udevdPids()) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	for _, pid := range udevdPids() {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

func udevdPids() []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if err == nil && strings.TrimSpace(string(comm)) == "systemd-udevd" {
			pids = append(pids, pid)
		}
	}
	return pids
}

// lockFile takes an exclusive flock on path, shared by every test process.
func lockFile(t testing.TB, path string) (unlock func()) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatalf("lock %s: %v", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatalf("lock %s: %v", path, err)
	}
	return func() { f.Close() }
}

// UdevLoop makes an image of sizeMB with a filesystem of fstype ("" for
// none) labelled label, attaches it to a loop device as a plugged-in
// drive, waits for udevd to process it and returns the device and the
// filesystem UUID ("" without one). Cleanup unmounts what is still mounted
// from it and detaches it unless the test did (losetup -d is an unplug).
func UdevLoop(t testing.TB, fstype, label string, sizeMB int) (dev, uuid string) {
	t.Helper()
	StartUdevd(t)
	RequireCommands(t, "losetup", "blkid")
	img := filepath.Join(t.TempDir(), "drive.img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, int64(sizeMB)<<20); err != nil {
		t.Fatal(err)
	}
	switch fstype {
	case "":
	case "ext2", "ext3", "ext4":
		RequireCommands(t, "mkfs."+fstype)
		run(t, "mkfs."+fstype, "-q", "-F", "-L", label, img)
	case "xfs", "btrfs":
		RequireCommands(t, "mkfs."+fstype)
		run(t, "mkfs."+fstype, "-q", "-f", "-L", label, img)
	case "vfat":
		RequireCommands(t, "mkfs.vfat")
		run(t, "mkfs.vfat", "-n", label, img)
	case "exfat":
		RequireCommands(t, "mkfs.exfat")
		run(t, "mkfs.exfat", "-L", label, img)
	case "swap":
		RequireCommands(t, "mkswap")
		run(t, "mkswap", "-L", label, img)
	default:
		t.Fatalf("UdevLoop: no recipe for filesystem %q", fstype)
	}
	if fstype != "" {
		// blkid -p reads the image itself, not a cache.
		uuid = run(t, "blkid", "-p", "-o", "value", "-s", "UUID", img)
	}
	dev = run(t, "losetup", "-f", "--show", img)
	t.Cleanup(func() {
		// The test may have detached it already, and another test may
		// have been given the same loop device since: touch only our image.
		backing, _ := os.ReadFile(filepath.Join("/sys/class/block", filepath.Base(dev), "loop", "backing_file"))
		if strings.TrimSpace(string(backing)) != img {
			return
		}
		for _, mnt := range mountsOf(dev) {
			if exec.Command("umount", mnt).Run() != nil {
				exec.Command("umount", "-l", mnt).Run()
			}
		}
		exec.Command("losetup", "-d", dev).Run()
		exec.Command("udevadm", "settle", "--timeout=10").Run()
	})
	runWithin(t, time.Minute, "udevadm", "settle", "--timeout=30")
	return dev, uuid
}

// mountsOf lists the mount points whose source is dev, topmost first.
func mountsOf(dev string) []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		for i := 6; i+2 < len(f); i++ {
			if f[i] == "-" {
				if f[i+2] == dev {
					out = append([]string{strings.ReplaceAll(f[4], `\040`, " ")}, out...)
				}
				break
			}
		}
	}
	return out
}

// UdevTrigger replays a uevent for dev (ACTION add, change or remove) the
// way plugging or pulling a drive would, and waits until udevd processed it.
func UdevTrigger(t testing.TB, action, dev string) {
	t.Helper()
	runWithin(t, time.Minute, "udevadm", "trigger", "--action="+action, "--settle", dev)
}
