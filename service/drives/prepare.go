package drives

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/keepsake/keepsake/service/repo"
	"github.com/keepsake/keepsake/shared/kerr"
	"golang.org/x/sys/unix"
)

// Candidate is a whole block device that may be erased and made a backup
// drive, as Inspect found it: what erasing it would destroy.
type Candidate struct {
	Device      string // /dev/sdb, /dev/loop3
	Name        string // kernel name: sdb, loop3
	DevNo       string // "8:16"
	DiskSeq     string // the kernel's media sequence number: changes when the medium does
	Size        int64  // bytes
	Model       string // vendor and model, "" when the kernel says none
	Removable   bool
	Loop        bool
	BackingFile string // a loop device's image

	// What is on the whole device now ("" for nothing blkid knows).
	FSType, Label, UUID string
	PTType              string // partition table: dos, gpt
	Partitions          []Partition
	// Repository: a filesystem of it holds a Keepsake repository.
	Repository bool
}

// Partition is one partition of a Candidate and what is on it.
type Partition struct {
	Name                string
	Size                int64
	FSType, Label, UUID string
}

// Token names the device as it is now: the device number and media
// sequence (another drive plugged in at the same name has others), the
// size, and what is on it. A confirmation given for one token does not
// erase a device whose token changed since.
func (c Candidate) Token() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%d\x00%s\x00%s\x00%s\x00%s\x00%s\x00%v\x00",
		c.Device, c.Name, c.DevNo, c.DiskSeq, c.Size, c.BackingFile, c.FSType, c.Label, c.UUID, c.PTType, c.Repository)
	for _, p := range c.Partitions {
		fmt.Fprintf(h, "%s\x00%d\x00%s\x00%s\x00%s\x00", p.Name, p.Size, p.FSType, p.Label, p.UUID)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// systemMounts are the mount points whose disk is the running system's:
// erasing it would destroy the computer, not just a drive.
var systemMounts = map[string]bool{"/": true, "/boot": true, "/boot/efi": true, "/efi": true, "/usr": true, "/var": true}

// Inspect resolves device (a path under /dev, symlinks such as
// /dev/disk/by-id/... allowed) and checks that it may be erased: a
// whole disk, removable or a loop device (which only an administrator's
// explicit naming brings here: none is ever offered), that holds no
// part of the running system and nothing in use. The refusals are named
// errors (DriveNotFound, NotWholeDisk, SystemDisk, DeviceInUse,
// NotRemovable) and come before anything is read from the device itself.
// Then it describes what is on it, mounting a filesystem read-only (and
// without replaying a journal, which would write) to see whether it
// holds a Keepsake repository.
func Inspect(device string) (Candidate, error) {
	name, devno, err := resolveDevice(device)
	if err != nil {
		return Candidate{}, err
	}
	mounts, err := readMountTable()
	if err != nil {
		return Candidate{}, err
	}
	swaps, err := readSwaps()
	if err != nil {
		return Candidate{}, err
	}
	c, err := hostPaths.check(name, devno, mounts, swaps)
	if err != nil {
		return c, err
	}
	// A mount in another mount namespace (a container, a sandbox) is not
	// in this process's table, but the kernel refuses an exclusive open
	// of a device a filesystem is mounted from: the last word on "in use".
	fd, err := unix.Open(c.Device, unix.O_RDONLY|unix.O_EXCL|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if errors.Is(err, unix.EBUSY) {
		return c, kerr.New(kerr.DeviceInUse, "%s is in use (mounted elsewhere, or held by another program): nothing was erased", c.Device)
	}
	if err != nil {
		return c, kerr.Wrap(kerr.DriveNotFound, err, "open %s", c.Device)
	}
	unix.Close(fd)
	describe(&c)
	return c, nil
}

// resolveDevice turns a device path into its kernel name and number.
func resolveDevice(device string) (name, devno string, err error) {
	if !strings.HasPrefix(device, "/dev/") {
		return "", "", kerr.New(kerr.InvalidArgs, "%q is not a device path (/dev/sdb, /dev/loop3)", device)
	}
	var st unix.Stat_t
	if err := unix.Stat(device, &st); err != nil {
		return "", "", kerr.Wrap(kerr.DriveNotFound, err, "no device %s", device)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return "", "", kerr.New(kerr.InvalidArgs, "%s is not a block device", device)
	}
	devno = fmt.Sprintf("%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
	link, err := filepath.EvalSymlinks(filepath.Join("/sys/dev/block", devno))
	if err != nil {
		return "", "", kerr.Wrap(kerr.DriveNotFound, err, "the kernel does not know device %s (%s)", device, devno)
	}
	return filepath.Base(link), devno, nil
}

// check applies the rules of Inspect to the kernel's view of device name
// (number devno), given the mount table and the swap devices in use. It
// reads sysfs only (p), so unit tests run it on a fake tree.
func (p sysPaths) check(name, devno string, mounts []mountEntry, swaps []string) (Candidate, error) {
	si, err := p.sys(name)
	if err != nil {
		return Candidate{}, kerr.Wrap(kerr.DriveNotFound, err, "no device %s", name)
	}
	c := Candidate{Device: si.devname, Name: name, DevNo: si.devno, Size: si.size}
	dir := filepath.Join(p.block, name)
	if _, err := os.Stat(filepath.Join(dir, "partition")); err == nil {
		whole := ""
		if real, err := filepath.EvalSymlinks(dir); err == nil {
			whole = filepath.Base(filepath.Dir(real))
		}
		if whole != "" && whole != "block" && whole != "." {
			return c, kerr.New(kerr.NotWholeDisk, "%s is a partition of /dev/%s: Keepsake erases whole drives only (name /dev/%s to erase the whole drive)", c.Device, whole, whole)
		}
		return c, kerr.New(kerr.NotWholeDisk, "%s is a partition: Keepsake erases whole drives only", c.Device)
	}
	c.Loop = strings.HasPrefix(name, "loop")
	if c.Loop {
		b, err := os.ReadFile(filepath.Join(dir, "loop", "backing_file"))
		if err != nil {
			return c, kerr.New(kerr.DriveNotFound, "%s is a loop device bound to no file", c.Device)
		}
		c.BackingFile = strings.TrimSpace(string(b))
	}
	if si.size <= 0 {
		return c, kerr.New(kerr.DriveNotFound, "%s has no medium (size 0)", c.Device)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "diskseq")); err == nil {
		c.DiskSeq = strings.TrimSpace(string(b))
	}

	// The family: the disk, its partitions and whatever is built on any
	// of them (device-mapper, RAID), all of which erasing destroys.
	family := map[string]string{} // devno -> kernel name
	var parts []string
	var holders []string
	var walk func(n string, top bool)
	walk = func(n string, top bool) {
		d := filepath.Join(p.block, n)
		if b, err := os.ReadFile(filepath.Join(d, "dev")); err == nil {
			family[strings.TrimSpace(string(b))] = n
		}
		if hs, err := os.ReadDir(filepath.Join(d, "holders")); err == nil {
			for _, h := range hs {
				if _, seen := family[devOf(p, h.Name())]; !seen && validName(h.Name()) {
					holders = append(holders, h.Name())
					walk(h.Name(), false)
				}
			}
		}
		if !top {
			return
		}
		subs, _ := os.ReadDir(d)
		for _, s := range subs {
			if _, err := os.Stat(filepath.Join(d, s.Name(), "partition")); err == nil && validName(s.Name()) {
				parts = append(parts, s.Name())
				walk(s.Name(), false)
			}
		}
	}
	walk(name, true)
	sort.Strings(parts)
	for _, pn := range parts {
		size, _ := readInt(filepath.Join(p.block, pn, "size"))
		c.Partitions = append(c.Partitions, Partition{Name: pn, Size: size * 512})
	}

	var system, used []string
	for _, m := range mounts {
		owner, ok := family[m.DevNo]
		if !ok && strings.HasPrefix(m.Source, "/dev/") {
			// btrfs mounts carry an anonymous device number: go by the source.
			owner, ok = family[devOf(p, "", m.Source)]
		}
		if !ok {
			continue
		}
		if systemMounts[m.MountPoint] {
			system = append(system, fmt.Sprintf("%s (on %s)", m.MountPoint, owner))
		} else {
			used = append(used, fmt.Sprintf("%s (%s)", m.MountPoint, owner))
		}
	}
	if len(system) > 0 {
		return c, kerr.New(kerr.SystemDisk, "%s holds this computer's system (%s): it is never erased", c.Device, strings.Join(system, ", "))
	}
	for _, s := range swaps {
		if owner, ok := family[devOf(p, "", s)]; ok {
			used = append(used, fmt.Sprintf("swap on %s", owner))
		}
	}
	if len(used) > 0 {
		return c, kerr.New(kerr.DeviceInUse, "%s is in use: mounted at %s; unmount it first (nothing was erased)", c.Device, strings.Join(used, ", "))
	}
	if len(holders) > 0 {
		return c, kerr.New(kerr.DeviceInUse, "%s is in use by %s (device-mapper or RAID built on it): stop that first (nothing was erased)", c.Device, strings.Join(holders, ", "))
	}

	c.Removable = removable(p, name)
	if !c.Removable && !c.Loop {
		return c, kerr.New(kerr.NotRemovable, "%s is an internal disk, not a removable drive: Keepsake only erases removable (USB) drives", c.Device)
	}
	if si.readOnly {
		return c, kerr.New(kerr.InvalidArgs, "%s is read-only (write-protected): nothing can be written to it", c.Device)
	}
	c.Model = strings.TrimSpace(readText(filepath.Join(dir, "device", "vendor")) + " " + readText(filepath.Join(dir, "device", "model")))
	return c, nil
}

// devOf is the number of the device with kernel name n, or (n "") of
// the device node at path.
func devOf(p sysPaths, n string, path ...string) string {
	if len(path) > 0 {
		var st unix.Stat_t
		if unix.Stat(path[0], &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFBLK {
			return ""
		}
		return fmt.Sprintf("%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
	}
	return readText(filepath.Join(p.block, n, "dev"))
}

func readText(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// removable says whether a disk is a drive one plugs in. The kernel's
// removable flag is set for card readers and USB sticks, but most USB hard
// disks (the usual backup drive) report 0: a disk on a USB or FireWire
// bus counts too, by udev's ID_BUS or by its place in sysfs.
func removable(p sysPaths, name string) bool {
	if readText(filepath.Join(p.block, name, "removable")) == "1" {
		return true
	}
	if props, err := p.udevProps(readText(filepath.Join(p.block, name, "dev"))); err == nil {
		if b := props["ID_BUS"]; b == "usb" || b == "ieee1394" {
			return true
		}
	}
	real, err := filepath.EvalSymlinks(filepath.Join(p.block, name))
	return err == nil && (strings.Contains(real, "/usb") || strings.Contains(real, "/firewire"))
}

func readMountTable() ([]mountEntry, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mount table: %w", err)
	}
	return parseMountinfo(string(b)), nil
}

// readSwaps lists the devices and files of /proc/swaps.
func readSwaps() ([]string, error) {
	f, err := os.Open("/proc/swaps")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // a kernel without swap
	}
	if err != nil {
		return nil, fmt.Errorf("read swap table: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for first := true; sc.Scan(); first = false {
		if fs := strings.Fields(sc.Text()); !first && len(fs) > 0 {
			out = append(out, unescapeMount(fs[0]))
		}
	}
	return out, sc.Err()
}

// blkidProbe is what blkid -p (the device itself, no cache) finds on a
// device: TYPE, LABEL, UUID, PTTYPE; empty when nothing.
func blkidProbe(device string) map[string]string {
	out, err := exec.Command("blkid", "-p", "-o", "export", device).Output()
	m := map[string]string{}
	if err != nil {
		return m // exit 2: nothing found
	}
	for _, l := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[k] = strings.ToValidUTF8(unescapeExport(v), "\uFFFD")
		}
	}
	return m
}

// unescapeExport undoes blkid -o export's quoting for the shell: a
// backslash before each special character ("KS\ ext4").
func unescapeExport(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// describe fills in what is on the device and its partitions.
func describe(c *Candidate) {
	m := blkidProbe(c.Device)
	c.FSType, c.Label, c.UUID, c.PTType = m["TYPE"], m["LABEL"], m["UUID"], m["PTTYPE"]
	if c.FSType != "" {
		c.Repository = holdsRepository(c.Device, c.FSType)
	}
	for i, p := range c.Partitions {
		pm := blkidProbe("/dev/" + p.Name)
		c.Partitions[i].FSType, c.Partitions[i].Label, c.Partitions[i].UUID = pm["TYPE"], pm["LABEL"], pm["UUID"]
		if pm["TYPE"] != "" && holdsRepository("/dev/"+p.Name, pm["TYPE"]) {
			c.Repository = true
		}
	}
}

// probeOptions keep a read-only look from writing: ext3/4 and XFS replay
// their journal on mount, read-only or not, unless told not to.
var probeOptions = map[string]string{"ext3": "noload", "ext4": "noload", "xfs": "norecovery", "btrfs": "rescue=nologreplay"}

// holdsRepository mounts the filesystem read-only in a private folder
// and looks for a repository's marker. A filesystem that does not mount
// holds none that Keepsake could use.
func holdsRepository(device, fstype string) bool {
	if !mountable[fstype] {
		return false
	}
	dir, err := os.MkdirTemp("", "keepsake-look-")
	if err != nil {
		return false
	}
	defer os.Remove(dir)
	if err := unix.Mount(device, dir, driver(fstype), mountFlags|unix.MS_RDONLY, probeOptions[fstype]); err != nil {
		return false
	}
	defer unix.Unmount(dir, unix.UMOUNT_NOFOLLOW)
	_, err = os.Stat(filepath.Join(dir, repo.DirName, repo.MarkerName))
	return err == nil
}

// Filesystems Erase makes.
const (
	Btrfs = "btrfs"
	Ext4  = "ext4"
)

// DefaultLabel is the label of a prepared drive unless another is given.
const DefaultLabel = "Keepsake"

// CheckLabel refuses a label the filesystem cannot hold: ext4 keeps 16
// bytes, btrfs 255; control characters would garble every list that
// shows it.
func CheckLabel(fstype, label string) error {
	limit := map[string]int{Ext4: 16, Btrfs: 255}[fstype]
	switch {
	case label == "":
		return kerr.New(kerr.InvalidArgs, "the label is empty")
	case !utf8.ValidString(label):
		return kerr.New(kerr.InvalidArgs, "the label is not valid UTF-8")
	case len(label) > limit:
		return kerr.New(kerr.InvalidArgs, "the label %q is %d bytes long: %s labels hold at most %d", label, len(label), fstype, limit)
	case strings.IndexFunc(label, unicode.IsControl) >= 0:
		return kerr.New(kerr.InvalidArgs, "the label %q holds a control character", label)
	}
	return nil
}

// mkfsArgs are the commands that make each filesystem on a device.
// ext4 gets the encrypt feature so that an encrypted repository (fscrypt)
// can be made on it later without reformatting.
func mkfsArgs(fstype, label, device string) (string, []string) {
	if fstype == Ext4 {
		return "mkfs.ext4", []string{"-F", "-q", "-O", "encrypt", "-L", label, device}
	}
	return "mkfs.btrfs", []string{"-f", "-q", "-L", label, device}
}

// Erase wipes every signature from c's device (wipefs --all: filesystem,
// partition table, RAID superblocks), makes a new filesystem of fstype
// labelled label, has udev look at the device again (so the drive
// monitor sees the new filesystem), and returns the new filesystem's
// UUID, read back from the device. phase is told "erasing" and "making
// the filesystem". The caller has checked c with Inspect just before.
func Erase(ctx context.Context, c Candidate, fstype, label string, phase func(string)) (string, error) {
	if fstype != Btrfs && fstype != Ext4 {
		return "", kerr.New(kerr.InvalidArgs, "filesystem %q: Keepsake makes btrfs or ext4", fstype)
	}
	if err := CheckLabel(fstype, label); err != nil {
		return "", err
	}
	phase("erasing")
	if err := wipe(ctx, c.Device); err != nil {
		return "", err
	}
	phase("making the filesystem")
	name, args := mkfsArgs(fstype, label, c.Device)
	if err := runTool(ctx, name, args...); err != nil {
		return "", err
	}
	if _, err := exec.LookPath("udevadm"); err == nil {
		// mkfs closing the device makes udev look again when it watches
		// it; asking makes sure, and --settle waits until it has.
		_ = exec.CommandContext(ctx, "udevadm", "trigger", "--action=change", "--settle", c.Device).Run()
	}
	m := blkidProbe(c.Device)
	if m["TYPE"] != fstype || m["UUID"] == "" {
		return "", kerr.New(kerr.Failed, "%s made on %s, but blkid finds %q with UUID %q there", fstype, c.Device, m["TYPE"], m["UUID"])
	}
	if m["LABEL"] != label {
		return "", kerr.New(kerr.Failed, "%s on %s is labelled %q, not %q", fstype, c.Device, m["LABEL"], label)
	}
	return m["UUID"], nil
}

// wipe runs wipefs --all on device. wipefs opens the device exclusively,
// so a moment's look by udev's blkid (a drive just plugged in or just
// changed) or by the drive monitor makes it fail busy: it waits for udev
// to settle and tries again for a few seconds. A device that stays busy
// (mounted meanwhile, in use) still fails, with wipefs's own message.
func wipe(ctx context.Context, device string) error {
	var err error
	for try := 0; try < 10; try++ {
		if err = runTool(ctx, "wipefs", "--all", device); err == nil || !strings.Contains(err.Error(), "busy") || ctx.Err() != nil {
			return err
		}
		if _, lerr := exec.LookPath("udevadm"); lerr == nil {
			_ = exec.CommandContext(ctx, "udevadm", "settle", "--timeout=2").Run()
		}
		time.Sleep(300 * time.Millisecond)
	}
	return err
}

// runTool runs one of the tools Erase needs; a missing one is named with
// the package that has it.
func runTool(ctx context.Context, name string, args ...string) error {
	if _, err := exec.LookPath(name); err != nil {
		pkg := map[string]string{"wipefs": "util-linux", "mkfs.btrfs": "btrfs-progs", "mkfs.ext4": "e2fsprogs", "tune2fs": "e2fsprogs"}[name]
		return kerr.Wrap(kerr.Failed, err, "%s is not installed (package %s)", name, pkg)
	}
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if ctx.Err() != nil {
		return kerr.Wrap(kerr.Cancelled, context.Cause(ctx), "%s was stopped: the drive is left half-prepared; prepare it again", name)
	}
	if err != nil {
		return kerr.Wrap(kerr.Failed, err, "%s %s: %s", name, strings.Join(args, " "), strings.TrimSpace(string(out)))
	}
	return nil
}
