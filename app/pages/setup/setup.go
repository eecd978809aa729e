// Package setup is the first-run setup: choose a drive, the folders and
// the schedule, then start the first backup. The window shows it while
// the user has no backup profile. Its first step also leads to backing up
// another computer instead (Env.AddComputer).
package setup

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"reflect"

	"github.com/diamondburned/gotk4-adwaita/pkg/adw"
	coreglib "github.com/diamondburned/gotk4/pkg/core/glib"
	"github.com/diamondburned/gotk4/pkg/glib/v2"
	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/keepsake/keepsake/app/live"
	"github.com/keepsake/keepsake/app/ui"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/i18n"
)

//go:embed setup.ui
var setupUI string

// steps are the stack's pages, in order.
var steps = []string{"drive", "folders", "schedule", "finish"}

// Page is the first-run setup.
type Page struct {
	*gtk.Box `ui:"root"`

	Steps           *gtk.Stack            `ui:"steps"`
	DriveList       *gtk.ListBox          `ui:"drive_list"`
	EraseSlot       *adw.Bin              `ui:"erase_slot"`
	AddFolderButton *gtk.Button           `ui:"add_folder_button"`
	FolderList      *gtk.ListBox          `ui:"folder_list"`
	SkipGroup       *adw.PreferencesGroup `ui:"skip_group"`
	SkipRow         *adw.ActionRow        `ui:"skip_downloads_row"`
	SkipDownloads   *gtk.Switch           `ui:"skip_downloads"`
	FolderNote      *gtk.Label            `ui:"folder_note"`
	Hourly          *gtk.CheckButton      `ui:"hourly"`
	Daily           *gtk.CheckButton      `ui:"daily"`
	Manual          *gtk.CheckButton      `ui:"manual"`
	OnChange        *gtk.Switch           `ui:"on_change"`
	OnPlug          *gtk.Switch           `ui:"on_plug"`
	SummaryDrive    *adw.ActionRow        `ui:"summary_drive"`
	SummaryFolders  *adw.ActionRow        `ui:"summary_folders"`
	SummarySchedule *adw.ActionRow        `ui:"summary_schedule"`
	AdminNote       *gtk.Label            `ui:"admin_note"`
	ErrorLabel      *gtk.Label            `ui:"error_label"`
	BusyBox         *gtk.Box              `ui:"busy_box"`
	BusySpinner     *gtk.Spinner          `ui:"busy_spinner"`
	BusyLabel       *gtk.Label            `ui:"busy_label"`
	StartButton     *gtk.Button           `ui:"start_button"`
	FinishButton    *gtk.Button           `ui:"finish_button"`
	BackButton      *gtk.Button           `ui:"back_button"`
	NextButton      *gtk.Button           `ui:"next_button"`
	StepLabel       *gtk.Label            `ui:"step_label"`
	AnotherButton   *gtk.Button           `ui:"another_button"`
	EncryptGroup    *adw.PreferencesGroup `ui:"encrypt_group"`
	EncryptSwitch   *gtk.Switch           `ui:"encrypt_switch"`
	EncryptBox      *gtk.Box              `ui:"encrypt_box"`
	EncryptNote     *gtk.Label            `ui:"encrypt_note"`
	EncryptErase    *gtk.Button           `ui:"encrypt_erase"`
	AsideBox        *gtk.Box              `ui:"aside_box"`
	AsideNote       *gtk.Label            `ui:"aside_note"`
	AsideRow        *adw.ActionRow        `ui:"aside_row"`
	AsideCheck      *gtk.CheckButton      `ui:"aside_check"`
	PlainRow        *adw.ActionRow        `ui:"plain_row"`
	PlainCheck      *gtk.CheckButton      `ui:"plain_check"`
	PassphraseBox   *gtk.Box              `ui:"passphrase_box"`
	Passphrase      *gtk.PasswordEntry    `ui:"passphrase"`
	Confirm         *gtk.PasswordEntry    `ui:"confirm"`
	PassphraseHint  *gtk.Label            `ui:"passphrase_hint"`
	Remember        *gtk.CheckButton      `ui:"remember"`
	RecoveryText    *gtk.Label            `ui:"recovery_text"`
	RecoveryKey     *gtk.Label            `ui:"recovery_key"`
	CopyRecovery    *gtk.Button           `ui:"copy_recovery"`
	WrittenDown     *gtk.CheckButton      `ui:"written_down"`
	ContinueButton  *gtk.Button           `ui:"continue_button"`
	Nav             *adw.Clamp            `ui:"nav"`
	NavSeparator    *gtk.Separator        `ui:"nav_separator"`

	env  *ui.Env
	done func()

	home      string
	downloads string
	login     string

	drives    []DriveChoice
	driveList *DriveList
	drive     string // UUID of the chosen drive

	folders    []string
	folderRows []*adw.ActionRow
	chooser    *gtk.FileChooserNative

	taken   []string // profile names in use, for a name of our own
	running bool
	prog    Progress
	// afterRecovery is what the setup does once the person has written
	// the recovery key down (nil while the key is not shown).
	afterRecovery func()
	// encryptSet: the person set the encryption switch (or one of the
	// two choices for a drive holding backups); until then it follows the
	// chosen drive (EncryptByDefault). defaulting marks the page's own
	// setting of it.
	encryptSet, defaulting bool
}

// New builds the first-run setup; done is called when it is finished.
func New(env *ui.Env, done func()) *Page {
	p := &Page{env: env, done: done}
	ui.Fill(p, setupUI)
	p.driveList = NewDriveList(p.DriveList, p.EraseSlot, env, p.updateNav)
	// A drive erased as ext4 here is encrypted next, by the setup itself;
	// a person who turned encryption on is offered ext4 when erasing one.
	p.driveList.EncryptAfterErase = true
	p.driveList.PreferExt4 = func() bool { return p.encryptSet && p.EncryptSwitch.Active() }

	p.home = glib.GetHomeDir()
	if h := os.Getenv("HOME"); filepath.IsAbs(h) {
		p.home = filepath.Clean(h)
	}
	p.downloads = filepath.Clean(glib.GetUserSpecialDir(glib.UserDirectoryDownload))
	p.login = glib.GetUserName()
	if u, err := user.Current(); err == nil && u.Username != "" {
		p.login = u.Username
	}
	if p.home != "" && p.home != "/" {
		p.folders = []string{p.home}
	}

	p.BackButton.ConnectClicked(func() { p.move(-1) })
	p.NextButton.ConnectClicked(func() { p.move(+1) })
	p.AddFolderButton.ConnectClicked(p.chooseFolder)
	p.StartButton.ConnectClicked(p.start)
	p.AnotherButton.ConnectClicked(func() {
		if !p.running && env.AddComputer != nil {
			env.AddComputer()
		}
	})
	p.FinishButton.ConnectClicked(func() {
		if !p.running {
			p.done()
		}
	})
	for _, c := range []*gtk.CheckButton{p.Hourly, p.Daily, p.Manual} {
		c.ConnectToggled(p.updateSummary)
	}
	for _, s := range []*gtk.Switch{p.OnChange, p.OnPlug, p.SkipDownloads} {
		s.NotifyProperty("active", p.updateSummary)
	}
	p.EncryptSwitch.NotifyProperty("active", func() {
		if !p.defaulting {
			p.encryptSet = true
		}
		p.updateNav()
	})
	// A drive holding unencrypted backups: the two choices are the
	// encryption switch's two states, said in full for that drive.
	p.AsideNote.SetLabel(AsideNote())
	for _, c := range []struct {
		row   *adw.ActionRow
		check *gtk.CheckButton
		text  func() (string, string)
		on    bool
	}{{p.AsideRow, p.AsideCheck, AsideChoice, true}, {p.PlainRow, p.PlainCheck, PlainChoice, false}} {
		c := c
		title, subtitle := c.text()
		SetRowText(c.row, title, subtitle)
		c.row.SetSubtitleLines(0)
		ui.SetAccessibleName(c.check, title)
		c.check.ConnectToggled(func() {
			if c.check.Active() && p.EncryptSwitch.Active() != c.on {
				p.EncryptSwitch.SetActive(c.on)
			}
		})
	}
	p.Passphrase.ConnectChanged(p.updateNav)
	p.Confirm.ConnectChanged(p.updateNav)
	p.Remember.ConnectToggled(p.updateSummary)
	p.EncryptErase.ConnectClicked(func() {
		if d := p.chosen(); ViewEncryption(d).Erase {
			p.driveList.EraseAsExt4(d)
		}
	})
	p.RecoveryText.SetLabel(i18n.T(RecoveryText))
	p.CopyRecovery.ConnectClicked(func() {
		p.CopyRecovery.Clipboard().SetText(p.RecoveryKey.Label())
		p.env.Toast(i18n.T("Recovery key copied"))
	})
	p.WrittenDown.ConnectToggled(func() { p.ContinueButton.SetSensitive(p.WrittenDown.Active()) })
	p.ContinueButton.ConnectClicked(p.leaveRecovery)

	p.showFolders()
	p.Steps.SetVisibleChildName(steps[0])
	p.updateNav()
	return p
}

// Update shows a reading of the service: the drive list follows drives
// being plugged in and out.
func (p *Page) Update(st live.State) {
	if st.Err != nil {
		return
	}
	p.taken = p.taken[:0]
	for _, prof := range st.Profiles {
		p.taken = append(p.taken, prof.Name)
	}
	choices := DriveChoices(st.Drives)
	if reflect.DeepEqual(choices, p.drives) {
		return
	}
	p.drives = choices
	if !p.running {
		p.drive = PickDrive(choices, p.drive)
	}
	p.showDrives()
	p.updateNav()
	p.updateSummary()
}

func (p *Page) showDrives() {
	p.driveList.Show(p.drives, p.drive, func(uuid string) {
		p.drive = uuid
		p.updateNav()
		p.updateSummary()
		// The passphrase is what the step needs next; focusing it also
		// scrolls it into view under a long list of drives.
		if p.EncryptBox.Visible() && p.PassphraseBox.Visible() && p.Passphrase.Text() == "" {
			p.Passphrase.GrabFocus()
		}
	})
	p.driveList.SetSensitive(!p.running)
}

func (p *Page) chooseFolder() {
	p.chooser = ui.ChooseFolder(p.env.Window(), i18n.T("Add a Folder to Back Up"), i18n.T("_Add"), p.home, func(path string) {
		p.chooser = nil
		if path == "" {
			return
		}
		folders, note := AddFolder(p.folders, path)
		p.folders = folders
		p.note(note)
		p.showFolders()
	})
}

func (p *Page) note(s string) {
	p.FolderNote.SetLabel(s)
	p.FolderNote.SetVisible(s != "")
}

func (p *Page) showFolders() {
	for _, r := range p.folderRows {
		p.FolderList.Remove(r)
	}
	p.folderRows = p.folderRows[:0]
	for _, f := range p.folders {
		f := f
		row := NewRow(FolderTitle(f, p.home), f)
		icon := "folder-symbolic"
		if f == p.home {
			icon = "user-home-symbolic"
		}
		row.AddPrefix(gtk.NewImageFromIconName(icon))
		remove := gtk.NewButtonFromIconName("list-remove-symbolic")
		remove.SetVAlign(gtk.AlignCenter)
		remove.AddCSSClass("flat")
		SetName(remove, i18n.T("Remove Folder"))
		remove.ConnectClicked(func() {
			p.folders = RemoveFolder(p.folders, f)
			p.note("")
			p.showFolders()
		})
		row.AddSuffix(remove)
		p.FolderList.Append(row)
		p.folderRows = append(p.folderRows, row)
	}
	p.SkipGroup.SetVisible(OfferSkip(p.downloads, p.home, p.folders))
	// TRANSLATORS: %s is the Downloads folder's full path.
	SetRowText(p.SkipRow, i18n.T("Skip Downloads"), fmt.Sprintf(i18n.T("Downloaded files can usually be downloaded again (%s)"), p.downloads))
	p.updateNav()
	p.updateSummary()
}

func (p *Page) index() int {
	cur := p.Steps.VisibleChildName()
	for i, s := range steps {
		if s == cur {
			return i
		}
	}
	return 0
}

func (p *Page) move(by int) {
	i := p.index() + by
	if i < 0 || i >= len(steps) || (by > 0 && !p.canLeave(p.index())) {
		return
	}
	p.Steps.SetVisibleChildName(steps[i])
	p.updateNav()
	p.updateSummary()
}

// canLeave reports whether the step has what the next ones need.
func (p *Page) canLeave(i int) bool {
	switch steps[i] {
	case "drive":
		// While a drive is erased the list is about to change.
		return p.chosen().Selectable() && p.drive != "" && !p.driveList.Busy() &&
			(p.prog.Drive == p.drive || EncryptionProblem(p.chosen(), p.encryption()) == "")
	case "folders":
		return len(p.folders) > 0
	}
	return true
}

func (p *Page) updateNav() {
	p.showEncryption()
	i := p.index()
	// TRANSLATORS: the setup's progress between Back and Next: "Step 2 of 4".
	p.StepLabel.SetLabel(fmt.Sprintf(i18n.T("Step %[1]d of %[2]d"), i+1, len(steps)))
	p.BackButton.SetVisible(i > 0)
	p.BackButton.SetSensitive(!p.running)
	last := i == len(steps)-1
	p.NextButton.SetVisible(!last)
	p.NextButton.SetSensitive(!p.running && p.canLeave(i))
	switch {
	case steps[i] == "drive" && !p.canLeave(i) && EncryptionProblem(p.chosen(), p.encryption()) != "":
		p.NextButton.SetTooltipText(EncryptionProblem(p.chosen(), p.encryption()))
	case steps[i] == "drive" && !p.canLeave(i):
		p.NextButton.SetTooltipText(i18n.T("Choose a drive first"))
	case steps[i] == "folders" && !p.canLeave(i):
		p.NextButton.SetTooltipText(i18n.T("Add a folder first"))
	default:
		p.NextButton.SetTooltipText("")
	}
	p.StartButton.SetSensitive(!p.running && p.canLeave(0) && p.canLeave(1))
	p.AddFolderButton.SetSensitive(!p.running)
	p.FinishButton.SetSensitive(!p.running)
}

// encryption is what the drive step's encryption part holds.
func (p *Page) encryption() Encryption {
	return Encryption{
		On:         p.EncryptSwitch.Active(),
		Passphrase: p.Passphrase.Text(),
		Confirm:    p.Confirm.Text(),
		Remember:   p.Remember.Active(),
	}
}

// showEncryption shows the encryption part for the chosen drive: only
// for a drive set up now, with what the service says of encrypting it.
func (p *Page) showEncryption() {
	d := p.chosen()
	offer := OfferEncryption(d)
	v := ViewEncryption(d)
	aside := OfferSetAside(d)
	if want := EncryptByDefault(d); !p.encryptSet && (offer || aside) && p.EncryptSwitch.Active() != want {
		p.defaulting = true
		p.EncryptSwitch.SetActive(want) // shows the part again, for want
		p.defaulting = false
		return
	}
	on := p.EncryptSwitch.Active()
	p.EncryptGroup.SetVisible(offer)
	p.AsideBox.SetVisible(aside)
	if p.AsideCheck.Active() != on {
		p.AsideCheck.SetActive(on)
	}
	if p.PlainCheck.Active() == on {
		p.PlainCheck.SetActive(!on)
	}
	p.EncryptBox.SetVisible((offer || aside) && on)
	p.EncryptNote.SetLabel(v.Note)
	p.EncryptNote.SetVisible(v.Note != "")
	p.EncryptErase.SetVisible(v.Erase)
	p.EncryptErase.SetSensitive(!p.running && !p.driveList.Busy())
	p.PassphraseBox.SetVisible(v.Possible)
	hint := PassphraseProblem(p.Passphrase.Text(), p.Confirm.Text())
	if hint == "" {
		hint = i18n.T(PassphraseGood)
	}
	if p.PassphraseHint.Label() != hint {
		p.PassphraseHint.SetLabel(hint)
	}
	for _, w := range []gtk.Widgetter{p.EncryptSwitch, p.AsideCheck, p.PlainCheck, p.Passphrase, p.Confirm, p.Remember} {
		gtk.BaseWidget(w).SetSensitive(!p.running)
	}
}

// showRecovery shows the recovery key the service gave, once, until the
// person says they have written it down; then goes on with then.
func (p *Page) showRecovery(key string, then func()) {
	p.afterRecovery = then
	p.RecoveryKey.SetLabel(key)
	p.WrittenDown.SetActive(false)
	p.ContinueButton.SetSensitive(false)
	p.Nav.SetVisible(false)
	p.NavSeparator.SetVisible(false)
	p.Steps.SetVisibleChildName("recovery")
}

func (p *Page) leaveRecovery() {
	if !p.WrittenDown.Active() || p.afterRecovery == nil {
		return
	}
	then := p.afterRecovery
	p.afterRecovery = nil
	// Not kept on screen or in the page: it was shown this once.
	p.RecoveryKey.SetLabel("")
	p.Nav.SetVisible(true)
	p.NavSeparator.SetVisible(true)
	p.Steps.SetVisibleChildName(steps[len(steps)-1])
	p.updateNav()
	then()
}

func (p *Page) chosen() DriveChoice {
	for _, d := range p.drives {
		if d.UUID == p.drive {
			return d
		}
	}
	return DriveChoice{Reason: i18n.T("No drive chosen")}
}

func (p *Page) choices() Choices {
	c := Choices{
		Drive: p.chosen(),
		// Encryption applies to a drive set up now only.
		Encryption: p.encryption(),
		Folders:    append([]string(nil), p.folders...),
		Schedule:   Hourly,
		OnChange:   p.OnChange.Active(),
		OnPlug:     p.OnPlug.Active(),
	}
	switch {
	case p.Daily.Active():
		c.Schedule = Daily
	case p.Manual.Active():
		c.Schedule = Manual
	}
	if !OfferEncryption(c.Drive) && !OfferSetAside(c.Drive) {
		c.Encryption = Encryption{}
	}
	if p.SkipDownloads.Active() && OfferSkip(p.downloads, p.home, p.folders) {
		c.Skip = []string{p.downloads}
	}
	return c
}

func (p *Page) updateSummary() {
	c := p.choices()
	drive := i18n.T("No drive chosen")
	if c.Drive.UUID != "" {
		drive = c.Drive.Title
	}
	switch {
	case c.SetAside():
		// TRANSLATORS: the setup's summary; %[1]s is the drive's name,
		// %[2]s the folder “Keepsake (not encrypted)”, which stays in English.
		drive = fmt.Sprintf(i18n.T("%[1]s, encrypted; the old, unencrypted backups stay in “%[2]s”"), drive, AsideFolder)
	case c.Encryption.On || c.Drive.Encrypted:
		// TRANSLATORS: %s is the drive's name, in the setup's summary.
		drive = fmt.Sprintf(i18n.T("%s, encrypted"), drive)
	}
	SetRowText(p.SummaryDrive, i18n.T("Drive"), drive)
	SetRowText(p.SummaryFolders, i18n.T("Folders"), Summary(c.Folders, p.home))
	SetRowText(p.SummarySchedule, i18n.T("Schedule"), ScheduleSummary(c))
	// Only enrolling a drive needs the password; say so only then.
	p.AdminNote.SetVisible(p.prog.Drive != c.Drive.UUID)
}

func (p *Page) start() {
	if p.running || !p.canLeave(0) || !p.canLeave(1) {
		return
	}
	c := p.choices()
	name := p.prog.Name
	if name == "" {
		name = ProfileName(p.login, p.taken)
	}
	prog := p.prog
	p.FinishButton.SetVisible(false)
	p.setRunning(true, "")
	ui.Call(p.env, func(ctx context.Context, cl *client.Client) (result, error) {
		prog, step, err := Run(ctx, cl, name, c, prog, func(s Step) {
			coreglib.IdleAdd(func() { p.BusyLabel.SetLabel(s.Doing()) })
		})
		return result{prog: prog, step: step, ran: true}, err
	}, func(r result, err error) {
		if !r.ran {
			// No connection: nothing ran, and what earlier attempts did
			// still stands.
			r.prog, r.step = prog, 0
			if plan := Plan(c, prog); len(plan) > 0 {
				r.step = plan[0]
			}
		}
		// The recovery key is shown once, then forgotten: a retry does
		// not enroll again, so it never comes back.
		key := r.prog.RecoveryKey
		r.prog.RecoveryKey = ""
		p.prog = r.prog
		p.env.Refresh()
		finish := func() {
			switch {
			case err == nil:
				p.setRunning(false, "")
				p.env.Toast(Finished(c, r.prog))
				p.done()
			case r.step == StepBackup:
				// Everything is saved: the user may try the backup again or
				// leave, and back up later from the overview.
				p.setRunning(false, Failure(r.step, r.prog, err))
				p.FinishButton.SetVisible(true)
			default:
				p.setRunning(false, Failure(r.step, r.prog, err))
			}
		}
		if key != "" {
			p.Passphrase.SetText("")
			p.Confirm.SetText("")
			p.showRecovery(key, finish)
			return
		}
		finish()
	})
}

type result struct {
	prog Progress
	step Step
	ran  bool
}

func (p *Page) setRunning(running bool, problem string) {
	p.running = running
	p.BusyBox.SetVisible(running)
	if running {
		p.BusyLabel.SetLabel(i18n.T("Saving your choices…"))
		p.BusySpinner.Start()
	} else {
		p.BusySpinner.Stop()
	}
	p.ErrorLabel.SetLabel(problem)
	p.ErrorLabel.SetVisible(problem != "")
	if problem != "" {
		p.StartButton.SetLabel(i18n.T("_Try Again"))
	}
	p.driveList.SetSensitive(!running)
	for _, r := range p.folderRows {
		r.SetSensitive(!running)
	}
	p.updateNav()
	p.updateSummary()
}
