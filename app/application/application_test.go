package application

import (
	"errors"
	"reflect"
	"testing"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/app/live"
	"github.com/keepsake/keepsake/shared/client"
)

func TestNotificationFor(t *testing.T) {
	drive := client.Drive{Label: "Backup Drive"}
	cases := []struct {
		name    string
		e       live.Event
		success bool
		want    Notification
		ok      bool
	}{
		{"failure, in words", live.Event{Kind: live.BackupFailed, ErrorName: "NoSpace", Message: ""}, false,
			Notification{ID: "backup-failed", Title: "Backup failed", Urgent: true,
				Body: "The backup drive is full. Free some space, or let Keepsake remove old backups by lowering how many it keeps."}, true},
		{"another computer's failure names it", live.Event{Kind: live.BackupFailed, Computer: "laptop", ErrorName: "HostKeyChanged"}, false,
			Notification{ID: "backup-failed", Title: "Backup of laptop failed", Urgent: true,
				Body: "The other computer’s identity has changed. It may be reinstalled, or another machine may be posing as it: nothing was copied. Accept the new fingerprint only if you know why it changed."}, true},
		{"success is quiet", live.Event{Kind: live.BackupSucceeded}, false, Notification{ID: "backup-done", Title: "Backup finished", Body: "Your files are backed up."}, false},
		{"success when asked", live.Event{Kind: live.BackupSucceeded}, true, Notification{ID: "backup-done", Title: "Backup finished", Body: "Your files are backed up."}, true},
		{"plugged in", live.Event{Kind: live.DriveBackupStarted, Drive: drive}, false,
			Notification{ID: "drive-connected", Title: "Backup drive connected", Body: "Backing up to Backup Drive…"}, true},
		{"safe to remove", live.Event{Kind: live.SafeToRemove, Drive: drive}, false,
			Notification{ID: "safe-to-remove", Title: "Safe to remove the backup drive", Body: "Backup Drive can be unplugged now."}, true},
		{"missing", live.Event{Kind: live.DriveMissing, Drive: drive, Message: "Not seen for 14 days"}, false,
			Notification{ID: "drive-missing", Title: "Backup drive not seen for a while", Urgent: true,
				Body: "Not seen for 14 days. Plug in Backup Drive to back up."}, true},
		{"a backup that met a locked drive: the unlock notification says it", live.Event{Kind: live.BackupFailed, ErrorName: "Locked"}, false,
			Notification{}, false},
		{"a locked drive: its dialog opens from the notification", live.Event{Kind: live.UnlockNeeded, Drive: client.Drive{UUID: "0f3c", Label: "Backup Drive"}}, false,
			Notification{ID: "unlock-needed", Title: "Unlock your backup drive to back up", Urgent: true, Unlock: "0f3c",
				Body: "“Backup Drive” is encrypted and locked. Type its passphrase to back up to it."}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := NotificationFor(c.e, c.success)
			if ok != c.ok || (ok && !reflect.DeepEqual(got, c.want)) {
				t.Errorf("NotificationFor = %+v, %v; want %+v, %v", got, ok, c.want, c.ok)
			}
		})
	}
}

func TestTrayStatus(t *testing.T) {
	job := client.Job{Path: "/j", Operation: "backup", Progress: 0.42}
	st := live.State{Profiles: []client.Profile{{Name: "home", Job: "/j", LastResult: ""}}, Jobs: []client.Job{job}}
	if got := TrayStatus(st, "home"); got.Text != "Backing up 42%" || !got.Running || got.Problem {
		t.Errorf("running: %+v", got)
	}
	if got := TrayStatus(live.State{Err: errors.New("gone")}, "home"); !got.Problem || got.Text != "Backup service not running" {
		t.Errorf("no service: %+v", got)
	}
	failed := live.State{Profiles: []client.Profile{{Name: "home", Job: "/", LastResult: "DeviceGone", State: 4}}}
	if got := TrayStatus(failed, "home"); !got.Problem || got.Running || got.Text != "The last backup failed" {
		t.Errorf("failed: %+v", got)
	}
	partial := live.State{Profiles: []client.Profile{{Name: "home", Job: "/", State: 1, LastSuccess: 1, LastProblemCount: 3,
		LastProblems: []string{"/a: x", "/b: x", "/c: x"}}}}
	if got := TrayStatus(partial, "home"); got.Text != "Backed up, with 3 problems" || got.Running {
		t.Errorf("backed up with problems: %+v", got)
	}
}

func TestParseArgs(t *testing.T) {
	o, rest := ParseArgs([]string{"keepsake", "--hide-window", "--gapplication-service", "--no-tray"})
	if !o.HideWindow || !o.NoTray || o.NotifySuccess || !reflect.DeepEqual(rest, []string{"keepsake", "--gapplication-service"}) {
		t.Errorf("ParseArgs = %+v, %v", o, rest)
	}
}

func TestProfileOn(t *testing.T) {
	st := live.State{Profiles: []client.Profile{
		{Name: "admin", Drive: "/drives/a"},
		{Name: "alice", Drive: "/drives/a"},
		{Name: "laptop", Drive: "/drives/b"},
		{Name: "nodrive"},
	}}
	cases := []struct {
		name  string
		drive dbus.ObjectPath
		own   string
		want  string
	}{
		{"the person's own profile on that drive", "/drives/a", "alice", "alice"},
		{"someone else's, when the own one backs up elsewhere", "/drives/b", "alice", "laptop"},
		{"the first on the drive when the person has none", "/drives/a", "", "admin"},
		{"no profile on the drive", "/drives/c", "alice", ""},
		{"no drive", "", "alice", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := ProfileOn(st, c.drive, c.own); got != c.want {
				t.Errorf("ProfileOn(%s, %q) = %q, want %q", c.drive, c.own, got, c.want)
			}
		})
	}
}

func TestParseArgsAction(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
		rest []string
	}{
		{"the launcher's Browse Backups", []string{"keepsake", "--action=browse-backups"}, "browse-backups", []string{"keepsake"}},
		{"the launcher's Search Backups", []string{"keepsake", "--action=search-backups"}, "search-backups", []string{"keepsake"}},
		{"no other action by name (quit is not for the command line)", []string{"keepsake", "--action=quit"}, "", []string{"keepsake", "--action=quit"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, rest := ParseArgs(tc.args)
			if o.Action != tc.want || !reflect.DeepEqual(rest, tc.rest) {
				t.Errorf("ParseArgs = %+v, %q", o, rest)
			}
		})
	}
}

func TestPathArg(t *testing.T) {
	for _, tc := range []struct {
		name, arg, want string
		ok              bool
	}{
		{"a path", "/home/ann/report.txt", "/home/ann/report.txt", true},
		{"a folder with a slash", "/home/ann/Documents/", "/home/ann/Documents", true},
		{"the root", "/", "/", true},
		{"a file URI", "file:///home/ann/My%20report.txt", "/home/ann/My report.txt", true},
		{"a name that is not UTF-8", "file:///home/ann/caf%E9", "/home/ann/caf\xe9", true},
		{"localhost", "file://localhost/srv/a", "/srv/a", true},
		{"another host", "file://nas/srv/a", "", false},
		{"another scheme", "sftp://nas/srv/a", "", false},
		{"relative", "report.txt", "", false},
		{"a bad escape", "file:///a%zz", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := PathArg(tc.arg)
			if got != tc.want || ok != tc.ok {
				t.Errorf("PathArg(%q) = %q, %v; want %q, %v", tc.arg, got, ok, tc.want, tc.ok)
			}
		})
	}
}
