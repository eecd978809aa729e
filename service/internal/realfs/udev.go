package realfs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// StartUdevd makes sure systemd-udevd runs, starting it as a daemon when its
// control socket is missing. A daemon it starts is left running: it is the
// machine's udevd, which other test processes may be using at the same time.
func StartUdevd(t testing.TB) {
	t.Helper()
	RequireRoot(t, "systemd-udevd")
	RequireCommands(t, "udevadm")
	const control = "/run/udev/control"
	if _, err := os.Stat(control); err == nil {
		return
	}
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
	// Another test process may start it at the same moment: the loser's
	// daemon fails to bind, and both only need the socket to appear.
	out, runErr := exec.Command(bin, "--daemon").CombinedOutput()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(control); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("systemd-udevd did not start (%v): %s", runErr, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	run(t, "udevadm", "settle", "--timeout=10")
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
	run(t, "udevadm", "settle", "--timeout=10")
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
	run(t, "udevadm", "trigger", "--action="+action, "--settle", dev)
}
