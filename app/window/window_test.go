package window

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/diamondburned/gotk4-adwaita/pkg/adw"
	"github.com/diamondburned/gotk4/pkg/gio/v2"
	"github.com/keepsake/keepsake/app/internal/gtktest"
	"github.com/keepsake/keepsake/app/live"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/kerr"
)

// TestWindowShowsEveryState builds the real window with every page from
// their .ui files (a mistake in one aborts GTK, failing the test) and feeds
// it the states the service can be in, checking which screen shows.
func TestWindowShowsEveryState(t *testing.T) {
	gtktest.InitForApp(t)
	app := adw.NewApplication("io.github.keepsake.KeepsakeTest", gio.ApplicationNonUnique)
	var failures []string
	app.ConnectActivate(func() {
		defer app.Quit()
		w := New(app, Options{})
		drive := client.Drive{Path: "/io/github/keepsake/Keepsake1/drives/d", UUID: "d", Label: "Backup Drive", Present: true, Size: 500e9, Free: 200e9}
		prof := client.Profile{Name: "home", Owner: uint32(os.Getuid()), Sources: []string{"/home/me"}, Drive: drive.Path, DriveUUID: "d",
			Interval: 3600, State: 1, LastSuccess: 1, Job: "/"}
		cases := []struct {
			name string
			st   live.State
			want string
		}{
			{"service missing", live.State{Err: kerr.New(kerr.ServiceNotRunning, "no service")}, "missing"},
			{"service error", live.State{Err: errors.New("connection refused")}, "missing"},
			{"first run", live.State{Drives: []client.Drive{drive}}, "setup"},
		}
		for _, c := range cases {
			w.Update(c.st)
			if got := w.Top.VisibleChildName(); got != c.want {
				failures = append(failures, c.name+": showing "+got+", want "+c.want)
			}
		}
		// Once setup has started it stays until finished, even when the
		// profile it made appears.
		w.Update(live.State{Profiles: []client.Profile{prof}, Drives: []client.Drive{drive}})
		if got := w.Top.VisibleChildName(); got != "setup" {
			failures = append(failures, "setup left before it was finished: showing "+got)
		}
		w.inSetup = false
		w.Update(live.State{Profiles: []client.Profile{prof}, Drives: []client.Drive{drive}})
		if got := w.Top.VisibleChildName(); got != "main" {
			failures = append(failures, "with a profile: showing "+got+", want main")
		}
		w.Update(live.State{Err: kerr.New(kerr.ServiceNotRunning, "")})
		if got := w.MissingFix.Label(); !strings.Contains(got, "systemctl enable --now keepsake.service") || strings.Contains(got, "not running") {
			failures = append(failures, "the missing-service page does not say how to start it, or says it twice: "+got)
		}
	})
	if rc := app.Run(nil); rc != 0 {
		t.Fatalf("app exited with %d", rc)
	}
	for _, f := range failures {
		t.Error(f)
	}
}

func TestOwnProfile(t *testing.T) {
	laptop := client.Profile{Name: "laptop", Owner: 0, Remote: true, Sources: []string{"ssh://ann@laptop/home"}}
	st := live.State{Profiles: []client.Profile{laptop, {Name: "system", Owner: 0}, {Name: "me", Owner: 1000}}}
	for _, c := range []struct {
		uid  uint32
		want string
	}{{1000, "me"}, {0, "system"}, {1001, "system"}} {
		if got := ownProfile(st, c.uid); got != c.want {
			t.Errorf("ownProfile(uid %d) = %q, want %q", c.uid, got, c.want)
		}
	}
	if got := ownProfile(live.State{}, 1000); got != "" {
		t.Errorf("no profiles: %q", got)
	}
	if got := ownProfile(live.State{Profiles: []client.Profile{laptop}}, 1000); got != "laptop" {
		t.Errorf("only another computer: %q", got)
	}
}

// TestComputerSwitch: with this computer and two others, the switch over
// Browse, Search and Deleted chooses the profile Env.Profile returns, the
// overview's rows do too, and adding a computer shows its steps and comes
// back. It needs a display (xvfb-run).
func TestComputerSwitch(t *testing.T) {
	gtktest.InitForApp(t)
	app := adw.NewApplication("io.github.keepsake.KeepsakeTest2", gio.ApplicationNonUnique)
	var failures []string
	fail := func(s string) { failures = append(failures, s) }
	app.ConnectActivate(func() {
		defer app.Quit()
		w := New(app, Options{})
		drive := client.Drive{Path: "/io/github/keepsake/Keepsake1/drives/d", UUID: "d", Label: "Backup Drive", Present: true}
		st := live.State{Drives: []client.Drive{drive}, Profiles: []client.Profile{
			{Name: "system", Owner: 0, Sources: []string{"/etc"}, DriveUUID: "d", Drive: drive.Path, State: 1, Job: "/"},
			{Name: "laptop", Sources: []string{"ssh://ann@laptop/home"}, Remote: true, Host: "laptop", HostKey: "accepted", DriveUUID: "d", State: 1, Job: "/"},
			{Name: "me", Owner: uint32(os.Getuid()), Sources: []string{"/home/me"}, DriveUUID: "d", Drive: drive.Path, State: 1, Job: "/"},
		}}
		if os.Getuid() == 0 {
			st.Profiles[0].Owner = 4242 // "me" is the user's own
		}
		w.inSetup = false
		w.Update(st)
		if got := w.env.Profile(); got != "me" {
			fail("default profile " + got + ", want the user's own")
		}
		if w.ComputerSwitch.Visible() {
			fail("the switch shows over the overview, which lists the computers itself")
		}
		w.Views.SetVisibleChildName("browse")
		if !w.ComputerSwitch.Visible() {
			fail("no computer switch over Browse")
		}
		if n := w.switchList.NItems(); n != 3 || w.switchList.String(1) != "laptop" || w.switchList.String(2) != "This Computer (me)" {
			fail("switch lists " + w.switchList.String(0) + ", " + w.switchList.String(1) + ", " + w.switchList.String(2))
		}
		if w.ComputerSwitch.Selected() != 2 {
			fail("the switch does not show the user's own computer")
		}
		w.ComputerSwitch.SetSelected(1)
		if got := w.env.Profile(); got != "laptop" {
			fail("after switching: Env.Profile() = " + got)
		}
		// A new reading keeps the choice.
		w.Update(st)
		if got := w.env.Profile(); got != "laptop" || w.ComputerSwitch.Selected() != 1 {
			fail("a new reading lost the choice: " + got)
		}
		// The overview chooses too, and the switch follows.
		w.env.Select("system")
		if got := w.env.Profile(); got != "system" || w.ComputerSwitch.Selected() != 0 {
			fail("Select(system): Env.Profile() = " + got)
		}
		// The chosen computer gone, the user's own shows again.
		st.Profiles = st.Profiles[1:]
		w.Update(st)
		if got := w.env.Profile(); got != "me" {
			fail("chosen computer removed: Env.Profile() = " + got)
		}
		// Adding a computer shows its steps; Cancel comes back.
		w.env.AddComputer()
		if got := w.Top.VisibleChildName(); got != "computer" {
			fail("AddComputer shows " + got)
		}
		w.Update(st)
		if got := w.Top.VisibleChildName(); got != "computer" {
			fail("a reading left the steps: showing " + got)
		}
		w.computer.CancelButton.Emit("clicked")
		if got := w.Top.VisibleChildName(); got != "main" {
			fail("after Cancel: showing " + got)
		}
		// From the first-run setup, Cancel goes back to it.
		w.Update(live.State{Drives: []client.Drive{drive}})
		w.setup.AnotherButton.Emit("clicked")
		if got := w.Top.VisibleChildName(); got != "computer" {
			fail("the first-run setup does not add a computer: showing " + got)
		}
		w.computer.CancelButton.Emit("clicked")
		if got := w.Top.VisibleChildName(); got != "setup" {
			fail("after Cancel from the first run: showing " + got)
		}
	})
	if rc := app.Run(nil); rc != 0 {
		t.Fatalf("app exited with %d", rc)
	}
	for _, f := range failures {
		t.Error(f)
	}
}
