package overview

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/keepsake/keepsake/app/internal/gtktest"
	"github.com/keepsake/keepsake/app/live"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/dbusapi"
)

// ThreeComputers is a state with this computer and two others: one
// reachable and up to date, one whose host key changed.
func threeComputers(now time.Time) live.State {
	drive := client.Drive{Path: "/d", UUID: "u", Label: "Backup Drive", Present: true, Size: 1e12, Free: 4e11}
	return live.State{Drives: []client.Drive{drive}, Profiles: []client.Profile{
		{Name: "ann", Owner: uint32(os.Getuid()), Sources: []string{"/home/ann"}, Drive: "/d", DriveUUID: "u", Interval: 3600,
			State: uint32(dbusapi.StateIdle), LastSuccess: now.Add(-10 * time.Minute).UnixMicro(), Job: "/"},
		{Name: "laptop", Sources: []string{"ssh://ann@laptop/home"}, Remote: true, Host: "laptop", HostKey: "accepted",
			Drive: "/d", DriveUUID: "u", Interval: 86400, State: uint32(dbusapi.StateIdle), LastSuccess: now.Add(-3 * time.Hour).UnixMicro(), Job: "/"},
		{Name: "nas", Sources: []string{"ssh://backup@nas.local/srv"}, Remote: true, Host: "nas", HostKey: "changed",
			Drive: "/d", DriveUUID: "u", Interval: 86400, State: uint32(dbusapi.StateFailed), LastResult: "HostKeyChanged",
			LastMessage: "the host key of nas.local:22 has changed", LastSuccess: now.Add(-50 * time.Hour).UnixMicro(), Job: "/"},
	}}
}

// TestComputerList builds the overview from its .ui file and shows the
// computers of a state with this computer and two others; choosing a row
// selects its computer, the changed key offers its check, and the last
// row adds a computer. It needs a display (xvfb-run).
func TestComputerList(t *testing.T) {
	gtktest.Init(t)
	win := gtk.NewWindow()
	env, _ := gtktest.Env("ann", win)
	st := threeComputers(time.Now())
	shown := "ann"
	env.State = func() live.State { return st }
	env.Profile = func() string { return shown }
	var selected, reviewed []string
	added := 0
	env.Select = func(name string) { selected = append(selected, name); shown = name }
	env.ReviewKey = func(name string) { reviewed = append(reviewed, name) }
	env.AddComputer = func() { added++ }
	p := New(env)
	win.SetChild(p)
	win.SetDefaultSize(900, 680)
	win.Present()
	p.Update(st)
	gtktest.Pump()

	if len(p.rows) != 3 || p.ComputersGroup.Title() != "Computers" {
		t.Fatalf("%d rows, group %q", len(p.rows), p.ComputersGroup.Title())
	}
	for i, want := range []struct{ title, subtitle string }{
		{"This Computer", "Up to date · last backup 10 minutes ago"},
		{"laptop", "Up to date · last backup "},
		{"nas", "Host key changed — check it\n"},
	} {
		r := p.rows[i]
		if r.row.Title() != want.title || !strings.HasPrefix(r.row.Subtitle(), want.subtitle) {
			t.Errorf("row %d: %q / %q", i, r.row.Title(), r.row.Subtitle())
		}
	}
	if !p.rows[0].mark.Visible() || p.rows[1].mark.Visible() {
		t.Error("the computer shown is not marked")
	}
	if p.rows[1].review.Visible() || !p.rows[2].review.Visible() || !p.rows[2].status.Visible() || !p.rows[2].status.HasCSSClass("error") {
		t.Error("the changed key is not flagged with a check")
	}
	if !p.ComputerLabel.Visible() || p.ComputerLabel.Label() != "This Computer" {
		t.Errorf("computer label %q", p.ComputerLabel.Label())
	}

	p.rows[2].review.Emit("clicked")
	if len(reviewed) != 1 || reviewed[0] != "nas" {
		t.Errorf("reviewed %q", reviewed)
	}
	p.rows[1].row.Activate()
	if len(selected) != 1 || selected[0] != "laptop" {
		t.Fatalf("selected %q", selected)
	}
	first := p.rows[0].row
	p.Update(st)
	if p.rows[0].row != first {
		t.Error("the rows were rebuilt for the same computers")
	}
	if p.ComputerLabel.Label() != "laptop" || !p.rows[1].mark.Visible() || p.FoldersRow.Subtitle() != "/home on ann@laptop" {
		t.Errorf("after choosing laptop: label %q, folders %q", p.ComputerLabel.Label(), p.FoldersRow.Subtitle())
	}
	p.AddComputerRow.Activate()
	if added != 1 {
		t.Error("the add row does not add a computer")
	}

	// This computer alone: no rows of its own, only the offer to add one.
	st.Profiles = st.Profiles[:1]
	shown = "ann"
	p.Update(st)
	if len(p.rows) != 0 || p.ComputersGroup.Title() != "Other Computers" || p.ComputerLabel.Visible() {
		t.Errorf("alone: %d rows, group %q", len(p.rows), p.ComputersGroup.Title())
	}
}
