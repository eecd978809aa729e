package drives

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// sysPaths locates the kernel's and udev's view of block devices; unit
// tests point it at a fake tree.
type sysPaths struct {
	block string // /sys/class/block
	udev  string // /run/udev/data
}

var hostPaths = sysPaths{block: "/sys/class/block", udev: "/run/udev/data"}

// sysInfo is what the kernel says about one block device.
type sysInfo struct {
	devno    string // "7:3"
	devname  string // /dev/loop3
	size     int64  // bytes
	readOnly bool
	unbound  bool // a loop device without a backing file
}

// device is what a Monitor tracks for one kernel block device.
type device struct {
	name  string // kernel name, e.g. loop3
	devno string
	drive Drive
}

// validName rejects names that would escape /sys/class/block: they come
// from uevents and directory entries, never from users, but a path is built
// from them.
func validName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsRune(name, '/')
}

// sys reads /sys/class/block/<name>.
func (p sysPaths) sys(name string) (sysInfo, error) {
	var si sysInfo
	if !validName(name) {
		return si, fmt.Errorf("invalid block device name %q", name)
	}
	dir := filepath.Join(p.block, name)
	dev, err := os.ReadFile(filepath.Join(dir, "dev"))
	if err != nil {
		return si, fmt.Errorf("read block device %s: %w", name, err)
	}
	si.devno = strings.TrimSpace(string(dev))
	si.devname = "/dev/" + name
	if ue, err := os.ReadFile(filepath.Join(dir, "uevent")); err == nil {
		for _, line := range strings.Split(string(ue), "\n") {
			if v, ok := strings.CutPrefix(line, "DEVNAME="); ok && v != "" && !strings.Contains(v, "..") {
				si.devname = "/dev/" + v
			}
		}
	}
	sectors, err := readInt(filepath.Join(dir, "size"))
	if err != nil {
		return si, fmt.Errorf("read size of %s: %w", name, err)
	}
	// The kernel counts in 512-byte sectors whatever the device's block size.
	si.size = sectors * 512
	if ro, err := readInt(filepath.Join(dir, "ro")); err == nil {
		si.readOnly = ro != 0
	}
	// A loop device shows its loop/ attributes only while bound to a file.
	if strings.HasPrefix(name, "loop") {
		if _, err := os.Stat(filepath.Join(dir, "partition")); errors.Is(err, fs.ErrNotExist) {
			if _, err := os.Stat(filepath.Join(dir, "loop", "backing_file")); err != nil {
				si.unbound = true
			}
		}
	}
	return si, nil
}

func readInt(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}

// udevProps reads the properties (E: lines) udevd stored for a device in its
// database, the same ones its uevents carry.
func (p sysPaths) udevProps(devno string) (map[string]string, error) {
	f, err := os.Open(filepath.Join(p.udev, "b"+devno))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	props := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if kv, ok := strings.CutPrefix(sc.Text(), "E:"); ok {
			if k, v, ok := strings.Cut(kv, "="); ok {
				props[k] = v
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read udev database for %s: %w", devno, err)
	}
	return props, nil
}

// probe combines the kernel's facts about name with udev properties (from
// a uevent, or from the database when props is nil). ok is false when the
// device holds nothing that could be a backup drive.
func (p sysPaths) probe(name string, props map[string]string) (dev device, ok bool, err error) {
	si, err := p.sys(name)
	if err != nil {
		return device{}, false, err
	}
	if props == nil {
		props, err = p.udevProps(si.devno)
		if errors.Is(err, fs.ErrNotExist) {
			// udevd has not processed the device (or it was removed).
			return device{}, false, nil
		}
		if err != nil {
			return device{}, false, err
		}
	}
	d, ok := newDrive(si, props)
	return device{name: name, devno: si.devno, drive: d}, ok, nil
}

// Filesystem types that are read-only by design: images (snap packages,
// CDs), never backup targets. Shown, they would only clutter the list.
var readOnlyImages = map[string]bool{
	"squashfs": true, "iso9660": true, "erofs": true, "cramfs": true, "romfs": true,
}

// Encrypted containers; udev marks them ID_FS_USAGE=crypto, these cover
// databases written without it.
var lockedTypes = map[string]bool{"crypto_LUKS": true, "BitLocker": true}

// newDrive decides whether a device is a drive and describes it.
func newDrive(si sysInfo, props map[string]string) (Drive, bool) {
	uuid, fstype := props["ID_FS_UUID"], props["ID_FS_TYPE"]
	switch {
	case uuid == "" || fstype == "":
		return Drive{}, false // no filesystem, or one without identity
	case si.size <= 0 || si.unbound:
		return Drive{}, false // empty card reader, detached loop device, stale udev data
	case fstype == "swap" || strings.HasSuffix(fstype, "_member"):
		return Drive{}, false // swap, LVM/RAID/ZFS members
	case readOnlyImages[fstype]:
		return Drive{}, false
	}
	usage := props["ID_FS_USAGE"]
	if usage != "" && usage != "filesystem" && usage != "crypto" {
		return Drive{}, false // "raid", "other": not something to mount
	}
	label := props["ID_FS_LABEL"]
	if enc, ok := props["ID_FS_LABEL_ENC"]; ok {
		label = decodeUdev(enc)
	}
	// Labels and UUIDs come from the drive itself, which anyone may have
	// written: keep them valid UTF-8 so they can travel over D-Bus.
	return Drive{
		UUID:     strings.ToValidUTF8(uuid, "\uFFFD"),
		Label:    strings.ToValidUTF8(label, "\uFFFD"),
		FSType:   strings.ToValidUTF8(fstype, "\uFFFD"),
		Device:   si.devname,
		Size:     si.size,
		Present:  true,
		ReadOnly: si.readOnly,
		Locked:   usage == "crypto" || lockedTypes[fstype],
	}, true
}

// decodeUdev undoes udev's \xHH escaping (ID_FS_LABEL_ENC: "My\x20Disk").
// ID_FS_LABEL itself has unsafe characters replaced by '_', losing them.
func decodeUdev(s string) string {
	if !strings.Contains(s, `\x`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			if v, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
