package passphrase

import (
	"context"
	"testing"

	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/keepsake/keepsake/app/internal/gtktest"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/kerr"
)

func TestForm(t *testing.T) {
	cases := []struct {
		name    string
		f       Form
		problem string
		opts    api.ChangePassphraseOptions
	}{
		{"nothing typed", Form{}, "Type the drive’s current passphrase.", api.ChangePassphraseOptions{}},
		{"recovery key missing", Form{Recovery: true, Proof: "  "}, "Type the drive’s recovery key.", api.ChangePassphraseOptions{}},
		{"new one too short", Form{Proof: "old pass", New: "short", Confirm: "short"}, "The passphrase needs at least 8 characters.", api.ChangePassphraseOptions{}},
		{"new one not confirmed", Form{Proof: "old pass", New: "new passphrase", Confirm: "new passphrasf"}, "The passphrases do not match.", api.ChangePassphraseOptions{}},
		{"with the current passphrase", Form{Proof: "old pass", New: "new passphrase", Confirm: "new passphrase"}, "",
			api.ChangePassphraseOptions{Secret: api.Secret{Passphrase: "old pass"}, NewPassphrase: "new passphrase"}},
		{"with the recovery key, trimmed", Form{Recovery: true, Proof: " ABCD-2345 ", New: "new passphrase", Confirm: "new passphrase"}, "",
			api.ChangePassphraseOptions{Secret: api.Secret{RecoveryKey: "ABCD-2345"}, NewPassphrase: "new passphrase"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.f.Problem(); got != c.problem {
				t.Errorf("Problem() = %q, want %q", got, c.problem)
			}
			if c.problem == "" && c.f.Options() != c.opts {
				t.Errorf("Options() = %+v, want %+v", c.f.Options(), c.opts)
			}
		})
	}
}

// TestDialogWithDisplay: a wrong current passphrase is said in the
// dialog, which stays; the right one changes it and closes the dialog.
// It needs a display.
func TestDialogWithDisplay(t *testing.T) {
	gtktest.Init(t)
	win := gtk.NewWindow()
	env, _ := gtktest.Env("alice", win)
	d := New(env, win, "a", "Backup Drive")
	var sent []api.ChangePassphraseOptions
	d.Do = func(_ context.Context, o api.ChangePassphraseOptions) error {
		sent = append(sent, o)
		if o.Passphrase != "old passphrase" {
			return kerr.New(kerr.WrongPassphrase, "")
		}
		return nil
	}
	changed := false
	d.Changed = func() { changed = true }
	d.Present()
	gtktest.Pump()
	if d.ChangeButton.Sensitive() {
		t.Error("Change possible with nothing typed")
	}
	d.Current.SetText("old passfrase")
	d.New.SetText("new passphrase")
	d.Confirm.SetText("new passphrase")
	if !d.ChangeButton.Sensitive() {
		t.Fatalf("Change not possible (hint %q)", d.Hint.Label())
	}
	d.ChangeButton.Emit("clicked")
	gtktest.WaitFor(t, func() bool { return !d.busy })
	if got := d.ProblemLabel.Label(); !d.ProblemLabel.Visible() || got != "That passphrase does not unlock this backup drive." || changed || !d.Visible() {
		t.Errorf("after a wrong passphrase: problem %q (visible %v), changed %v, open %v", got, d.ProblemLabel.Visible(), changed, d.Visible())
	}
	d.Current.SetText("old passphrase")
	d.ChangeButton.Emit("clicked")
	gtktest.WaitFor(t, func() bool { return changed })
	want := api.ChangePassphraseOptions{Secret: api.Secret{Passphrase: "old passphrase"}, NewPassphrase: "new passphrase"}
	if len(sent) != 2 || sent[1] != want {
		t.Errorf("sent %+v", sent)
	}
	win.Destroy()
	gtktest.Pump()
}
