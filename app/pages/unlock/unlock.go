package unlock

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/diamondburned/gotk4-adwaita/pkg/adw"
	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/app/humanize"
	"github.com/keepsake/keepsake/app/ui"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/i18n"
	"github.com/keepsake/keepsake/shared/kerr"
)

//go:embed unlock.ui
var unlockUI string

// Dialog is the "Unlock Backup Drive" window of one drive.
type Dialog struct {
	*adw.Window `ui:"root"`

	Heading      *gtk.Label         `ui:"heading"`
	Body         *gtk.Label         `ui:"body"`
	Entries      *gtk.Stack         `ui:"entries"`
	Passphrase   *gtk.PasswordEntry `ui:"passphrase"`
	RecoveryKey  *gtk.Entry         `ui:"recovery_key"`
	ProblemLabel *gtk.Label         `ui:"problem"`
	Remember     *gtk.CheckButton   `ui:"remember"`
	UseRecovery  *gtk.Switch        `ui:"use_recovery"`
	UnlockButton *gtk.Button        `ui:"unlock_button"`
	CancelButton *gtk.Button        `ui:"cancel_button"`
	BusyBox      *gtk.Box           `ui:"busy_box"`
	BusySpinner  *gtk.Spinner       `ui:"busy_spinner"`
	BusyLabel    *gtk.Label         `ui:"busy_label"`

	// Do unlocks the drive; by default it calls the service's
	// Drive.Unlock (tests answer it themselves). It runs off the main
	// loop: the service may wait for polkit, or slow down repeated
	// failures by up to a minute.
	Do func(ctx context.Context, opts api.UnlockOptions) error
	// Unlocked is told once the drive is unlocked, before the dialog
	// closes.
	Unlocked func()

	env     *ui.Env
	drive   client.Drive
	profile string
	busy    bool
}

// open are the dialogs shown, by drive: a second UnlockNeeded, or the
// overview's button while the notification's dialog is open, brings the
// one already there forward instead of stacking another.
var open = map[dbus.ObjectPath]*Dialog{}

// New builds the dialog for a drive without showing it. profile, when
// not empty, is backed up once the drive is unlocked: the backup that
// asked for it failed with Locked and is not retried by the service.
func New(env *ui.Env, d client.Drive, profile string) *Dialog {
	w := &Dialog{env: env, drive: d, profile: profile}
	ui.Fill(w, unlockUI)
	if parent := env.Window(); parent != nil {
		w.SetTransientFor(parent)
	}
	w.Do = func(ctx context.Context, opts api.UnlockOptions) error {
		c := env.Client()
		if c == nil {
			return humanize.ErrNoService
		}
		if err := c.Unlock(ctx, d.UUID, opts); err != nil {
			return fmt.Errorf("unlock drive %s: %w", d.UUID, err)
		}
		return nil
	}
	name := DriveName(d)
	// TRANSLATORS: the dialog's heading; %s is the drive's name.
	w.Heading.SetLabel(fmt.Sprintf(i18n.T("Unlock “%s”"), name))
	w.Body.SetLabel(Body(name, false))
	w.SetDefaultWidget(w.UnlockButton)
	w.UseRecovery.NotifyProperty("active", w.swap)
	w.Passphrase.ConnectChanged(w.sync)
	w.RecoveryKey.ConnectChanged(w.sync)
	w.UnlockButton.ConnectClicked(w.unlock)
	w.CancelButton.ConnectClicked(func() { w.Close() })
	w.ConnectCloseRequest(func() bool {
		if open[d.Path] == w {
			delete(open, d.Path)
		}
		return false
	})
	w.sync()
	return w
}

// Open shows the dialog of a drive (the one already open, if any).
func Open(env *ui.Env, d client.Drive, profile string) *Dialog {
	if w := open[d.Path]; w != nil {
		w.Present()
		return w
	}
	w := New(env, d, profile)
	open[d.Path] = w
	w.Present()
	w.Passphrase.GrabFocus()
	return w
}

// Secret is what the dialog holds now.
func (w *Dialog) Secret() Secret {
	s := Secret{Recovery: w.UseRecovery.Active(), Remember: w.Remember.Active()}
	if s.Recovery {
		s.Text = w.RecoveryKey.Text()
	} else {
		s.Text = w.Passphrase.Text()
	}
	return s
}

// swap shows the entry the switch asks for.
func (w *Dialog) swap() {
	rec := w.UseRecovery.Active()
	if rec {
		w.Entries.SetVisibleChildName("recovery")
		w.RecoveryKey.GrabFocus()
	} else {
		w.Entries.SetVisibleChildName("passphrase")
		w.Passphrase.GrabFocus()
	}
	w.Body.SetLabel(Body(DriveName(w.drive), rec))
	w.show("")
	w.sync()
}

func (w *Dialog) sync() {
	w.UnlockButton.SetSensitive(!w.busy && w.Secret().Ready())
	for _, x := range []gtk.Widgetter{w.Passphrase, w.RecoveryKey, w.UseRecovery, w.Remember} {
		gtk.BaseWidget(x).SetSensitive(!w.busy)
	}
}

// show puts a problem under the entry ("" hides it).
func (w *Dialog) show(problem string) {
	w.ProblemLabel.SetLabel(problem)
	w.ProblemLabel.SetVisible(problem != "")
}

func (w *Dialog) setBusy(busy bool) {
	w.busy = busy
	w.BusyBox.SetVisible(busy)
	if busy {
		w.BusyLabel.SetLabel(i18n.T("Unlocking…"))
		w.BusySpinner.Start()
	} else {
		w.BusySpinner.Stop()
	}
	w.sync()
}

func (w *Dialog) unlock() {
	s := w.Secret()
	if w.busy || !s.Ready() {
		return
	}
	w.setBusy(true)
	w.show("")
	do := w.Do
	ui.Async(func() (struct{}, error) {
		return struct{}{}, do(context.Background(), s.Options())
	}, func(_ struct{}, err error) {
		w.setBusy(false)
		if err != nil {
			sentence, retype := Problem(err)
			w.show(sentence)
			if retype {
				entry := gtk.Widgetter(w.Passphrase)
				if s.Recovery {
					entry = w.RecoveryKey
				}
				gtk.BaseWidget(entry).GrabFocus()
			}
			return
		}
		w.done()
	})
}

// done closes the dialog and starts the backup that was waiting.
func (w *Dialog) done() {
	name := DriveName(w.drive)
	if w.Unlocked != nil {
		w.Unlocked()
	}
	w.env.Toast(humanize.Escape(Done(name, w.profile != "")))
	w.Close()
	w.env.Refresh()
	if w.profile == "" {
		return
	}
	profile := w.profile
	ui.Call(w.env, func(ctx context.Context, c *client.Client) (dbus.ObjectPath, error) {
		return c.BackupNow(ctx, profile, api.BackupOptions{})
	}, func(_ dbus.ObjectPath, err error) {
		// The scheduler may have started it already.
		if err != nil && !kerr.Is(err, kerr.Busy) {
			w.env.Toast(humanize.Escape(humanize.Error(err)))
		}
		w.env.Refresh()
	})
}

// DriveName is how a drive is called: its label, else its size.
func DriveName(d client.Drive) string {
	if d.Label != "" {
		return d.Label
	}
	if d.Size > 0 {
		// TRANSLATORS: a drive without a label, called by its size ("2.0 TB Drive").
		return fmt.Sprintf(i18n.T("%s Drive"), humanize.Size(int64(d.Size)))
	}
	// TRANSLATORS: a drive without a label or a known size; %s is its UUID.
	return fmt.Sprintf(i18n.T("Drive %s"), d.UUID)
}
