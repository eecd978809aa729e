package window

import (
	"os"
	"testing"

	"github.com/diamondburned/gotk4-adwaita/pkg/adw"
	"github.com/diamondburned/gotk4/pkg/gio/v2"
	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/keepsake/keepsake/app/internal/gtktest"
	"github.com/keepsake/keepsake/app/live"
	"github.com/keepsake/keepsake/shared/client"
)

func openState() live.State {
	drive := client.Drive{Path: "/io/github/keepsake/Keepsake1/drives/d", UUID: "d", Label: "Backup Drive", Present: true, Size: 500e9, Free: 200e9}
	own := client.Profile{Name: "home", Owner: uint32(os.Getuid()), Sources: []string{"/home/me"}, Drive: drive.Path, DriveUUID: "d",
		Interval: 3600, State: 1, LastSuccess: 1, Job: "/"}
	laptop := client.Profile{Name: "laptop", Remote: true, Sources: []string{"ssh://ann@laptop/home/ann"}, Drive: drive.Path, DriveUUID: "d", State: 1, Job: "/"}
	nas := client.Profile{Name: "nas", Remote: true, Sources: []string{"ssh://nas/volume1"}, Drive: drive.Path, DriveUUID: "d", State: 1, Job: "/"}
	return live.State{Profiles: []client.Profile{own, laptop, nas}, Drives: []client.Drive{drive}}
}

// run gives f a window of the given size inside a running app.
func run(t *testing.T, width, height int, f func(w *Window)) {
	t.Helper()
	gtktest.InitForApp(t)
	// GNOME's window buttons, as the UI test and the screenshots have them.
	gtk.SettingsGetDefault().SetObjectProperty("gtk-decoration-layout", "appmenu:close")
	app := adw.NewApplication("io.github.keepsake.KeepsakeOpenTest", gio.ApplicationNonUnique)
	app.ConnectActivate(func() {
		defer app.Quit()
		w := New(app, Options{})
		w.SetDefaultSize(width, height)
		w.Present()
		f(w)
		w.Destroy()
	})
	if rc := app.Run(nil); rc != 0 {
		t.Fatalf("app exited with %d", rc)
	}
}

// TestDesktopOpensPages: what the desktop asks for (GNOME Shell's
// overview, the Files extension, the launcher's actions) waits for the
// first reading of the service, then shows the right page, about the
// user's own computer even when another one is shown.
func TestDesktopOpensPages(t *testing.T) {
	run(t, 900, 680, func(w *Window) {
		w.ShowSearch("report")
		if got := w.search.Entry.Text(); got != "" {
			t.Errorf("the search ran before the service was read: %q", got)
		}
		w.Update(openState())
		if got := w.Views.VisibleChildName(); got != "search" {
			t.Errorf("after the first reading the window shows %q, not search", got)
		}
		if got := w.search.Entry.Text(); got != "report" {
			t.Errorf("the search entry says %q, not report", got)
		}

		w.selectProfile("laptop")
		w.BrowseFolder("/home/me/Documents")
		if got := w.Views.VisibleChildName(); got != "browse" {
			t.Errorf("BrowseFolder shows %q", got)
		}
		if got := w.profileName(); got != "home" {
			t.Errorf("BrowseFolder shows the computer %q, not the user's own", got)
		}
		if b := gtktest.FindButton(w.browse, "Documents"); b == nil {
			t.Error("the path bar does not end at Documents")
		}

		w.ShowPage("overview")
		if got := w.Views.VisibleChildName(); got != "overview" {
			t.Errorf("ShowPage shows %q", got)
		}

		w.ShowHistory("/home/me/Documents/report.txt")
		gtktest.Pump()
		found := false
		list := gtk.WindowGetToplevels()
		for i := uint(0); i < list.NItems(); i++ {
			if win, ok := list.Item(i).Cast().(*adw.Window); ok && win.Title() == "report.txt" {
				found = true
				win.Destroy()
			}
		}
		if !found {
			t.Error("ShowHistory opened no window titled report.txt")
		}
	})
}

// TestHeaderKeepsTheAppName: at 360 px, with the computer switch shown
// (Browse with three computers), the header still says "Keepsake" whole.
func TestHeaderKeepsTheAppName(t *testing.T) {
	run(t, 360, 720, func(w *Window) {
		w.Update(openState())
		w.env.Show("browse")
		gtktest.WaitFor(t, func() bool { return w.Width() > 0 && w.ComputerSwitch.Width() > 0 })
		for _, page := range []string{"browse", "overview"} {
			w.env.Show(page)
			for i := 0; i < 20; i++ {
				gtktest.Pump()
			}
			var title *gtk.Label
			walk(w.SwitcherTitle, func(l *gtk.Label) {
				if l.Label() == "Keepsake" && l.Mapped() {
					title = l
				}
			})
			if title == nil {
				t.Errorf("%s at %d px: no app name in the header", page, w.Width())
				continue
			}
			if title.Layout().IsEllipsized() {
				t.Errorf("%s at %d px: the header's %q is cut to %d px", page, w.Width(), title.Label(), title.Width())
			}
		}
	})
}

func walk(w gtk.Widgetter, f func(*gtk.Label)) {
	if l, ok := w.(*gtk.Label); ok {
		f(l)
	}
	for c := gtk.BaseWidget(w).FirstChild(); c != nil; c = gtk.BaseWidget(c).NextSibling() {
		walk(c, f)
	}
}
