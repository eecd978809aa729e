package apps

import (
	"github.com/keepsake/keepsake/app/humanize"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/shared/api"
)

func TestAppOf(t *testing.T) {
	d := api.FlatpakRef{
		Installation: "system", Ref: "app/org.gnome.Maps/x86_64/stable", Kind: "app", ID: "org.gnome.Maps", Branch: "stable",
		Origin: "flathub", Version: "45.1", Commit: "abc", InstalledSize: 1000, State: "older", InstalledVersion: "44.0", Data: true,
	}
	want := App{Installation: "system", Ref: "app/org.gnome.Maps/x86_64/stable", Kind: "app", ID: "org.gnome.Maps", Branch: "stable",
		Origin: "flathub", Version: "45.1", Commit: "abc", InstalledSize: 1000, State: "older", InstalledVersion: "44.0", Data: true}
	if got := AppOf(d); !reflect.DeepEqual(got, want) {
		t.Errorf("AppOf = %+v, want %+v", got, want)
	}
}

func TestStateText(t *testing.T) {
	for in, want := range map[string]string{"missing": "Not installed", "older": "Older installed", "newer": "Newer installed",
		"same": "Installed", "different": "Different build", "": "Unknown", "bogus": "Unknown"} {
		if got := StateText(in); got != want {
			t.Errorf("StateText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestVersionAndSubtitle(t *testing.T) {
	cases := []struct {
		name          string
		app           App
		version, want string
	}{
		{"missing", App{ID: "a.b.C", Name: "a.b.C", State: "missing", Version: "1.2", Branch: "stable"},
			"Version 1.2", "Not installed · Version 1.2 · No data saved"},
		{"older", App{ID: "a.b.C", Name: "Cee", State: "older", Version: "2.0", InstalledVersion: "1.9", Data: true},
			"2.0 → 1.9", "a.b.C\nOlder installed · 2.0 → 1.9 · Data saved"},
		{"newer", App{ID: "a.b.C", State: "newer", Version: "2.0", InstalledVersion: "2.1"},
			"2.0 → 2.1", "Newer installed · 2.0 → 2.1 · No data saved"},
		{"different same version", App{ID: "x.y.Z", State: "different", Version: "3", InstalledVersion: "3"},
			"Version 3", "Different build · Version 3 · No data saved"},
		{"same", App{ID: "x.y.Z", State: "same", Version: "3", InstalledVersion: "3"},
			"Version 3", "Installed · Version 3 · No data saved"},
		{"no version", App{ID: "x.y.Z", State: "missing", Branch: "stable"},
			"Branch stable", "Not installed · Branch stable · No data saved"},
		{"nothing known", App{ID: "x.y.Z", State: "missing"}, "", "Not installed · No data saved"},
	}
	for _, c := range cases {
		if got := VersionText(c.app); got != c.version {
			t.Errorf("%s: VersionText = %q, want %q", c.name, got, c.version)
		}
		if got := Subtitle(c.app); got != c.want {
			t.Errorf("%s: Subtitle = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestGroupApps(t *testing.T) {
	all := []App{
		{Installation: "user:ann", Kind: "app", ID: "org.b", Ref: "app/org.b/x86_64/stable", State: "missing"},
		{Installation: "system", Kind: "runtime", ID: "org.gnome.Platform", Ref: "runtime/org.gnome.Platform/x86_64/45"},
		{Installation: "system", Kind: "app", ID: "org.z", Ref: "app/org.z/x86_64/stable", State: "same"},
		{Installation: "system", Kind: "app", ID: "org.a", Ref: "app/org.a/x86_64/stable", State: "missing"},
		{Installation: "user:ann", Kind: "app", ID: "org.a", Ref: "app/org.a/x86_64/stable", State: "older"},
	}
	got := GroupApps(all, map[string]string{"org.z": "Aardvark"})
	var shape []string
	for _, in := range got {
		var names []string
		for _, a := range in.Apps {
			names = append(names, a.Name)
		}
		shape = append(shape, in.Name+": "+strings.Join(names, ", "))
	}
	want := []string{"system: Aardvark, org.a", "user:ann: org.a, org.b"}
	if !reflect.DeepEqual(shape, want) {
		t.Errorf("GroupApps = %q, want %q", shape, want)
	}
	if m := Missing(got[0]); !reflect.DeepEqual(m, []string{"app/org.a/x86_64/stable"}) {
		t.Errorf("Missing(system) = %v", m)
	}
	if m := Missing(Installation{}); m != nil {
		t.Errorf("Missing(empty) = %v", m)
	}
}

func TestInstallationTexts(t *testing.T) {
	cases := []struct{ got, want string }{
		{InstallationTitle("system", "ann"), "System Apps"},
		{InstallationTitle("user:ann", "ann"), "Your Apps"},
		{InstallationTitle("user:bob", "ann"), "Apps of bob"},
		{InstallationDescription("system", "ann"), "Installed for everyone on this computer. Reinstalling them needs an administrator."},
		{InstallationDescription("user:ann", "ann"), "Installed for you only."},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestParseResult(t *testing.T) {
	res := map[string]dbus.Variant{
		"app app/org.gnome.Maps/x86_64/stable":         dbus.MakeVariant("installed"),
		"app app/org.gimp.GIMP/x86_64/stable":          dbus.MakeVariant("failed: no such ref in remote flathub"),
		"app app/org.a.Present/x86_64/stable":          dbus.MakeVariant("present"),
		"runtime runtime/org.gnome.Platform/x86_64/45": dbus.MakeVariant("present"),
		"runtime runtime/org.kde.Platform/x86_64/6":    dbus.MakeVariant("failed: network down"),
		"remote flathub":                         dbus.MakeVariant("installed"),
		"data /home/ann/.var/app/org.gnome.Maps": dbus.MakeVariant("restored to /home/ann/.var/app/org.gnome.Maps (restored 2026-11-22 10.00)"),
		"override org.gnome.Maps":                dbus.MakeVariant("installed"),
		"odd thing":                              dbus.MakeVariant(uint32(3)), // not text: left out
	}
	got := ParseResult("user:ann", res)
	want := []Outcome{
		{Installation: "user:ann", Kind: "app", Ref: "app/org.a.Present/x86_64/stable", Status: Present},
		{Installation: "user:ann", Kind: "app", Ref: "app/org.gimp.GIMP/x86_64/stable", Status: Failed, Reason: "no such ref in remote flathub"},
		{Installation: "user:ann", Kind: "app", Ref: "app/org.gnome.Maps/x86_64/stable", Status: Installed},
		{Installation: "user:ann", Kind: "runtime", Ref: "runtime/org.gnome.Platform/x86_64/45", Status: Present},
		{Installation: "user:ann", Kind: "runtime", Ref: "runtime/org.kde.Platform/x86_64/6", Status: Failed, Reason: "network down"},
		{Installation: "user:ann", Kind: "remote", Ref: "flathub", Status: Installed},
		{Installation: "user:ann", Kind: "data", Ref: "/home/ann/.var/app/org.gnome.Maps", Status: Restored,
			Reason: "/home/ann/.var/app/org.gnome.Maps (restored 2026-11-22 10.00)"},
		{Installation: "user:ann", Kind: "override", Ref: "org.gnome.Maps", Status: Installed},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseResult =\n%+v\nwant\n%+v", got, want)
	}

	shown := Shown(got)
	var kinds []string
	for _, o := range shown {
		kinds = append(kinds, o.Kind+" "+o.Status)
	}
	wantShown := []string{"app present", "app failed", "app installed", "runtime failed", "data restored"}
	if !reflect.DeepEqual(kinds, wantShown) {
		t.Errorf("Shown = %v, want %v (a failure never hides the others)", kinds, wantShown)
	}
	if got := Tally(got); got != "1 app reinstalled, 1 already installed, 1 failed" {
		t.Errorf("Tally = %q", got)
	}
	if got := ParseResult("system", nil); len(got) != 0 {
		t.Errorf("ParseResult(nil) = %v", got)
	}
}

func TestSortOutcomesSystemFirst(t *testing.T) {
	os := []Outcome{
		{Installation: "user:ann", Kind: "app", Ref: "a"},
		{Installation: "system", Kind: "runtime", Ref: "r"},
		{Installation: "system", Kind: "installation", Ref: "system", Status: Failed},
		{Installation: "system", Kind: "app", Ref: "b"},
	}
	SortOutcomes(os)
	var got []string
	for _, o := range os {
		got = append(got, o.Installation+" "+o.Kind)
	}
	want := []string{"system installation", "system app", "system runtime", "user:ann app"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SortOutcomes = %v, want %v", got, want)
	}
}

func TestOutcomeTexts(t *testing.T) {
	names := map[string]string{"org.gnome.Maps": "Maps"}
	cases := []struct {
		o            Outcome
		title, text  string
		failedMarker bool
	}{
		{Outcome{Kind: "app", Ref: "app/org.gnome.Maps/x86_64/stable", Status: Installed}, "Maps", "Installed", false},
		{Outcome{Kind: "app", Ref: "app/org.x.Y/x86_64/stable", Status: Present}, "org.x.Y", "Already installed", false},
		{Outcome{Kind: "app", Ref: "app/org.x.Y/x86_64/stable", Status: Failed, Reason: "no network"}, "org.x.Y", "Failed: no network", true},
		{Outcome{Kind: "runtime", Ref: "runtime/org.gnome.Platform/x86_64/45", Status: Failed}, "Runtime org.gnome.Platform", "Failed", true},
		{Outcome{Kind: "remote", Ref: "flathub", Status: Installed}, "Source flathub", "Set up again", false},
		{Outcome{Kind: "remote", Ref: "flathub", Status: Present}, "Source flathub", "Already set up", false},
		{Outcome{Kind: "data", Ref: "/h/.var/app/org.gnome.Maps", Status: Restored, Reason: "/h/x"}, "Data of org.gnome.Maps", "Restored to /h/x", false},
		{Outcome{Kind: "override", Ref: "org.gnome.Maps", Status: Failed, Reason: "bad"}, "Permissions of Maps", "Failed: bad", true},
		{Outcome{Installation: "system", Kind: "installation", Ref: "system", Status: Failed, Reason: "You are not allowed to do this. An administrator can."},
			"System Apps", "Failed: You are not allowed to do this. An administrator can.", true},
		{Outcome{Kind: "mask", Ref: "org.*", Status: Installed}, "Mask org.*", "Set up again", false},
	}
	for _, c := range cases {
		if got := OutcomeTitle(c.o, names, "ann"); got != c.title {
			t.Errorf("OutcomeTitle(%+v) = %q, want %q", c.o, got, c.title)
		}
		if got := OutcomeText(c.o); got != c.text {
			t.Errorf("OutcomeText(%+v) = %q, want %q", c.o, got, c.text)
		}
		if got := OutcomeIcon(c.o) == "dialog-warning-symbolic"; got != c.failedMarker {
			t.Errorf("OutcomeIcon(%+v) failure = %v", c.o, got)
		}
	}
}

func TestTally(t *testing.T) {
	cases := []struct {
		outs []Outcome
		want string
	}{
		{nil, "Nothing was reinstalled"},
		{[]Outcome{{Kind: "app", Status: Installed}, {Kind: "app", Status: Installed}, {Kind: "runtime", Status: Installed}}, "2 apps reinstalled"},
		{[]Outcome{{Kind: "app", Status: Present}}, "1 already installed"},
		{[]Outcome{{Kind: "installation", Status: Failed}, {Kind: "app", Status: Failed}}, "2 failed"},
	}
	for _, c := range cases {
		if got := Tally(c.outs); got != c.want {
			t.Errorf("Tally(%v) = %q, want %q", c.outs, got, c.want)
		}
	}
}

func TestSnapshots(t *testing.T) {
	loc := time.FixedZone("CET", 3600)
	now := time.Date(2026, 11, 22, 15, 0, 0, 0, loc)
	mk := func(name string, t time.Time) api.Snapshot {
		return api.Snapshot{Name: name, Time: t}
	}
	ds := []api.Snapshot{
		mk("2025-12-31T230000Z", time.Date(2025, 12, 31, 23, 0, 0, 0, time.UTC)),
		mk("2026-11-22T100000Z", time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)),
		mk("2026-11-21T100000Z", time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)),
		mk("2026-03-02T080000Z", time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)),
	}
	snaps := Snapshots(ds)
	var got []string
	for _, s := range snaps {
		got = append(got, SnapshotLabel(s, now))
	}
	want := []string{"Today at 11:00", "Yesterday at 11:00", "2 March at 09:00", "1 January at 00:00"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("labels = %q, want %q", got, want)
	}
	if snaps[0].Name != "2026-11-22T100000Z" {
		t.Errorf("newest first: %v", snaps)
	}
	if l := SnapshotLabel(Snapshot{Name: "2019-01-01T000000Z", Time: time.Date(2019, 5, 1, 12, 0, 0, 0, loc)}, now); l != "1 May 2019 at 12:00" {
		t.Errorf("older year label = %q", l)
	}
	if l := SnapshotLabel(Snapshot{Name: "odd"}, now); l != "odd" {
		t.Errorf("no time label = %q", l)
	}
}

func TestTexts(t *testing.T) {
	now := time.Date(2026, 11, 22, 15, 0, 0, 0, time.Local)
	cases := []struct{ got, want string }{
		{RollBackText("Maps", Snapshot{Time: now.Add(-time.Hour)}, now),
			"The settings and files of Maps go back to how they were in the backup made today at 14:00. Close the app first. Its current data is kept beside them, unless you replace it."},
		{RollBackText("Maps", Snapshot{Time: time.Date(2026, 2, 1, 9, 30, 0, 0, time.Local)}, now),
			"The settings and files of Maps go back to how they were in the backup made on 1 February at 09:30. Close the app first. Its current data is kept beside them, unless you replace it."},
		{NoAppsText(true), "This backup recorded no Flatpak app you can see."},
		{DataRestoredText("Maps", "/home/ann/.var/app/org.gnome.Maps", "/home/ann"), "Data of Maps restored to ~/.var/app/org.gnome.Maps"},
		{DataRestoredText("Maps", "", "/home/ann"), "Data of Maps restored"},
		{RefID("app/org.gnome.Maps/x86_64/stable"), "org.gnome.Maps"},
		{RefID("flathub"), "flathub"},
		{humanize.Escape("A & <B>"), "A &amp; &lt;B&gt;"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %q\nwant %q", c.got, c.want)
		}
	}
}
