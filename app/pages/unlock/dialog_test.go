package unlock

import (
	"context"
	"strings"
	"testing"

	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/keepsake/keepsake/app/internal/gtktest"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/kerr"
)

// TestDialogWithDisplay types a wrong passphrase (the sentence shows, the
// dialog stays), swaps to the recovery key and back, then the right
// passphrase with Remember (the dialog closes, the drive's profile is
// backed up). The service is a function here. It needs a display: run it
// under xvfb-run.
func TestDialogWithDisplay(t *testing.T) {
	gtktest.Init(t)
	win := gtk.NewWindow()
	env, toasts := gtktest.Env("alice", win)
	drive := client.Drive{Path: "/drives/a", UUID: "a", Label: "Backup Drive", Enrolled: true, Present: true, Encrypted: true, Locked: true}
	d := Open(env, drive, "alice")
	var sent []api.UnlockOptions
	d.Do = func(_ context.Context, o api.UnlockOptions) error {
		sent = append(sent, o)
		if o.Passphrase != "correct horse" {
			return kerr.New(kerr.WrongPassphrase, "1 try failed")
		}
		return nil
	}
	unlocked := false
	d.Unlocked = func() { unlocked = true }
	gtktest.Pump()

	if d.Title() != Title || d.Heading.Label() != "Unlock “Backup Drive”" {
		t.Errorf("title %q, heading %q", d.Title(), d.Heading.Label())
	}
	if d.UnlockButton.Sensitive() {
		t.Error("Unlock is possible with nothing typed")
	}
	if d.Passphrase.ShowPeekIcon() {
		t.Error("the passphrase can be shown on screen")
	}
	if Open(env, drive, "alice") != d {
		t.Error("a second UnlockNeeded opened a second dialog")
	}

	d.Passphrase.SetText("wrong horse")
	if !d.UnlockButton.Sensitive() {
		t.Fatal("Unlock is not possible with a passphrase typed")
	}
	d.UnlockButton.Emit("clicked")
	if !d.busy || d.UnlockButton.Sensitive() || d.Passphrase.Sensitive() {
		t.Error("the dialog does not wait while the service checks")
	}
	gtktest.WaitFor(t, func() bool { return !d.busy })
	want := "That passphrase does not unlock this backup drive. (1 try failed)"
	if !d.ProblemLabel.Visible() || d.ProblemLabel.Label() != want {
		t.Errorf("problem = %q (visible %v), want %q", d.ProblemLabel.Label(), d.ProblemLabel.Visible(), want)
	}
	if !d.Visible() || unlocked || open["/drives/a"] != d {
		t.Fatal("the dialog closed after a wrong passphrase")
	}

	d.UseRecovery.SetActive(true)
	if d.Entries.VisibleChildName() != "recovery" || d.ProblemLabel.Visible() || d.UnlockButton.Sensitive() {
		t.Errorf("recovery key: entry %q, problem shown %v, Unlock possible %v",
			d.Entries.VisibleChildName(), d.ProblemLabel.Visible(), d.UnlockButton.Sensitive())
	}
	if !strings.Contains(d.Body.Label(), "recovery key") {
		t.Errorf("body = %q", d.Body.Label())
	}
	d.UseRecovery.SetActive(false)

	d.Passphrase.SetText("correct horse")
	d.Remember.SetActive(true)
	d.UnlockButton.Emit("clicked")
	gtktest.WaitFor(t, func() bool { return unlocked })
	gtktest.Pump()
	if len(sent) != 2 || sent[1] != (api.UnlockOptions{Secret: api.Secret{Passphrase: "correct horse"}, Remember: true}) {
		t.Errorf("sent %+v", sent)
	}
	if open["/drives/a"] != nil {
		t.Error("the dialog is still registered as open")
	}
	if len(*toasts) == 0 || (*toasts)[0] != "“Backup Drive” is unlocked. Backing up…" {
		t.Errorf("toasts = %q", *toasts)
	}
	// The backup that waited is started; without a service that is the
	// "not running" toast, which shows it was tried.
	gtktest.WaitFor(t, func() bool { return len(*toasts) == 2 })
	if !strings.HasPrefix((*toasts)[1], "The backup service is not running") {
		t.Errorf("after the unlock: %q", (*toasts)[1])
	}
	win.Destroy()
	gtktest.Pump()
}
