package overview

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/diamondburned/gotk4-adwaita/pkg/adw"
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

// TestProblemsAndMountsShown builds the overview from its .ui file for a
// backup that could not take two files and left two other drives out:
// the headline counts the problems, the problem row opens on each path
// (the home folder as ~) and what happened, and each drive left out has
// an Include button, none for one included since. It needs a display.
func TestProblemsAndMountsShown(t *testing.T) {
	t.Setenv("HOME", "/home/ann")
	gtktest.Init(t)
	win := gtk.NewWindow()
	env, toasts := gtktest.Env("ann", win)
	now := time.Now()
	prof := client.Profile{Name: "ann", Owner: uint32(os.Getuid()), Sources: []string{"/home/ann"}, Interval: 3600,
		State: uint32(dbusapi.StateIdle), LastSuccess: now.Add(-10 * time.Minute).UnixMicro(), Job: "/",
		LastProblems: []string{
			"/home/ann/Photos/broken.jpg: cannot read: open /home/ann/Photos/broken.jpg: input/output error",
			"/home/ann/tmp/build: cannot read folder: no such file or directory",
		}, LastProblemCount: 2,
		SkippedMounts: []string{"/home/ann/nas", "/home/ann/Mounts/photos"}, IncludeMounts: []string{"/home/ann/Mounts/photos"}}
	st := live.State{Profiles: []client.Profile{prof}}
	env.State = func() live.State { return st }
	p := New(env)
	win.SetChild(p)
	win.Present()
	p.Update(st)
	gtktest.Pump()

	if got := p.Headline.Label(); got != "Backed up, with 2 problems" {
		t.Errorf("headline %q", got)
	}
	if !p.ProblemsGroup.Visible() || p.ProblemsRow.Title() != "2 files or folders" || len(p.problemRows) != 2 {
		t.Fatalf("problems: shown %v, %q, %d rows", p.ProblemsGroup.Visible(), p.ProblemsRow.Title(), len(p.problemRows))
	}
	for i, want := range []struct{ title, subtitle string }{
		{"~/Photos/broken.jpg", "Cannot read: open /home/ann/Photos/broken.jpg: input/output error"},
		{"~/tmp/build", "Cannot read folder: no such file or directory"},
	} {
		r := p.problemRows[i].(*adw.ActionRow)
		if r.Title() != want.title || r.Subtitle() != want.subtitle {
			t.Errorf("problem %d: %q / %q", i, r.Title(), r.Subtitle())
		}
	}
	if !p.MountsGroup.Visible() || p.MountsGroup.Description() != "1 other drive inside your folders was not backed up: ~/nas." || len(p.mountRows) != 2 {
		t.Fatalf("mounts: shown %v, %q, %d rows", p.MountsGroup.Visible(), p.MountsGroup.Description(), len(p.mountRows))
	}
	if r := p.mountRows[0]; r.row.Title() != "~/nas" || r.include == nil {
		t.Errorf("the drive left out: %q, include button %v", r.row.Title(), r.include != nil)
	}
	if r := p.mountRows[1]; r.row.Title() != "~/Mounts/photos" || r.include != nil || r.row.Subtitle() != "Included from the next backup" {
		t.Errorf("the drive included since: %q / %q, include button %v", r.row.Title(), r.row.Subtitle(), r.include != nil)
	}

	// A refresh with the same reading keeps the rows (and the focus).
	firstProblem, firstMount := p.problemRows[0], p.mountRows[0].row
	p.Update(st)
	if p.problemRows[0] != firstProblem || p.mountRows[0].row != firstMount {
		t.Error("the rows were rebuilt for the same reading")
	}

	// Include, with the service gone: said so, and the button comes back.
	include := p.mountRows[0].include
	include.Emit("clicked")
	if include.Sensitive() {
		t.Error("the button stays active while its change is on the way")
	}
	gtktest.WaitFor(t, func() bool { return include.Sensitive() })
	if len(*toasts) != 1 || !strings.Contains((*toasts)[0], "service is not running") {
		t.Errorf("toasts %q", *toasts)
	}

	// The next backup took everything: nothing more to say.
	st.Profiles[0].LastProblems, st.Profiles[0].LastProblemCount, st.Profiles[0].SkippedMounts = nil, 0, nil
	p.Update(st)
	if p.ProblemsGroup.Visible() || p.MountsGroup.Visible() || p.Headline.Label() != "Backups are up to date" {
		t.Errorf("after a clean backup: problems shown %v, mounts shown %v, headline %q", p.ProblemsGroup.Visible(), p.MountsGroup.Visible(), p.Headline.Label())
	}
}
