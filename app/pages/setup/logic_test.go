package setup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
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
			DriveChoice{UUID: "u1", Title: "Passport", Subtitle: "500.0\u00a0GB · 320.0\u00a0GB free · ext4", Present: true}},
		{"unlabelled drive is named by its size",
			client.Drive{UUID: "u2", Filesystem: "btrfs", Size: 2e12, Free: -1, Present: true},
			DriveChoice{UUID: "u2", Title: "2.0\u00a0TB Drive", Subtitle: "2.0\u00a0TB · btrfs", Present: true}},
		{"FAT drive shows the reason and cannot be chosen",
			client.Drive{UUID: "1234-ABCD", Label: "CAMERA", Filesystem: "vfat", Size: 64e9, Free: 10e9, Present: true, Unusable: "FAT cannot keep hard links or Linux permissions"},
			DriveChoice{UUID: "1234-ABCD", Title: "CAMERA", Subtitle: "FAT cannot keep hard links or Linux permissions", Reason: "FAT cannot keep hard links or Linux permissions", Present: true}},
		{"enrolled drive is marked",
			client.Drive{UUID: "u3", Label: "Backup", Filesystem: "ext4", Size: 1e12, Free: 5e11, Present: true, Enrolled: true},
			DriveChoice{UUID: "u3", Title: "Backup", Subtitle: "Holds Keepsake backups · 1.0\u00a0TB · 500.0\u00a0GB free · ext4", Enrolled: true, Present: true}},
		{"absent enrolled drive can be chosen",
			client.Drive{UUID: "u4", Label: "Backup", Size: 1e12, Free: 5e11, Enrolled: true, Warning: "not seen for 15 days"},
			DriveChoice{UUID: "u4", Title: "Backup", Subtitle: "Holds Keepsake backups · 1.0\u00a0TB · not connected\nNot seen for 15 days", Enrolled: true}},
		{"absent new drive cannot be set up",
			client.Drive{UUID: "u5", Label: "Old", Size: 1e12, Free: -1},
			DriveChoice{UUID: "u5", Title: "Old", Subtitle: NotConnected, Reason: NotConnected}},
		{"nameless drive",
			client.Drive{UUID: "u6", Free: -1, Present: true},
			DriveChoice{UUID: "u6", Title: "Drive u6", Subtitle: "", Present: true}},
		{"encrypted enrolled drive says so",
			client.Drive{UUID: "u7", Label: "Vault", Filesystem: "ext4", Device: "/dev/sdb", Size: 1e12, Free: 5e11, Present: true, Enrolled: true, Encrypted: true, Locked: true},
			DriveChoice{UUID: "u7", Title: "Vault", Subtitle: "Holds encrypted Keepsake backups · 1.0\u00a0TB · 500.0\u00a0GB free · ext4", Enrolled: true, Present: true, Encrypted: true, Device: "/dev/sdb"}},
		{"btrfs drive carries the service's word on encrypting it",
			client.Drive{UUID: "u8", Label: "Big", Filesystem: "btrfs", Device: "/dev/sdc", Size: 2e12, Free: -1, Present: true, Encryptable: api.EncryptableFilesystem},
			DriveChoice{UUID: "u8", Title: "Big", Subtitle: "2.0\u00a0TB · btrfs", Present: true, Encryptable: "filesystem", Device: "/dev/sdc"}},
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
	vault := DriveChoice{UUID: "d4", Present: true, Enrolled: true, Encrypted: true}
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
		{"new drive, encrypted", encrypted(with(newDrive)), Progress{}, []Step{StepCreate, StepEnrollEncrypted, StepBackup}},
		{"encrypted enrolled drive ignores the encryption asked", encrypted(with(vault)), Progress{}, []Step{StepCreate, StepSetDrive, StepBackup}},
		{"unencrypted enrolled drive, encrypted backups beside", encrypted(with(oldDrive)), Progress{}, []Step{StepCreate, StepEnrollEncrypted, StepBackup}},
		{"absent unencrypted enrolled drive: nothing set aside", encrypted(with(absent)), Progress{}, []Step{StepCreate, StepSetDrive}},
		{"retry after the encrypted enroll went through", encrypted(with(newDrive)),
			Progress{Name: "a", Saved: Settings(with(newDrive)), Drive: "d1"}, []Step{StepBackup}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Plan(c.c, c.prog); !reflect.DeepEqual(got, c.want) {
				t.Errorf("Plan() = %v, want %v", got, c.want)
			}
		})
	}
}

func encrypted(c Choices) Choices {
	c.Encryption = Encryption{On: true, Passphrase: "correct horse", Confirm: "correct horse", Remember: true}
	return c
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

func (f *fakeService) EnrollEncrypted(_ context.Context, uuid string, opts api.EnrollEncryptedOptions) (string, error) {
	f.calls = append(f.calls, call{"EnrollEncrypted", uuid, opts, opts.Auth})
	if err := f.fail("EnrollEncrypted"); err != nil {
		return "", err
	}
	return "ABCD2345-EFGH6789", nil
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

	t.Run("encrypted drive: its passphrase, remember, the feature turned on, the recovery key kept for the page", func(t *testing.T) {
		enc := encrypted(c)
		enc.Drive.Encryptable = api.EncryptableFeatureOff
		f := &fakeService{}
		prog, step, err := Run(context.Background(), f, "alice", enc, Progress{}, nil)
		if err != nil || step != 0 {
			t.Fatalf("Run() = %v at %v", err, step)
		}
		want := api.EnrollEncryptedOptions{Passphrase: "correct horse", Profile: client.ProfilePath("alice"), Remember: true, EnableFeature: true}
		if len(f.calls) != 3 || f.calls[1].method != "EnrollEncrypted" || f.calls[1].target != "d1" || !reflect.DeepEqual(f.calls[1].args, want) {
			t.Fatalf("calls = %+v, want EnrollEncrypted d1 %+v second", f.calls, want)
		}
		if prog.RecoveryKey != "ABCD2345-EFGH6789" || prog.Drive != "d1" {
			t.Errorf("progress = %+v: the recovery key and the drive must be kept", prog)
		}
	})

	t.Run("encrypted enroll refused: no key, the drive not set", func(t *testing.T) {
		f := &fakeService{failOn: "EnrollEncrypted", err: kerr.New(kerr.UnsupportedFilesystem, "btrfs cannot be encrypted")}
		prog, step, err := Run(context.Background(), f, "alice", encrypted(c), Progress{}, nil)
		if step != StepEnrollEncrypted || !kerr.Is(err, kerr.UnsupportedFilesystem) || prog.RecoveryKey != "" || prog.Drive != "" {
			t.Errorf("Run() = %+v, %v, %v", prog, step, err)
		}
		if msg := Failure(step, prog, err); !strings.Contains(msg, "drive is not set up") {
			t.Errorf("Failure() = %q", msg)
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

func TestEraseDevice(t *testing.T) {
	fat := client.Drive{UUID: "1234-ABCD", Label: "CAMERA", Filesystem: "vfat", Device: "/dev/sdb1", Present: true, Unusable: "FAT drives cannot hold hardlinks"}
	with := func(change func(*client.Drive)) client.Drive { d := fat; change(&d); return d }
	cases := []struct {
		name  string
		drive client.Drive
		want  string
	}{
		{"FAT stick is offered", fat, "/dev/sdb1"},
		{"exFAT drive is offered", with(func(d *client.Drive) { d.Filesystem = "exfat" }), "/dev/sdb1"},
		{"NTFS disk is offered", with(func(d *client.Drive) { d.Filesystem = "ntfs3"; d.Device = "/dev/sdc2" }), "/dev/sdc2"},
		{"installer stick is offered", with(func(d *client.Drive) { d.Filesystem = "iso9660"; d.Device = "/dev/sdd" }), "/dev/sdd"},
		{"a disc is not", with(func(d *client.Drive) { d.Filesystem = "iso9660"; d.Device = "/dev/sr0" }), ""},
		{"unplugged drive is not", with(func(d *client.Drive) { d.Present = false }), ""},
		{"drive with backups is not", with(func(d *client.Drive) { d.Enrolled = true }), ""},
		{"usable drive is not", with(func(d *client.Drive) { d.Filesystem = "ext4"; d.Unusable = "" }), ""},
		{"locked encrypted drive is not", with(func(d *client.Drive) { d.Filesystem = "crypto_LUKS"; d.Unusable = "the drive is encrypted and locked" }), ""},
		{"read-only ext4 is not", with(func(d *client.Drive) { d.Filesystem = "ext4"; d.Unusable = "the drive is read-only" }), ""},
		{"device-mapper is not", with(func(d *client.Drive) { d.Device = "/dev/mapper/x" }), ""},
		{"no device known", with(func(d *client.Drive) { d.Device = "" }), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := EraseDevice(c.drive); got != c.want {
				t.Errorf("EraseDevice() = %q, want %q", got, c.want)
			}
			if got := Choice(c.drive).Erase; got != c.want {
				t.Errorf("Choice().Erase = %q, want %q", got, c.want)
			}
		})
	}
}

func TestWholeDisk(t *testing.T) {
	cases := []struct{ name, dev, want string }{
		{"SCSI partition", "/dev/sdb1", "/dev/sdb"},
		{"SCSI disk", "/dev/sdb", "/dev/sdb"},
		{"tenth partition", "/dev/sdc10", "/dev/sdc"},
		{"disk named with a p", "/dev/sdp1", "/dev/sdp"},
		{"virtio", "/dev/vda2", "/dev/vda"},
		{"NVMe partition", "/dev/nvme0n1p1", "/dev/nvme0n1"},
		{"NVMe disk", "/dev/nvme0n1", "/dev/nvme0n1"},
		{"SD card partition", "/dev/mmcblk0p1", "/dev/mmcblk0"},
		{"SD card", "/dev/mmcblk0", "/dev/mmcblk0"},
		{"loop device", "/dev/loop3", "/dev/loop3"},
		{"loop partition", "/dev/loop3p1", "/dev/loop3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := WholeDisk("", c.dev); got != c.want {
				t.Errorf("WholeDisk(%q) = %q, want %q", c.dev, got, c.want)
			}
		})
	}

	// sysfs, where it answers, wins over the names.
	sys := t.TempDir()
	disk := filepath.Join(sys, "devices", "usb1", "block", "sdx")
	for _, dir := range []string{filepath.Join(disk, "sdx7"), filepath.Join(sys, "class", "block")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(disk, "sdx7", "partition"), []byte("7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"sdx": disk, "sdx7": filepath.Join(disk, "sdx7")} {
		if err := os.Symlink(target, filepath.Join(sys, "class", "block", name)); err != nil {
			t.Fatal(err)
		}
	}
	for dev, want := range map[string]string{"/dev/sdx7": "/dev/sdx", "/dev/sdx": "/dev/sdx", "/dev/sdy1": "/dev/sdy"} {
		if got := WholeDisk(sys, dev); got != want {
			t.Errorf("WholeDisk(sysfs, %q) = %q, want %q", dev, got, want)
		}
	}
}

func TestEraseQuestion(t *testing.T) {
	cases := []struct {
		name        string
		info        api.DeviceInfo
		heading     string
		first       string // the body's first line: which drive
		contents    string
		wantWarning bool // says backups are lost
	}{
		{"exFAT stick",
			api.DeviceInfo{Device: "/dev/sdb", Size: 64e9, Model: "SanDisk Ultra", Removable: true, Filesystem: "exfat", Label: "Photos"},
			"Erase “Photos”?", "SanDisk Ultra · 64.0\u00a0GB · /dev/sdb", "It holds files (exfat, “Photos”).", false},
		{"unlabelled drive named by its model",
			api.DeviceInfo{Device: "/dev/sdc", Size: 2e12, Model: "WD Elements", PartitionTable: "gpt",
				Partitions: []string{"sdc1 1999000000000 ntfs My Passport"}},
			"Erase “WD Elements”?", "2.0\u00a0TB · /dev/sdc", "It holds files on one partition (sdc1, 2.0\u00a0TB, ntfs, “My Passport”).", false},
		{"drive with backups and two partitions",
			api.DeviceInfo{Device: "/dev/sdd", Size: 1e12, PartitionTable: "gpt", Repository: true,
				Partitions: []string{"sdd1 500000000000 ext4 Keepsake", "sdd2 500000000000"}},
			"Erase “1.0\u00a0TB Drive”?", "1.0\u00a0TB · /dev/sdd",
			"It holds Keepsake backups: they will be lost. It holds 2 partitions: sdd1, 500.0\u00a0GB, ext4, “Keepsake”; sdd2, 500.0\u00a0GB.", true},
		{"empty partition table",
			api.DeviceInfo{Device: "/dev/sde", Size: 16e9, Model: "Generic", PartitionTable: "dos", Partitions: []string{}},
			"Erase “Generic”?", "16.0\u00a0GB · /dev/sde", "It holds an empty partition table.", false},
		{"blank loop device",
			api.DeviceInfo{Device: "/dev/loop3", Size: 1e9, Loop: true, BackingFile: "/var/tmp/disk.img"},
			"Erase “1.0\u00a0GB Drive”?", "image /var/tmp/disk.img · 1.0\u00a0GB · /dev/loop3", "It looks empty.", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			heading, body := EraseQuestion(c.info)
			if heading != c.heading {
				t.Errorf("heading = %q, want %q", heading, c.heading)
			}
			lines := strings.Split(body, "\n\n")
			if len(lines) != 3 {
				t.Fatalf("body = %q: want the drive, what is on it, what happens", body)
			}
			if lines[0] != c.first {
				t.Errorf("drive line = %q, want %q", lines[0], c.first)
			}
			if lines[1] != c.contents || Contents(c.info) != c.contents {
				t.Errorf("contents = %q, want %q", lines[1], c.contents)
			}
			if strings.Contains(body, "backups: they will be lost") != c.wantWarning {
				t.Errorf("body = %q: warning about backups wanted %v", body, c.wantWarning)
			}
			if !strings.Contains(lines[2], "erased") || !strings.Contains(lines[2], "cannot be undone") {
				t.Errorf("body = %q does not say what happens", body)
			}
		})
	}
}

func TestEraseResult(t *testing.T) {
	if EraseFilesystem(false) != "btrfs" || EraseFilesystem(true) != "ext4" {
		t.Error("btrfs is the default, ext4 on request")
	}
	cases := []struct {
		name string
		r    api.PrepareResult
		want string
	}{
		{"enrolled", api.PrepareResult{UUID: "5f0c", Label: "Keepsake", Filesystem: "btrfs", Enrolled: true},
			"“Keepsake” is ready for backups (btrfs, UUID 5f0c)"},
		{"default label", api.PrepareResult{UUID: "5f0c", Filesystem: "ext4", Enrolled: true},
			"“Keepsake” is ready for backups (ext4, UUID 5f0c)"},
		{"not enrolled", api.PrepareResult{UUID: "5f0c", Label: "Keepsake", Filesystem: "btrfs"},
			"“Keepsake” was erased (btrfs, UUID 5f0c) but is not a backup drive yet"},
		{"erased to be encrypted", api.PrepareResult{UUID: "5f0c", Label: "Keepsake", Filesystem: "ext4"},
			"“Keepsake” was erased (ext4, UUID 5f0c): choose its passphrase to encrypt it"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Prepared(c.r, c.name != "erased to be encrypted"); got != c.want {
				t.Errorf("Prepared() = %q, want %q", got, c.want)
			}
		})
	}
}
