package apps

import (
	"strings"
	"testing"
	"time"

	"github.com/keepsake/keepsake/app/internal/gtktest"
	"github.com/keepsake/keepsake/app/live"
	"github.com/keepsake/keepsake/shared/client"
)

// TestPageWithoutService builds the page from its .ui file (every ui tag
// must name an object of the right type), reads the backups with the
// service gone (the error is said in words), then shows a listing and a
// reinstall's results. It needs a display (xvfb-run).
func TestPageWithoutService(t *testing.T) {
	gtktest.Init(t)
	env, _ := gtktest.Env("home", nil)
	p := New(env)
	p.Update(live.State{Profiles: []client.Profile{{Name: "home", LastSnapshot: "2026-11-22T100000Z", Flatpak: true}}})
	gtktest.WaitFor(t, func() bool { return p.Stack.VisibleChildName() == "error" })
	if d := p.ErrorPage.Description(); !strings.Contains(d, "not running") {
		t.Errorf("error description = %q", d)
	}

	p.snaps = []Snapshot{{Name: "2026-11-22T100000Z", Time: time.Now()}}
	p.SnapshotList.Splice(0, p.SnapshotList.NItems(), []string{"Today"})
	p.readAppInfos()
	p.show(GroupApps([]App{
		{Installation: "system", Kind: "app", ID: "org.x.A", Ref: "app/org.x.A/x86_64/stable", State: "missing", Data: true},
		{Installation: "user:" + p.me, Kind: "app", ID: "org.x.B", Ref: "app/org.x.B/x86_64/stable", State: "same"},
		{Installation: "system", Kind: "runtime", ID: "org.x.Platform", Ref: "runtime/org.x.Platform/x86_64/1", State: "missing"},
	}, p.names))
	if p.Stack.VisibleChildName() != "list" || len(p.groups) != 2 || len(p.checks) != 2 {
		t.Fatalf("list: page %q, %d groups, %d rows", p.Stack.VisibleChildName(), len(p.groups), len(p.checks))
	}
	if !p.MissingButton.Sensitive() || p.ReinstallButton.Sensitive() {
		t.Error("with one app missing and none checked: Reinstall All Missing on, Reinstall Selected off")
	}
	p.checks[key("system", "app/org.x.A/x86_64/stable")].SetActive(true)
	if !p.ReinstallButton.Sensitive() {
		t.Error("Reinstall Selected is off with an app checked")
	}
	p.showResults([]Outcome{
		{Installation: "system", Kind: "app", Ref: "app/org.x.A/x86_64/stable", Status: Failed, Reason: "no network"},
		{Installation: "system", Kind: "remote", Ref: "flathub", Status: Installed},
	})
	if !p.ResultsBox.IsVisible() || p.ResultsList.RowAtIndex(0) == nil || p.ResultsList.RowAtIndex(1) != nil {
		t.Error("results: want one row (the app; the remote that worked is not worth one)")
	}
}
