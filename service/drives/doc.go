// Package drives is the service's view of block devices that could be
// backup drives: filesystems it can identify by UUID, whether they are
// plugged in, and where they are mounted.
//
// A Monitor enumerates /sys/class/block with the udev database at start,
// then follows udevd's uevents (add, change, remove) on a netlink socket and
// the mount table through poll(2) on /proc/self/mountinfo, which signals
// every mount and unmount (mounting makes no uevent). Devices without a
// filesystem, unbound loop devices, swap, RAID/LVM members and read-only
// images (squashfs, iso9660) never show up; encrypted containers show up as
// Locked.
//
// Mount and Unmount are the only way the service mounts drives: below one
// base directory (/run/keepsake), one directory per filesystem UUID, always
// nosuid,nodev,noexec.
//
// Inspect and Erase prepare a drive: Inspect refuses the system's disk,
// anything in use, partitions and internal disks (sysfs, the mount and
// swap tables, an exclusive open) and describes what is on the device;
// Erase runs wipefs and mkfs.btrfs or mkfs.ext4 and reads the new UUID
// back with blkid.
package drives
