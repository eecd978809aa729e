package deleted

import (
	"strings"
	"testing"

	"github.com/keepsake/keepsake/app/internal/gtktest"
	"github.com/keepsake/keepsake/app/live"
	"github.com/keepsake/keepsake/shared/client"
)

// TestPageWithoutService builds the page from its .ui file (every ui tag
// must name an object of the right type), lists with the service gone
// (the error is said in words), then shows and selects a listing. It
// needs a display (xvfb-run).
func TestPageWithoutService(t *testing.T) {
	gtktest.Init(t)
	env, _ := gtktest.Env("home", nil)
	p := New(env)
	if p.SinceRow.Selected() != DefaultPeriod {
		t.Errorf("since = %d, want %d", p.SinceRow.Selected(), DefaultPeriod)
	}
	p.Update(live.State{Profiles: []client.Profile{{Name: "home", Sources: []string{"/home/ann"}, LastSnapshot: "2026-11-22T100000Z"}}})
	if p.folder != "/home/ann" {
		t.Errorf("folder = %q, want the first source", p.folder)
	}
	gtktest.WaitFor(t, func() bool { return p.Stack.VisibleChildName() == "error" })
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

// TestAnotherComputer: another computer's list starts at its first
// folder, written as there, without this computer's folder chooser.
func TestAnotherComputer(t *testing.T) {
	gtktest.Init(t)
	env, _ := gtktest.Env("laptop", nil)
	p := New(env)
	p.Update(live.State{Profiles: []client.Profile{{Name: "laptop", Remote: true, Host: "laptop",
		Sources: []string{"ssh://ann@laptop/home/ann,/etc"}, LastSnapshot: "2026-11-22T100000Z"}}})
	if p.folder != "/home/ann" || p.FolderButton.Visible() || p.FolderRow.Subtitle() != "/home/ann" {
		t.Errorf("folder %q (shown %q), chooser %v", p.folder, p.FolderRow.Subtitle(), p.FolderButton.Visible())
	}
}
