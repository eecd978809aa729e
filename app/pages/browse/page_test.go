package browse

import (
	"testing"

	"github.com/keepsake/keepsake/app/internal/gtktest"
	"github.com/keepsake/keepsake/app/live"
	"github.com/keepsake/keepsake/shared/client"
)

// TestSendBackButton builds the page from its .ui file (every ui tag must
// name an object of the right type) and follows another computer's
// restore-to as it is set and cleared: Send Back is shown only while
// there is a folder to send to, says which, and is sensitive like the
// other restore buttons. It needs a display (xvfb-run).
func TestSendBackButton(t *testing.T) {
	gtktest.Init(t)
	env, _ := gtktest.Env("laptop", nil)
	p := New(env)
	laptop := client.Profile{Name: "laptop", Remote: true, Host: "laptop",
		Sources: []string{"ssh://ann@laptop/home/ann"}, LastSnapshot: "2026-11-22T100000Z"}
	st := func() live.State { return live.State{Profiles: []client.Profile{laptop}} }
	p.Update(st())
	if p.SendBackButton.Visible() {
		t.Error("Send Back shown without a restore-to folder")
	}
	// The service is away: the timeline says so, and nothing is selected.
	gtktest.WaitFor(t, func() bool { return p.TimelineStack.VisibleChildName() == "message" })

	laptop.RestoreTo = "ssh://ann@laptop.lan/home/ann/Restored"
	p.Update(st())
	if !p.SendBackButton.Visible() {
		t.Error("Send Back hidden with a restore-to folder")
	}
	if tip := p.SendBackButton.TooltipText(); tip != "Send to /home/ann/Restored on ann@laptop.lan" {
		t.Errorf("tooltip = %q", tip)
	}
	if p.SendBackButton.Sensitive() {
		t.Error("Send Back sensitive with nothing selected")
	}
	p.showEntries([]Entry{{Name: "a.txt", Path: "/home/ann/a.txt", Type: "file", Title: "a.txt"}}, "a.txt")
	if !p.SendBackButton.Sensitive() || !p.RestoreButton.Sensitive() {
		t.Errorf("with a file selected: Send Back sensitive %v, Restore %v", p.SendBackButton.Sensitive(), p.RestoreButton.Sensitive())
	}

	laptop.RestoreTo = ""
	p.Update(st())
	if p.SendBackButton.Visible() {
		t.Error("Send Back still shown after restore-to was cleared")
	}
}

// TestSendBackNotForThisComputer: this computer's files are restored
// here, whatever a profile's RestoreTo says.
func TestSendBackNotForThisComputer(t *testing.T) {
	gtktest.Init(t)
	env, _ := gtktest.Env("home", nil)
	p := New(env)
	p.Update(live.State{Profiles: []client.Profile{{Name: "home", Sources: []string{"/home/ann"},
		RestoreTo: "ssh://ann@laptop/home/ann/Restored", LastSnapshot: "2026-11-22T100000Z"}}})
	if p.SendBackButton.Visible() {
		t.Error("Send Back shown for this computer")
	}
}
