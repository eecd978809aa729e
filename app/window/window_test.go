package window

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/diamondburned/gotk4-adwaita/pkg/adw"
	"github.com/diamondburned/gotk4/pkg/gio/v2"
	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/keepsake/keepsake/app/internal/gtktest"
	"github.com/keepsake/keepsake/app/live"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/kerr"
)

// TestWindowShowsEveryState builds the real window with every page from
// their .ui files (a mistake in one aborts GTK, failing the test) and feeds
// it the states the service can be in, checking which screen shows.
func TestWindowShowsEveryState(t *testing.T) {
	gtktest.RequireDisplay(t)
	gtk.Init()
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
	st := live.State{Profiles: []client.Profile{{Name: "system", Owner: 0}, {Name: "me", Owner: 1000}}}
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
}
