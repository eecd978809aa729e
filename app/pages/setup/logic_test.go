package setup

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/kerr"
)

func TestChoice(t *testing.T) {
	cases := []struct {
		name  string
		drive client.Drive
		want  DriveChoice
	}{
		{"usable labelled drive",
			client.Drive{UUID: "u1", Label: "Passport", Filesystem: "ext4", Size: 500e9, Free: 320e9, Present: true},
			DriveChoice{UUID: "u1", Title: "Passport", Subtitle: "500 GB · 320 GB free · ext4", Present: true}},
		{"unlabelled drive is named by its size",
			client.Drive{UUID: "u2", Filesystem: "btrfs", Size: 2e12, Free: -1, Present: true},
			DriveChoice{UUID: "u2", Title: "2.0 TB Drive", Subtitle: "2.0 TB · btrfs", Present: true}},
		{"FAT drive shows the reason and cannot be chosen",
			client.Drive{UUID: "1234-ABCD", Label: "CAMERA", Filesystem: "vfat", Size: 64e9, Free: 10e9, Present: true, Unusable: "FAT cannot keep hard links or Linux permissions"},
			DriveChoice{UUID: "1234-ABCD", Title: "CAMERA", Subtitle: "FAT cannot keep hard links or Linux permissions", Reason: "FAT cannot keep hard links or Linux permissions", Present: true}},
		{"enrolled drive is marked",
			client.Drive{UUID: "u3", Label: "Backup", Filesystem: "ext4", Size: 1e12, Free: 5e11, Present: true, Enrolled: true},
			DriveChoice{UUID: "u3", Title: "Backup", Subtitle: "Holds Keepsake backups · 1.0 TB · 500 GB free · ext4", Enrolled: true, Present: true}},
		{"absent enrolled drive can be chosen",
			client.Drive{UUID: "u4", Label: "Backup", Size: 1e12, Free: 5e11, Enrolled: true, Warning: "not seen for 15 days"},
			DriveChoice{UUID: "u4", Title: "Backup", Subtitle: "Holds Keepsake backups · 1.0 TB · not connected\nNot seen for 15 days", Enrolled: true}},
		{"absent new drive cannot be set up",
			client.Drive{UUID: "u5", Label: "Old", Size: 1e12, Free: -1},
			DriveChoice{UUID: "u5", Title: "Old", Subtitle: NotConnected, Reason: NotConnected}},
		{"nameless drive",
			client.Drive{UUID: "u6", Free: -1, Present: true},
			DriveChoice{UUID: "u6", Title: "Drive u6", Subtitle: "", Present: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Choice(c.drive)
			if got != c.want {
				t.Errorf("Choice() =\n %+v\nwant\n %+v", got, c.want)
			}
			if got.Selectable() != (c.want.Reason == "") {
				t.Errorf("Selectable() = %v", got.Selectable())
			}
		})
	}
}

func TestPickDrive(t *testing.T) {
	ok := func(uuid string) DriveChoice { return DriveChoice{UUID: uuid} }
	bad := func(uuid string) DriveChoice { return DriveChoice{UUID: uuid, Reason: "FAT"} }
	cases := []struct {
		name    string
		choices []DriveChoice
		current string
		want    string
	}{
		{"no drives", nil, "", ""},
		{"lone usable drive is chosen", []DriveChoice{bad("a"), ok("b")}, "", "b"},
		{"two usable drives: the user picks", []DriveChoice{ok("a"), ok("b")}, "", ""},
		{"choice kept", []DriveChoice{ok("a"), ok("b")}, "b", "b"},
		{"unplugged choice is dropped", []DriveChoice{ok("a"), ok("c")}, "b", ""},
		{"choice turned unusable is dropped for the lone usable", []DriveChoice{bad("b"), ok("c")}, "b", "c"},
		{"only unusable", []DriveChoice{bad("a")}, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := PickDrive(c.choices, c.current); got != c.want {
				t.Errorf("PickDrive() = %q, want %q", got, c.want)
			}
		})
	}
}

func TestProfileName(t *testing.T) {
	cases := []struct {
		login string
		taken []string
		want  string
	}{
		{"alice", nil, "alice"},
		{"jean.dupont", nil, "jean-dupont"},
		{`CORP\bob`, nil, "CORP-bob"},
		{"émile", nil, "mile"},
		{"a..b", nil, "a-b"},
		{"", nil, "home"},
		{"...", nil, "home"},
		{"alice", []string{"alice"}, "alice-2"},
		{"alice", []string{"alice", "alice-2"}, "alice-3"},
		{"under_score-ok", nil, "under_score-ok"},
		{strings.Repeat("x", 100), nil, strings.Repeat("x", 60)},
	}
	for _, c := range cases {
		got := ProfileName(c.login, c.taken)
		if got != c.want {
			t.Errorf("ProfileName(%q, %v) = %q, want %q", c.login, c.taken, got, c.want)
		}
		for _, r := range got {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				t.Errorf("ProfileName(%q) = %q holds %q", c.login, got, r)
			}
		}
		if len(got) == 0 || len(got) > maxName {
			t.Errorf("ProfileName(%q) = %q has a bad length", c.login, got)
		}
	}
}

func TestAddFolder(t *testing.T) {
	cases := []struct {
		name     string
		folders  []string
		path     string
		want     []string
		wantNote bool
	}{
		{"new folder", []string{"/home/a"}, "/srv/music", []string{"/home/a", "/srv/music"}, false},
		{"inside an existing one", []string{"/home/a"}, "/home/a/Documents", []string{"/home/a"}, true},
		{"same folder", []string{"/home/a"}, "/home/a/", []string{"/home/a"}, true},
		{"prefix is not parent", []string{"/home/a"}, "/home/ab", []string{"/home/a", "/home/ab"}, false},
		{"parent replaces children", []string{"/home/a/x", "/srv", "/home/a/y"}, "/home/a", []string{"/srv", "/home/a"}, false},
		{"portal path refused", []string{"/home/a"}, "/run/user/1000/doc/abc123/Music", []string{"/home/a"}, true},
		{"relative path refused", nil, "Music", nil, true},
		{"first folder", nil, "/home/a", []string{"/home/a"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, note := AddFolder(c.folders, c.path)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("AddFolder() = %q, want %q", got, c.want)
			}
			if (note != "") != c.wantNote {
				t.Errorf("note = %q, want a note: %v", note, c.wantNote)
			}
		})
	}
}

func TestOfferSkipAndPattern(t *testing.T) {
	home := "/home/a"
	cases := []struct {
		name    string
		dir     string
		folders []string
		want    bool
	}{
		{"downloads in home", "/home/a/Downloads", []string{home}, true},
		{"home removed", "/home/a/Downloads", []string{"/srv"}, false},
		{"downloads dir is home", home, []string{home}, false},
		{"unset", "", []string{home}, false},
		{"downloads backed up on its own", "/home/a/Downloads", []string{"/home/a/Downloads"}, false},
	}
	for _, c := range cases {
		if got := OfferSkip(c.dir, home, c.folders); got != c.want {
			t.Errorf("%s: OfferSkip = %v, want %v", c.name, got, c.want)
		}
	}
	for in, want := range map[string]string{
		"/home/a/Downloads":       "/home/a/Downloads/",
		"/home/a/Téléchargements": "/home/a/Téléchargements/",
		"/home/a/[dl]*?":          `/home/a/\[dl\]\*\?/`,
		"/home/a/#x/!y":           `/home/a/\#x/\!y/`,
	} {
		if got := FolderPattern(in); got != want {
			t.Errorf("FolderPattern(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSettings(t *testing.T) {
	cases := []struct {
		name string
		c    Choices
		want map[string]any
	}{
		{"defaults",
			Choices{Folders: []string{"/home/a"}, Schedule: Hourly, OnChange: true, OnPlug: true},
			map[string]any{"sources": []string{"/home/a"}, "excludes": []string{}, "interval": uint64(3600), "on-change": true, "on-plug": true}},
		{"daily without downloads",
			Choices{Folders: []string{"/home/a", "/srv"}, Skip: []string{"/home/a/Downloads"}, Schedule: Daily},
			map[string]any{"sources": []string{"/home/a", "/srv"}, "excludes": []string{"/home/a/Downloads/"}, "interval": uint64(86400), "on-change": false, "on-plug": false}},
		{"manual",
			Choices{Folders: []string{"/home/a"}, Schedule: Manual, OnPlug: true},
			map[string]any{"sources": []string{"/home/a"}, "excludes": []string{}, "interval": uint64(0), "on-change": false, "on-plug": true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := map[string]any{}
			for k, v := range api.ToDict(Settings(c.c)) {
				got[k] = v.Value()
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("Settings() =\n %#v\nwant\n %#v", got, c.want)
			}
			if _, ok := got["drive"]; ok {
				t.Error("the drive must not be a creation setting: it would make the profile an administrator's")
			}
		})
	}
}

func TestPlan(t *testing.T) {
	newDrive := DriveChoice{UUID: "d1", Present: true}
	oldDrive := DriveChoice{UUID: "d2", Present: true, Enrolled: true}
	absent := DriveChoice{UUID: "d3", Enrolled: true}
	base := Choices{Folders: []string{"/home/a"}, OnChange: true}
	with := func(d DriveChoice) Choices { c := base; c.Drive = d; return c }
	cases := []struct {
		name string
		c    Choices
		prog Progress
		want []Step
	}{
		{"new drive", with(newDrive), Progress{}, []Step{StepCreate, StepEnroll, StepBackup}},
		{"enrolled drive", with(oldDrive), Progress{}, []Step{StepCreate, StepSetDrive, StepBackup}},
		{"absent enrolled drive: no backup yet", with(absent), Progress{}, []Step{StepCreate, StepSetDrive}},
		{"retry after enroll failed", with(newDrive), Progress{Name: "a", Saved: Settings(with(newDrive))}, []Step{StepEnroll, StepBackup}},
		{"retry with changed choices", with(newDrive), Progress{Name: "a", Saved: Settings(Choices{Folders: []string{"/home/a"}, Schedule: Daily}), Drive: "d1"}, []Step{StepUpdate, StepBackup}},
		{"retry with another drive", with(oldDrive), Progress{Name: "a", Saved: Settings(with(oldDrive)), Drive: "d1"}, []Step{StepSetDrive, StepBackup}},
		{"all done", with(newDrive), Progress{Name: "a", Saved: Settings(with(newDrive)), Drive: "d1", Started: "/job/1"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Plan(c.c, c.prog); !reflect.DeepEqual(got, c.want) {
				t.Errorf("Plan() = %v, want %v", got, c.want)
			}
		})
	}
}

type call struct {
	method string
	target string
	args   any
	auth   api.Auth
}

type fakeService struct {
	calls  []call
	failOn string
	err    error
}

func (f *fakeService) fail(m string) error {
	if m == f.failOn {
		return f.err
	}
	return nil
}

func (f *fakeService) CreateProfile(_ context.Context, name string, settings api.Settings, opts api.Auth) (dbus.ObjectPath, error) {
	f.calls = append(f.calls, call{"CreateProfile", name, settings, opts})
	return client.ProfilePath(name), f.fail("CreateProfile")
}

func (f *fakeService) Configure(_ context.Context, profile string, settings api.Settings, opts api.Auth) error {
	f.calls = append(f.calls, call{"Configure", profile, settings, opts})
	return f.fail("Configure")
}

func (f *fakeService) Enroll(_ context.Context, uuid string, opts client.EnrollOptions) error {
	f.calls = append(f.calls, call{"Enroll", uuid, opts, opts.Auth})
	return f.fail("Enroll")
}

func (f *fakeService) BackupNow(_ context.Context, profile string, opts api.BackupOptions) (dbus.ObjectPath, error) {
	f.calls = append(f.calls, call{"BackupNow", profile, opts, opts.Auth})
	if err := f.fail("BackupNow"); err != nil {
		return "", err
	}
	return "/io/github/keepsake/Keepsake1/jobs/1", nil
}

func TestRun(t *testing.T) {
	c := Choices{Drive: DriveChoice{UUID: "d1", Title: "Passport", Present: true}, Folders: []string{"/home/a"}, OnChange: true, OnPlug: true}

	t.Run("whole setup", func(t *testing.T) {
		f := &fakeService{}
		var seen []Step
		prog, step, err := Run(context.Background(), f, "alice", c, Progress{}, func(s Step) { seen = append(seen, s) })
		if err != nil || step != 0 {
			t.Fatalf("Run() = %v at %v", err, step)
		}
		want := []call{
			{"CreateProfile", "alice", Settings(c), api.Auth{}},
			{"Enroll", "d1", client.EnrollOptions{Profile: "alice"}, api.Auth{}},
			{"BackupNow", "alice", api.BackupOptions{}, api.Auth{}},
		}
		if !reflect.DeepEqual(f.calls, want) {
			t.Errorf("calls =\n %v\nwant\n %v", f.calls, want)
		}
		for _, call := range f.calls {
			if call.auth.NoUserInteraction {
				t.Errorf("%s must let polkit ask for a password", call.method)
			}
		}
		if !reflect.DeepEqual(seen, []Step{StepCreate, StepEnroll, StepBackup}) {
			t.Errorf("steps reported = %v", seen)
		}
		if prog.Name != "alice" || prog.Drive != "d1" || prog.Started == "" {
			t.Errorf("progress = %+v", prog)
		}
		if got := Finished(c, prog); got != "Your first backup has started." {
			t.Errorf("Finished() = %q", got)
		}
	})

	t.Run("enroll refused, then retried", func(t *testing.T) {
		// The client hands back named errors, as dbusapi.FromDBus makes them.
		f := &fakeService{failOn: "Enroll", err: kerr.New(kerr.NotAuthorized, "")}
		prog, step, err := Run(context.Background(), f, "alice", c, Progress{}, nil)
		if step != StepEnroll || !kerr.Is(err, kerr.NotAuthorized) {
			t.Fatalf("Run() = %v at %v, want NotAuthorized at enroll", err, step)
		}
		if prog.Name != "alice" || prog.Drive != "" {
			t.Errorf("progress = %+v: the profile exists, the drive is not set", prog)
		}
		msg := Failure(step, prog, err)
		if !strings.Contains(msg, "saved") || !strings.Contains(msg, "drive is not set up") || strings.Contains(msg, "io.github") {
			t.Errorf("Failure() = %q must say what is saved and what is not, in words", msg)
		}
		f.failOn = ""
		f.calls = nil
		prog, _, err = Run(context.Background(), f, "alice", c, prog, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.calls) != 2 || f.calls[0].method != "Enroll" || f.calls[1].method != "BackupNow" {
			t.Errorf("retry calls = %v, want Enroll then BackupNow (the profile exists)", f.calls)
		}
	})

	t.Run("enrolled drive is configured, not enrolled", func(t *testing.T) {
		old := c
		old.Drive.Enrolled = true
		f := &fakeService{}
		if _, _, err := Run(context.Background(), f, "alice", old, Progress{}, nil); err != nil {
			t.Fatal(err)
		}
		if d := f.calls[1].args.(api.Settings).Drive; f.calls[1].method != "Configure" || d == nil || *d != "d1" {
			t.Errorf("second call = %+v, want Configure drive", f.calls[1])
		}
	})

	t.Run("a backup already running counts as started", func(t *testing.T) {
		f := &fakeService{failOn: "BackupNow", err: dbus.Error{Name: kerr.Busy.DBusName(), Body: []any{"a backup of profile alice is already running"}}}
		prog, step, err := Run(context.Background(), f, "alice", c, Progress{}, nil)
		if err != nil || step != 0 || prog.Started == "" {
			t.Errorf("Run() = %+v, %v, %v", prog, step, err)
		}
	})

	t.Run("create fails", func(t *testing.T) {
		f := &fakeService{failOn: "CreateProfile", err: errors.New("boom")}
		prog, step, err := Run(context.Background(), f, "alice", c, Progress{}, nil)
		if step != StepCreate || err == nil || prog.Name != "" || len(f.calls) != 1 {
			t.Errorf("Run() = %+v, %v, %v after %v", prog, step, err, f.calls)
		}
		if msg := Failure(step, prog, err); !strings.HasPrefix(msg, "Nothing was saved yet.") {
			t.Errorf("Failure() = %q", msg)
		}
	})
}

func TestSummaries(t *testing.T) {
	home := "/home/a"
	if got := Summary([]string{home, "/srv/music"}, home); got != "Home Folder, music" {
		t.Errorf("Summary() = %q", got)
	}
	if got := Summary([]string{"/a", "/b", "/c", "/d"}, home); got != "a, b and 2 more" {
		t.Errorf("Summary() = %q", got)
	}
	c := Choices{Schedule: Daily, OnChange: true}
	if got := ScheduleSummary(c); got != "Every day, after changes" {
		t.Errorf("ScheduleSummary() = %q", got)
	}
	absent := Choices{Drive: DriveChoice{Title: "Passport"}}
	if got := Finished(absent, Progress{Name: "a", Drive: "d"}); !strings.Contains(got, "plug in Passport") {
		t.Errorf("Finished() = %q", got)
	}
}
