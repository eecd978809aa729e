package kerr

import (
	"errors"
	"fmt"
	"strings"
)

// Name is the stable, machine-readable name of an error.
type Name string

// The names of Keepsake's errors. They are part of the public interface:
// never rename one.
const (
	Failed                Name = "Failed"
	Busy                  Name = "Busy"
	NotARepository        Name = "NotARepository"
	UnsupportedFilesystem Name = "UnsupportedFilesystem"
	NoSpace               Name = "NoSpace"
	SnapshotNotFound      Name = "SnapshotNotFound"
	PathNotFound          Name = "PathNotFound"
	UnsafePath            Name = "UnsafePath"
	InvalidArgs           Name = "InvalidArgs"
	CatalogCorrupt        Name = "CatalogCorrupt"
	Cancelled             Name = "Cancelled"
	SourceChanged         Name = "SourceChanged"
	DeviceGone            Name = "DeviceGone"
	Damaged               Name = "Damaged"
	DriveNotFound         Name = "DriveNotFound"
	MountFailed           Name = "MountFailed"
	InvalidConfig         Name = "InvalidConfig"
	NotAuthorized         Name = "NotAuthorized"
	NotFound              Name = "NotFound"
	// ServiceNotRunning: nothing answers for keepsaked on the system bus
	// (not started, crashed, gone during a call or while a job was
	// followed), or the system bus itself cannot be reached. Only the
	// client produces it; the service never sends it.
	ServiceNotRunning Name = "ServiceNotRunning"

	// Other computers (sources written ssh://host/path).

	// HostUnreachable: nothing answers at the other computer's address
	// (no such host, nothing listening on its ssh port, or no route).
	HostUnreachable Name = "HostUnreachable"
	// HostKeyUnknown: the other computer's host key has not been accepted
	// yet; someone must check its fingerprint and accept it first.
	HostKeyUnknown Name = "HostKeyUnknown"
	// HostKeyChanged: the other computer presents a host key that differs
	// from the accepted one. Keepsake refuses to connect and never accepts
	// the new key by itself: it may be another machine posing as it.
	HostKeyChanged Name = "HostKeyChanged"
	// RemoteRefused: the other computer refused the login (its
	// authorized_keys lacks Keepsake's key) or refused the transfer (its
	// rrsync restriction does not allow it).
	RemoteRefused Name = "RemoteRefused"
	// TransferFailed: copying from or to the other computer failed for
	// another reason (rsync's own message follows).
	TransferFailed Name = "TransferFailed"

	// Preparing (erasing) a drive. Each refusal says why the device is
	// not erased; nothing has been written when one is returned.
	// SystemDisk: the device holds the running system (/, /boot, /usr…).
	SystemDisk Name = "SystemDisk"
	// DeviceInUse: a filesystem of the device is mounted, it is swap in
	// use, or another device is built on it (device-mapper, RAID).
	DeviceInUse Name = "DeviceInUse"
	// NotWholeDisk: a partition was named; Keepsake erases whole drives.
	NotWholeDisk Name = "NotWholeDisk"
	// NotRemovable: an internal disk; only removable (USB) drives, or a
	// loop device named explicitly, are erased.
	NotRemovable Name = "NotRemovable"
	// ConfirmationStale: the confirmation does not match the device as
	// it is now (another drive was plugged in at that name, or it
	// changed since it was described): describe it again.
	ConfirmationStale Name = "ConfirmationStale"
	// Encrypted backup drives (ext4 with fscrypt).

	// Locked: the repository is encrypted and its key is not in the
	// kernel: unlock it (passphrase or recovery key) first.
	Locked Name = "Locked"
	// WrongPassphrase: the passphrase does not unlock this repository.
	WrongPassphrase Name = "WrongPassphrase"
	// WrongRecoveryKey: a well-formed recovery key (its checksum holds)
	// that belongs to another repository.
	WrongRecoveryKey Name = "WrongRecoveryKey"
	// MistypedRecoveryKey: what was typed is not a recovery key (wrong
	// length, a letter outside the alphabet, or a checksum that fails):
	// a typo, to be corrected, rather than the wrong key.
	MistypedRecoveryKey Name = "MistypedRecoveryKey"
)

// DBusPrefix is prepended to a Name to form its D-Bus error name.
const DBusPrefix = "io.github.keepsake.Keepsake1.Error."

// Error is a failure with a name, a human message and an optional cause.
type Error struct {
	Name    Name
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// New returns a named error with a formatted message.
func New(name Name, format string, args ...any) *Error {
	return &Error{Name: name, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns a named error with a message and a cause.
func Wrap(name Name, err error, format string, args ...any) *Error {
	return &Error{Name: name, Message: fmt.Sprintf(format, args...), Err: err}
}

// NameOf returns the name of the first named error in err's chain, or Failed
// for any other non-nil error.
func NameOf(err error) Name {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Name
	}
	return Failed
}

// Is reports whether err carries the given name.
func Is(err error, name Name) bool {
	return err != nil && NameOf(err) == name
}

// DBusName returns the D-Bus error name for n.
func (n Name) DBusName() string { return DBusPrefix + string(n) }

// FromDBusName turns a D-Bus error name back into a Name; ok is false for
// names outside Keepsake's namespace.
func FromDBusName(s string) (Name, bool) {
	if !strings.HasPrefix(s, DBusPrefix) {
		return "", false
	}
	return Name(strings.TrimPrefix(s, DBusPrefix)), true
}
