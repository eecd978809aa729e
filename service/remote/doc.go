// Package remote reaches other computers for backups: it pulls their
// folders with rsync over OpenSSH into a snapshot folder, and keeps the
// trust that makes this safe, that is Keepsake's own ssh key (with the
// restricted authorized_keys line to install on the other computer) and
// the host keys it has accepted for each of them.
//
// It runs OpenSSH's and rsync's own programs (ssh, ssh-keygen,
// ssh-keyscan, rsync), never through a shell. It neither prints nor talks
// D-Bus: failures are named errors (kerr.HostUnreachable,
// HostKeyUnknown, HostKeyChanged, RemoteRefused, TransferFailed,
// Cancelled) with context, and progress goes to a callback.
//
// testing.go holds StartSSHD, a real sshd on 127.0.0.1 with a fresh
// account, for the tests of this and other packages.
package remote
