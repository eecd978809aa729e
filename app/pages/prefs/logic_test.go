package prefs

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
)

func TestIntervals(t *testing.T) {
	cases := []struct {
		current   uint64
		wantIndex int
		wantLabel string
		wantLen   int
	}{
		{3600, 0, "Every hour", 4},
		{6 * 3600, 1, "Every 6 hours", 4},
		{86400, 2, "Every day", 4},
		{0, 3, "Only when I ask", 4},
		{1800, 4, "Every 30 minutes", 5},
		{7 * 86400, 4, "Every 7 days", 5},
	}
	for _, c := range cases {
		opts, i := Intervals(c.current)
		if i != c.wantIndex || len(opts) != c.wantLen || opts[i].Label != c.wantLabel || opts[i].Seconds != c.current {
			t.Errorf("Intervals(%d) = %v, %d; want %q at %d of %d", c.current, opts, i, c.wantLabel, c.wantIndex, c.wantLen)
		}
	}
}

func TestRetention(t *testing.T) {
	cases := []struct {
		in     string
		want   Retention
		ok     bool
		output string
	}{
		{"time-machine", Retention{TimeMachine: true}, true, "time-machine"},
		{"", Retention{TimeMachine: true}, true, "time-machine"},
		{"hourly=24 daily=30 weekly=8", Retention{Hourly: 24, Daily: 30, Weekly: 8}, true, "hourly=24 daily=30 weekly=8"},
		{"keep-last=10,yearly=3 monthly=12", Retention{KeepLast: 10, Monthly: 12, Yearly: 3}, true, "keep-last=10 monthly=12 yearly=3"},
		{"hourly=x", Retention{TimeMachine: true}, false, "time-machine"},
		{"fortnightly=2", Retention{TimeMachine: true}, false, "time-machine"},
		{"daily=0", Retention{TimeMachine: true}, false, "time-machine"},
	}
	for _, c := range cases {
		got, ok := ParseRetention(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseRetention(%q) = %+v, %v; want %+v, %v", c.in, got, ok, c.want, c.ok)
		}
		if s := got.String(); s != c.output {
			t.Errorf("ParseRetention(%q).String() = %q, want %q", c.in, s, c.output)
		}
	}
	if s := (Retention{}).String(); s != "time-machine" {
		t.Errorf("all-zero custom counts = %q, want time-machine", s)
	}
	if c := (Retention{TimeMachine: true}).Counts(); c != DefaultCustom {
		t.Errorf("Counts() of Time Machine = %+v", c)
	}
}

func TestMinFree(t *testing.T) {
	cases := []struct {
		in, want string
		bad      bool
	}{
		{"2%", "2%", false},
		{" 2.5 % ", "2.5%", false},
		{"2,5%", "2.5%", false},
		{"20.0\u00a0GB", "20000000000", false},
		{"20GB", "20000000000", false},
		{"20 gb", "20000000000", false},
		{"1.5\u00a0TB", "1500000000000", false},
		{"500.0\u00a0MB", "500000000", false},
		{"20 GiB", "21474836480", false},
		{"1048576", "1048576", false},
		{"", "", true},
		{"lots", "", true},
		{"101%", "", true},
		{"-5%", "", true},
		{"20 parsecs", "", true},
		{"99999999.0\u00a0TB", "", true},
	}
	for _, c := range cases {
		got, problem := MinFree(c.in)
		if got != c.want || (problem != "") != c.bad {
			t.Errorf("MinFree(%q) = %q, %q; want %q, bad %v", c.in, got, problem, c.want, c.bad)
		}
		if problem != "" && !strings.HasSuffix(problem, ".") {
			t.Errorf("MinFree(%q) problem %q is not a sentence", c.in, problem)
		}
	}
}

func TestPatterns(t *testing.T) {
	list := []string{"*.iso"}
	cases := []struct {
		pattern string
		want    []string
		bad     bool
	}{
		{"~/Videos/", []string{"*.iso", "~/Videos/"}, false},
		{"  node_modules/ ", []string{"*.iso", "node_modules/"}, false},
		{"*.iso", list, true},
		{"", list, true},
		{"#notes", list, true},
		{`\#notes`, []string{"*.iso", `\#notes`}, false},
	}
	for _, c := range cases {
		got, problem := AddPattern(list, c.pattern)
		if !reflect.DeepEqual(got, c.want) || (problem != "") != c.bad {
			t.Errorf("AddPattern(%q) = %q, %q", c.pattern, got, problem)
		}
	}
	if len(list) != 1 {
		t.Errorf("AddPattern changed its input: %q", list)
	}
	if got := RemovePattern([]string{"a", "b", "a"}, "a"); !reflect.DeepEqual(got, []string{"b"}) {
		t.Errorf("RemovePattern = %q", got)
	}
	if got := RemovePattern([]string{"a"}, "a"); got == nil {
		t.Error("RemovePattern must give an empty list, not nil: the service is told there are none")
	}
}

func TestOfflineSubtitle(t *testing.T) {
	if got := OfflineSubtitle(1_900_000_000, true, ""); !strings.Contains(got, "about 1.9\u00a0GB") {
		t.Errorf("OfflineSubtitle = %q", got)
	}
	if got := OfflineSubtitle(0, true, ""); !strings.Contains(got, "nothing to copy") {
		t.Errorf("OfflineSubtitle = %q", got)
	}
	if got := OfflineSubtitle(0, false, ""); !strings.Contains(got, "Working out") {
		t.Errorf("OfflineSubtitle = %q", got)
	}
	if got := OfflineSubtitle(0, false, "The backup service is not running."); !strings.Contains(got, "not known") {
		t.Errorf("OfflineSubtitle = %q", got)
	}
}

func TestMakeView(t *testing.T) {
	drives := []client.Drive{
		{UUID: "d1", Label: "Passport", Filesystem: "ext4", Size: 1e12, Free: 4e11, Present: true, Enrolled: true},
		{UUID: "d2", Label: "CAMERA", Filesystem: "vfat", Size: 64e9, Free: 1e9, Present: true, Unusable: "FAT cannot keep hard links"},
		{UUID: "d3", Label: "Spare", Filesystem: "xfs", Size: 2e12, Free: 2e12, Present: true},
	}
	prof := client.Profile{
		Name: "alice", Sources: []string{"/home/alice"}, DriveUUID: "d1", Interval: 86400,
		OnChange: true, Retention: "daily=7", Flatpak: true, TargetFree: 3e11,
	}
	v := MakeView(prof, drives)
	if v.DriveTitle != "Passport" || v.DriveState != "Connected" || !v.HasDrive || v.DriveSubtitle != "1.0\u00a0TB · 400.0\u00a0GB free · ext4" {
		t.Errorf("drive = %q / %q / %q", v.DriveTitle, v.DriveSubtitle, v.DriveState)
	}
	if len(v.Others) != 2 || v.Others[0].Selectable() || !v.Others[1].Selectable() {
		t.Errorf("others = %+v: the FAT drive is listed with its reason, the spare can be used", v.Others)
	}
	if v.Others[0].Subtitle != "FAT cannot keep hard links" {
		t.Errorf("unusable subtitle = %q", v.Others[0].Subtitle)
	}
	if v.Interval != 2 || v.Retention != (Retention{Daily: 7}) || !v.OnChange || v.OnPlug || !v.Flatpak {
		t.Errorf("view = %+v", v)
	}

	// The drive unplugged: its free space when last seen, and a warning.
	drives[0].Present, drives[0].Free, drives[0].Warning = false, -1, "not seen for 15 days"
	v = MakeView(prof, drives)
	if v.DriveState != "Not Connected" || !strings.Contains(v.DriveSubtitle, "300.0\u00a0GB free when last seen") || !strings.Contains(v.DriveSubtitle, "Not seen for 15 days") {
		t.Errorf("absent drive = %q / %q", v.DriveSubtitle, v.DriveState)
	}

	prof.DriveUUID = ""
	v = MakeView(prof, drives)
	if v.HasDrive || v.DriveTitle != "No Drive Chosen" || len(v.Others) != 3 {
		t.Errorf("no drive: %q, %d others", v.DriveTitle, len(v.Others))
	}

	// Two readings of the same service give the same view, so the window
	// does not redraw (and lose focus) on every refresh.
	if !reflect.DeepEqual(MakeView(prof, drives), MakeView(prof, drives)) {
		t.Error("MakeView is not stable")
	}
}

func TestMountRows(t *testing.T) {
	cases := []struct {
		name             string
		include, skipped []string
		want             []MountRow
	}{
		{"nothing", nil, nil, []MountRow{}},
		{"skipped, offered to include", nil, []string{"/home/ann/nas"},
			[]MountRow{{"/home/ann/nas", false, "Not backed up: only its empty folder is kept"}}},
		{"included", []string{"/home/ann/nas"}, nil,
			[]MountRow{{"/home/ann/nas", true, "Backed up with your folders"}}},
		{"included since the last backup skipped it, then another skipped", []string{"/home/ann/nas"}, []string{"/srv/usb", "/home/ann/nas"},
			[]MountRow{{"/home/ann/nas", true, "Included from the next backup"}, {"/srv/usb", false, "Not backed up: only its empty folder is kept"}}},
	}
	for _, c := range cases {
		if got := MountRows(c.include, c.skipped); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: MountRows = %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestAddAndRemoveMount(t *testing.T) {
	const home = "/home/ann"
	sources := []string{"/home/ann", "/srv/music/"}
	list := []string{"/home/ann/nas"}
	cases := []struct {
		path    string
		want    []string
		problem string
	}{
		{"/home/ann/Mounts/photos", []string{"/home/ann/nas", "/home/ann/Mounts/photos"}, ""},
		{"/home/ann/Mounts/photos/", []string{"/home/ann/nas", "/home/ann/Mounts/photos"}, ""},
		{"/srv/music/usb", []string{"/home/ann/nas", "/srv/music/usb"}, ""},
		{"/home/ann/nas", list, "~/nas is already included."},
		{"/home/ann", list, "~ is a backed-up folder itself: everything in it is backed up already."},
		{"/home/annex/nas", list, "/home/annex/nas is not inside a folder that is backed up. Add it as a folder instead."},
		{"/media/usb", list, "/media/usb is not inside a folder that is backed up. Add it as a folder instead."},
		{"nas", list, "Choose a folder on this computer."},
		{"", list, "Choose a folder on this computer."},
	}
	for _, c := range cases {
		got, problem := AddMount(list, sources, c.path, home)
		if !reflect.DeepEqual(got, c.want) || problem != c.problem {
			t.Errorf("AddMount(%q) = %q, %q; want %q, %q", c.path, got, problem, c.want, c.problem)
		}
	}
	if len(list) != 1 {
		t.Errorf("AddMount changed its input: %q", list)
	}
	if got, problem := AddMount(nil, []string{"/"}, "/mnt/nas", home); problem != "" || !reflect.DeepEqual(got, []string{"/mnt/nas"}) {
		t.Errorf("with the whole computer backed up: %q, %q", got, problem)
	}
	if got := RemoveMount([]string{"/a", "/b"}, "/a"); !reflect.DeepEqual(got, []string{"/b"}) {
		t.Errorf("RemoveMount = %q", got)
	}
	got := MountSetting(RemoveMount([]string{"/a"}, "/a"))
	if got == nil || *got == nil || len(*got) != 0 {
		t.Error("removing the last mount must send an empty list, not leave the setting as it is")
	}
	if s := MountSetting([]string{"/home/ann/nas"}); len(*s) != 1 || (*s)[0] != "/home/ann/nas" {
		t.Errorf("MountSetting = %q", *s)
	}
}

func TestMakeViewEncrypted(t *testing.T) {
	prof := client.Profile{Name: "alice", DriveUUID: "d1", TargetFree: -1}
	cases := []struct {
		name                  string
		drive                 client.Drive
		subtitle, state, icon string
		encrypted, remembered bool
	}{
		{"plain drive", client.Drive{UUID: "d1", Label: "Passport", Filesystem: "ext4", Size: 1e12, Free: 4e11, Present: true, Enrolled: true},
			"1.0\u00a0TB · 400.0\u00a0GB free · ext4", "Connected", "drive-harddisk-symbolic", false, false},
		{"encrypted, unlocked, key remembered", client.Drive{UUID: "d1", Label: "Passport", Filesystem: "ext4", Size: 1e12, Free: 4e11, Present: true, Enrolled: true, Encrypted: true, KeyRemembered: true},
			"Encrypted · 1.0\u00a0TB · 400.0\u00a0GB free · ext4", "Connected", "channel-secure-symbolic", true, true},
		{"encrypted and locked, key not remembered", client.Drive{UUID: "d1", Label: "Passport", Filesystem: "ext4", Size: 1e12, Free: 4e11, Present: true, Enrolled: true, Encrypted: true, Locked: true},
			"Encrypted · 1.0\u00a0TB · 400.0\u00a0GB free · ext4", "Locked", "channel-secure-symbolic", true, false},
		{"encrypted, unplugged", client.Drive{UUID: "d1", Label: "Passport", Filesystem: "ext4", Size: 1e12, Free: -1, Enrolled: true, Encrypted: true, KeyRemembered: true},
			"Encrypted · 1.0\u00a0TB · ext4", "Not Connected", "channel-secure-symbolic", true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := MakeView(prof, []client.Drive{c.drive})
			if v.DriveSubtitle != c.subtitle || v.DriveState != c.state || v.DriveIcon != c.icon ||
				v.Encrypted != c.encrypted || v.KeyRemembered != c.remembered || v.DriveUUID != "d1" {
				t.Errorf("view = %q / %q / %q, encrypted %v, remembered %v", v.DriveSubtitle, v.DriveState, v.DriveIcon, v.Encrypted, v.KeyRemembered)
			}
		})
	}
}

func TestMakeViewMounts(t *testing.T) {
	prof := client.Profile{Name: "alice", Sources: []string{"/home/alice"}, IncludeMounts: []string{"/home/alice/nas"}, SkippedMounts: []string{"/home/alice/usb"}}
	v := MakeView(prof, nil)
	if !v.MountsShown || len(v.Mounts) != 2 || !v.Mounts[0].Included || v.Mounts[1].Included {
		t.Errorf("mounts = %+v, shown %v", v.Mounts, v.MountsShown)
	}
	prof.Sources, prof.Remote = []string{"ssh://alice@laptop/home"}, true
	if v := MakeView(prof, nil); v.MountsShown {
		t.Error("another computer's mounts are offered to include here")
	}
}

// fakeService is the service's side of IncludeMount: the profile it has
// now, and the settings Configure was given.
type fakeService struct {
	prof       client.Profile
	readErr    error
	configured []api.Settings
}

func (f *fakeService) Profile(_ context.Context, name string) (client.Profile, error) {
	if name != f.prof.Name {
		return client.Profile{}, errors.New("no profile " + name)
	}
	return f.prof, f.readErr
}

func (f *fakeService) Configure(_ context.Context, name string, s api.Settings, _ api.Auth) error {
	if name != f.prof.Name {
		return errors.New("no profile " + name)
	}
	f.configured = append(f.configured, s)
	return nil
}

func TestIncludeMount(t *testing.T) {
	ctx := context.Background()
	base := client.Profile{Name: "ann", Sources: []string{"/home/ann"}, SkippedMounts: []string{"/home/ann/nas", "/home/ann/Mounts/photos"}}
	cases := []struct {
		name     string
		included []string // what the service has when the button is pressed
		path     string
		want     []api.Path // the include-mounts sent; nil = no Configure
		problem  string
	}{
		{"first", nil, "/home/ann/nas", []api.Path{"/home/ann/nas"}, ""},
		// Another one included meanwhile (in another window, by keepsakectl): kept.
		{"added to the service's list", []string{"/home/ann/Mounts/photos"}, "/home/ann/nas", []api.Path{"/home/ann/Mounts/photos", "/home/ann/nas"}, ""},
		{"included meanwhile", []string{"/home/ann/nas"}, "/home/ann/nas", nil, "~/nas is already included."},
		{"its folder no longer backed up", nil, "/srv/nas", nil, "/srv/nas is not inside a folder that is backed up. Add it as a folder instead."},
	}
	for _, c := range cases {
		f := &fakeService{prof: base}
		f.prof.IncludeMounts = c.included
		problem, err := IncludeMount(ctx, f, "ann", c.path, "/home/ann")
		if err != nil || problem != c.problem {
			t.Errorf("%s: IncludeMount = %q, %v; want %q", c.name, problem, err, c.problem)
		}
		if c.want == nil {
			if len(f.configured) != 0 {
				t.Errorf("%s: configured %+v, want nothing", c.name, f.configured)
			}
			continue
		}
		if len(f.configured) != 1 || f.configured[0].IncludeMounts == nil || !reflect.DeepEqual(*f.configured[0].IncludeMounts, c.want) {
			t.Errorf("%s: configured %+v, want include-mounts %q", c.name, f.configured, c.want)
			continue
		}
		// Only include-mounts changes: every other setting is left as it is.
		s := f.configured[0]
		s.IncludeMounts = nil
		if !reflect.DeepEqual(s, api.Settings{}) {
			t.Errorf("%s: other settings sent too: %+v", c.name, s)
		}
	}

	f := &fakeService{prof: base, readErr: errors.New("service gone")}
	if _, err := IncludeMount(ctx, f, "ann", "/home/ann/nas", "/home/ann"); err == nil || len(f.configured) != 0 {
		t.Errorf("an unreadable profile: err %v, configured %+v", err, f.configured)
	}
}

// TestOtherDrive: a drive new to Keepsake whose filesystem cannot be
// encrypted says so on its row, before Use This Drive enrolls it
// unencrypted; other drives say nothing of encryption.
func TestOtherDrive(t *testing.T) {
	note := "\nBackups on it cannot be encrypted: only an ext4 drive can hold encrypted backups."
	base := client.Drive{UUID: "d2", Label: "Spare", Filesystem: "xfs", Size: 2e12, Free: 2e12, Present: true, Encryptable: api.EncryptableFilesystem}
	with := func(f func(d *client.Drive)) client.Drive { d := base; f(&d); return d }
	cases := []struct {
		name     string
		drive    client.Drive
		subtitle string
	}{
		{"new xfs drive", base, "2.0\u00a0TB · 2.0\u00a0TB free · xfs" + note},
		{"new ext4 drive", with(func(d *client.Drive) { d.Filesystem, d.Encryptable = "ext4", "" }), "2.0\u00a0TB · 2.0\u00a0TB free · ext4"},
		{"ext4 without the feature: the dialog turns it on", with(func(d *client.Drive) { d.Filesystem, d.Encryptable = "ext4", api.EncryptableFeatureOff }), "2.0\u00a0TB · 2.0\u00a0TB free · ext4"},
		{"xfs with backups: used as it is", with(func(d *client.Drive) { d.Enrolled = true }), "Holds Keepsake backups · 2.0\u00a0TB · 2.0\u00a0TB free · xfs"},
		{"cannot hold backups: the reason alone", with(func(d *client.Drive) { d.Unusable = "not a filesystem Keepsake can use" }), "Not a filesystem Keepsake can use"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := OtherDrive(c.drive).Subtitle; got != c.subtitle {
				t.Errorf("subtitle = %q, want %q", got, c.subtitle)
			}
		})
	}
}
