// Package passphrase is the "Change Passphrase" dialog of an encrypted
// backup drive: the current passphrase or the recovery key as proof, the
// new passphrase twice. The preferences open it.
package passphrase

import (
	"context"
	_ "embed"
	"fmt"
	"strings"

	"github.com/diamondburned/gotk4-adwaita/pkg/adw"
	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/keepsake/keepsake/app/humanize"
	"github.com/keepsake/keepsake/app/pages/setup"
	"github.com/keepsake/keepsake/app/ui"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/i18n"
)

//go:embed passphrase.ui
var passphraseUI string

// Dialog is the window.
type Dialog struct {
	*adw.Window `ui:"root"`

	Title        *adw.WindowTitle   `ui:"title"`
	Intro        *gtk.Label         `ui:"intro"`
	Proofs       *gtk.Stack         `ui:"proofs"`
	Current      *gtk.PasswordEntry `ui:"current"`
	RecoveryKey  *gtk.Entry         `ui:"recovery_key"`
	UseRecovery  *gtk.Switch        `ui:"use_recovery"`
	New          *gtk.PasswordEntry `ui:"new_passphrase"`
	Confirm      *gtk.PasswordEntry `ui:"confirm"`
	Hint         *gtk.Label         `ui:"hint"`
	ProblemLabel *gtk.Label         `ui:"problem"`
	Spinner      *gtk.Spinner       `ui:"spinner"`
	ChangeButton *gtk.Button        `ui:"change_button"`
	CancelButton *gtk.Button        `ui:"cancel_button"`

	// Do changes the passphrase; by default the service's
	// Drive.ChangePassphrase (tests answer it themselves). It runs off
	// the main loop.
	Do func(ctx context.Context, opts api.ChangePassphraseOptions) error
	// Changed is told once the passphrase is changed.
	Changed func()

	busy bool
}

// Form is what the dialog holds.
type Form struct {
	// Proof is the current passphrase, or the recovery key when
	// Recovery.
	Proof    string
	Recovery bool
	New      string
	Confirm  string
}

// Problem says why the form cannot be sent yet ("" = it can).
func (f Form) Problem() string {
	if f.Proof == "" || (f.Recovery && strings.TrimSpace(f.Proof) == "") {
		if f.Recovery {
			return i18n.T("Type the drive’s recovery key.")
		}
		return i18n.T("Type the drive’s current passphrase.")
	}
	return setup.PassphraseProblem(f.New, f.Confirm)
}

// Options are Drive.ChangePassphrase's options for the form.
func (f Form) Options() api.ChangePassphraseOptions {
	o := api.ChangePassphraseOptions{NewPassphrase: f.New}
	if f.Recovery {
		o.RecoveryKey = strings.TrimSpace(f.Proof)
	} else {
		o.Passphrase = f.Proof
	}
	return o
}

// New builds the dialog for the drive uuid (called title) over parent,
// without showing it.
func New(env *ui.Env, parent *gtk.Window, uuid, title string) *Dialog {
	w := &Dialog{}
	ui.Fill(w, passphraseUI)
	if parent != nil {
		w.SetTransientFor(parent)
	}
	w.Do = func(ctx context.Context, opts api.ChangePassphraseOptions) error {
		c := env.Client()
		if c == nil {
			return humanize.ErrNoService
		}
		if err := c.ChangePassphrase(ctx, uuid, opts); err != nil {
			return fmt.Errorf("change passphrase of drive %s: %w", uuid, err)
		}
		return nil
	}
	w.Title.SetSubtitle(humanize.Escape(title))
	// TRANSLATORS: %s is the drive's name.
	w.Intro.SetLabel(fmt.Sprintf(i18n.T("The backups on “%s” stay as they are, and so does its recovery key. Prove that you may change the passphrase with the current one, or with the recovery key."), title))
	w.SetDefaultWidget(w.ChangeButton)
	w.UseRecovery.NotifyProperty("active", func() {
		if w.UseRecovery.Active() {
			w.Proofs.SetVisibleChildName("recovery")
		} else {
			w.Proofs.SetVisibleChildName("passphrase")
		}
		w.sync()
	})
	w.Current.ConnectChanged(w.sync)
	w.RecoveryKey.ConnectChanged(w.sync)
	w.New.ConnectChanged(w.sync)
	w.Confirm.ConnectChanged(w.sync)
	w.ChangeButton.ConnectClicked(w.change)
	w.CancelButton.ConnectClicked(func() { w.Close() })
	w.sync()
	return w
}

// Form is what the dialog holds now.
func (w *Dialog) Form() Form {
	f := Form{Recovery: w.UseRecovery.Active(), New: w.New.Text(), Confirm: w.Confirm.Text()}
	if f.Recovery {
		f.Proof = w.RecoveryKey.Text()
	} else {
		f.Proof = w.Current.Text()
	}
	return f
}

func (w *Dialog) sync() {
	problem := w.Form().Problem()
	w.Hint.SetLabel(problem)
	w.ChangeButton.SetSensitive(!w.busy && problem == "")
}

func (w *Dialog) change() {
	f := w.Form()
	if w.busy || f.Problem() != "" {
		return
	}
	w.busy = true
	w.Spinner.SetVisible(true)
	w.Spinner.Start()
	w.ProblemLabel.SetVisible(false)
	w.sync()
	do := w.Do
	ui.Async(func() (struct{}, error) {
		return struct{}{}, do(context.Background(), f.Options())
	}, func(_ struct{}, err error) {
		w.busy = false
		w.Spinner.Stop()
		w.Spinner.SetVisible(false)
		w.sync()
		if err != nil {
			// Shown here, where it can be put right: a wrong current
			// passphrase is typed again.
			w.ProblemLabel.SetLabel(humanize.Error(err))
			w.ProblemLabel.SetVisible(true)
			return
		}
		if w.Changed != nil {
			w.Changed()
		}
		w.Close()
	})
}
