package computer

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/app/live"
	"github.com/keepsake/keepsake/app/pages/setup"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/grammar"
	"github.com/keepsake/keepsake/shared/kerr"
)

func TestParseAddress(t *testing.T) {
	cases := []struct {
		text string
		want grammar.Remote
		err  string // a part of the message
	}{
		{"ann@laptop", grammar.Remote{User: "ann", Host: "laptop"}, ""},
		{"  ann@Laptop.Local ", grammar.Remote{User: "ann", Host: "laptop.local"}, ""},
		{"ann@laptop:2222", grammar.Remote{User: "ann", Host: "laptop", Port: 2222}, ""},
		{"ann@laptop:22", grammar.Remote{User: "ann", Host: "laptop"}, ""},
		{"ssh://ann@192.168.1.20:2200/", grammar.Remote{User: "ann", Host: "192.168.1.20", Port: 2200}, ""},
		{"ann@[fe80::1]:2222", grammar.Remote{User: "ann", Host: "fe80::1", Port: 2222}, ""},
		{"", grammar.Remote{}, "Type the other computer’s address"},
		{"laptop", grammar.Remote{}, "Write the user to log in as too, like ann@laptop"},
		{"@laptop", grammar.Remote{}, "user name is missing"},
		{"ann@", grammar.Remote{}, "name is missing after"},
		{"ann@laptop/home", grammar.Remote{}, "the folders go below"},
		{"ann @laptop", grammar.Remote{}, "no spaces"},
		{"ann@laptop:99999", grammar.Remote{}, `port "99999" is not a number from 1 to 65535`},
		{"ann@lap_top", grammar.Remote{}, "not a host name"},
		{"1ann!@laptop", grammar.Remote{}, "is not a user name"},
		{"ann@fe80::1", grammar.Remote{}, "must be written in brackets"},
	}
	for _, c := range cases {
		got, err := ParseAddress(c.text)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("ParseAddress(%q): %v", c.text, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("ParseAddress(%q) error = %v, want one saying %q", c.text, err, c.err)
		case c.err == "" && !reflect.DeepEqual(got, c.want):
			t.Errorf("ParseAddress(%q) = %+v, want %+v", c.text, got, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "remote source") {
			t.Errorf("ParseAddress(%q): the message repeats the technical form: %v", c.text, err)
		}
	}
}

func TestParseFolders(t *testing.T) {
	cases := []struct {
		text string
		want []string
		err  string
	}{
		{"/home", []string{"/home"}, ""},
		{" /home , /etc/, /home ", []string{"/home", "/etc"}, ""},
		{"/srv/My Photos,/", []string{"/srv/My Photos", "/"}, ""},
		{"/srv/50%", []string{"/srv/50%"}, ""},
		{"", nil, "at least one folder"},
		{" , ", nil, "at least one folder"},
		{"home", nil, "start with “/”"},
		{"/home/../etc", nil, "“..”"},
	}
	for _, c := range cases {
		got, err := ParseFolders(c.text)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseFolders(%q) error = %v, want %q", c.text, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseFolders(%q) = %q, %v; want %q", c.text, got, err, c.want)
		}
	}
}

func TestSourcesRoundTrip(t *testing.T) {
	r := grammar.Remote{User: "ann", Host: "laptop", Port: 2222}
	folders := []string{"/home", "/srv/a,b", "/srv/50%"}
	got := Sources(r, folders)
	want := []string{"ssh://ann@laptop:2222/home", "ssh://ann@laptop:2222/srv/a%2Cb", "ssh://ann@laptop:2222/srv/50%25"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Sources = %q, want %q", got, want)
	}
	back, remote, err := grammar.RemoteSources(got)
	if err != nil || !remote || !reflect.DeepEqual(back.Paths, folders) || back.Host != "laptop" || back.Port != 2222 {
		t.Errorf("the service reads them back as %+v, %v, %v", back, remote, err)
	}
}

func TestCheckName(t *testing.T) {
	for name, ok := range map[string]bool{"": true, "laptop": true, "Ann’s Laptop": true, ".hidden": false, "..": false,
		"a/b": false, `a\b`: false, strings.Repeat("x", 65): false} {
		if err := CheckName(name); (err == nil) != ok {
			t.Errorf("CheckName(%q) = %v", name, err)
		}
	}
}

func TestSettings(t *testing.T) {
	r := grammar.Remote{User: "ann", Host: "laptop.local"}
	enrolled := setup.DriveChoice{UUID: "u1", Title: "Backup", Enrolled: true, Present: true}
	fresh := setup.DriveChoice{UUID: "u2", Title: "New", Present: true}
	cases := []struct {
		name         string
		c            Choices
		host         string
		interval     uint64
		overdue      uint32
		drive        string // "" = not in the settings
		viewers      []uint32
		profileTaken []string
		profile      string
	}{
		{"daily to the drive in use, for its viewer", Choices{Remote: r, Folders: []string{"/home"}, Schedule: Daily, Drive: enrolled, Viewer: 1000},
			"laptop.local", 86400, 4, "u1", []uint32{1000}, nil, "laptop-local"},
		{"hourly, named, a new drive (enrolled after)", Choices{Remote: r, Folders: []string{"/home", "/etc"}, Name: "Ann’s laptop", Schedule: Hourly, Drive: fresh},
			"Ann’s laptop", 3600, 4, "", nil, []string{"Ann-s-laptop"}, "Ann-s-laptop-2"},
		{"weekly, no drive", Choices{Remote: r, Folders: []string{"/"}, Schedule: Weekly},
			"laptop.local", 7 * 86400, 15, "", nil, nil, "laptop-local"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := Settings(c.c)
			var srcs []string
			for _, p := range *s.Sources {
				srcs = append(srcs, string(p))
			}
			if !reflect.DeepEqual(srcs, Sources(r, c.c.Folders)) {
				t.Errorf("sources = %q", srcs)
			}
			if *s.Host != c.host || *s.Interval != c.interval || *s.OverdueDays != c.overdue || *s.OnChange || !*s.OnPlug {
				t.Errorf("host %q interval %d overdue %d on-change %v on-plug %v", *s.Host, *s.Interval, *s.OverdueDays, *s.OnChange, *s.OnPlug)
			}
			if (s.Drive == nil) != (c.drive == "") || (s.Drive != nil && *s.Drive != c.drive) {
				t.Errorf("drive = %v, want %q", s.Drive, c.drive)
			}
			if (s.Viewers == nil) != (c.viewers == nil) || (s.Viewers != nil && !reflect.DeepEqual(*s.Viewers, c.viewers)) {
				t.Errorf("viewers = %v, want %v", s.Viewers, c.viewers)
			}
			if got := ProfileName(c.c, c.profileTaken); got != c.profile {
				t.Errorf("profile name = %q, want %q", got, c.profile)
			}
			// Every key is one the service takes.
			d := api.ToDict(s)
			for _, k := range []string{"sources", "host", "interval", "overdue-days"} {
				if _, ok := d[k]; !ok {
					t.Errorf("no %s in the settings' dictionary", k)
				}
			}
		})
	}
}

func TestDriveFor(t *testing.T) {
	drives := []client.Drive{{UUID: "u1", Label: "Backup", Present: true, Size: 1e12, Free: 5e11}, {UUID: "u2", Label: "Other", Present: true}}
	st := live.State{Drives: drives, Profiles: []client.Profile{
		{Name: "system", DriveUUID: "u2"}, {Name: "ann", DriveUUID: "u1"}, {Name: "nodrive"},
	}}
	if d, ok := DriveFor(st, "ann"); !ok || d.UUID != "u1" || !d.Enrolled || d.Title != "Backup" {
		t.Errorf("own profile's drive: %+v %v", d, ok)
	}
	if d, ok := DriveFor(st, "nodrive"); !ok || d.UUID != "u2" {
		t.Errorf("another profile's drive: %+v %v", d, ok)
	}
	st.Drives = nil
	if d, ok := DriveFor(st, "ann"); !ok || d.UUID != "u1" || d.Title != "Drive u1" || !d.Enrolled {
		t.Errorf("drive not plugged in: %+v %v", d, ok)
	}
	if _, ok := DriveFor(live.State{Profiles: []client.Profile{{Name: "x"}}}, "x"); ok {
		t.Error("a drive found where no profile has one")
	}
}

// fake is the service as the tests want it.
type fake struct {
	calls   []string
	failOn  string
	keys    []api.HostKey
	state   string
	created api.Settings
}

func (f *fake) do(call string) error {
	f.calls = append(f.calls, call)
	if f.failOn != "" && strings.HasPrefix(call, f.failOn) {
		return kerr.New(kerr.NotAuthorized, "not allowed")
	}
	return nil
}

func (f *fake) RemoteKey(ctx context.Context, opts api.RemoteKeyOptions) (string, error) {
	return `restrict,command="rrsync -ro /" ssh-ed25519 AAAAC3Nza keepsake@desk`, f.do("RemoteKey")
}

func (f *fake) CreateProfile(ctx context.Context, name string, s api.Settings, opts api.Auth) (dbus.ObjectPath, error) {
	f.created = s
	return "/p/" + dbus.ObjectPath(name), f.do("CreateProfile " + name)
}

func (f *fake) Configure(ctx context.Context, profile string, s api.Settings, opts api.Auth) error {
	return f.do("Configure " + profile)
}

func (f *fake) Enroll(ctx context.Context, uuid string, opts client.EnrollOptions) error {
	return f.do("Enroll " + uuid + " " + opts.Profile)
}

func (f *fake) ScanHostKeys(ctx context.Context, profile string, opts api.Auth) ([]api.HostKey, string, error) {
	return f.keys, f.state, f.do("ScanHostKeys " + profile)
}

func (f *fake) AcceptHostKey(ctx context.Context, profile, fp string, opts api.Auth) error {
	return f.do("AcceptHostKey " + profile + " " + fp)
}

func (f *fake) BackupNow(ctx context.Context, profile string, opts api.BackupOptions) (dbus.ObjectPath, error) {
	if err := f.do("BackupNow " + profile); err != nil {
		return "", err
	}
	return "/j/1", nil
}

func TestSave(t *testing.T) {
	ctx := context.Background()
	r := grammar.Remote{User: "ann", Host: "laptop"}
	c := Choices{Remote: r, Folders: []string{"/home"}, Schedule: Daily, Drive: setup.DriveChoice{UUID: "u1", Enrolled: true}}

	f := &fake{}
	prog, stage, err := Save(ctx, f, "laptop", c, Progress{})
	if err != nil || stage != StageNone || prog.Name != "laptop" || prog.Drive != "u1" {
		t.Fatalf("first save: %+v %d %v", prog, stage, err)
	}
	// Saving again without changes calls nothing; a change is configured.
	prog2, _, _ := Save(ctx, f, "laptop", c, prog)
	c.Schedule = Weekly
	prog3, _, err := Save(ctx, f, "laptop", c, prog2)
	if want := []string{"CreateProfile laptop", "Configure laptop"}; !reflect.DeepEqual(f.calls, want) || err != nil {
		t.Errorf("calls = %q, want %q (%v)", f.calls, want, err)
	}
	if *prog3.Saved.Interval != Weekly.Seconds() {
		t.Error("the change is not remembered")
	}

	// A drive that holds no backups yet is prepared for the new profile.
	f = &fake{}
	c.Drive = setup.DriveChoice{UUID: "u2", Present: true}
	prog, _, err = Save(ctx, f, "laptop", c, Progress{})
	if want := []string{"CreateProfile laptop", "Enroll u2 laptop"}; !reflect.DeepEqual(f.calls, want) || err != nil || prog.Drive != "u2" {
		t.Errorf("calls = %q, want %q (%v, %+v)", f.calls, want, err, prog)
	}
	if f.created.Drive != nil {
		t.Error("a drive without backups is in the settings")
	}

	// A refused creation saves nothing and says so.
	f = &fake{failOn: "CreateProfile"}
	prog, stage, err = Save(ctx, f, "laptop", c, Progress{})
	if stage != StageCreate || prog.Name != "" || !kerr.Is(err, kerr.NotAuthorized) {
		t.Errorf("failed create: %+v %d %v", prog, stage, err)
	}
	if msg := Failure(stage, err); !strings.HasPrefix(msg, "Nothing was saved yet. You are not allowed") || strings.Contains(msg, "io.github") {
		t.Errorf("failure = %q", msg)
	}
	// A refused drive keeps the profile, so trying again only enrolls.
	f = &fake{failOn: "Enroll"}
	prog, stage, _ = Save(ctx, f, "laptop", c, Progress{})
	if stage != StageDrive || prog.Name != "laptop" {
		t.Errorf("failed enroll: %+v %d", prog, stage)
	}
	f.failOn = ""
	f.calls = nil
	if _, _, err := Save(ctx, f, "laptop", c, prog); err != nil || !reflect.DeepEqual(f.calls, []string{"Enroll u2 laptop"}) {
		t.Errorf("retry calls %q (%v)", f.calls, err)
	}
}

func TestStartBackup(t *testing.T) {
	f := &fake{}
	if job, err := StartBackup(context.Background(), f, "laptop"); err != nil || job != "/j/1" {
		t.Errorf("job %q, %v", job, err)
	}
	busy := busyService{f}
	if job, err := StartBackup(context.Background(), busy, "laptop"); err != nil || job != "/" {
		t.Errorf("busy: job %q, %v", job, err)
	}
}

type busyService struct{ *fake }

func (busyService) BackupNow(ctx context.Context, profile string, opts api.BackupOptions) (dbus.ObjectPath, error) {
	return "", kerr.New(kerr.Busy, "already running")
}

func TestKeyView(t *testing.T) {
	keys := []api.HostKey{{Type: "ssh-ed25519", Fingerprint: "SHA256:abc"}, {Type: "ecdsa-sha2-nistp256", Fingerprint: "SHA256:def"}, {Type: "ssh-rsa", Fingerprint: "SHA256:ghi"}}
	m := KeyView(keys, "new", "laptop")
	if len(m.Rows) != 3 || m.Rows[0] != (KeyRow{"Ed25519 key", "SHA256:abc"}) || m.Rows[1].Title != "ECDSA key" || m.Rows[2].Title != "RSA key" {
		t.Errorf("rows = %+v", m.Rows)
	}
	if !m.CanAccept || m.Fingerprint != "SHA256:abc" || m.Warning != "" || m.Accept != "_Accept" ||
		m.Instruction != "On laptop, open a terminal and run:" || m.Command != "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub" ||
		!strings.HasPrefix(m.Caution, "It must show the same fingerprint") {
		t.Errorf("new key: %+v", m)
	}
	m = KeyView(keys[2:], "changed", "laptop")
	if !m.CanAccept || m.Fingerprint != "SHA256:ghi" || !strings.HasPrefix(m.Warning, "laptop now shows another key") ||
		m.Accept != "_Accept New Key" || m.Command != "ssh-keygen -lf /etc/ssh/ssh_host_rsa_key.pub" {
		t.Errorf("changed key: %+v", m)
	}
	if m := KeyView(keys, "accepted", "laptop"); m.CanAccept || m.Headline != "Keepsake Knows This Computer" || m.Command != "" {
		t.Errorf("accepted: %+v", m)
	}
	if m := KeyView(nil, "new", "laptop"); m.CanAccept || m.Fingerprint != "" || !strings.Contains(m.Instruction, "ssh server") {
		t.Errorf("no keys: %+v", m)
	}
	if got := KeyFile("ecdsa-sha2-nistp384"); got != "/etc/ssh/ssh_host_ecdsa_key.pub" {
		t.Errorf("KeyFile = %q", got)
	}
}
