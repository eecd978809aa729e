package search

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
// must name an object of the right type) and searches with the service
// gone: the error is said in words. It needs a display (xvfb-run).
func TestPageWithoutService(t *testing.T) {
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		t.Skip("needs a display: run under xvfb-run")
	}
	runtime.LockOSThread()
	gtk.Init()
	adw.Init()
	var toasts []string
	env := &ui.Env{
		Client:  func() *client.Client { return nil },
		Profile: func() string { return "home" },
		Window:  func() *gtk.Window { return nil },
		Toast:   func(m string) { toasts = append(toasts, m) },
		History: func(string) {},
	}
	p := New(env)
	p.Update(live.State{Profiles: []client.Profile{{Name: "home", LastSnapshot: "2026-11-22T100000Z"}}})
	if got := p.Stack.VisibleChildName(); got != "empty" {
		t.Fatalf("first page = %q, want empty", got)
	}
	p.Entry.SetText("report")
	waitFor(t, func() bool { return p.Stack.VisibleChildName() == "error" })
	if d := p.ErrorPage.Description(); !strings.Contains(d, "not running") {
		t.Errorf("error description = %q", d)
	}
	p.Entry.SetText("  ")
	waitFor(t, func() bool { return p.Stack.VisibleChildName() == "empty" })
	p.setFolder("/home/ann/Documents")
	if !p.EverywhereButton.IsVisible() {
		t.Error("the Everywhere button is hidden with a folder chosen")
	}
	p.show(answer{groups: GroupHits([]Hit{{Path: "/home/ann/a & b.txt", Type: "file", Last: time.Now(), LastSnapshot: "2026-11-22T100000Z"}})}, "")
	if p.Results.RowAtIndex(0) == nil || p.Results.RowAtIndex(1) != nil {
		t.Error("one group should make one row")
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
