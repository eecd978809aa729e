package computer

import (
	"reflect"
	"strings"
	"testing"

	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/keepsake/keepsake/app/internal/gtktest"
	"github.com/keepsake/keepsake/app/live"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
)

func driveState() live.State {
	return live.State{
		Drives:   []client.Drive{{Path: "/d/u1", UUID: "u1", Label: "Backup Drive", Present: true, Enrolled: true, Size: 1e12, Free: 5e11}},
		Profiles: []client.Profile{{Name: "ann", Sources: []string{"/home/ann"}, DriveUUID: "u1", Drive: "/d/u1"}},
	}
}

// TestAddComputerSteps walks the page with a stand-in service: the
// address checked as it is typed, the key line shown and copied, the
// computer saved and asked for its keys, the key accepted and the first
// backup started. It needs a display (xvfb-run).
func TestAddComputerSteps(t *testing.T) {
	gtktest.Init(t)
	win := gtk.NewWindow()
	env, toasts := gtktest.Env("ann", win)
	st := driveState()
	env.State = func() live.State { return st }
	finished := "-"
	p := New(env, func(name string) { finished = name })
	f := &fake{state: "new", keys: []api.HostKey{{Type: "ssh-ed25519", Fingerprint: "SHA256:abc"}, {Type: "ssh-rsa", Fingerprint: "SHA256:rsa"}}}
	p.SetService(f)
	win.SetChild(p)
	win.SetDefaultSize(360, 720)
	win.Present()
	p.Reset(st)
	gtktest.Pump()

	if p.DriveGroup.Visible() {
		t.Error("the drive is asked for although the user's profile has one")
	}
	if p.NextButton.Sensitive() || p.AddressNote.Visible() {
		t.Error("Next possible, or a complaint shown, before anything was typed")
	}
	p.AddressEntry.SetText("laptop")
	if !p.AddressNote.Visible() || !strings.Contains(p.AddressNote.Label(), "ann@laptop") || p.NextButton.Sensitive() {
		t.Errorf("an address without a user: note %q (visible %v), Next %v", p.AddressNote.Label(), p.AddressNote.Visible(), p.NextButton.Sensitive())
	}
	p.AddressEntry.SetText("ann@Laptop.local:2222")
	if p.AddressNote.Visible() || !p.NextButton.Sensitive() || p.NameEntry.PlaceholderText() != "laptop.local" {
		t.Errorf("a good address: note %q, Next %v, name placeholder %q", p.AddressNote.Label(), p.NextButton.Sensitive(), p.NameEntry.PlaceholderText())
	}
	p.FoldersEntry.SetText("home")
	if !p.FoldersNote.Visible() || p.NextButton.Sensitive() {
		t.Error("a relative folder is accepted")
	}
	p.FoldersEntry.SetText("/home, /etc")
	p.Weekly.SetActive(true)

	p.NextButton.Emit("clicked")
	if got := p.Steps.VisibleChildName(); got != "key" {
		t.Fatalf("after Next: step %q", got)
	}
	gtktest.WaitFor(t, func() bool { return p.KeyStack.VisibleChildName() == "line" })
	if !strings.Contains(p.KeyLine.Label(), `command="rrsync -ro /"`) || !p.CopyButton.Sensitive() {
		t.Errorf("key line %q, copy %v", p.KeyLine.Label(), p.CopyButton.Sensitive())
	}
	if intro := p.KeyIntro.Label(); !strings.Contains(intro, "~/.ssh/authorized_keys") || !strings.Contains(intro, "of the user ann") || !strings.Contains(intro, "laptop.local") {
		t.Errorf("key intro = %q", intro)
	}
	p.CopyButton.Emit("clicked")
	if len(*toasts) == 0 || (*toasts)[len(*toasts)-1] != "Key copied" {
		t.Errorf("toasts = %q", *toasts)
	}

	p.NextButton.Emit("clicked")
	if got := p.Steps.VisibleChildName(); got != "check" || p.NextButton.Visible() || p.StartButton.Visible() {
		t.Fatalf("step %q, Next visible %v, Start visible %v", got, p.NextButton.Visible(), p.StartButton.Visible())
	}
	p.Check.CheckButton.Emit("clicked")
	if !p.Check.Busy() || p.BackButton.Sensitive() {
		t.Error("the page does not look busy while it checks")
	}
	gtktest.WaitFor(t, func() bool { return !p.Check.Busy() })
	if msg := p.Check.ErrorLabel.Label(); p.Check.ErrorLabel.Visible() {
		t.Fatalf("check failed: %s", msg)
	}
	wantCalls := []string{"RemoteKey", "CreateProfile laptop-local", "ScanHostKeys laptop-local"}
	if !reflect.DeepEqual(f.calls, wantCalls) {
		t.Errorf("calls = %q, want %q", f.calls, wantCalls)
	}
	var srcs []string
	for _, s := range *f.created.Sources {
		srcs = append(srcs, string(s))
	}
	if want := []string{"ssh://ann@laptop.local:2222/home", "ssh://ann@laptop.local:2222/etc"}; !reflect.DeepEqual(srcs, want) ||
		*f.created.Host != "laptop.local" || *f.created.Interval != Weekly.Seconds() || *f.created.Drive != "u1" {
		t.Errorf("created with sources %q host %q interval %d drive %q", srcs, *f.created.Host, *f.created.Interval, *f.created.Drive)
	}
	if len(p.Check.rows) != 2 || !p.Check.AcceptButton.Visible() || p.Check.Command.Label() != "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub" {
		t.Errorf("%d key rows, accept %v, command %q", len(p.Check.rows), p.Check.AcceptButton.Visible(), p.Check.Command.Label())
	}

	p.Check.AcceptButton.Emit("clicked")
	gtktest.WaitFor(t, func() bool { return p.Check.Accepted() })
	if got := f.calls[len(f.calls)-1]; got != "AcceptHostKey laptop-local SHA256:abc" {
		t.Errorf("last call %q", got)
	}
	if !p.StartButton.Visible() || !p.Check.AcceptedBox.Visible() || p.Check.AcceptButton.Visible() {
		t.Error("after accepting: Start not offered, or Accept still there")
	}
	p.StartButton.Emit("clicked")
	gtktest.WaitFor(t, func() bool { return finished != "-" })
	if finished != "laptop-local" || f.calls[len(f.calls)-1] != "BackupNow laptop-local" {
		t.Errorf("finished with %q after %q", finished, f.calls)
	}
	if got := (*toasts)[len(*toasts)-1]; got != "The first backup of laptop.local has started." {
		t.Errorf("toast %q", got)
	}

	// Back to fix the address after the computer was saved: it is
	// changed, not created twice, and its key is checked again.
	p.Steps.SetVisibleChildName("computer")
	p.prog.Started = ""
	p.AddressEntry.SetText("ann@laptop.local")
	p.NextButton.Emit("clicked")
	p.NextButton.Emit("clicked")
	if p.Check.Accepted() || p.StartButton.Visible() {
		t.Error("another address keeps the earlier key check")
	}
	f.calls = nil
	if !p.Check.CheckButton.Visible() {
		t.Fatal("no Check Connection for another computer")
	}
	p.Check.CheckButton.Emit("clicked")
	gtktest.WaitFor(t, func() bool { return !p.Check.Busy() })
	if want := []string{"Configure laptop-local", "ScanHostKeys laptop-local"}; !reflect.DeepEqual(f.calls, want) {
		t.Errorf("calls = %q, want %q", f.calls, want)
	}
}

// TestAddComputerWithoutService: every call fails with "not running",
// said in words where it happened, and nothing freezes.
func TestAddComputerWithoutService(t *testing.T) {
	gtktest.Init(t)
	win := gtk.NewWindow()
	env, _ := gtktest.Env("ann", win)
	finished := "-"
	p := New(env, func(name string) { finished = name })
	win.SetChild(p)
	win.Present()
	p.Reset(driveState())
	p.AddressEntry.SetText("ann@laptop")
	p.NextButton.Emit("clicked")
	gtktest.WaitFor(t, func() bool { return p.KeyStack.VisibleChildName() == "error" })
	if msg := p.KeyError.Label(); !strings.Contains(msg, "not running") || strings.Contains(msg, "io.github") {
		t.Errorf("key error = %q", msg)
	}
	p.NextButton.Emit("clicked")
	p.Check.CheckButton.Emit("clicked")
	gtktest.WaitFor(t, func() bool { return !p.Check.Busy() })
	if msg := p.Check.ErrorLabel.Label(); !p.Check.ErrorLabel.Visible() || !strings.HasPrefix(msg, "Nothing was saved yet. The backup service is not running") {
		t.Errorf("check error = %q", msg)
	}
	p.BackButton.Emit("clicked")
	p.BackButton.Emit("clicked")
	p.CancelButton.Emit("clicked")
	if finished != "" {
		t.Errorf("cancel finished with %q", finished)
	}
}

// TestAddComputerFirstRun: with no profile that has a drive, the page
// asks for one, and a new drive is prepared for the computer.
func TestAddComputerFirstRun(t *testing.T) {
	gtktest.Init(t)
	win := gtk.NewWindow()
	env, _ := gtktest.Env("", win)
	p := New(env, func(string) {})
	f := &fake{state: "new", keys: []api.HostKey{{Type: "ssh-ed25519", Fingerprint: "SHA256:abc"}}}
	p.SetService(f)
	win.SetChild(p)
	win.Present()
	st := live.State{Drives: []client.Drive{{UUID: "fat", Label: "CAMERA", Present: true, Unusable: "FAT cannot keep hard links"}}}
	p.Reset(st)
	p.AddressEntry.SetText("ann@nas")
	if !p.DriveGroup.Visible() || p.NextButton.Sensitive() {
		t.Error("no drive asked for, or Next possible without one")
	}
	st.Drives = append(st.Drives, client.Drive{UUID: "new", Label: "Passport", Present: true, Size: 1e12, Free: 9e11})
	p.Update(st)
	if p.chosen != "new" || !p.NextButton.Sensitive() {
		t.Fatalf("the lone usable drive is not chosen (%q)", p.chosen)
	}
	p.NextButton.Emit("clicked")
	p.NextButton.Emit("clicked")
	p.Check.CheckButton.Emit("clicked")
	gtktest.WaitFor(t, func() bool { return !p.Check.Busy() })
	if want := []string{"RemoteKey", "CreateProfile nas", "Enroll new nas", "ScanHostKeys nas"}; !reflect.DeepEqual(f.calls, want) {
		t.Errorf("calls = %q, want %q", f.calls, want)
	}
}

// TestReview: a computer whose key changed is checked from its own
// window, which warns and accepts the new key.
func TestReview(t *testing.T) {
	gtktest.Init(t)
	win := gtk.NewWindow()
	env, toasts := gtktest.Env("ann", win)
	env.State = func() live.State {
		return live.State{Profiles: []client.Profile{{Name: "laptop", Host: "laptop", Remote: true,
			Sources: []string{"ssh://ann@laptop/home"}, HostKey: "changed"}}}
	}
	w := NewReview(env, "laptop")
	f := &fake{state: "changed", keys: []api.HostKey{{Type: "ssh-ed25519", Fingerprint: "SHA256:new"}}}
	w.SetService(f)
	w.Present()
	w.Check.Check()
	gtktest.WaitFor(t, func() bool { return !w.Check.Busy() })
	if w.Intro.Label() != "Backups of laptop have stopped until its key is checked." || w.Title.Title() != "laptop" || w.Title.Subtitle() != "ann@laptop" {
		t.Errorf("intro %q, title %q %q", w.Intro.Label(), w.Title.Title(), w.Title.Subtitle())
	}
	if !w.Check.WarningLabel.Visible() || !strings.Contains(w.Check.WarningLabel.Label(), "another key than the one accepted before") || w.Check.AcceptButton.Label() != "_Accept New Key" || !w.Check.AcceptButton.HasCSSClass("destructive-action") {
		t.Error("a changed key is not warned about")
	}
	w.Check.AcceptButton.Emit("clicked")
	gtktest.WaitFor(t, func() bool { return w.Check.Accepted() })
	if want := []string{"ScanHostKeys laptop", "AcceptHostKey laptop SHA256:new"}; !reflect.DeepEqual(f.calls, want) {
		t.Errorf("calls = %q", f.calls)
	}
	if len(*toasts) != 1 || !strings.HasPrefix((*toasts)[0], "Keepsake trusts laptop now") {
		t.Errorf("toasts = %q", *toasts)
	}
}
