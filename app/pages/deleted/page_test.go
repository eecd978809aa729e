package deleted

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/diamondburned/gotk4-adwaita/pkg/adw"
	"github.com/diamondburned/gotk4/pkg/glib/v2"
	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/keepsake/keepsake/app/live"
	"github.com/keepsake/keepsake/app/ui"
	"github.com/keepsake/keepsake/shared/client"
)

// TestPageWithoutService builds the page from its .ui file (every ui tag
// must name an object of the right type), lists with the service gone
// (the error is said in words), then shows and selects a listing. It
// needs a display (xvfb-run).
func TestPageWithoutService(t *testing.T) {
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		t.Skip("needs a display: run under xvfb-run")
	}
	runtime.LockOSThread()
	gtk.Init()
	adw.Init()
	env := &ui.Env{
		Client:  func() *client.Client { return nil },
		Profile: func() string { return "home" },
		Window:  func() *gtk.Window { return nil },
		Toast:   func(string) {},
	}
	p := New(env)
	if p.SinceRow.Selected() != DefaultPeriod {
		t.Errorf("since = %d, want %d", p.SinceRow.Selected(), DefaultPeriod)
	}
	p.Update(live.State{Profiles: []client.Profile{{Name: "home", Sources: []string{"/home/ann"}, LastSnapshot: "2026-11-22T100000Z"}}})
	if p.folder != "/home/ann" {
		t.Errorf("folder = %q, want the first source", p.folder)
	}
	waitFor(t, func() bool { return p.Stack.VisibleChildName() == "error" })
	if d := p.ErrorPage.Description(); !strings.Contains(d, "not running") {
		t.Errorf("error description = %q", d)
	}

	p.show([]File{
		{Path: "/home/ann/a.txt", Name: "a.txt", Dir: "/home/ann", Type: "file", LastSnapshot: "2026-11-20T100000Z"},
		{Path: "/home/ann/b <1>.txt", Name: "b <1>.txt", Dir: "/home/ann", Type: "file", LastSnapshot: "2026-11-21T100000Z"},
	})
	if p.RestoreButton.Sensitive() {
		t.Error("Restore is sensitive with nothing selected")
	}
	p.selectAll()
	if len(p.selected) != 2 || !p.RestoreButton.Sensitive() || p.SelectedLabel.Label() != "2 selected" {
		t.Errorf("after Select All: %d selected, label %q", len(p.selected), p.SelectedLabel.Label())
	}
	p.checks["/home/ann/a.txt"].SetActive(false)
	if len(p.selected) != 1 {
		t.Errorf("unchecking left %d selected", len(p.selected))
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	ctx := glib.MainContextDefault()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		for ctx.Iteration(false) {
		}
		time.Sleep(10 * time.Millisecond)
	}
}
