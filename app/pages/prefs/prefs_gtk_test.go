package prefs

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/diamondburned/gotk4-adwaita/pkg/adw"
	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/keepsake/keepsake/app/internal/gtktest"
	"github.com/keepsake/keepsake/app/live"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
)

// TestWindowWithDisplay builds the window from its .ui file and checks
// that a change the service refuses (here: there is no service) puts the
// control back. It needs a display: run it under xvfb-run.
func TestWindowWithDisplay(t *testing.T) {
	t.Setenv("HOME", "/home/alice")
	gtktest.Init(t)

	main := gtk.NewWindow()
	st := live.State{
		Profiles: []client.Profile{{
			Name: "alice", Sources: []string{"/home/alice", "/srv/music"}, Excludes: []string{"*.iso"},
			DriveUUID: "d1", Interval: 1800, OnChange: true, OnPlug: true, Retention: "daily=7 yearly=2", Flatpak: true,
			IncludeMounts: []string{"/home/alice/nas"}, SkippedMounts: []string{"/home/alice/usb"},
		}},
		Drives: []client.Drive{
			{UUID: "d1", Label: "Passport", Filesystem: "ext4", Size: 1e12, Free: 4e11, Present: true, Enrolled: true},
			{UUID: "d2", Label: "CAMERA", Filesystem: "vfat", Present: true, Unusable: "FAT cannot keep hard links"},
			{UUID: "d3", Label: "Spare", Filesystem: "xfs", Size: 2e12, Free: 2e12, Present: true},
		},
	}
	env, _ := gtktest.Env("alice", main)
	env.State = func() live.State { return st }
	Open(env)
	w := current
	if w == nil {
		t.Fatal("no window")
	}
	gtktest.Pump()

	if got := w.DriveRow.Title(); got != "Passport" {
		t.Errorf("drive row = %q", got)
	}
	if w.PassphraseRow.Visible() || w.RememberedRow.Visible() || w.DriveIcon.IconName() != "drive-harddisk-symbolic" {
		t.Error("a plain drive offers passphrase changes")
	}
	if len(w.otherRow) != 2 || len(w.srcRows) != 2 || len(w.exclRows) != 1 {
		t.Errorf("rows: %d other drives, %d folders, %d patterns", len(w.otherRow), len(w.srcRows), len(w.exclRows))
	}
	// The included drive with a remove button, then the one the last
	// backup left out, offered to include.
	if !w.MountsGroup.Visible() || len(w.mntRows) != 2 {
		t.Fatalf("other drives to include: shown %v, %d rows", w.MountsGroup.Visible(), len(w.mntRows))
	}
	for i, want := range []struct{ title, subtitle, button string }{
		{"~/nas", "Backed up with your folders", "Remove Drive"},
		{"~/usb", "Not backed up: only its empty folder is kept", "Include"},
	} {
		r := w.mntRows[i].(*adw.ActionRow)
		if r.Title() != want.title || r.Subtitle() != want.subtitle || gtktest.FindButton(r, want.button) == nil {
			t.Errorf("drive %d: %q / %q, no button %q", i, r.Title(), r.Subtitle(), want.button)
		}
	}
	// Removing the included drive, refused: the list is as before.
	gtktest.FindButton(w.mntRows[0], "Remove Drive").Emit("clicked")
	gtktest.WaitFor(t, func() bool { return w.pending == 0 })
	if len(w.mntRows) != 2 || w.mntRows[0].(*adw.ActionRow).Title() != "~/nas" {
		t.Errorf("after a refused removal: %d rows", len(w.mntRows))
	}

	if got := w.view.Intervals[w.IntervalRow.Selected()].Label; got != "Every 30 minutes" {
		t.Errorf("interval shown = %q", got)
	}
	if !w.Custom.Active() || w.Daily.ValueAsInt() != 7 || w.Hourly.ValueAsInt() != 0 || !w.DailyRow.Sensitive() {
		t.Errorf("retention shown: custom %v, daily %d", w.Custom.Active(), w.Daily.ValueAsInt())
	}

	// The user turns "After Changes" off; the service cannot be reached,
	// so the switch goes back on.
	w.OnChange.SetActive(false)
	if w.OnChange.Sensitive() {
		t.Error("the switch stays editable while its change is on the way")
	}
	gtktest.WaitFor(t, func() bool { return w.pending == 0 })
	if !w.OnChange.Active() || !w.OnChange.Sensitive() {
		t.Errorf("after a refused change the switch is active %v, sensitive %v", w.OnChange.Active(), w.OnChange.Sensitive())
	}

	// Time Machine chosen, refused: back to the custom counts.
	w.TimeMachine.SetActive(true)
	gtktest.WaitFor(t, func() bool { return w.pending == 0 })
	if !w.Custom.Active() {
		t.Error("retention not put back")
	}

	// A bad minimum free space never reaches the service.
	w.MinFree.SetText("lots")
	w.MinFreeSet.Emit("clicked")
	if w.pending != 0 {
		t.Error("a value MinFree refused was sent")
	}

	// The service's state changes elsewhere: the window follows.
	st.Profiles[0].OnPlug = false
	st.Drives = st.Drives[:2]
	w.follow()
	if !w.OnPlug.Active() {
		t.Error("a reading older than the last change was shown")
	}
	st.Read = time.Now()
	w.follow()
	if w.OnPlug.Active() || len(w.otherRow) != 1 {
		t.Errorf("after a change elsewhere: on-plug %v, %d other drives", w.OnPlug.Active(), len(w.otherRow))
	}

	Open(env)
	if current != w {
		t.Error("a second window was opened")
	}
	w.Close()
	gtktest.Pump()
	if current != nil {
		t.Error("closed window still current")
	}
}

// TestEncryptedDriveWithDisplay: an encrypted drive shows the lock and
// "Encrypted", Change Passphrase… and, while its key is remembered,
// Forget Remembered Key, which (with no service) is refused and stays.
// It needs a display.
func TestEncryptedDriveWithDisplay(t *testing.T) {
	gtktest.Init(t)
	main := gtk.NewWindow()
	st := live.State{
		Profiles: []client.Profile{{Name: "alice", Sources: []string{"/home/alice"}, DriveUUID: "d1", Interval: 3600}},
		Drives: []client.Drive{{UUID: "d1", Label: "Vault", Filesystem: "ext4", Size: 1e12, Free: 4e11, Present: true, Enrolled: true,
			Encrypted: true, KeyRemembered: true}},
	}
	env, _ := gtktest.Env("alice", main)
	env.State = func() live.State { return st }
	Open(env)
	w := current
	gtktest.Pump()
	if !w.PassphraseRow.Visible() || !w.RememberedRow.Visible() || w.DriveIcon.IconName() != "channel-secure-symbolic" {
		t.Errorf("encrypted drive: passphrase row %v, remembered row %v, icon %q", w.PassphraseRow.Visible(), w.RememberedRow.Visible(), w.DriveIcon.IconName())
	}
	if got := w.DriveRow.Subtitle(); got != "Encrypted · 1.0\u00a0TB · 400.0\u00a0GB free · ext4" {
		t.Errorf("drive subtitle = %q", got)
	}
	w.ForgetKey.Emit("clicked")
	if w.ForgetKey.Sensitive() {
		t.Error("Forget stays pressable while it is on the way")
	}
	gtktest.WaitFor(t, func() bool { return w.pending == 0 })
	if !w.RememberedRow.Visible() || !w.ForgetKey.Sensitive() {
		t.Error("a refused Forget hid the remembered key")
	}
	st.Drives[0].KeyRemembered = false
	st.Read = time.Now()
	w.follow()
	if w.RememberedRow.Visible() || !w.PassphraseRow.Visible() {
		t.Error("Forget Remembered Key shown for a key not remembered")
	}
	w.Close()
	gtktest.Pump()
}

// driveService stands in for the service's Use This Drive calls: it
// records them and answers EnrollEncrypted with a recovery key.
type driveService struct {
	mu    sync.Mutex
	calls []driveCall
}

type driveCall struct {
	method, arg string
	opts        any
}

func (f *driveService) record(c driveCall) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
}

func (f *driveService) Calls() []driveCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]driveCall{}, f.calls...)
}

func (f *driveService) Enroll(_ context.Context, uuid string, opts client.EnrollOptions) error {
	f.record(driveCall{"Enroll", uuid, opts})
	return nil
}

func (f *driveService) EnrollEncrypted(_ context.Context, uuid string, opts api.EnrollEncryptedOptions) (string, error) {
	f.record(driveCall{"EnrollEncrypted", uuid, opts})
	return "ABCD2345-EFGH6789", nil
}

func (f *driveService) Configure(_ context.Context, profile string, settings api.Settings, _ api.Auth) error {
	f.record(driveCall{"Configure", profile, *settings.Drive})
	return nil
}

// TestUseDriveWithDisplay: Use This Drive on a drive new to Keepsake
// that can be encrypted opens the dialog, encryption on, and what it
// sends goes to the service; a Btrfs drive, whose row says it cannot be
// encrypted, is enrolled as it is; a drive that holds backups is just
// chosen. The service is a stand-in. It needs a display.
func TestUseDriveWithDisplay(t *testing.T) {
	gtktest.Init(t)
	cannot := "Backups on it cannot be encrypted: only an ext4 drive can hold encrypted backups."
	cases := []struct {
		name  string
		drive client.Drive
		// dialog: Use This Drive opens the encryption dialog, whose
		// Use Drive (passphrase typed) sends send with opts.
		dialog   bool
		subtitle string
		send     string
		opts     any
	}{
		{"new ext4 drive: the dialog, encryption on",
			client.Drive{UUID: "d2", Label: "Spare", Filesystem: "ext4", Size: 2e12, Free: 2e12, Present: true},
			true, "2.0\u00a0TB · 2.0\u00a0TB free · ext4", "EnrollEncrypted",
			api.EnrollEncryptedOptions{Passphrase: "correct horse", Profile: client.ProfilePath("alice"), Remember: true}},
		{"new ext4 drive without the encrypt feature: the dialog turns it on",
			client.Drive{UUID: "d2", Label: "Spare", Filesystem: "ext4", Size: 2e12, Free: 2e12, Present: true, Encryptable: api.EncryptableFeatureOff},
			true, "2.0\u00a0TB · 2.0\u00a0TB free · ext4", "EnrollEncrypted",
			api.EnrollEncryptedOptions{Passphrase: "correct horse", Profile: client.ProfilePath("alice"), Remember: true, EnableFeature: true}},
		{"new btrfs drive: no dialog, enrolled as it is",
			client.Drive{UUID: "d2", Label: "Spare", Filesystem: "btrfs", Size: 2e12, Free: 2e12, Present: true, Encryptable: api.EncryptableFilesystem},
			false, "2.0\u00a0TB · 2.0\u00a0TB free · btrfs\n" + cannot, "Enroll", client.EnrollOptions{Profile: "alice"}},
		{"a drive with backups: chosen as it is",
			client.Drive{UUID: "d2", Label: "Spare", Filesystem: "btrfs", Size: 2e12, Free: 2e12, Present: true, Enrolled: true, Encryptable: api.EncryptableFilesystem},
			false, "Holds Keepsake backups · 2.0\u00a0TB · 2.0\u00a0TB free · btrfs", "Configure", "d2"},
	}
	for _, c := range cases {
		gtktest.Run(t, c.name, func(t *testing.T) {
			main := gtk.NewWindow()
			st := live.State{
				Profiles: []client.Profile{{Name: "alice", Sources: []string{"/home/alice"}, DriveUUID: "d1", Interval: 3600}},
				Drives: []client.Drive{
					{UUID: "d1", Label: "Passport", Filesystem: "ext4", Size: 1e12, Free: 4e11, Present: true, Enrolled: true},
					c.drive,
				},
			}
			env, _ := gtktest.Env("alice", main)
			env.State = func() live.State { return st }
			Open(env)
			w := current
			// A failed case closes its window too: the next one opens
			// its own.
			t.Cleanup(func() {
				w.Close()
				gtktest.Pump()
				main.Destroy()
				gtktest.Pump()
			})
			f := &driveService{}
			w.svc = f
			gtktest.Pump()
			if len(w.otherRow) != 1 {
				t.Fatalf("%d other drives", len(w.otherRow))
			}
			row := w.otherRow[0].(*adw.ActionRow)
			if got := row.Subtitle(); got != c.subtitle {
				t.Errorf("row subtitle = %q, want %q", got, c.subtitle)
			}
			use := gtktest.FindButton(row, "Use This Drive")
			if use == nil {
				t.Fatal("no Use This Drive")
			}
			use.Emit("clicked")
			gtktest.Pump()
			if (w.enc != nil) != c.dialog {
				t.Fatalf("dialog opened %v, want %v", w.enc != nil, c.dialog)
			}
			if c.dialog {
				d := w.enc
				if len(f.Calls()) != 0 {
					t.Errorf("calls before Use Drive: %+v", f.Calls())
				}
				if !d.EncryptSwitch.Active() || !d.EncryptBox.Visible() || d.UseButton.Sensitive() {
					t.Errorf("dialog: encryption %v, passphrase shown %v, Use Drive %v", d.EncryptSwitch.Active(), d.EncryptBox.Visible(), d.UseButton.Sensitive())
				}
				use.Emit("clicked")
				if w.enc != d {
					t.Error("a second click opened a second dialog")
				}
				d.Passphrase.SetText("correct horse")
				d.Confirm.SetText("correct horse")
				d.UseButton.Emit("clicked")
				gtktest.WaitFor(t, func() bool { return d.Pages.VisibleChildName() == "recovery" })
				d.WrittenDown.SetActive(true)
				d.ContinueButton.Emit("clicked")
				gtktest.Pump()
				if w.enc != nil {
					t.Error("the dialog is still open after Continue")
				}
			}
			// The window reads the drives back after the call.
			gtktest.WaitFor(t, func() bool { return w.pending == 0 })
			calls := f.Calls()
			want := driveCall{c.send, "d2", c.opts}
			if c.send == "Configure" {
				want = driveCall{"Configure", "alice", "d2"}
			}
			if len(calls) != 1 || calls[0] != want {
				t.Errorf("calls %+v, want %+v", calls, want)
			}
		})
	}
}
