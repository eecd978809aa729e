package setup

import (
	"context"
	"strings"
	"testing"

	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/keepsake/keepsake/app/internal/gtktest"
	"github.com/keepsake/keepsake/app/live"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
)

// TestPageWithDisplay builds the page from its .ui file and walks the
// steps without a service (every call fails with "not running"). It needs
// a display: run it under xvfb-run.
func TestPageWithDisplay(t *testing.T) {
	gtktest.Init(t)

	win := gtk.NewWindow()
	done := false
	env, _ := gtktest.Env("", win)
	p := New(env, func() { done = true })
	win.SetChild(p)
	win.SetDefaultSize(360, 600)
	win.Present()
	gtktest.Pump()

	if p.NextButton.Sensitive() {
		t.Error("Next is possible without a drive")
	}
	p.Update(live.State{Drives: []client.Drive{
		{UUID: "fat", Label: "CAMERA", Filesystem: "vfat", Size: 64e9, Free: 1e9, Present: true, Unusable: "FAT cannot keep hard links"},
		{UUID: "ext", Label: "Passport & Co", Filesystem: "ext4", Size: 1e12, Free: 9e11, Present: true},
	}})
	gtktest.Pump()
	if len(p.driveList.rows) != 2 {
		t.Fatalf("%d drive rows, want 2", len(p.driveList.rows))
	}
	if p.driveList.rows[0].ActivatableWidget() != nil {
		t.Error("the FAT drive can be chosen")
	}
	if got := p.driveList.rows[1].Title(); got != "Passport & Co" {
		t.Errorf("title = %q: markup characters must show as written", got)
	}
	if p.drive != "ext" {
		t.Fatalf("lone usable drive not chosen (%q)", p.drive)
	}
	// A new drive is encrypted unless the person says otherwise: Next
	// waits for a passphrase typed twice.
	if !p.EncryptGroup.Visible() || !p.EncryptSwitch.Active() || !p.EncryptBox.Visible() || !p.Remember.Active() {
		t.Errorf("encryption offered %v, on %v, passphrase shown %v, remember %v",
			p.EncryptGroup.Visible(), p.EncryptSwitch.Active(), p.EncryptBox.Visible(), p.Remember.Active())
	}
	if p.NextButton.Sensitive() || p.NextButton.TooltipText() != "Choose a passphrase of at least 8 characters." {
		t.Errorf("Next possible %v without a passphrase (tooltip %q)", p.NextButton.Sensitive(), p.NextButton.TooltipText())
	}
	p.Passphrase.SetText("correct horse")
	p.Confirm.SetText("correct horsf")
	if p.NextButton.Sensitive() || p.PassphraseHint.Label() != "The passphrases do not match." {
		t.Errorf("Next possible %v with different passphrases (hint %q)", p.NextButton.Sensitive(), p.PassphraseHint.Label())
	}
	p.Confirm.SetText("correct horse")
	if !p.NextButton.Sensitive() {
		t.Fatal("Next not possible with a good passphrase")
	}
	if c := p.choices(); c.Encryption != (Encryption{On: true, Passphrase: "correct horse", Confirm: "correct horse", Remember: true}) {
		t.Errorf("choices' encryption = %+v", c.Encryption)
	}
	// One choice among drives: the lone drive's button is drawn as a
	// radio (GTK names its indicator "radio" once it is in a group; its
	// accessible role stays a check box's in GTK 4.8).
	check := p.driveList.checks["ext"]
	if ind := gtk.BaseWidget(check).FirstChild(); ind == nil || gtk.BaseWidget(ind).CSSName() != "radio" {
		t.Error("the lone drive's button is not drawn as a radio")
	}

	p.NextButton.Emit("clicked")
	if got := p.Steps.VisibleChildName(); got != "folders" {
		t.Fatalf("after Next: step %q", got)
	}
	if len(p.folderRows) != 1 || p.folderRows[0].Title() != "Home Folder" {
		t.Errorf("folders = %v", p.folders)
	}
	p.NextButton.Emit("clicked")
	p.Daily.SetActive(true)
	p.NextButton.Emit("clicked")
	if got := p.Steps.VisibleChildName(); got != "finish" || p.NextButton.Visible() {
		t.Fatalf("step %q, Next visible %v", got, p.NextButton.Visible())
	}
	if got := p.SummarySchedule.Subtitle(); !strings.HasPrefix(got, "Every day") {
		t.Errorf("schedule summary = %q", got)
	}
	if got := p.SummaryDrive.Subtitle(); got != "Passport &amp; Co, encrypted" && got != "Passport & Co, encrypted" {
		t.Errorf("drive summary = %q", got)
	}

	p.StartButton.Emit("clicked")
	if !p.running || p.BackButton.Sensitive() {
		t.Error("the page does not look busy while it works")
	}
	gtktest.WaitFor(t, func() bool { return !p.running })
	if done {
		t.Fatal("done called although nothing could be saved")
	}
	msg := p.ErrorLabel.Label()
	if !p.ErrorLabel.Visible() || !strings.HasPrefix(msg, "Nothing was saved yet. The backup service is not running") {
		t.Errorf("error shown = %q (visible %v)", msg, p.ErrorLabel.Visible())
	}
	if strings.Contains(msg, "io.github") {
		t.Errorf("raw error name shown: %q", msg)
	}
	if got := p.StartButton.Label(); got != "_Try Again" {
		t.Errorf("start button = %q", got)
	}

	// The drive unplugged meanwhile: the choice goes, and so does Start.
	p.Update(live.State{Drives: []client.Drive{{UUID: "fat", Label: "CAMERA", Present: true, Unusable: "FAT"}}})
	if p.drive != "" || p.StartButton.Sensitive() {
		t.Errorf("drive %q still chosen after it was unplugged", p.drive)
	}
	win.Destroy()
	gtktest.Pump()
}

// TestEraseOfferWithDisplay checks that only a plugged-in drive unusable
// for its filesystem offers to be erased, and that asking with no service
// shows the refusal instead of a question. It needs a display.
func TestEraseOfferWithDisplay(t *testing.T) {
	gtktest.Init(t)

	win := gtk.NewWindow()
	env, _ := gtktest.Env("", win)
	p := New(env, func() {})
	win.SetChild(p)
	win.Present()
	gtktest.Pump()

	// Unencrypted, so that Next waits for nothing but the drive list.
	p.EncryptSwitch.SetActive(false)
	fat := "FAT drives cannot hold hardlinks"
	p.Update(live.State{Drives: []client.Drive{
		{UUID: "fat", Label: "CAMERA", Filesystem: "vfat", Device: "/dev/sdb1", Size: 64e9, Present: true, Unusable: fat},
		{UUID: "ext", Label: "Passport", Filesystem: "ext4", Device: "/dev/sdc1", Size: 1e12, Free: 9e11, Present: true},
		{UUID: "gone", Label: "Old Stick", Filesystem: "exfat", Size: 32e9, Unusable: fat},
		{UUID: "luks", Label: "Vault", Filesystem: "crypto_LUKS", Device: "/dev/sdd1", Present: true, Unusable: "the drive is encrypted and locked"},
		{UUID: "ntfs", Label: "Windows", Filesystem: "ntfs", Device: "/dev/sde2", Present: true, Unusable: "NTFS drives do not keep Linux owners"},
	}})
	gtktest.Pump()
	want := map[string]bool{"fat": true, "ext": false, "gone": false, "luks": false, "ntfs": true}
	for uuid, offered := range want {
		if got := p.driveList.Offers(uuid); got != offered {
			t.Errorf("drive %s offers to be erased: %v, want %v", uuid, got, offered)
		}
	}

	p.driveList.erase["fat"].Emit("clicked")
	if !p.driveList.Busy() || p.NextButton.Sensitive() {
		t.Error("the page does not wait while the drive is described")
	}
	gtktest.WaitFor(t, func() bool { return p.driveList.dialog != nil })
	d := p.driveList.dialog
	text := d.ObjectProperty("text").(string)
	secondary := d.ObjectProperty("secondary-text").(string)
	if text != "“CAMERA” Cannot Be Erased" || !strings.HasPrefix(secondary, "The backup service is not running") {
		t.Errorf("refusal = %q / %q", text, secondary)
	}
	if p.driveList.Busy() || !p.NextButton.Sensitive() {
		t.Error("the page still waits after the refusal")
	}
	d.Response(int(gtk.ResponseClose))
	gtktest.Pump()
	if p.driveList.dialog != nil {
		t.Error("the refusal stays after Close")
	}
	win.Destroy()
	gtktest.Pump()
}

// TestEncryptionWithDisplay walks the encryption part of the drive step
// through the service's reasons: the feature off (said, still
// possible), a btrfs drive (unencrypted until the person asks; then
// Erase as ext4… offered, Next only without encryption), a drive
// holding backups (no encryption asked), and the recovery key page
// (Continue only once it is written down). It needs a display.
func TestEncryptionWithDisplay(t *testing.T) {
	gtktest.Init(t)
	win := gtk.NewWindow()
	env, _ := gtktest.Env("", win)
	p := New(env, func() {})
	win.SetChild(p)
	win.Present()
	gtktest.Pump()

	show := func(d client.Drive) {
		p.Update(live.State{Drives: []client.Drive{d}})
		gtktest.Pump()
	}
	show(client.Drive{UUID: "off", Label: "Plain", Filesystem: "ext4", Device: "/dev/sdb", Size: 1e12, Free: 9e11, Present: true, Encryptable: "feature-off"})
	if !p.EncryptNote.Visible() || p.EncryptNote.Label() != FeatureOffNote || p.EncryptErase.Visible() || !p.PassphraseBox.Visible() {
		t.Errorf("feature off: note %q (%v), erase %v, passphrase %v", p.EncryptNote.Label(), p.EncryptNote.Visible(), p.EncryptErase.Visible(), p.PassphraseBox.Visible())
	}

	if !p.EncryptSwitch.Active() || p.driveList.PreferExt4() {
		t.Errorf("an ext4 drive: encryption on %v (want on), erasing suggests ext4 %v before the person asked", p.EncryptSwitch.Active(), p.driveList.PreferExt4())
	}

	// A btrfs drive (what Erase… makes unless asked for ext4) cannot be
	// encrypted: encryption is off for it until the person turns it on,
	// so that taking the defaults never asks for a second erase.
	show(client.Drive{UUID: "btr", Label: "Big", Filesystem: "btrfs", Device: "/dev/sdc", Size: 2e12, Free: 2e12, Present: true, Encryptable: "filesystem"})
	if p.drive != "btr" || p.EncryptSwitch.Active() || p.EncryptBox.Visible() || !p.NextButton.Sensitive() {
		t.Errorf("btrfs: drive %q, encryption on %v, its part shown %v, Next %v", p.drive, p.EncryptSwitch.Active(), p.EncryptBox.Visible(), p.NextButton.Sensitive())
	}
	if c := p.choices(); c.Encryption.On || len(Plan(c, Progress{})) == 0 || Plan(c, Progress{})[1] != StepEnroll {
		t.Errorf("unencrypted: %+v, plan %v", c.Encryption, Plan(c, Progress{}))
	}
	p.EncryptSwitch.SetActive(true)
	if !p.EncryptBox.Visible() || p.EncryptNote.Label() != FilesystemNote || !p.EncryptErase.Visible() || p.PassphraseBox.Visible() {
		t.Errorf("btrfs, encryption asked for: shown %v, note %q, erase %v, passphrase %v", p.EncryptBox.Visible(), p.EncryptNote.Label(), p.EncryptErase.Visible(), p.PassphraseBox.Visible())
	}
	if p.NextButton.Sensitive() {
		t.Error("Next possible with encryption on a btrfs drive")
	}
	if !p.driveList.PreferExt4() {
		t.Error("erasing a drive does not suggest ext4 once the person asked for encryption")
	}
	p.EncryptSwitch.SetActive(false)
	if !p.NextButton.Sensitive() || p.EncryptBox.Visible() {
		t.Error("an unencrypted btrfs drive cannot be chosen")
	}
	// The person's choice stays when another drive is chosen.
	show(client.Drive{UUID: "off", Label: "Plain", Filesystem: "ext4", Device: "/dev/sdb", Size: 1e12, Free: 9e11, Present: true, Encryptable: "feature-off"})
	if p.EncryptSwitch.Active() {
		t.Error("encryption turned on again for an ext4 drive after the person turned it off")
	}
	show(client.Drive{UUID: "btr", Label: "Big", Filesystem: "btrfs", Device: "/dev/sdc", Size: 2e12, Free: 2e12, Present: true, Encryptable: "filesystem"})
	p.EncryptSwitch.SetActive(true)
	// Erase as ext4… asks the service first; with none, it says so.
	p.EncryptErase.Emit("clicked")
	gtktest.WaitFor(t, func() bool { return p.driveList.dialog != nil })
	if got := p.driveList.dialog.ObjectProperty("text").(string); got != "“Big” Cannot Be Erased" {
		t.Errorf("erase answer = %q", got)
	}
	p.driveList.dialog.Response(int(gtk.ResponseClose))
	gtktest.Pump()

	show(client.Drive{UUID: "old", Label: "Kept", Filesystem: "ext4", Size: 1e12, Free: 5e11, Present: true, Enrolled: true, Encrypted: true})
	if p.EncryptGroup.Visible() || p.EncryptBox.Visible() || !p.NextButton.Sensitive() {
		t.Errorf("a drive with backups: encryption shown %v, Next %v", p.EncryptGroup.Visible(), p.NextButton.Sensitive())
	}

	// The recovery key, once: Continue waits for "I have written it down".
	went := false
	p.showRecovery("ABCD2345-EFGH6789", func() { went = true })
	gtktest.Pump()
	if p.Steps.VisibleChildName() != "recovery" || p.RecoveryKey.Label() != "ABCD2345-EFGH6789" || p.Nav.Visible() {
		t.Fatalf("recovery page %q, key %q, navigation shown %v", p.Steps.VisibleChildName(), p.RecoveryKey.Label(), p.Nav.Visible())
	}
	if !p.RecoveryKey.HasCSSClass("monospace") {
		t.Error("the recovery key is not monospace")
	}
	p.ContinueButton.Emit("clicked")
	if went || p.ContinueButton.Sensitive() {
		t.Error("Continue before the key was written down")
	}
	p.WrittenDown.SetActive(true)
	p.ContinueButton.Emit("clicked")
	if !went || p.RecoveryKey.Label() != "" || !p.Nav.Visible() || p.Steps.VisibleChildName() != "finish" {
		t.Errorf("after Continue: went %v, key kept %q, navigation %v, step %q", went, p.RecoveryKey.Label(), p.Nav.Visible(), p.Steps.VisibleChildName())
	}
	win.Destroy()
	gtktest.Pump()
}

// TestSetAsideWithDisplay: a drive that holds unencrypted backups says so
// on the drive step, before anything happens, and offers encrypted
// backups beside them (the default, as encryption is on) or backing up
// unencrypted as before; a fresh drive and an encrypted one say nothing
// of it. What the setup then sends the service is checked by running its
// calls against a stand-in. It needs a display.
func TestSetAsideWithDisplay(t *testing.T) {
	gtktest.Init(t)
	plain := client.Drive{UUID: "old", Label: "Kept", Filesystem: "ext4", Size: 1e12, Free: 5e11, Present: true, Enrolled: true}
	with := func(f func(d *client.Drive)) client.Drive { d := plain; f(&d); return d }
	cases := []struct {
		name  string
		drive client.Drive
		// plain: the person picks "Keep Backing Up Without Encryption".
		plain bool
		// shown: the sentence and the two choices are on screen.
		shown bool
		// send is the setup's call for the drive, with setAside for
		// EnrollEncrypted.
		send     string
		setAside bool
	}{
		{"unencrypted backups: encrypted beside them, the old ones set aside", plain, false, true, "EnrollEncrypted", true},
		{"unencrypted backups, ext4 without the feature: beside them, the feature turned on", with(func(d *client.Drive) { d.Encryptable = api.EncryptableFeatureOff }), false, true, "EnrollEncrypted", true},
		{"unencrypted backups kept unencrypted: the drive used as it is", plain, true, true, "Configure", false},
		{"a fresh drive: encrypted, nothing to set aside", with(func(d *client.Drive) { d.Enrolled = false }), false, false, "EnrollEncrypted", false},
		{"encrypted backups: used as they are", with(func(d *client.Drive) { d.Encrypted = true }), false, false, "Configure", false},
		{"unencrypted backups, not connected: nothing can be set aside now", with(func(d *client.Drive) { d.Present = false }), false, false, "Configure", false},
	}
	for _, c := range cases {
		gtktest.Run(t, c.name, func(t *testing.T) {
			win := gtk.NewWindow()
			env, _ := gtktest.Env("", win)
			p := New(env, func() {})
			win.SetChild(p)
			win.Present()
			p.Update(live.State{Drives: []client.Drive{c.drive}})
			gtktest.Pump()
			if p.drive != c.drive.UUID {
				t.Fatalf("drive %q not chosen (%q)", c.drive.UUID, p.drive)
			}

			if p.AsideBox.Visible() != c.shown {
				t.Errorf("the set-aside choice shown %v, want %v", p.AsideBox.Visible(), c.shown)
			}
			if c.shown {
				if got := p.AsideNote.Label(); got != "This drive holds backups that are not encrypted. They cannot be encrypted where they are." {
					t.Errorf("note = %q", got)
				}
				if got := p.AsideRow.Subtitle(); !strings.Contains(got, "unencrypted, in the folder “Keepsake (not encrypted)”") {
					t.Errorf("the beside choice says %q", got)
				}
				if p.EncryptGroup.Visible() {
					t.Error("the plain Encrypt Backups switch is shown beside the two choices")
				}
				// Encryption is on by default: the beside choice is
				// ticked, and Next waits for the passphrase.
				if !p.AsideCheck.Active() || p.PlainCheck.Active() || !p.PassphraseBox.Visible() || p.NextButton.Sensitive() {
					t.Errorf("beside ticked %v, plain ticked %v, passphrase shown %v, Next %v",
						p.AsideCheck.Active(), p.PlainCheck.Active(), p.PassphraseBox.Visible(), p.NextButton.Sensitive())
				}
			}
			if c.plain {
				p.PlainCheck.SetActive(true)
				gtktest.Pump()
				if p.EncryptSwitch.Active() || p.AsideCheck.Active() || p.EncryptBox.Visible() || !p.AsideBox.Visible() {
					t.Errorf("kept unencrypted: encryption %v, beside ticked %v, passphrase shown %v, choices shown %v",
						p.EncryptSwitch.Active(), p.AsideCheck.Active(), p.EncryptBox.Visible(), p.AsideBox.Visible())
				}
			} else if p.PassphraseBox.Visible() {
				p.Passphrase.SetText("correct horse")
				p.Confirm.SetText("correct horse")
			}
			if !p.NextButton.Sensitive() {
				t.Fatalf("Next not possible (tooltip %q)", p.NextButton.TooltipText())
			}
			p.move(+1)
			p.move(+1)
			p.move(+1)
			summary := p.SummaryDrive.Subtitle()
			if mentions := strings.Contains(summary, "Keepsake (not encrypted)"); mentions != c.setAside {
				t.Errorf("drive summary %q mentions the folder set aside: %v, want %v", summary, mentions, c.setAside)
			}

			// What the setup would send, made against a stand-in service.
			f := &fakeService{}
			if _, _, err := Run(context.Background(), f, "alice", p.choices(), Progress{}, nil); err != nil {
				t.Fatal(err)
			}
			if len(f.calls) < 2 || f.calls[1].method != c.send {
				t.Fatalf("calls %+v, want %s second", f.calls, c.send)
			}
			switch c.send {
			case "EnrollEncrypted":
				got := f.calls[1].args.(api.EnrollEncryptedOptions)
				if got.SetAside != c.setAside || got.Passphrase != "correct horse" || got.EnableFeature != (c.drive.Encryptable == api.EncryptableFeatureOff) {
					t.Errorf("EnrollEncrypted options = %+v, want set-aside %v", got, c.setAside)
				}
				// On the bus the key is there only when true, as every
				// option the client sends.
				if v, sent := api.ToOptions(got)["set-aside"]; sent != c.setAside || sent && v.Value() != true {
					t.Errorf("on the bus: set-aside sent %v (%v), want %v", sent, v, c.setAside)
				}
			case "Configure":
				if d := f.calls[1].args.(api.Settings).Drive; d == nil || *d != c.drive.UUID {
					t.Errorf("Configure = %+v, want the drive %s", f.calls[1].args, c.drive.UUID)
				}
			}
			win.Destroy()
			gtktest.Pump()
		})
	}
}
