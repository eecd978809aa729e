package realfs

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// RequireRoot skips (or, under CI, fails) a test that cannot run without root.
func RequireRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("integration test needs root (%s) but CI runs it: failing instead of skipping", why)
	}
	t.Skipf("needs root: %s", why)
}

// Unavailable skips a test that cannot run here and says why; under
// CI=true, whose machine has everything build-aux/deps.sh installs and
// runs as root, it fails instead: there a skip would hide a broken setup.
func Unavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: a failure, not a skip)", why)
	}
	t.Skip(why)
}

// RequireCommands skips (or, under CI, fails) when a command is missing.
func RequireCommands(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("integration test needs %s (run build-aux/deps.sh) but CI runs it", n)
			}
			t.Skipf("needs %s (run build-aux/deps.sh as root)", n)
		}
	}
}

// commandTimeout bounds every helper command: a daemon that stopped
// answering (udevd above all) must fail the test that needs it, not hang
// the whole run until go test's own deadline.
const commandTimeout = 5 * time.Minute

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	return runWithin(t, commandTimeout, name, args...)
}

func runWithin(t testing.TB, limit time.Duration, name string, args ...string) string {
	t.Helper()
	out, err := runFor(limit, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// runFor runs a command, killing it after limit; the error says so.
func runFor(limit time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("no answer within %v: %w", limit, ctx.Err())
	}
	return strings.TrimSpace(string(out)), err
}

// Loop makes a filesystem of fstype (ext4, xfs, btrfs) on a loop device,
// mounts it and returns the mount point; cleanup unmounts and detaches.
func Loop(t testing.TB, fstype string, sizeMB int) string {
	t.Helper()
	return NewLoop(t, LoopOptions{FSType: fstype, SizeMB: sizeMB}).Mount
}

// LoopOptions say what NewLoop makes.
type LoopOptions struct {
	FSType string // ext4, xfs, btrfs
	SizeMB int
	// MkfsArgs come after the usual options of mkfs.FSType (ext4: -q -F
	// -L KEEPSAKE), e.g. {"-O", "encrypt"} or {"-O", "^encrypt"}.
	MkfsArgs []string
}

// LoopDrive is a filesystem in an image file, attached to a loop device
// and mounted. Tests may unmount it (to read the raw image) and mount it
// again; cleanup undoes whatever is left.
type LoopDrive struct {
	Mount  string // the mount point, the same across Remount
	Image  string // the image file
	Device string // the loop device while attached, else ""
	t      testing.TB
}

// NewLoop makes a filesystem as o says on a loop device and mounts it.
func NewLoop(t testing.TB, o LoopOptions) *LoopDrive {
	t.Helper()
	RequireRoot(t, "loop devices and mount")
	RequireCommands(t, "losetup", "mkfs."+o.FSType, "mount", "umount")
	dir := t.TempDir()
	d := &LoopDrive{Image: filepath.Join(dir, "disk.img"), Mount: filepath.Join(dir, "mnt"), t: t}
	if err := os.WriteFile(d.Image, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(d.Image, int64(o.SizeMB)<<20); err != nil {
		t.Fatal(err)
	}
	args := map[string][]string{"ext4": {"-q", "-F", "-L", "KEEPSAKE"}, "xfs": {"-q", "-f"}, "btrfs": {"-q", "-f"}}[o.FSType]
	args = append(append(append([]string{}, args...), o.MkfsArgs...), d.Image)
	run(t, "mkfs."+o.FSType, args...)
	if err := os.Mkdir(d.Mount, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.release)
	d.Remount()
	return d
}

// Remount attaches the image and mounts it again after Unmount (NewLoop
// does it the first time).
func (d *LoopDrive) Remount() {
	d.t.Helper()
	if d.Device != "" {
		d.t.Fatalf("%s is mounted already", d.Image)
	}
	dev := run(d.t, "losetup", "-f", "--show", d.Image)
	if out, err := exec.Command("mount", dev, d.Mount).CombinedOutput(); err != nil {
		exec.Command("losetup", "-d", dev).Run()
		d.t.Fatalf("mount %s: %v %s", dev, err, out)
	}
	d.Device = dev
}

// Unmount unmounts the filesystem and detaches the loop device: every
// write is in the image then, and the kernel forgets the filesystem's
// state (its encryption keys included).
func (d *LoopDrive) Unmount() {
	d.t.Helper()
	if d.Device == "" {
		return
	}
	run(d.t, "umount", d.Mount)
	run(d.t, "losetup", "-d", d.Device)
	d.Device = ""
}

func (d *LoopDrive) release() {
	if d.Device == "" {
		return
	}
	if exec.Command("umount", d.Mount).Run() != nil {
		exec.Command("umount", "-l", d.Mount).Run()
	}
	exec.Command("losetup", "-d", d.Device).Run()
	d.Device = ""
}

// FuseDrive is a FAT or exFAT filesystem in an image file, mounted through
// FUSE (this kernel has neither): fusefat for FAT, on the image itself;
// exfat-fuse for exFAT, on a loop device, which makes its mount a plain
// "fuseblk" in the mount table, as a desktop's exFAT stick often is.
// Hardlinks fail there with EPERM, as on a real drive. Tests unmount it to
// read the image whole (every write in it) and mount it again.
type FuseDrive struct {
	Kind   string // "vfat" or "exfat"
	Mount  string // the mount point, the same across Remount
	Image  string // the image file
	Device string // exfat: the loop device
	t      testing.TB
	up     bool
}

// NewFuseDrive makes a kind ("vfat" or "exfat") filesystem of sizeMB and
// mounts it through FUSE.
func NewFuseDrive(t testing.TB, kind string, sizeMB int) *FuseDrive {
	t.Helper()
	RequireRoot(t, "FUSE mounts")
	dir := t.TempDir()
	d := &FuseDrive{Kind: kind, Image: filepath.Join(dir, kind+".img"), Mount: filepath.Join(dir, "mnt"), t: t}
	if err := os.WriteFile(d.Image, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(d.Image, int64(sizeMB)<<20); err != nil {
		t.Fatal(err)
	}
	switch kind {
	case "vfat":
		RequireCommands(t, "mkfs.vfat", "fusefat", "fusermount")
		run(t, "mkfs.vfat", "-n", "KSFAT", d.Image)
	case "exfat":
		RequireCommands(t, "mkfs.exfat", "mount.exfat-fuse", "losetup", "umount")
		run(t, "mkfs.exfat", "-L", "KSEXFAT", d.Image)
		d.Device = run(t, "losetup", "-f", "--show", d.Image)
	default:
		t.Fatalf("NewFuseDrive: no FUSE recipe for %q", kind)
	}
	if err := os.Mkdir(d.Mount, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if d.up {
			d.unmount()
		}
		if d.Device != "" {
			exec.Command("losetup", "-d", d.Device).Run()
		}
	})
	d.Remount()
	return d
}

// Remount mounts the filesystem (again).
func (d *FuseDrive) Remount() {
	d.t.Helper()
	if d.up {
		d.t.Fatalf("%s is mounted already", d.Mount)
	}
	if d.Kind == "vfat" {
		run(d.t, "fusefat", "-o", "rw+", d.Image, d.Mount)
	} else {
		// noatime: exFAT keeps access times, and reading would change
		// the image although nothing was written.
		run(d.t, "mount.exfat-fuse", "-o", "noatime", d.Device, d.Mount)
	}
	d.up = true
	deadline := time.Now().Add(10 * time.Second)
	for !Mounted(d.Mount) {
		if time.Now().After(deadline) {
			d.t.Fatalf("%s did not mount at %s", d.Kind, d.Mount)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Unmount unmounts it and waits until the FUSE driver wrote everything
// to the image.
func (d *FuseDrive) Unmount() {
	d.t.Helper()
	if !d.up {
		return
	}
	if err := d.unmount(); err != nil {
		d.t.Fatalf("unmount %s: %v", d.Mount, err)
	}
}

func (d *FuseDrive) unmount() error {
	d.up = false
	var err error
	deadline := time.Now().Add(10 * time.Second)
	for {
		var out []byte
		if d.Kind == "vfat" {
			out, err = exec.Command("fusermount", "-u", d.Mount).CombinedOutput()
		} else {
			out, err = exec.Command("umount", d.Mount).CombinedOutput()
		}
		if err == nil || time.Now().After(deadline) {
			if err != nil {
				exec.Command("umount", "-l", d.Mount).Run()
				return fmt.Errorf("%v: %s", err, out)
			}
			break
		}
		time.Sleep(100 * time.Millisecond) // busy just after mounting
	}
	// The driver exits after the kernel let go; its last writes land then.
	for _, name := range []string{"fusefat", "mount.exfat-fuse"} {
		for time.Now().Before(deadline) && exec.Command("pgrep", "-f", name+" .*"+regexp.QuoteMeta(d.Mount)).Run() == nil {
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

// ImageSum is the SHA-256 of the whole image file: equal sums before and
// after mean not one byte of the filesystem changed, names, data, times
// and free space alike. Unmount first.
func (d *FuseDrive) ImageSum() string {
	d.t.Helper()
	if d.up {
		d.t.Fatalf("ImageSum of %s while it is mounted: unmount it first", d.Image)
	}
	return FileSum(d.t, d.Image)
}

// FileSum is the SHA-256 of a file's bytes.
func FileSum(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Mounted reports whether dir is a mount point.
func Mounted(dir string) bool {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 4 && fields[4] == dir {
			return true
		}
	}
	return false
}

var builds sync.Map // package -> *buildResult

type buildResult struct {
	once sync.Once
	path string
	err  error
}

// Build compiles a main package of this module once per test process and
// returns the binary's path. Under go test -race the binary has the race
// detector too, which reports to its stderr ("WARNING: DATA RACE").
func Build(t testing.TB, pkg string) string {
	t.Helper()
	v, _ := builds.LoadOrStore(pkg, &buildResult{})
	b := v.(*buildResult)
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "keepsake-bin-")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, filepath.Base(pkg))
		args := []string{"build", "-o", b.path}
		if raceEnabled {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, "github.com/keepsake/keepsake/"+pkg)...).CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// WriteTree writes files (relative path -> content) below root.
func WriteTree(t testing.TB, root string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FreeBytes is the space available on the filesystem holding dir.
func FreeBytes(t testing.TB, dir string) int64 {
	t.Helper()
	out := run(t, "df", "--output=avail", "-B1", dir)
	lines := strings.Fields(out)
	var n int64
	fmt.Sscan(lines[len(lines)-1], &n)
	return n
}
