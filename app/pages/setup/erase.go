package setup

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/keepsake/keepsake/app/humanize"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/i18n"
)

// This file holds the decisions of "Erase and use for backups…": which
// drives offer it, which device is erased, and what the question and the
// answer say. Like logic.go, it has no GTK in it.

// EraseLabel names the action; a row's button shows it shorter. It is in
// English: where it is shown it is translated.
var EraseLabel = i18n.Noop("Erase and use for backups…")

// erasable are the filesystems a drive is bought or used with that
// cannot hold backups as they are: the service lists such drives as
// unusable, and erasing them is the only way to use them. A locked LUKS
// drive or a read-only one is left alone: its cure is unlocking it or
// flipping its switch, not losing what is on it.
var erasable = map[string]bool{
	"vfat": true, "fat": true, "msdos": true, "exfat": true,
	"ntfs": true, "ntfs3": true,
	// A USB stick that an installer image was written to.
	"iso9660": true, "udf": true,
}

// EraseDevice is the device whose drive the action would erase, or ""
// when the row does not offer it: only a drive that is plugged in, holds
// no backups, and is unusable because of its filesystem. Optical drives
// (/dev/sr*) are never offered: a disc is not erased.
func EraseDevice(d client.Drive) string {
	if !d.Present || d.Enrolled || d.Unusable == "" || !erasable[strings.ToLower(d.Filesystem)] {
		return ""
	}
	if !strings.HasPrefix(d.Device, "/dev/") || strings.HasPrefix(d.Device, "/dev/sr") || strings.HasPrefix(d.Device, "/dev/mapper/") {
		return ""
	}
	return d.Device
}

// WholeDisk is the disk a filesystem's device is on: the service erases
// whole drives only, and a FAT stick's filesystem is usually on its first
// partition (/dev/sdb1 is on /dev/sdb). sysfs says best (sys is its
// root, "/sys"); without it the kernel's naming decides: a name ending in
// a digit after a letter-only disk name (sdb1, vdc2), or pN after a disk
// name ending in a digit (nvme0n1p1, mmcblk0p1, loop3p1). A device that
// is no partition is its own disk.
func WholeDisk(sys, dev string) string {
	name := filepath.Base(dev)
	if sys != "" {
		dir := filepath.Join(sys, "class", "block", name)
		if _, err := os.Stat(filepath.Join(dir, "partition")); err == nil {
			if real, err := filepath.EvalSymlinks(dir); err == nil {
				if whole := filepath.Base(filepath.Dir(real)); whole != "block" && whole != "." && whole != "/" {
					return "/dev/" + whole
				}
			}
		} else if _, err := os.Stat(dir); err == nil {
			return dev // sysfs knows it, and not as a partition
		}
	}
	return "/dev/" + diskName(name)
}

// diskName strips a partition number from a kernel device name.
func diskName(name string) string {
	digits := strings.TrimRightFunc(name, func(r rune) bool { return r >= '0' && r <= '9' })
	if digits == name || digits == "" {
		return name // no number at the end
	}
	// nvme0n1p1, mmcblk0p1, loop3p1: the disk's name ends in a digit, so
	// the partition's number follows a p.
	if base := strings.TrimSuffix(digits, "p"); base != digits && base != "" && base[len(base)-1] >= '0' && base[len(base)-1] <= '9' {
		return base
	}
	for _, p := range []string{"nvme", "mmcblk", "loop", "nbd", "md", "dm-", "zram"} {
		if strings.HasPrefix(name, p) {
			return name // nvme0n1, mmcblk0, loop3: a disk with its number
		}
	}
	return digits // sdb1 → sdb
}

// DeviceName is how the question calls the drive: its label, else its
// model, else its size.
func DeviceName(d api.DeviceInfo) string {
	switch {
	case d.Label != "":
		return d.Label
	case d.Model != "":
		return d.Model
	case d.Size > 0:
		return fmt.Sprintf(i18n.T("%s Drive"), humanize.Size(int64(d.Size)))
	}
	return filepath.Base(d.Device)
}

// Partition is one line of DeviceInfo.Partitions ("NAME SIZE FILESYSTEM
// LABEL") in words: `sdb1, 32 GB, vfat, “CAMERA”`.
func Partition(line string) string {
	f := strings.SplitN(line, " ", 4)
	parts := []string{f[0]}
	if len(f) > 1 {
		if n, err := strconv.ParseInt(f[1], 10, 64); err == nil && n > 0 {
			parts = append(parts, humanize.Size(n))
		}
	}
	if len(f) > 2 && f[2] != "" {
		parts = append(parts, f[2])
	}
	if len(f) > 3 && strings.TrimSpace(f[3]) != "" {
		// TRANSLATORS: a partition's label, quoted, after its name, size and filesystem.
		parts = append(parts, fmt.Sprintf(i18n.T("“%s”"), strings.TrimSpace(f[3])))
	}
	return strings.Join(parts, ", ")
}

// Contents says what is on the drive now, the part of the question a
// person weighs: backups first, as losing them is the worst.
func Contents(d api.DeviceInfo) string {
	var s []string
	if d.Repository {
		s = append(s, i18n.T("It holds Keepsake backups: they will be lost."))
	}
	switch {
	case d.Filesystem != "" && d.Label != "":
		// TRANSLATORS: %[1]s is a filesystem (ext4, vfat), %[2]s the drive's label.
		s = append(s, fmt.Sprintf(i18n.T("It holds files (%[1]s, “%[2]s”)."), d.Filesystem, d.Label))
	case d.Filesystem != "":
		// TRANSLATORS: %s is a filesystem (ext4, vfat).
		s = append(s, fmt.Sprintf(i18n.T("It holds files (%s)."), d.Filesystem))
	case len(d.Partitions) == 1:
		// TRANSLATORS: %s describes the partition: “sdb1, 32 GB, vfat, “CAMERA””.
		s = append(s, fmt.Sprintf(i18n.T("It holds files on one partition (%s)."), Partition(d.Partitions[0])))
	case len(d.Partitions) > 1:
		names := make([]string, len(d.Partitions))
		for i, p := range d.Partitions {
			names[i] = Partition(p)
		}
		// TRANSLATORS: %[1]d is how many partitions (at least 2), %[2]s their descriptions.
		s = append(s, fmt.Sprintf(i18n.N("It holds %[1]d partition: %[2]s.", "It holds %[1]d partitions: %[2]s.", len(names)), len(names), strings.Join(names, "; ")))
	case d.PartitionTable != "":
		s = append(s, i18n.T("It holds an empty partition table."))
	default:
		s = append(s, i18n.T("It looks empty."))
	}
	return strings.Join(s, " ")
}

// EraseQuestion is the confirmation's heading and text for a described
// device: which drive (name, size, model, device) and what is lost.
func EraseQuestion(d api.DeviceInfo) (heading, body string) {
	name := DeviceName(d)
	// TRANSLATORS: a dialog's heading; %s is the drive's name.
	heading = fmt.Sprintf(i18n.T("Erase “%s”?"), name)
	var what []string
	if d.Model != "" && d.Model != name {
		what = append(what, d.Model)
	}
	if d.Loop && d.BackingFile != "" {
		// TRANSLATORS: %s is the file a loop device shows as a drive.
		what = append(what, fmt.Sprintf(i18n.T("image %s"), d.BackingFile))
	}
	if d.Size > 0 {
		what = append(what, humanize.Size(int64(d.Size)))
	}
	what = append(what, d.Device)
	body = strings.Join(what, " · ") + "\n\n" + Contents(d) +
		"\n\n" + i18n.T("Everything on it will be erased, and it becomes a Keepsake drive for backups. This cannot be undone.")
	return heading, body
}

// EraseFilesystem is the filesystem the new drive is made with: btrfs
// keeps each backup as a snapshot of its own; ext4 is for a person who
// wants encrypted backups (the service makes it with the encrypt feature).
func EraseFilesystem(ext4 bool) string {
	if ext4 {
		return "ext4"
	}
	return "btrfs"
}

// Prepared is the toast once a drive is ready; enroll is whether the
// service was asked to enroll it (false: the setup encrypts it next).
func Prepared(r api.PrepareResult, enroll bool) string {
	label := r.Label
	if label == "" {
		label = "Keepsake"
	}
	// TRANSLATORS: here and in the two sentences below, %[1]s is the
	// drive's label, %[2]s its filesystem (btrfs, ext4), %[3]s its UUID.
	s := fmt.Sprintf(i18n.T("“%[1]s” is ready for backups (%[2]s, UUID %[3]s)"), label, r.Filesystem, r.UUID)
	switch {
	case !enroll:
		s = fmt.Sprintf(i18n.T("“%[1]s” was erased (%[2]s, UUID %[3]s): choose its passphrase to encrypt it"), label, r.Filesystem, r.UUID)
	case !r.Enrolled:
		// The service made the filesystem but could not enroll it yet.
		s = fmt.Sprintf(i18n.T("“%[1]s” was erased (%[2]s, UUID %[3]s) but is not a backup drive yet"), label, r.Filesystem, r.UUID)
	}
	return s
}
