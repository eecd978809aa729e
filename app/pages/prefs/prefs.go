// Package prefs is the preferences window: the backup drive, the folders
// and exclusions, the other drives mounted inside the folders to include,
// the schedule, how long old backups are kept, and Flatpak apps. Every
// change goes straight to the service; a refused change is explained in a
// toast and the control shows the service's value again.
package prefs

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"time"

	"github.com/diamondburned/gotk4-adwaita/pkg/adw"
	coreglib "github.com/diamondburned/gotk4/pkg/core/glib"
	"github.com/diamondburned/gotk4/pkg/gio/v2"
	"github.com/diamondburned/gotk4/pkg/glib/v2"
	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/keepsake/keepsake/app/humanize"
	"github.com/keepsake/keepsake/app/pages/encryptdrive"
	"github.com/keepsake/keepsake/app/pages/passphrase"
	"github.com/keepsake/keepsake/app/pages/setup"
	"github.com/keepsake/keepsake/app/ui"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/i18n"
)

//go:embed prefs.ui
var prefsUI string

// Window is the preferences window.
type Window struct {
	*adw.PreferencesWindow `ui:"root"`

	DriveRow   *adw.ActionRow `ui:"drive_row"`
	DriveState *gtk.Label     `ui:"drive_state"`
	DriveIcon  *gtk.Image     `ui:"drive_icon"`
	// PassphraseRow and RememberedRow are shown for an encrypted drive
	// (the second while the service remembers its key).
	PassphraseRow    *adw.ActionRow `ui:"passphrase_row"`
	ChangePassphrase *gtk.Button    `ui:"change_passphrase_button"`
	RememberedRow    *adw.ActionRow `ui:"remembered_row"`
	ForgetKey        *gtk.Button    `ui:"forget_key_button"`
	OtherList        *gtk.ListBox   `ui:"other_list"`
	AddSource        *gtk.Button    `ui:"add_source_button"`
	SourceList       *gtk.ListBox   `ui:"source_list"`
	ExcludeList      *gtk.ListBox   `ui:"exclude_list"`
	PatternEntry     *gtk.Entry     `ui:"pattern_entry"`
	AddPattern       *gtk.Button    `ui:"add_pattern_button"`

	MountsGroup *adw.PreferencesGroup `ui:"mounts_group"`
	AddMount    *gtk.Button           `ui:"add_mount_button"`
	MountList   *gtk.ListBox          `ui:"mount_list"`

	IntervalRow *adw.ComboRow `ui:"interval_row"`
	OnChange    *gtk.Switch   `ui:"on_change"`
	OnPlug      *gtk.Switch   `ui:"on_plug"`
	SkipBattery *gtk.Switch   `ui:"skip_battery"`

	TimeMachine *gtk.CheckButton `ui:"tm_check"`
	Custom      *gtk.CheckButton `ui:"custom_check"`
	HourlyRow   *adw.ActionRow   `ui:"hourly_row"`
	DailyRow    *adw.ActionRow   `ui:"daily_row"`
	WeeklyRow   *adw.ActionRow   `ui:"weekly_row"`
	MonthlyRow  *adw.ActionRow   `ui:"monthly_row"`
	Hourly      *gtk.SpinButton  `ui:"hourly_spin"`
	Daily       *gtk.SpinButton  `ui:"daily_spin"`
	Weekly      *gtk.SpinButton  `ui:"weekly_spin"`
	Monthly     *gtk.SpinButton  `ui:"monthly_spin"`
	MinFreeRow  *adw.ActionRow   `ui:"min_free_row"`
	MinFree     *gtk.Entry       `ui:"min_free_entry"`
	MinFreeSet  *gtk.Button      `ui:"min_free_button"`

	FlatpakGroup   *adw.PreferencesGroup `ui:"flatpak_group"`
	Flatpak        *gtk.Switch           `ui:"flatpak"`
	OfflineRow     *adw.ActionRow        `ui:"offline_row"`
	FlatpakOffline *gtk.Switch           `ui:"flatpak_offline"`

	env  *ui.Env
	name string
	home string

	// prof and drives are the service's latest values, what every control
	// returns to after a refused change.
	prof   client.Profile
	drives []client.Drive
	view   View
	shown  bool // view has been drawn once

	// applying is set while controls are set from the service, so their
	// change handlers do not take it for the user's doing.
	applying bool
	// pending counts changes on their way to the service (and a retention
	// edit waiting to be sent); the periodic refresh waits for them, so it
	// does not put back a value about to change.
	pending  int
	changed  time.Time // when the last change's read-back arrived
	retEdit  uint      // generation of the latest retention edit, for the debounce
	closed   bool
	chooser  *gtk.FileChooserNative
	otherRow []gtk.Widgetter
	srcRows  []gtk.Widgetter
	exclRows []gtk.Widgetter
	mntRows  []gtk.Widgetter

	lastProblem string

	// svc makes Use This Drive's calls: the service's client, or a
	// test's stand-in.
	svc DriveService
	// enc is the Use This Drive dialog open (nil when none).
	enc *encryptdrive.Dialog

	sizeAsked bool
	size      uint64
	sizeKnown bool
	sizeProb  string
}

// current is the open window: opening it again brings it forward.
var current *Window

// refreshEvery is how often the window re-reads the shared state, so a
// drive plugged in or a change made elsewhere shows up.
const refreshEvery = 2

// Open shows the preferences window of the profile the app shows.
func Open(env *ui.Env) {
	if current != nil {
		current.Present()
		return
	}
	name := env.Profile()
	if name == "" {
		env.Toast(i18n.T("Set up backups first, then their preferences are here."))
		return
	}
	w := &Window{env: env, name: name, home: filepath.Clean(glib.GetHomeDir()), svc: clientService{env}}
	if h := os.Getenv("HOME"); filepath.IsAbs(h) {
		w.home = filepath.Clean(h)
	}
	ui.Fill(w, prefsUI)
	w.SetTransientFor(env.Window())
	setup.Plain(coreglib.InternObject(w.DriveRow))
	setup.Plain(coreglib.InternObject(w.OfflineRow))

	w.connect()
	actions := gio.NewSimpleActionGroup()
	details := gio.NewSimpleAction("details", nil)
	details.ConnectActivate(func(*glib.Variant) { w.showDetails() })
	actions.AddAction(details)
	w.InsertActionGroup("prefs", actions)
	st := env.State()
	w.prof, _ = st.Profile(name)
	w.drives = st.Drives
	w.apply()

	glib.TimeoutSecondsAdd(refreshEvery, func() bool {
		if w.closed {
			return false
		}
		w.follow()
		return true
	})
	w.ConnectCloseRequest(func() bool {
		w.closed = true
		current = nil
		return false
	})
	current = w
	w.Present()
}

func (w *Window) connect() {
	w.AddSource.ConnectClicked(w.chooseSource)
	w.AddPattern.ConnectClicked(w.addPattern)
	w.AddMount.ConnectClicked(w.chooseMount)
	w.PatternEntry.ConnectActivate(w.addPattern)
	w.MinFreeSet.ConnectClicked(w.setMinFree)
	w.MinFree.ConnectActivate(w.setMinFree)
	w.ChangePassphrase.ConnectClicked(w.changePassphrase)
	w.ForgetKey.ConnectClicked(w.forgetKey)

	w.IntervalRow.NotifyProperty("selected", func() {
		i := int(w.IntervalRow.Selected())
		if w.applying || i < 0 || i >= len(w.view.Intervals) {
			return
		}
		secs := w.view.Intervals[i].Seconds
		w.configure(api.Settings{Interval: &secs}, w.IntervalRow)
	})
	switches := []struct {
		sw  *gtk.Switch
		set func(*api.Settings, *bool)
	}{
		{w.OnChange, func(s *api.Settings, b *bool) { s.OnChange = b }},
		{w.OnPlug, func(s *api.Settings, b *bool) { s.OnPlug = b }},
		{w.SkipBattery, func(s *api.Settings, b *bool) { s.SkipOnBattery = b }},
		{w.Flatpak, func(s *api.Settings, b *bool) { s.Flatpak = b }},
		{w.FlatpakOffline, func(s *api.Settings, b *bool) { s.FlatpakOffline = b }},
	}
	for _, s := range switches {
		s := s
		s.sw.NotifyProperty("active", func() {
			if w.applying {
				return
			}
			var set api.Settings
			on := s.sw.Active()
			s.set(&set, &on)
			w.configure(set, s.sw)
		})
	}

	w.Custom.ConnectToggled(func() {
		if w.applying {
			return
		}
		w.retentionControls()
		if w.Custom.Active() {
			w.saveRetention()
		}
	})
	w.TimeMachine.ConnectToggled(func() {
		if w.applying || !w.TimeMachine.Active() {
			return
		}
		w.retentionControls()
		tm := "time-machine"
		w.configure(api.Settings{Retention: &tm}, w.TimeMachine, w.Custom)
	})
	for _, sp := range []*gtk.SpinButton{w.Hourly, w.Daily, w.Weekly, w.Monthly} {
		sp.ConnectValueChanged(func() {
			if w.applying {
				return
			}
			// A click on + or a held key is many changes: send the last.
			w.retEdit++
			gen := w.retEdit
			w.pending++
			glib.TimeoutAdd(700, func() {
				w.pending--
				if gen == w.retEdit && !w.closed {
					w.saveRetention()
				}
			})
		})
	}

	// The size of an offline copy takes the service a moment to work out:
	// ask only when the user looks at the Flatpak settings.
	w.FlatpakGroup.ConnectMap(w.askOfflineSize)
}

// follow redraws the window from the shared state when it changed.
func (w *Window) follow() {
	if w.pending > 0 {
		return
	}
	st := w.env.State()
	// A reading older than the last change's read-back is stale: showing
	// it would flip a control back until the next one.
	if st.Err != nil || st.Read.Before(w.changed) {
		return
	}
	prof, ok := st.Profile(w.name)
	if !ok {
		return
	}
	if reflect.DeepEqual(MakeView(prof, st.Drives), w.view) {
		return
	}
	w.prof, w.drives = prof, st.Drives
	w.apply()
}

// apply shows the service's values, rebuilding only the lists that changed
// so focus and scroll positions survive a refresh.
func (w *Window) apply() {
	v := MakeView(w.prof, w.drives)
	old := w.view
	first := !w.shown
	w.view, w.shown = v, true
	w.applying = true
	defer func() { w.applying = false }()

	setup.SetRowText(w.DriveRow, v.DriveTitle, v.DriveSubtitle)
	w.DriveState.SetLabel(v.DriveState)
	w.DriveIcon.SetFromIconName(v.DriveIcon)
	w.PassphraseRow.SetVisible(v.Encrypted)
	w.RememberedRow.SetVisible(v.KeyRemembered)
	if first || !reflect.DeepEqual(v.Others, old.Others) {
		w.showOthers(v.Others)
	}
	if first || !reflect.DeepEqual(v.Sources, old.Sources) {
		w.showSources(v.Sources)
	}
	if first || !reflect.DeepEqual(v.Excludes, old.Excludes) {
		w.showExcludes(v.Excludes)
	}
	w.MountsGroup.SetVisible(v.MountsShown)
	if first || !reflect.DeepEqual(v.Mounts, old.Mounts) {
		w.showMounts(v.Mounts)
	}

	if first || !reflect.DeepEqual(v.Intervals, old.Intervals) {
		labels := make([]string, len(v.Intervals))
		for i, iv := range v.Intervals {
			labels[i] = iv.Label
		}
		w.IntervalRow.SetModel(gtk.NewStringList(labels))
	}
	w.IntervalRow.SetSelected(uint(v.Interval))
	w.OnChange.SetActive(v.OnChange)
	w.OnPlug.SetActive(v.OnPlug)
	w.SkipBattery.SetActive(v.SkipOnBattery)

	if v.Retention.TimeMachine {
		w.TimeMachine.SetActive(true)
	} else {
		w.Custom.SetActive(true)
	}
	counts := v.Retention.Counts()
	w.Hourly.SetValue(float64(counts.Hourly))
	w.Daily.SetValue(float64(counts.Daily))
	w.Weekly.SetValue(float64(counts.Weekly))
	w.Monthly.SetValue(float64(counts.Monthly))
	w.retentionControls()

	w.Flatpak.SetActive(v.Flatpak)
	w.FlatpakOffline.SetActive(v.FlatpakOffline)
	w.showOfflineSize()
}

// retentionControls enables the counts only for a custom retention.
func (w *Window) retentionControls() {
	custom := w.Custom.Active()
	for _, r := range []*adw.ActionRow{w.HourlyRow, w.DailyRow, w.WeeklyRow, w.MonthlyRow} {
		r.SetSensitive(custom)
	}
}

func (w *Window) saveRetention() {
	r, _ := ParseRetention(w.prof.Retention)
	if r.TimeMachine {
		r = Retention{}
	}
	r.Hourly, r.Daily = w.Hourly.ValueAsInt(), w.Daily.ValueAsInt()
	r.Weekly, r.Monthly = w.Weekly.ValueAsInt(), w.Monthly.ValueAsInt()
	retention := r.String()
	w.configure(api.Settings{Retention: &retention})
}

func (w *Window) configure(settings api.Settings, busy ...gtk.Widgetter) {
	name := w.name
	w.change(func(ctx context.Context, c *client.Client) error {
		return c.Configure(ctx, name, settings, api.Auth{})
	}, nil, busy...)
}

// reading is the service's values after a change.
type reading struct {
	prof   client.Profile
	drives []client.Drive
	ok     bool
}

// change runs op off the main loop, then reads the profile and drives
// back, so every control shows what the service really has: the new value,
// or the old one if op was refused. op's options never carry
// auth.no_user_interaction: polkit asks for a password when it must.
// done, if not nil, gets op's error on the main loop.
func (w *Window) change(op func(ctx context.Context, c *client.Client) error, done func(error), busy ...gtk.Widgetter) {
	c := w.env.Client()
	w.changeBy(func(ctx context.Context) error {
		if c == nil {
			return humanize.ErrNoService
		}
		return op(ctx, c)
	}, done, busy...)
}

// changeBy is change for an op that makes its calls by itself (through
// w.svc).
func (w *Window) changeBy(op func(ctx context.Context) error, done func(error), busy ...gtk.Widgetter) {
	for _, b := range busy {
		gtk.BaseWidget(b).SetSensitive(false)
	}
	w.pending++
	name := w.name
	c := w.env.Client()
	ui.Async(func() (reading, error) {
		ctx := context.Background()
		err := op(ctx)
		var r reading
		if c == nil {
			return r, err
		}
		var perr, derr error
		r.prof, perr = c.Profile(ctx, name)
		r.drives, derr = c.Drives(ctx)
		r.ok = perr == nil && derr == nil
		return r, err
	}, func(r reading, err error) {
		w.pending--
		w.changed = time.Now()
		if w.closed {
			return
		}
		for _, b := range busy {
			gtk.BaseWidget(b).SetSensitive(true)
		}
		if err != nil {
			w.toast(humanize.Error(err))
		}
		if r.ok {
			w.prof, w.drives = r.prof, r.drives
		}
		w.apply()
		if done != nil {
			done(err)
		}
		w.env.Refresh()
	})
}

// toast tells why a change was not made. A toast shows one line, which
// a narrow window cuts short, so Details shows the whole sentence.
func (w *Window) toast(msg string) {
	w.lastProblem = msg
	t := adw.NewToast(msg)
	t.SetTimeout(8)
	// TRANSLATORS: a toast's button that shows the whole sentence.
	t.SetButtonLabel(i18n.T("Details"))
	t.SetActionName("prefs.details")
	w.AddToast(t)
}

func (w *Window) showDetails() {
	if w.lastProblem == "" {
		return
	}
	d := gtk.NewMessageDialog(&w.PreferencesWindow.Window.Window, gtk.DialogModal|gtk.DialogDestroyWithParent, gtk.MessageWarning, gtk.ButtonsClose)
	d.SetObjectProperty("text", i18n.T("The Change Was Not Made"))
	d.SetObjectProperty("secondary-text", w.lastProblem)
	d.ConnectResponse(func(int) { d.Destroy() })
	d.Present()
}

func (w *Window) showOthers(others []setup.DriveChoice) {
	for _, r := range w.otherRow {
		w.OtherList.Remove(r)
	}
	w.otherRow = w.otherRow[:0]
	for _, d := range others {
		d := d
		row := setup.NewRow(d.Title, d.Subtitle)
		if d.Selectable() {
			row.AddPrefix(gtk.NewImageFromIconName(DriveIcon(d.Encrypted)))
			use := gtk.NewButtonWithMnemonic(i18n.T("_Use This Drive"))
			use.SetVAlign(gtk.AlignCenter)
			use.ConnectClicked(func() { w.useDrive(d, use) })
			row.AddSuffix(use)
		} else {
			img := gtk.NewImageFromIconName("action-unavailable-symbolic")
			img.SetTooltipText(i18n.T("Cannot hold backups"))
			img.AddCSSClass("dim-label")
			row.AddPrefix(img)
		}
		w.OtherList.Append(row)
		w.otherRow = append(w.otherRow, row)
	}
}

// forgetKey deletes the key the service keeps for the drive: from then
// on the drive waits for its passphrase whenever it is plugged in.
func (w *Window) forgetKey() {
	uuid, title := w.view.DriveUUID, w.view.DriveTitle
	if uuid == "" {
		return
	}
	w.change(func(ctx context.Context, c *client.Client) error {
		return c.ForgetKey(ctx, uuid, api.Auth{})
	}, func(err error) {
		if err == nil {
			w.AddToast(adw.NewToast(humanize.Escape(ForgotText(title))))
		}
	}, w.ForgetKey)
}

// changePassphrase opens the dialog that changes the drive's passphrase.
func (w *Window) changePassphrase() {
	uuid, title := w.view.DriveUUID, w.view.DriveTitle
	if uuid == "" {
		return
	}
	d := passphrase.New(w.env, &w.PreferencesWindow.Window.Window, uuid, title)
	d.Changed = func() {
		// TRANSLATORS: %s is the drive's name.
		w.AddToast(adw.NewToast(humanize.Escape(fmt.Sprintf(i18n.T("The passphrase of “%s” is changed"), title))))
	}
	d.Present()
}

// DriveService is the part of the client Use This Drive calls.
type DriveService interface {
	encryptdrive.Service
	Configure(ctx context.Context, profile string, settings api.Settings, opts api.Auth) error
}

// clientService makes the calls with the app's connection to the
// service, as it is when the call is made.
type clientService struct{ env *ui.Env }

func (s clientService) client() (*client.Client, error) {
	if c := s.env.Client(); c != nil {
		return c, nil
	}
	return nil, humanize.ErrNoService
}

func (s clientService) Enroll(ctx context.Context, uuid string, opts client.EnrollOptions) error {
	c, err := s.client()
	if err != nil {
		return err
	}
	return c.Enroll(ctx, uuid, opts)
}

func (s clientService) EnrollEncrypted(ctx context.Context, uuid string, opts api.EnrollEncryptedOptions) (string, error) {
	c, err := s.client()
	if err != nil {
		return "", err
	}
	return c.EnrollEncrypted(ctx, uuid, opts)
}

func (s clientService) Configure(ctx context.Context, profile string, settings api.Settings, opts api.Auth) error {
	c, err := s.client()
	if err != nil {
		return err
	}
	return c.Configure(ctx, profile, settings, opts)
}

// useDrive makes d the profile's drive. A drive new to Keepsake that can
// be encrypted opens the Use This Drive dialog, which offers encryption
// as the setup does; one that cannot (Btrfs, XFS: its row says so) is
// enrolled for the profile as it is (which writes the repository and
// sets the drive in one call); one that already holds backups is just
// configured.
func (w *Window) useDrive(d setup.DriveChoice, button *gtk.Button) {
	if encryptdrive.Offer(d) {
		w.offerEncryption(d)
		return
	}
	name, svc := w.name, w.svc
	w.changeBy(func(ctx context.Context) error {
		if d.Enrolled {
			uuid := d.UUID
			return svc.Configure(ctx, name, api.Settings{Drive: &uuid}, api.Auth{})
		}
		return svc.Enroll(ctx, d.UUID, client.EnrollOptions{Profile: name})
	}, nil, button)
}

// offerEncryption opens the Use This Drive dialog for d (the one already
// open, if any).
func (w *Window) offerEncryption(d setup.DriveChoice) {
	if w.enc != nil {
		w.enc.Present()
		return
	}
	dlg := encryptdrive.New(w.svc, &w.PreferencesWindow.Window.Window, d, w.name)
	// The drive is the profile's once the service says so: the window
	// reads the profile and drives back, as after any change.
	dlg.Used = func() {
		if !w.closed {
			w.changeBy(func(context.Context) error { return nil }, nil)
		}
	}
	// Runs only when the dialog lets itself be closed (not while the
	// recovery key waits to be written down).
	dlg.ConnectCloseRequest(func() bool {
		if w.enc == dlg {
			w.enc = nil
		}
		return false
	})
	w.enc = dlg
	dlg.Present()
	dlg.Passphrase.GrabFocus()
}

func (w *Window) showSources(sources []string) {
	for _, r := range w.srcRows {
		w.SourceList.Remove(r)
	}
	w.srcRows = w.srcRows[:0]
	name := w.name
	for _, s := range sources {
		s := s
		row := setup.NewRow(setup.FolderTitle(s, w.home), s)
		icon := "folder-symbolic"
		if s == w.home {
			icon = "user-home-symbolic"
		}
		row.AddPrefix(gtk.NewImageFromIconName(icon))
		remove := gtk.NewButtonFromIconName("list-remove-symbolic")
		remove.SetVAlign(gtk.AlignCenter)
		remove.AddCSSClass("flat")
		setup.SetName(remove, i18n.T("Remove Folder"))
		remove.ConnectClicked(func() {
			w.change(func(ctx context.Context, c *client.Client) error { return c.RemoveSource(ctx, name, s, api.Auth{}) }, nil, remove)
		})
		row.AddSuffix(remove)
		w.SourceList.Append(row)
		w.srcRows = append(w.srcRows, row)
	}
}

func (w *Window) chooseSource() {
	w.chooser = ui.ChooseFolder(&w.PreferencesWindow.Window.Window, i18n.T("Add a Folder to Back Up"), i18n.T("_Add"), w.home, func(path string) {
		w.chooser = nil
		if path == "" || w.closed {
			return
		}
		if _, note := setup.AddFolder(w.prof.Sources, path); note != "" {
			w.toast(note)
			return
		}
		name := w.name
		w.change(func(ctx context.Context, c *client.Client) error {
			return c.AddSource(ctx, name, filepath.Clean(path), api.Auth{})
		}, nil, w.AddSource)
	})
}

func (w *Window) showExcludes(excludes []string) {
	for _, r := range w.exclRows {
		w.ExcludeList.Remove(r)
	}
	w.exclRows = w.exclRows[:0]
	for _, e := range excludes {
		e := e
		row := setup.NewRow(e, "")
		remove := gtk.NewButtonFromIconName("list-remove-symbolic")
		remove.SetVAlign(gtk.AlignCenter)
		remove.AddCSSClass("flat")
		setup.SetName(remove, i18n.T("Remove Pattern"))
		remove.ConnectClicked(func() { w.editExcludes(func(l []string) ([]string, string) { return RemovePattern(l, e), "" }, remove) })
		row.AddSuffix(remove)
		w.ExcludeList.Append(row)
		w.exclRows = append(w.exclRows, row)
	}
}

func (w *Window) addPattern() {
	pattern := w.PatternEntry.Text()
	if _, problem := AddPattern(w.prof.Excludes, pattern); problem != "" {
		w.toast(problem)
		return
	}
	w.editExcludes(func(l []string) ([]string, string) { return AddPattern(l, pattern) }, w.AddPattern, w.PatternEntry)
	w.PatternEntry.SetText("")
}

// editExcludes changes the exclusions from the service's current list,
// read just before, so a change made meanwhile elsewhere is not lost.
func (w *Window) editExcludes(edit func([]string) ([]string, string), busy ...gtk.Widgetter) {
	name := w.name
	w.change(func(ctx context.Context, c *client.Client) error {
		prof, err := c.Profile(ctx, name)
		if err != nil {
			return err
		}
		list, problem := edit(prof.Excludes)
		if problem != "" {
			// The pattern was added meanwhile: nothing to do.
			return nil
		}
		return c.Configure(ctx, name, api.Settings{Excludes: &list}, api.Auth{})
	}, nil, busy...)
}

// showMounts lists the included mount points, each with a remove button,
// then those the last backup left out, each offered to include.
func (w *Window) showMounts(rows []MountRow) {
	for _, r := range w.mntRows {
		w.MountList.Remove(r)
	}
	w.mntRows = w.mntRows[:0]
	for _, m := range rows {
		m := m
		title := humanize.Folder(m.Path, w.home)
		row := setup.NewRow(title, m.Note)
		row.AddPrefix(gtk.NewImageFromIconName("drive-harddisk-symbolic"))
		if m.Included {
			remove := gtk.NewButtonFromIconName("list-remove-symbolic")
			remove.SetVAlign(gtk.AlignCenter)
			remove.AddCSSClass("flat")
			setup.SetName(remove, i18n.T("Remove Drive"))
			remove.ConnectClicked(func() {
				w.editMounts(func(list, _ []string) ([]string, string) { return RemoveMount(list, m.Path), "" }, remove)
			})
			row.AddSuffix(remove)
		} else {
			include := gtk.NewButtonWithMnemonic(i18n.T("_Include"))
			include.SetVAlign(gtk.AlignCenter)
			// TRANSLATORS: the accessible name of a row's Include button; %s is a folder.
			ui.SetAccessibleName(include, fmt.Sprintf(i18n.T("Include %s"), humanize.Display(title)))
			include.ConnectClicked(func() {
				w.editMounts(func(list, sources []string) ([]string, string) { return AddMount(list, sources, m.Path, w.home) }, include)
			})
			row.AddSuffix(include)
		}
		w.MountList.Append(row)
		w.mntRows = append(w.mntRows, row)
	}
}

// chooseMount includes a mount point chosen in the folder chooser: one the
// backups have not met yet (a share mounted only now and then).
func (w *Window) chooseMount() {
	w.chooser = ui.ChooseFolder(&w.PreferencesWindow.Window.Window, i18n.T("Include a Drive Mounted in Your Folders"), i18n.T("_Include"), w.home, func(path string) {
		w.chooser = nil
		if path == "" || w.closed {
			return
		}
		if _, problem := AddMount(w.prof.IncludeMounts, w.prof.Sources, path, w.home); problem != "" {
			w.toast(problem)
			return
		}
		w.editMounts(func(list, sources []string) ([]string, string) { return AddMount(list, sources, path, w.home) }, w.AddMount)
	})
}

// editMounts changes the included mount points from the service's current
// list, read just before, so a change made meanwhile elsewhere is not lost.
func (w *Window) editMounts(edit func(list, sources []string) ([]string, string), busy ...gtk.Widgetter) {
	name := w.name
	w.change(func(ctx context.Context, c *client.Client) error {
		prof, err := c.Profile(ctx, name)
		if err != nil {
			return err
		}
		list, problem := edit(prof.IncludeMounts, prof.Sources)
		if problem != "" {
			// Included or removed meanwhile: nothing to do.
			return nil
		}
		return c.Configure(ctx, name, api.Settings{IncludeMounts: MountSetting(list)}, api.Auth{})
	}, nil, busy...)
}

func (w *Window) setMinFree() {
	text := w.MinFree.Text()
	setting, problem := MinFree(text)
	if problem != "" {
		w.toast(problem)
		return
	}
	name := w.name
	w.change(func(ctx context.Context, c *client.Client) error {
		return c.Configure(ctx, name, api.Settings{MinFree: &setting}, api.Auth{})
	}, func(err error) {
		// The service does not report this setting, so the row says what
		// was set here; a refused value leaves the entry empty again.
		if err != nil {
			w.MinFree.SetText("")
			return
		}
		// TRANSLATORS: %s is the minimum free space as typed (2%, 20 GB).
		setup.SetRowText(w.MinFreeRow, i18n.T("Minimum Free Space"), fmt.Sprintf(i18n.T("Set to %s. Old backups are removed to keep this much free on the drive."), text))
	}, w.MinFreeSet, w.MinFree)
}

func (w *Window) askOfflineSize() {
	if w.sizeAsked {
		return
	}
	w.sizeAsked = true
	name := w.name
	ui.Call(w.env, func(ctx context.Context, c *client.Client) (uint64, error) {
		return c.FlatpakOfflineSize(ctx, name, api.Auth{})
	}, func(n uint64, err error) {
		if w.closed {
			return
		}
		if err != nil {
			w.sizeProb = humanize.Error(err)
			// Ask again the next time the group is shown.
			w.sizeAsked = false
		} else {
			w.size, w.sizeKnown, w.sizeProb = n, true, ""
		}
		w.showOfflineSize()
	})
}

func (w *Window) showOfflineSize() {
	setup.SetRowText(w.OfflineRow, i18n.T("Keep Offline Copies of Apps"), OfflineSubtitle(w.size, w.sizeKnown, w.sizeProb))
	// An offline copy is of the apps the list records: without the list
	// it would have nothing to restore from.
	w.OfflineRow.SetSensitive(w.Flatpak.Active() || w.FlatpakOffline.Active())
}
