// Package realfs gives tests real filesystems and real processes: loop
// devices with ext4, FUSE vfat drives, built binaries. Tests that need root
// skip with the reason as a normal user and fail under CI (CI=true), where
// a skipped integration test would hide a regression.
package realfs
