package live

import (
	"reflect"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/dbusapi"
)

func TestDiff(t *testing.T) {
	read := time.Unix(1_800_000_000, 0)
	drive := client.Drive{Path: "/io/github/keepsake/Keepsake1/drives/d1", Label: "Backup"}
	missing := drive
	missing.Warning = "not seen for 14 days"
	home := client.Profile{Name: "home", Job: "/", Drive: drive.Path, LastAttempt: 10, LastSuccess: 10}
	with := func(f func(p *client.Profile)) client.Profile { p := home; f(&p); return p }
	plugJob := client.Job{Path: "/io/github/keepsake/Keepsake1/jobs/3", Trigger: "plug"}
	st := func(p client.Profile, d client.Drive, jobs ...client.Job) State {
		return State{Profiles: []client.Profile{p}, Drives: []client.Drive{d}, Jobs: jobs, Read: read}
	}
	cases := []struct {
		name      string
		prev, cur State
		want      []Event
	}{
		{"first reading tells nothing old", State{}, st(with(func(p *client.Profile) { p.LastResult = "NoSpace" }), drive), nil},
		{"first reading tells of a missing drive", State{}, st(home, missing), []Event{{Kind: DriveMissing, Drive: missing, Message: missing.Warning}}},
		{"nothing changed", st(home, drive), st(home, drive), nil},
		{"failed", st(home, drive), st(with(func(p *client.Profile) { p.LastAttempt, p.LastResult, p.LastMessage = 20, "DeviceGone", "pulled" }), drive),
			[]Event{{Kind: BackupFailed, Profile: "home", ErrorName: "DeviceGone", Message: "pulled"}}},
		{"cancel is no failure", st(home, drive), st(with(func(p *client.Profile) { p.LastAttempt, p.LastResult = 20, "Cancelled" }), drive), nil},
		{"succeeded", st(home, drive), st(with(func(p *client.Profile) { p.LastAttempt, p.LastSuccess = 20, 20 }), drive),
			[]Event{{Kind: BackupSucceeded, Profile: "home"}}},
		{"plugged in and started", st(home, drive), st(with(func(p *client.Profile) { p.Job = plugJob.Path }), drive, plugJob),
			[]Event{{Kind: DriveBackupStarted, Profile: "home", Drive: drive}}},
		{"a manual start is no plug", st(home, drive),
			st(with(func(p *client.Profile) { p.Job = plugJob.Path }), drive, client.Job{Path: plugJob.Path, Trigger: "manual"}), nil},
		{"another computer away, told once",
			st(with(func(p *client.Profile) { p.Remote, p.Host = true, "laptop" }), drive),
			st(with(func(p *client.Profile) {
				p.Remote, p.Host, p.LastAttempt, p.LastResult = true, "laptop", 20, "HostUnreachable"
			}), drive),
			[]Event{{Kind: BackupFailed, Profile: "home", Computer: "laptop", ErrorName: "HostUnreachable"}}},
		{"another computer still away",
			st(with(func(p *client.Profile) {
				p.Remote, p.Host, p.LastAttempt, p.LastResult = true, "laptop", 20, "HostUnreachable"
			}), drive),
			st(with(func(p *client.Profile) {
				p.Remote, p.Host, p.LastAttempt, p.LastResult = true, "laptop", 30, "HostUnreachable"
			}), drive),
			nil},
		{"a changed key, told once",
			st(with(func(p *client.Profile) {
				p.Remote, p.Host, p.LastAttempt, p.LastResult = true, "laptop", 20, "HostKeyChanged"
			}), drive),
			st(with(func(p *client.Profile) {
				p.Remote, p.Host, p.LastAttempt, p.LastResult = true, "laptop", 30, "HostKeyChanged"
			}), drive),
			nil},
		{"the same drive failure again is told again", st(with(func(p *client.Profile) { p.LastAttempt, p.LastResult = 20, "DeviceGone" }), drive),
			st(with(func(p *client.Profile) { p.LastAttempt, p.LastResult = 30, "DeviceGone" }), drive),
			[]Event{{Kind: BackupFailed, Profile: "home", ErrorName: "DeviceGone"}}},
		{"missing once", st(home, missing), st(home, missing), nil},
		{"goes missing", st(home, drive), st(home, missing), []Event{{Kind: DriveMissing, Drive: missing, Message: missing.Warning}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Diff(c.prev, c.cur); !reflect.DeepEqual(got, c.want) {
				t.Errorf("Diff =\n %+v\nwant\n %+v", got, c.want)
			}
		})
	}
}

func TestLookups(t *testing.T) {
	s := State{Profiles: []client.Profile{{Name: "a"}}, Drives: []client.Drive{{Path: "/d"}}, Jobs: []client.Job{{Path: "/j"}}}
	if _, ok := s.Profile("a"); !ok {
		t.Error("profile a not found")
	}
	if _, ok := s.Profile("b"); ok {
		t.Error("profile b found")
	}
	if _, ok := s.Drive(dbus.ObjectPath("/d")); !ok {
		t.Error("drive not found")
	}
	if _, ok := s.Job(dbus.ObjectPath("/x")); ok {
		t.Error("job /x found")
	}
}

func TestSignalEvent(t *testing.T) {
	prev := State{Drives: []client.Drive{{Path: "/drives/a", UUID: "a", Label: "Backup Drive", Locked: true}}}
	cases := []struct {
		name string
		sig  dbus.Signal
		want Event
		ok   bool
	}{
		{"unlock needed, with the drive as last read", dbus.Signal{Name: dbusapi.SignalUnlockNeeded, Path: "/drives/a"},
			Event{Kind: UnlockNeeded, Drive: client.Drive{Path: "/drives/a", UUID: "a", Label: "Backup Drive", Locked: true}}, true},
		{"safe to remove", dbus.Signal{Name: dbusapi.SignalSafeToRemove, Path: "/drives/a"},
			Event{Kind: SafeToRemove, Drive: client.Drive{Path: "/drives/a", UUID: "a", Label: "Backup Drive", Locked: true}}, true},
		{"a drive not read yet: its path only", dbus.Signal{Name: dbusapi.SignalUnlockNeeded, Path: "/drives/new"},
			Event{Kind: UnlockNeeded, Drive: client.Drive{Path: "/drives/new"}}, true},
		{"a property change is no event", dbus.Signal{Name: dbusapi.PropertiesInterface + ".PropertiesChanged", Path: "/drives/a"}, Event{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := SignalEvent(&c.sig, prev)
			if ok != c.ok || !reflect.DeepEqual(got, c.want) {
				t.Errorf("SignalEvent() = %+v, %v; want %+v, %v", got, ok, c.want, c.ok)
			}
		})
	}
}
