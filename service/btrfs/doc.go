// Package btrfs makes, snapshots and deletes btrfs subvolumes and clones
// file data, with the kernel's ioctls (no btrfs-progs at run time): what
// a snapshot store on a btrfs drive is built from. A snapshot of a
// subvolume costs O(1) whatever its size, and a clone (FICLONE) shares
// the data of a file already on the drive.
//
// Every call takes a descriptor of the folder it works in and a plain
// name in it, so nothing is looked up through a path someone else could
// change meanwhile.
package btrfs
