// Package fsmeta reads and applies the metadata Keepsake keeps for every
// entry: type, mode, owner and group (ids and names), mtime in nanoseconds,
// symlink target, extended attributes and POSIX ACLs (which Linux exposes as
// the system.posix_acl_access and system.posix_acl_default xattrs, so they
// travel with the other xattrs byte for byte).
package fsmeta
