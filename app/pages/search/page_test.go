package search

import (
	"strings"
	"testing"
	"time"

	"github.com/keepsake/keepsake/app/internal/gtktest"
	"github.com/keepsake/keepsake/app/live"
	"github.com/keepsake/keepsake/shared/client"
)

// TestPageWithoutService builds the page from its .ui file (every ui tag
// must name an object of the right type) and searches with the service
// gone: the error is said in words. It needs a display (xvfb-run).
func TestPageWithoutService(t *testing.T) {
	gtktest.Init(t)
	env, _ := gtktest.Env("home", nil)
	p := New(env)
	p.Update(live.State{Profiles: []client.Profile{{Name: "home", LastSnapshot: "2026-11-22T100000Z"}}})
	if got := p.Stack.VisibleChildName(); got != "empty" {
		t.Fatalf("first page = %q, want empty", got)
	}
	// Quick changes make one search, 150 ms after the last.
	for _, text := range []string{"r", "re", "rep", "report"} {
		p.Entry.SetText(text)
	}
	if p.gen != 0 {
		t.Errorf("searched %d times before the text settled", p.gen)
	}
	gtktest.WaitFor(t, func() bool { return p.Stack.VisibleChildName() == "error" })
	if p.gen != 1 {
		t.Errorf("searched %d times for one settled text", p.gen)
	}
	if d := p.ErrorPage.Description(); !strings.Contains(d, "not running") {
		t.Errorf("error description = %q", d)
	}
	// A backup that ends runs the same search again (one asked while it
	// ran could not see its files); the same reading of the service does not.
	p.Update(live.State{Profiles: []client.Profile{{Name: "home", LastSnapshot: "2026-11-22T110000Z"}}})
	p.Update(live.State{Profiles: []client.Profile{{Name: "home", LastSnapshot: "2026-11-22T110000Z"}}})
	if p.gen != 2 {
		t.Errorf("searched %d times after a new snapshot, want 2", p.gen)
	}
	p.Entry.SetText("  ")
	gtktest.WaitFor(t, func() bool { return p.Stack.VisibleChildName() == "empty" })
	p.setFolder("/home/ann/Documents")
	if !p.EverywhereButton.IsVisible() {
		t.Error("the Everywhere button is hidden with a folder chosen")
	}
	p.show(answer{groups: GroupHits([]Hit{{Path: "/home/ann/a & b.txt", Type: "file", Last: time.Now(), LastSnapshot: "2026-11-22T100000Z"}})}, "")
	if p.Results.RowAtIndex(0) == nil || p.Results.RowAtIndex(1) != nil {
		t.Error("one group should make one row")
	}
}

// TestAnotherComputer: switched to another computer, the search covers
// all of it (this computer's folder chooser does not apply there).
func TestAnotherComputer(t *testing.T) {
	gtktest.Init(t)
	name := "home"
	env, _ := gtktest.Env("home", nil)
	env.Profile = func() string { return name }
	p := New(env)
	st := live.State{Profiles: []client.Profile{{Name: "home", Sources: []string{"/home/ann"}},
		{Name: "laptop", Remote: true, Host: "laptop", Sources: []string{"ssh://ann@laptop/home"}}}}
	p.Update(st)
	p.setFolder("/home/ann/Documents")
	if !p.FolderButton.Visible() {
		t.Error("no folder chooser for this computer")
	}
	name = "laptop"
	p.Update(st)
	if p.folder != "" || p.FolderButton.Visible() || p.home != "" {
		t.Errorf("another computer: folder %q, chooser %v, home %q", p.folder, p.FolderButton.Visible(), p.home)
	}
	name = "home"
	p.Update(st)
	if !p.FolderButton.Visible() || p.home == "" && p.ownHome != "" {
		t.Error("back on this computer: no chooser, or no home")
	}
}
