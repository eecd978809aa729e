package overview

import (
	"strings"
	"testing"
	"time"

	"github.com/keepsake/keepsake/app/live"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/dbusapi"
)

// withDrive is d enrolled, encrypted and locked as asked.
func withDrive(d client.Drive, encrypted, locked bool) client.Drive {
	d.Enrolled, d.Encrypted, d.Locked = true, encrypted, locked
	return d
}

func TestView(t *testing.T) {
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.Local)
	drive := client.Drive{Path: "/d", UUID: "u", Label: "Backup Drive", Present: true, Size: 500e9, Free: 200e9}
	base := client.Profile{Name: "home", Sources: []string{"/home/me"}, Drive: "/d", DriveUUID: "u", Interval: 3600,
		State: uint32(dbusapi.StateIdle), LastSuccess: now.Add(-5 * time.Minute).UnixMicro(), NextRun: now.Add(55 * time.Minute).UnixMicro()}
	with := func(f func(p *client.Profile)) client.Profile { p := base; f(&p); return p }
	cases := []struct {
		name  string
		prof  client.Profile
		drive client.Drive
		check func(v ViewModel) string
	}{
		{"up to date", base, drive, func(v ViewModel) string {
			if v.Headline != "Backups are up to date" || !strings.Contains(v.Summary, "5 minutes ago") || v.Error != "" ||
				v.DriveSubtitle != "200.0\u00a0GB free of 500.0\u00a0GB" || v.DriveState != "Connected" || v.Schedule != "Every hour" {
				return "wrong view"
			}
			return ""
		}},
		{"never backed up", with(func(p *client.Profile) { p.LastSuccess = 0 }), drive, func(v ViewModel) string {
			if v.Headline != "Not backed up yet" || !strings.Contains(v.Summary, "never") {
				return "wrong view"
			}
			return ""
		}},
		{"failed: the error in words, never its name", with(func(p *client.Profile) {
			p.State, p.LastResult, p.LastMessage = uint32(dbusapi.StateFailed), "DeviceGone", "drive pulled"
		}), drive, func(v ViewModel) string {
			if v.Icon != "dialog-warning-symbolic" || !strings.HasPrefix(v.Error, "The backup drive was disconnected") || strings.Contains(v.Error, "DeviceGone") {
				return "wrong error: " + v.Error
			}
			return ""
		}},
		{"cancelled is no problem", with(func(p *client.Profile) { p.LastResult = "Cancelled" }), drive, func(v ViewModel) string {
			if v.Error != "" {
				return "error shown: " + v.Error
			}
			return ""
		}},
		{"drive away, missing for days", base, client.Drive{Path: "/d", UUID: "u", Warning: "not seen for 15 days"}, func(v ViewModel) string {
			if v.DriveState != "Not connected" || v.DriveSubtitle != "not seen for 15 days" || v.DriveTitle != "Drive u" {
				return "wrong drive row"
			}
			return ""
		}},
		{"encrypted drive, locked: Unlock… offered", base, withDrive(drive, true, true), func(v ViewModel) string {
			if !v.Unlock || v.DriveState != "Locked" || v.DriveSubtitle != "Encrypted: unlock it to back up" {
				return "wrong drive row"
			}
			return ""
		}},
		{"encrypted drive, unlocked", base, withDrive(drive, true, false), func(v ViewModel) string {
			if v.Unlock || v.DriveState != "Connected" || v.DriveSubtitle != "Encrypted · 200.0\u00a0GB free of 500.0\u00a0GB" {
				return "wrong drive row"
			}
			return ""
		}},
		{"encrypted drive away: nothing to unlock", base, func() client.Drive {
			d := withDrive(drive, true, false)
			d.Present = false
			return d
		}(), func(v ViewModel) string {
			if v.Unlock || v.DriveState != "Not connected" {
				return "wrong drive row"
			}
			return ""
		}},
		{"many folders, manual schedule", with(func(p *client.Profile) {
			p.Sources, p.Interval, p.NextRun, p.OnChange, p.OnPlug = []string{"/a", "/b", "/c", "/d"}, 0, 0, true, true
		}), drive, func(v ViewModel) string {
			if v.Folders != "/a, /b and 2 more" || v.Schedule != "Only when you ask, and after changes, and when the drive is plugged in" ||
				!strings.Contains(v.Summary, "Backups run when you ask") {
				return "wrong folders or schedule"
			}
			return ""
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := View(live.State{Drives: []client.Drive{c.drive}}, c.prof, now)
			if msg := c.check(v); msg != "" {
				t.Errorf("%s: %+v", msg, v)
			}
		})
	}
}

func TestComputers(t *testing.T) {
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.Local)
	me := client.Profile{Name: "ann", Sources: []string{"/home/ann"}, State: uint32(dbusapi.StateIdle), LastSuccess: now.Add(-time.Hour).UnixMicro()}
	laptop := client.Profile{Name: "laptop", Sources: []string{"ssh://ann@laptop/home"}, Remote: true, Host: "laptop", HostKey: "accepted",
		State: uint32(dbusapi.StateIdle), LastSuccess: now.Add(-2 * time.Hour).UnixMicro()}

	title, rows := Computers(live.State{Profiles: []client.Profile{me}}, now)
	if title != "Other Computers" || len(rows) != 0 {
		t.Errorf("this computer alone: %q, %d rows", title, len(rows))
	}
	title, rows = Computers(live.State{Profiles: []client.Profile{laptop}}, now)
	if title != "Computers" || len(rows) != 1 {
		t.Errorf("another computer alone: %q, %d rows", title, len(rows))
	}
	title, rows = Computers(live.State{Profiles: []client.Profile{me, laptop}}, now)
	if title != "Computers" || len(rows) != 2 || rows[0].Title != "This Computer" || rows[1].Title != "laptop" {
		t.Errorf("two computers: %q, %+v", title, rows)
	}
}

func TestViewOfAnotherComputer(t *testing.T) {
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.Local)
	p := client.Profile{Name: "laptop", Sources: []string{"ssh://ann@laptop:2222/home", "ssh://ann@laptop:2222/etc"}, Remote: true,
		State: uint32(dbusapi.StateFailed), LastResult: "HostUnreachable", LastMessage: "no route to host"}
	v := View(live.State{}, p, now)
	if v.Folders != "/home, /etc on ann@laptop:2222" {
		t.Errorf("folders = %q", v.Folders)
	}
	if !strings.HasPrefix(v.Error, "The other computer cannot be reached.") {
		t.Errorf("error = %q", v.Error)
	}
}
