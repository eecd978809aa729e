package encryptdrive

import (
	"context"
	"sync"
	"testing"

	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/keepsake/keepsake/app/internal/gtktest"
	"github.com/keepsake/keepsake/app/pages/setup"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/kerr"
)

// fresh is an ext4 drive new to Keepsake, plugged in.
var fresh = setup.DriveChoice{UUID: "d2", Title: "Spare", Subtitle: "2.0 TB · ext4", Present: true}

func with(f func(d *setup.DriveChoice)) setup.DriveChoice { d := fresh; f(&d); return d }

func TestOffer(t *testing.T) {
	cases := []struct {
		name  string
		drive setup.DriveChoice
		offer bool
	}{
		{"new ext4 drive", fresh, true},
		{"new ext4 drive without the encrypt feature", with(func(d *setup.DriveChoice) { d.Encryptable = api.EncryptableFeatureOff }), true},
		{"new btrfs drive: cannot be encrypted", with(func(d *setup.DriveChoice) { d.Encryptable = api.EncryptableFilesystem }), false},
		{"holds backups already", with(func(d *setup.DriveChoice) { d.Enrolled = true }), false},
		{"cannot hold backups", with(func(d *setup.DriveChoice) { d.Reason = "FAT cannot keep hard links" }), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Offer(c.drive); got != c.offer {
				t.Errorf("Offer = %v, want %v", got, c.offer)
			}
		})
	}
}

func TestForm(t *testing.T) {
	on := func(pass, confirm string, remember bool) setup.Encryption {
		return setup.Encryption{On: true, Passphrase: pass, Confirm: confirm, Remember: remember}
	}
	cases := []struct {
		name    string
		f       Form
		problem string
		opts    api.EnrollEncryptedOptions
	}{
		{"nothing typed", Form{fresh, on("", "", true)}, "Choose a passphrase of at least 8 characters.", api.EnrollEncryptedOptions{}},
		{"too short", Form{fresh, on("short", "short", true)}, "The passphrase needs at least 8 characters.", api.EnrollEncryptedOptions{}},
		{"8 characters, not bytes", Form{fresh, on("ążźćęłńó", "", true)}, "Type the passphrase again to confirm it.", api.EnrollEncryptedOptions{}},
		{"not confirmed", Form{fresh, on("correct horse", "correct hose", true)}, "The passphrases do not match.", api.EnrollEncryptedOptions{}},
		{"encryption off: nothing to type", Form{fresh, setup.Encryption{Passphrase: "x"}}, "", api.EnrollEncryptedOptions{}},
		{"remembered", Form{fresh, on("correct horse", "correct horse", true)}, "",
			api.EnrollEncryptedOptions{Passphrase: "correct horse", Profile: client.ProfilePath("alice"), Remember: true}},
		{"feature off, not remembered", Form{with(func(d *setup.DriveChoice) { d.Encryptable = api.EncryptableFeatureOff }), on("correct horse", "correct horse", false)}, "",
			api.EnrollEncryptedOptions{Passphrase: "correct horse", Profile: client.ProfilePath("alice"), EnableFeature: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.f.Problem(); got != c.problem {
				t.Errorf("Problem() = %q, want %q", got, c.problem)
			}
			if c.problem == "" && c.f.Encryption.On {
				if got := c.f.Options("alice"); got != c.opts {
					t.Errorf("Options = %+v, want %+v", got, c.opts)
				}
			}
		})
	}
}

// fakeService stands in for the service: it records the calls, answers
// EnrollEncrypted with a recovery key, and fails with err when set.
type fakeService struct {
	mu    sync.Mutex
	calls []call
	err   error
}

type call struct {
	method, uuid string
	opts         any
}

func (f *fakeService) Enroll(_ context.Context, uuid string, opts client.EnrollOptions) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call{"Enroll", uuid, opts})
	return f.err
}

func (f *fakeService) EnrollEncrypted(_ context.Context, uuid string, opts api.EnrollEncryptedOptions) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call{"EnrollEncrypted", uuid, opts})
	if f.err != nil {
		return "", f.err
	}
	return "ABCD2345-EFGH6789-JKMN2345-PQRS6789-TVWX2345-YZAB6789-CDEF2345", nil
}

func (f *fakeService) Calls() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call{}, f.calls...)
}

// TestDialogWithDisplay runs the dialog against a stand-in service: the
// passphrase's hints hold Use Drive back; Use Drive sends
// EnrollEncrypted with what the form says, then the recovery key is
// shown until it is written down; with encryption off it sends Enroll; a
// refusal is said in the dialog, which stays. It needs a display: run it
// under xvfb-run.
func TestDialogWithDisplay(t *testing.T) {
	gtktest.Init(t)
	featureOff := with(func(d *setup.DriveChoice) { d.Encryptable = api.EncryptableFeatureOff })
	cases := []struct {
		name     string
		drive    setup.DriveChoice
		encrypt  bool // the switch left on
		remember bool // Remember left ticked
		err      error
		// note is the encryption note shown ("" = none).
		note string
		// send is the call the stand-in gets, with opts its options.
		send string
		opts any
		// problem is the sentence the dialog shows after the call.
		problem string
	}{
		{name: "ext4, encrypted, key remembered", drive: fresh, encrypt: true, remember: true, send: "EnrollEncrypted",
			opts: api.EnrollEncryptedOptions{Passphrase: "correct horse", Profile: client.ProfilePath("alice"), Remember: true}},
		{name: "ext4 without the feature, encrypted, key not remembered", drive: featureOff, encrypt: true, send: "EnrollEncrypted",
			note: "Encryption is not turned on for this drive yet. Keepsake turns it on when it sets the drive up; the files on it stay.",
			opts: api.EnrollEncryptedOptions{Passphrase: "correct horse", Profile: client.ProfilePath("alice"), EnableFeature: true}},
		{name: "encryption turned off: enrolled as it is", drive: fresh, send: "Enroll", opts: client.EnrollOptions{Profile: "alice"}},
		{name: "the service refuses: said in the dialog, which stays", drive: fresh, encrypt: true, remember: true,
			err: kerr.New(kerr.NotAuthorized, ""), send: "EnrollEncrypted",
			opts:    api.EnrollEncryptedOptions{Passphrase: "correct horse", Profile: client.ProfilePath("alice"), Remember: true},
			problem: "You are not allowed to do this. An administrator can."},
	}
	for _, c := range cases {
		gtktest.Run(t, c.name, func(t *testing.T) {
			win := gtk.NewWindow()
			f := &fakeService{err: c.err}
			d := New(f, win, c.drive, "alice")
			used := 0
			d.Used = func() { used++ }
			d.Present()
			gtktest.Pump()

			// Encryption is offered, on, with Remember ticked.
			if !d.EncryptSwitch.Active() || !d.EncryptBox.Visible() || !d.Remember.Active() {
				t.Fatalf("encryption on %v, passphrase shown %v, remember %v", d.EncryptSwitch.Active(), d.EncryptBox.Visible(), d.Remember.Active())
			}
			if got := d.Title.Subtitle(); got != "Spare" {
				t.Errorf("subtitle = %q", got)
			}
			if d.Note.Visible() != (c.note != "") || c.note != "" && d.Note.Label() != c.note {
				t.Errorf("note %q (shown %v), want %q", d.Note.Label(), d.Note.Visible(), c.note)
			}
			for _, typed := range []struct{ pass, confirm, hint string }{
				{"", "", "Choose a passphrase of at least 8 characters."},
				{"short", "short", "The passphrase needs at least 8 characters."},
				{"correct horse", "correct hose", "The passphrases do not match."},
			} {
				d.Passphrase.SetText(typed.pass)
				d.Confirm.SetText(typed.confirm)
				if d.UseButton.Sensitive() || d.Hint.Label() != typed.hint {
					t.Errorf("%q/%q: Use Drive possible %v, hint %q, want %q", typed.pass, typed.confirm, d.UseButton.Sensitive(), d.Hint.Label(), typed.hint)
				}
			}
			d.Passphrase.SetText("correct horse")
			d.Confirm.SetText("correct horse")
			if got := d.Hint.Label(); got != "Good. Once the drive is set up, Keepsake shows its recovery key: the other way in if the passphrase is forgotten." {
				t.Errorf("hint = %q", got)
			}
			d.Remember.SetActive(c.remember)
			if !c.encrypt {
				d.EncryptSwitch.SetActive(false)
				if d.EncryptBox.Visible() {
					t.Error("the passphrase is asked with encryption off")
				}
			}
			if !d.UseButton.Sensitive() {
				t.Fatalf("Use Drive not possible (hint %q)", d.Hint.Label())
			}

			d.UseButton.Emit("clicked")
			if !d.busy || d.UseButton.Sensitive() || d.Passphrase.Sensitive() {
				t.Error("the dialog does not wait while the service works")
			}
			gtktest.WaitFor(t, func() bool { return !d.busy })
			calls := f.Calls()
			if len(calls) != 1 || calls[0].method != c.send || calls[0].uuid != "d2" || calls[0].opts != c.opts {
				t.Fatalf("calls %+v, want %s(d2, %+v)", calls, c.send, c.opts)
			}

			switch {
			case c.problem != "":
				if !d.ProblemLabel.Visible() || d.ProblemLabel.Label() != c.problem || used != 0 || !d.Visible() ||
					d.Pages.VisibleChildName() != "form" || !d.UseButton.Sensitive() {
					t.Errorf("after a refusal: problem %q (shown %v), used %d, open %v, page %q, Use Drive %v",
						d.ProblemLabel.Label(), d.ProblemLabel.Visible(), used, d.Visible(), d.Pages.VisibleChildName(), d.UseButton.Sensitive())
				}
			case !c.encrypt:
				gtktest.Pump()
				if used != 1 || d.Visible() {
					t.Errorf("enrolled unencrypted: used %d, still open %v", used, d.Visible())
				}
			default:
				if used != 1 || d.Pages.VisibleChildName() != "recovery" || d.RecoveryKey.Label() != "ABCD2345-EFGH6789-JKMN2345-PQRS6789-TVWX2345-YZAB6789-CDEF2345" {
					t.Fatalf("after EnrollEncrypted: used %d, page %q, key %q", used, d.Pages.VisibleChildName(), d.RecoveryKey.Label())
				}
				if d.ContinueButton.Sensitive() || d.WrittenDown.Active() || d.CancelButton.Visible() {
					t.Error("the recovery key can be left before it is written down")
				}
				// Closing the window would lose the key: it stays.
				d.Close()
				gtktest.Pump()
				if !d.Visible() {
					t.Fatal("the dialog closed with the recovery key not written down")
				}
				d.WrittenDown.SetActive(true)
				if !d.ContinueButton.Sensitive() {
					t.Fatal("Continue not possible once written down")
				}
				d.ContinueButton.Emit("clicked")
				gtktest.Pump()
				if d.Visible() {
					t.Error("Continue did not close the dialog")
				}
			}
			win.Destroy()
			gtktest.Pump()
		})
	}
}
