package dbusapi

import (
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/shared/kerr"
)

func TestErrorsRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      error
		wantBus  string
		wantName kerr.Name
	}{
		{"named", kerr.New(kerr.Busy, "a backup of profile home is already running"), "io.github.keepsake.Keepsake1.Error.Busy", kerr.Busy},
		{"named, other computers", kerr.New(kerr.HostKeyChanged, "host key of 10.0.0.7 changed"), "io.github.keepsake.Keepsake1.Error.HostKeyChanged", kerr.HostKeyChanged},
		{"named, preparing a drive", kerr.New(kerr.SystemDisk, "/dev/vda holds /"), "io.github.keepsake.Keepsake1.Error.SystemDisk", kerr.SystemDisk},
		{"named, stale confirmation", kerr.New(kerr.ConfirmationStale, "/dev/loop3 changed"), "io.github.keepsake.Keepsake1.Error.ConfirmationStale", kerr.ConfirmationStale},
		{"named, encrypted drives", kerr.New(kerr.WrongPassphrase, "the passphrase does not unlock /media/x"), "io.github.keepsake.Keepsake1.Error.WrongPassphrase", kerr.WrongPassphrase},
		{"named, locked drive", kerr.New(kerr.Locked, "locked"), "io.github.keepsake.Keepsake1.Error.Locked", kerr.Locked},
		{"named, recovery key typo", kerr.New(kerr.MistypedRecoveryKey, "typo"), "io.github.keepsake.Keepsake1.Error.MistypedRecoveryKey", kerr.MistypedRecoveryKey},
		{"named, wrong recovery key", kerr.New(kerr.WrongRecoveryKey, "other drive"), "io.github.keepsake.Keepsake1.Error.WrongRecoveryKey", kerr.WrongRecoveryKey},
		{"invalid args is the standard name", kerr.New(kerr.InvalidArgs, "bad path"), "org.freedesktop.DBus.Error.InvalidArgs", kerr.InvalidArgs},
		{"unnamed is Failed", errString("disk on fire"), "io.github.keepsake.Keepsake1.Error.Failed", kerr.Failed},
		// The service never sends it; were it asked to, the bus's own name
		// says the same and reads back the same.
		{"service not running is the bus's name", kerr.New(kerr.ServiceNotRunning, "nobody there"), "org.freedesktop.DBus.Error.ServiceUnknown", kerr.ServiceNotRunning},
	} {
		t.Run(tc.name, func(t *testing.T) {
			de := ToDBus(tc.err)
			if de.Name != tc.wantBus || de.Body[0] != tc.err.Error() {
				t.Fatalf("ToDBus = %s %v", de.Name, de.Body)
			}
			back := FromDBus(*de)
			if kerr.NameOf(back) != tc.wantName || back.Error() != tc.err.Error() {
				t.Fatalf("FromDBus = %s %q", kerr.NameOf(back), back.Error())
			}
		})
	}
	if gone := FromDBus(dbus.Error{Name: "org.freedesktop.DBus.Error.UnknownObject", Body: []any{"no object"}}); kerr.NameOf(gone) != kerr.NotFound {
		t.Fatalf("an unknown object: %v, want NotFound", gone)
	}
	for _, name := range []string{"ServiceUnknown", "NameHasNoOwner", "NoReply", "Disconnected", "NoServer"} {
		if err := FromDBus(dbus.Error{Name: "org.freedesktop.DBus.Error." + name, Body: []any{"x"}}); kerr.NameOf(err) != kerr.ServiceNotRunning {
			t.Errorf("the bus's %s: %v (%s), want ServiceNotRunning", name, err, kerr.NameOf(err))
		}
	}
	foreign := FromDBus(dbus.Error{Name: "org.freedesktop.DBus.Error.AccessDenied", Body: []any{"denied"}})
	if kerr.NameOf(foreign) != kerr.Failed || !strings.Contains(foreign.Error(), "AccessDenied") {
		t.Fatalf("a foreign error: %v", foreign)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestPaths(t *testing.T) {
	for in, want := range map[string]dbus.ObjectPath{
		"home":           "/io/github/keepsake/Keepsake1/profiles/home",
		"work-2":         "/io/github/keepsake/Keepsake1/profiles/work_2d2",
		"work_2":         "/io/github/keepsake/Keepsake1/profiles/work_5f2",
		"":               "/io/github/keepsake/Keepsake1/profiles/_",
		"../../x y\x00z": "/io/github/keepsake/Keepsake1/profiles/_2e_2e_2f_2e_2e_2fx_20y_00z",
	} {
		if got := ProfilePath(in); got != want || !got.IsValid() {
			t.Errorf("ProfilePath(%q) = %q (valid %v), want %q", in, got, got.IsValid(), want)
		}
		if back, ok := ProfileName(want); !ok || back != in {
			t.Errorf("ProfileName(%q) = %q, %v, want %q", want, back, ok, in)
		}
	}
	if p := DrivePath("2f7c1b3e-8a9d"); p != "/io/github/keepsake/Keepsake1/drives/2f7c1b3e_2d8a9d" || !IsDrivePath(p) || IsJobPath(p) {
		t.Errorf("DrivePath = %q", p)
	}
	if u, ok := DriveUUID("/io/github/keepsake/Keepsake1/drives/2f7c1b3e_2d8a9d"); !ok || u != "2f7c1b3e-8a9d" {
		t.Errorf("DriveUUID = %q, %v", u, ok)
	}
	if p := JobPath(42); p != "/io/github/keepsake/Keepsake1/jobs/42" || !IsJobPath(p) {
		t.Errorf("JobPath = %q", p)
	}
	for _, p := range []dbus.ObjectPath{JobPath(1), ManagerPath, DrivePath("x"), RootPath} {
		if n, ok := ProfileName(p); ok {
			t.Errorf("ProfileName(%q) = %q, want not a profile", p, n)
		}
	}
	if u, ok := DriveUUID(ProfilePath("x")); ok {
		t.Errorf("DriveUUID of a profile = %q", u)
	}
}

type goodManager struct{}

func (goodManager) CreateProfile(dbus.Sender, string, map[string]dbus.Variant, map[string]dbus.Variant) (dbus.ObjectPath, *dbus.Error) {
	return "", nil
}
func (goodManager) Reload(dbus.Sender, map[string]dbus.Variant) *dbus.Error { return nil }
func (goodManager) GetStatus(dbus.Sender, map[string]dbus.Variant) ([]map[string]dbus.Variant, *dbus.Error) {
	return nil, nil
}
func (goodManager) GetRemoteKey(dbus.Sender, map[string]dbus.Variant) (string, *dbus.Error) {
	return "", nil
}

func (goodManager) DescribeDevice(dbus.Sender, string, map[string]dbus.Variant) (map[string]dbus.Variant, *dbus.Error) {
	return nil, nil
}
func (goodManager) PrepareDrive(dbus.Sender, string, map[string]dbus.Variant) (dbus.ObjectPath, *dbus.Error) {
	return "", nil
}

type badManager struct{ goodManager }

func (badManager) Reload(dbus.Sender, string) *dbus.Error { return nil } // wrong signature
func (badManager) Shutdown() *dbus.Error                  { return nil } // not in the XML

func TestCheckMethods(t *testing.T) {
	m := MustInterface(ManagerInterface)
	if err := CheckMethods(m, goodManager{}); err != nil {
		t.Fatalf("a matching implementation: %v", err)
	}
	err := CheckMethods(m, badManager{})
	if err == nil || !strings.Contains(err.Error(), "Reload: Go takes (s)") || !strings.Contains(err.Error(), "Shutdown: exported by Go but not in the XML") {
		t.Fatalf("a wrong implementation: %v", err)
	}
}
