package daemon

import (
	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/shared/kerr"
)

// Unlock unlocks an encrypted drive.
func (h *driveHandler) Unlock(sender dbus.Sender, options map[string]dbus.Variant) *dbus.Error {
	return h.d.callErr("Unlock", kerr.New(kerr.Failed, "not implemented yet"))
}

// Lock locks an encrypted drive.
func (h *driveHandler) Lock(sender dbus.Sender, options map[string]dbus.Variant) *dbus.Error {
	return h.d.callErr("Lock", kerr.New(kerr.Failed, "not implemented yet"))
}

// ChangePassphrase rewraps an encrypted drive's key.
func (h *driveHandler) ChangePassphrase(sender dbus.Sender, options map[string]dbus.Variant) *dbus.Error {
	return h.d.callErr("ChangePassphrase", kerr.New(kerr.Failed, "not implemented yet"))
}

// ForgetKey deletes a remembered key.
func (h *driveHandler) ForgetKey(sender dbus.Sender, options map[string]dbus.Variant) *dbus.Error {
	return h.d.callErr("ForgetKey", kerr.New(kerr.Failed, "not implemented yet"))
}

// EnrollEncrypted writes an encrypted repository to the drive.
func (h *driveHandler) EnrollEncrypted(sender dbus.Sender, options map[string]dbus.Variant) (string, *dbus.Error) {
	return "", h.d.callErr("EnrollEncrypted", kerr.New(kerr.Failed, "not implemented yet"))
}
