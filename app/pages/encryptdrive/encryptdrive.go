// Package encryptdrive is the "Use This Drive" dialog of the preferences,
// for a drive new to Keepsake: encryption is offered there as in the
// first-run setup, on by default (Encrypt Backups, the passphrase twice,
// Remember on this computer), and an encrypted drive's recovery key is
// shown once before the dialog closes. With encryption off the drive is
// enrolled as it is.
package encryptdrive

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/diamondburned/gotk4-adwaita/pkg/adw"
	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/keepsake/keepsake/app/humanize"
	"github.com/keepsake/keepsake/app/pages/setup"
	"github.com/keepsake/keepsake/app/ui"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/i18n"
)

//go:embed encryptdrive.ui
var encryptUI string

// Service is the part of the client the dialog calls; the preferences
// pass theirs (tests a stand-in).
type Service interface {
	Enroll(ctx context.Context, uuid string, opts client.EnrollOptions) error
	EnrollEncrypted(ctx context.Context, uuid string, opts api.EnrollEncryptedOptions) (string, error)
}

// Offer says whether Use This Drive asks about encryption for d: a drive
// set up now (not one that holds backups already) on which an encrypted
// repository can be made, turning ext4's encrypt feature on if need be.
// A Btrfs or XFS drive cannot be encrypted: it is enrolled as it is.
func Offer(d setup.DriveChoice) bool {
	return setup.OfferEncryption(d) && setup.ViewEncryption(d).Possible
}

// Form is what the dialog holds.
type Form struct {
	Drive      setup.DriveChoice
	Encryption setup.Encryption
}

// Problem says why Use Drive cannot be pressed yet ("" = it can): the
// setup's passphrase rules.
func (f Form) Problem() string { return setup.EncryptionProblem(f.Drive, f.Encryption) }

// Options are Drive.EnrollEncrypted's options for the form, the drive
// becoming the profile's: the setup's, so both ask the same.
func (f Form) Options(profile string) api.EnrollEncryptedOptions {
	return setup.EncryptOptions(setup.Choices{Drive: f.Drive, Encryption: f.Encryption}, profile)
}

// Dialog is the window.
type Dialog struct {
	*adw.Window `ui:"root"`

	Title          *adw.WindowTitle   `ui:"title"`
	Pages          *gtk.Stack         `ui:"pages"`
	EncryptSwitch  *gtk.Switch        `ui:"encrypt_switch"`
	EncryptBox     *gtk.Box           `ui:"encrypt_box"`
	Note           *gtk.Label         `ui:"note"`
	Passphrase     *gtk.PasswordEntry `ui:"passphrase"`
	Confirm        *gtk.PasswordEntry `ui:"confirm"`
	Hint           *gtk.Label         `ui:"hint"`
	Remember       *gtk.CheckButton   `ui:"remember"`
	ProblemLabel   *gtk.Label         `ui:"problem"`
	Spinner        *gtk.Spinner       `ui:"spinner"`
	UseButton      *gtk.Button        `ui:"use_button"`
	CancelButton   *gtk.Button        `ui:"cancel_button"`
	RecoveryText   *gtk.Label         `ui:"recovery_text"`
	RecoveryKey    *gtk.Label         `ui:"recovery_key"`
	CopyRecovery   *gtk.Button        `ui:"copy_recovery"`
	WrittenDown    *gtk.CheckButton   `ui:"written_down"`
	ContinueButton *gtk.Button        `ui:"continue_button"`

	// Used is told once the service has made the drive the profile's
	// (before the recovery key is shown), so the preferences show it.
	Used func()

	svc     Service
	drive   setup.DriveChoice
	profile string
	busy    bool
	// keyShown: the recovery key is on screen, and the dialog does not
	// close before the person says they have written it down.
	keyShown bool
}

// New builds the dialog that makes the drive d the profile's, over
// parent, without showing it.
func New(svc Service, parent *gtk.Window, d setup.DriveChoice, profile string) *Dialog {
	w := &Dialog{svc: svc, drive: d, profile: profile}
	ui.Fill(w, encryptUI)
	if parent != nil {
		w.SetTransientFor(parent)
	}
	w.Title.SetSubtitle(humanize.Escape(humanize.Display(d.Title)))
	if note := setup.ViewEncryption(d).Note; note != "" {
		w.Note.SetLabel(note)
		w.Note.SetVisible(true)
	}
	w.RecoveryText.SetLabel(i18n.T(setup.RecoveryText))
	w.SetDefaultWidget(w.UseButton)
	w.EncryptSwitch.NotifyProperty("active", w.sync)
	w.Passphrase.ConnectChanged(w.sync)
	w.Confirm.ConnectChanged(w.sync)
	w.UseButton.ConnectClicked(w.use)
	w.CancelButton.ConnectClicked(func() { w.Close() })
	w.CopyRecovery.ConnectClicked(func() {
		w.CopyRecovery.Clipboard().SetText(w.RecoveryKey.Label())
		// TRANSLATORS: the Copy button's label once the recovery key is copied.
		w.CopyRecovery.SetLabel(i18n.T("Copied"))
	})
	w.WrittenDown.ConnectToggled(func() { w.ContinueButton.SetSensitive(w.WrittenDown.Active()) })
	w.ContinueButton.ConnectClicked(w.finish)
	// The key is shown this once: closing the window before it is
	// written down would lose it.
	w.ConnectCloseRequest(func() bool { return w.keyShown || w.busy })
	w.sync()
	return w
}

// Form is what the dialog holds now.
func (w *Dialog) Form() Form {
	return Form{Drive: w.drive, Encryption: setup.Encryption{
		On:         w.EncryptSwitch.Active(),
		Passphrase: w.Passphrase.Text(),
		Confirm:    w.Confirm.Text(),
		Remember:   w.Remember.Active(),
	}}
}

func (w *Dialog) sync() {
	f := w.Form()
	w.EncryptBox.SetVisible(f.Encryption.On)
	hint := setup.PassphraseProblem(f.Encryption.Passphrase, f.Encryption.Confirm)
	if hint == "" {
		hint = i18n.T(setup.PassphraseGood)
	}
	if w.Hint.Label() != hint {
		w.Hint.SetLabel(hint)
	}
	w.UseButton.SetSensitive(!w.busy && f.Problem() == "")
	for _, x := range []gtk.Widgetter{w.EncryptSwitch, w.Passphrase, w.Confirm, w.Remember, w.CancelButton} {
		gtk.BaseWidget(x).SetSensitive(!w.busy)
	}
}

func (w *Dialog) use() {
	f := w.Form()
	if w.busy || f.Problem() != "" {
		return
	}
	w.busy = true
	w.Spinner.SetVisible(true)
	w.Spinner.Start()
	w.ProblemLabel.SetVisible(false)
	w.sync()
	svc, uuid, profile := w.svc, w.drive.UUID, w.profile
	// The service writes the repository (and turns ext4's encrypt
	// feature on, or waits for polkit's password): off the main loop.
	ui.Async(func() (string, error) {
		ctx := context.Background()
		if !f.Encryption.On {
			if err := svc.Enroll(ctx, uuid, client.EnrollOptions{Profile: profile}); err != nil {
				return "", fmt.Errorf("enroll drive %s: %w", uuid, err)
			}
			return "", nil
		}
		key, err := svc.EnrollEncrypted(ctx, uuid, f.Options(profile))
		if err != nil {
			return "", fmt.Errorf("enroll drive %s encrypted: %w", uuid, err)
		}
		return key, nil
	}, func(key string, err error) {
		w.busy = false
		w.Spinner.Stop()
		w.Spinner.SetVisible(false)
		w.sync()
		if err != nil {
			// Shown here, where it can be put right (or encryption
			// turned off), not in a toast behind the dialog.
			w.ProblemLabel.SetLabel(humanize.Error(err))
			w.ProblemLabel.SetVisible(true)
			return
		}
		if w.Used != nil {
			w.Used()
		}
		if !f.Encryption.On {
			w.Close()
			return
		}
		w.showRecovery(key)
	})
}

// showRecovery shows the recovery key the service gave, once, until the
// person says they have written it down.
func (w *Dialog) showRecovery(key string) {
	w.keyShown = true
	w.Passphrase.SetText("")
	w.Confirm.SetText("")
	w.RecoveryKey.SetLabel(key)
	w.WrittenDown.SetActive(false)
	w.ContinueButton.SetSensitive(false)
	w.CancelButton.SetVisible(false)
	w.UseButton.SetVisible(false)
	w.Pages.SetVisibleChildName("recovery")
	w.SetDefaultWidget(w.ContinueButton)
}

func (w *Dialog) finish() {
	if !w.keyShown || !w.WrittenDown.Active() {
		return
	}
	w.keyShown = false
	// Not kept on screen: it was shown this once.
	w.RecoveryKey.SetLabel("")
	w.Close()
}
