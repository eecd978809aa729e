package computer

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"reflect"

	"github.com/diamondburned/gotk4-adwaita/pkg/adw"
	coreglib "github.com/diamondburned/gotk4/pkg/core/glib"
	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/app/computers"
	"github.com/keepsake/keepsake/app/humanize"
	"github.com/keepsake/keepsake/app/live"
	"github.com/keepsake/keepsake/app/pages/setup"
	"github.com/keepsake/keepsake/app/ui"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/i18n"
)

//go:embed computer.ui
var computerUI string

// steps are the stack's pages, in order.
var steps = []string{"computer", "key", "check"}

// Page adds another computer.
type Page struct {
	*gtk.Box `ui:"root"`

	Steps        *gtk.Stack            `ui:"steps"`
	AddressEntry *gtk.Entry            `ui:"address_entry"`
	AddressNote  *gtk.Label            `ui:"address_note"`
	FoldersEntry *gtk.Entry            `ui:"folders_entry"`
	FoldersNote  *gtk.Label            `ui:"folders_note"`
	NameEntry    *gtk.Entry            `ui:"name_entry"`
	NameNote     *gtk.Label            `ui:"name_note"`
	Hourly       *gtk.CheckButton      `ui:"hourly"`
	Daily        *gtk.CheckButton      `ui:"daily"`
	Weekly       *gtk.CheckButton      `ui:"weekly"`
	DriveGroup   *adw.PreferencesGroup `ui:"drive_group"`
	DriveList    *gtk.ListBox          `ui:"drive_list"`
	EraseSlot    *adw.Bin              `ui:"erase_slot"`
	KeyIntro     *gtk.Label            `ui:"key_intro"`
	KeyStack     *gtk.Stack            `ui:"key_stack"`
	KeySpinner   *gtk.Spinner          `ui:"key_spinner"`
	KeyLine      *gtk.Label            `ui:"key_line"`
	KeyError     *gtk.Label            `ui:"key_error"`
	KeyRetry     *gtk.Button           `ui:"key_retry"`
	KeyHelp      *gtk.Label            `ui:"key_help"`
	CopyButton   *gtk.Button           `ui:"copy_button"`
	CheckIntro   *gtk.Label            `ui:"check_intro"`
	CheckSlot    *adw.Bin              `ui:"check_slot"`
	StartError   *gtk.Label            `ui:"start_error"`
	StartButton  *gtk.Button           `ui:"start_button"`
	FinishButton *gtk.Button           `ui:"finish_button"`
	CancelButton *gtk.Button           `ui:"cancel_button"`
	BackButton   *gtk.Button           `ui:"back_button"`
	NextButton   *gtk.Button           `ui:"next_button"`
	StepLabel    *gtk.Label            `ui:"step_label"`

	// Check is the host key check of the last step.
	Check *KeyCheck

	env *ui.Env
	svc Service // a test's stand-in for the service
	// done is called when the person leaves: with the new computer's
	// profile once its backup started or they finished, "" when they
	// cancelled.
	done func(profile string)

	taken []string
	// drive is the drive the profile's own computer backs up to; when
	// there is none (known false) the person picks one of drives.
	drive     setup.DriveChoice
	known     bool
	drives    []setup.DriveChoice
	driveList *setup.DriveList
	chosen    string // UUID of the drive picked from the list

	key        string // the authorized_keys line
	keyLoading bool
	// tried: Next was pressed, so every problem of the first step shows.
	tried    bool
	choices  Choices // what the later steps were made for
	prog     Progress
	starting bool
	uid      uint32
}

// New builds the page; done is told when the person leaves it.
func New(env *ui.Env, done func(profile string)) *Page {
	p := &Page{env: env, done: done, uid: uint32(os.Getuid())}
	ui.Fill(p, computerUI)
	p.driveList = setup.NewDriveList(p.DriveList, p.EraseSlot, env, func() {
		if p.Check != nil { // the list is made before the key check
			p.updateNav()
		}
	})
	noHyphens(p.KeyLine)
	p.Check = NewKeyCheck(env, p.prepare, p.updateNav)
	p.CheckSlot.SetChild(p.Check.Root)

	p.CancelButton.ConnectClicked(p.cancel)
	p.BackButton.ConnectClicked(func() { p.move(-1) })
	p.NextButton.ConnectClicked(func() { p.move(+1) })
	p.KeyRetry.ConnectClicked(p.loadKey)
	p.CopyButton.ConnectClicked(p.copyKey)
	p.StartButton.ConnectClicked(p.start)
	p.FinishButton.ConnectClicked(func() {
		if !p.starting {
			p.done(p.prog.Name)
		}
	})
	for _, e := range []*gtk.Entry{p.AddressEntry, p.FoldersEntry, p.NameEntry} {
		e.ConnectChanged(p.validate)
		e.ConnectActivate(func() { p.move(+1) })
	}
	p.AddressEntry.ConnectChanged(p.suggestName)
	p.Reset(live.State{})
	return p
}

// SetService makes the page call svc instead of the app's connection
// (for tests).
func (p *Page) SetService(svc Service) {
	p.svc = svc
	p.Check.svc = svc
}

// Reset starts afresh, for a new computer.
func (p *Page) Reset(st live.State) {
	p.tried, p.starting = false, false
	p.prog, p.choices = Progress{}, Choices{}
	p.key, p.chosen = "", ""
	p.AddressEntry.SetText("")
	p.FoldersEntry.SetText(DefaultFolders)
	p.NameEntry.SetText("")
	p.Daily.SetActive(true)
	p.StartError.SetVisible(false)
	p.StartButton.SetLabel(i18n.T("_Start First Backup"))
	p.FinishButton.SetVisible(false)
	p.KeyLine.SetLabel("")
	p.CopyButton.SetSensitive(false)
	p.Check.profile = ""
	p.Check.Reset("")
	p.Steps.SetVisibleChildName(steps[0])
	p.Update(st)
	p.validate()
}

// Update follows the service: the names in use and the drives.
func (p *Page) Update(st live.State) {
	if st.Err != nil {
		return
	}
	p.taken = p.taken[:0]
	for _, prof := range st.Profiles {
		p.taken = append(p.taken, prof.Name)
	}
	own := ""
	if p.env.Profile != nil {
		own = p.env.Profile()
	}
	p.drive, p.known = DriveFor(st, own)
	choices := setup.DriveChoices(st.Drives)
	if !p.known && !reflect.DeepEqual(choices, p.drives) {
		p.drives = choices
		if p.prog.Drive == "" {
			p.chosen = setup.PickDrive(choices, p.chosen)
		}
		p.showDrives()
	}
	p.DriveGroup.SetVisible(!p.known)
	p.updateNav()
}

func (p *Page) showDrives() {
	p.driveList.Show(p.drives, p.chosen, func(uuid string) {
		p.chosen = uuid
		p.updateNav()
	})
}

// chosenDrive is the drive the computer goes to.
func (p *Page) chosenDrive() setup.DriveChoice {
	if p.known {
		return p.drive
	}
	for _, d := range p.drives {
		if d.UUID == p.chosen && d.Selectable() {
			return d
		}
	}
	return setup.DriveChoice{}
}

// suggestName shows the name the computer gets when none is typed.
func (p *Page) suggestName() {
	r, err := ParseAddress(p.AddressEntry.Text())
	if err != nil {
		p.NameEntry.SetPlaceholderText("laptop")
		return
	}
	p.NameEntry.SetPlaceholderText(r.DefaultName())
}

// read reads the first step; ok when everything in it can be used.
func (p *Page) read() (Choices, map[*gtk.Label]string, bool) {
	notes := map[*gtk.Label]string{}
	c := Choices{Schedule: Daily, Drive: p.chosenDrive()}
	switch {
	case p.Hourly.Active():
		c.Schedule = Hourly
	case p.Weekly.Active():
		c.Schedule = Weekly
	}
	if p.uid != 0 {
		c.Viewer = p.uid
	}
	r, err := ParseAddress(p.AddressEntry.Text())
	if err != nil {
		notes[p.AddressNote] = err.Error()
		// "Type the address" is the placeholder's job until Next.
		if p.AddressEntry.Text() == "" && !p.tried {
			notes[p.AddressNote] = ""
		}
	}
	c.Remote = r
	folders, err := ParseFolders(p.FoldersEntry.Text())
	if err != nil {
		notes[p.FoldersNote] = err.Error()
	}
	c.Folders = folders
	c.Name = p.NameEntry.Text()
	if err := CheckName(c.Name); err != nil {
		notes[p.NameNote] = err.Error()
	}
	ok := r.Host != "" && len(folders) > 0 && CheckName(c.Name) == nil && c.Drive.UUID != ""
	return c, notes, ok
}

func (p *Page) validate() {
	_, notes, _ := p.read()
	for _, l := range []*gtk.Label{p.AddressNote, p.FoldersNote, p.NameNote} {
		msg := notes[l]
		l.SetLabel(msg)
		l.SetVisible(msg != "")
	}
	p.updateNav()
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

func (p *Page) busy() bool { return p.starting || p.Check.Busy() || p.driveList.Busy() }

func (p *Page) move(by int) {
	i := p.index()
	if p.busy() || i+by < 0 || i+by >= len(steps) {
		return
	}
	if by > 0 && steps[i] == "computer" {
		p.tried = true
		p.validate()
		c, _, ok := p.read()
		if !ok {
			return
		}
		p.enter(c)
	}
	p.Steps.SetVisibleChildName(steps[i+by])
	if steps[i+by] == "key" && p.key == "" && !p.keyLoading {
		p.loadKey()
	}
	p.updateNav()
}

// enter takes the first step's choices for the next steps. Another
// computer than the one checked before needs its key checked again.
func (p *Page) enter(c Choices) {
	title := c.HostName()
	if c.Remote.String() != p.choices.Remote.String() || title != p.choices.HostName() {
		p.Check.Reset(title)
		p.StartButton.SetVisible(false)
		p.StartError.SetVisible(false)
		p.FinishButton.SetVisible(false)
	}
	p.choices = c
	user := c.Remote.User
	// TRANSLATORS: %[1]s is the other computer's name, %[2]s the user there.
	p.KeyIntro.SetLabel(fmt.Sprintf(i18n.T("On %[1]s, add this line to the file ~/.ssh/authorized_keys of the user %[2]s (make the folder .ssh and the file if they are not there). With it, Keepsake may read the files there, and do nothing else."),
		title, user))
	// TRANSLATORS: %[1]s is the other computer's name, %[2]s the user there,
	// %[3]s the address Keepsake logs in to ("ann@laptop.local").
	p.KeyHelp.SetLabel(fmt.Sprintf(i18n.T("Copy the line, then on %[1]s open the file in a text editor as %[2]s, paste it on a line of its own and save. Keepsake logs in to %[3]s with it."),
		title, user, computers.Address(c.Remote)))
	// TRANSLATORS: %s is the other computer's name.
	p.CheckIntro.SetLabel(fmt.Sprintf(i18n.T("Keepsake saves the computer and asks it who it is. Compare the answer with what %s itself shows, so that you know it is the right computer."),
		title))
}

func (p *Page) updateNav() {
	i := p.index()
	// TRANSLATORS: %[1]d is the step shown, %[2]d how many there are.
	p.StepLabel.SetLabel(fmt.Sprintf(i18n.T("Step %[1]d of %[2]d"), i+1, len(steps)))
	busy := p.busy()
	p.CancelButton.SetVisible(i == 0)
	p.BackButton.SetVisible(i > 0)
	p.BackButton.SetSensitive(!busy)
	p.CancelButton.SetSensitive(!busy)
	p.NextButton.SetVisible(i < len(steps)-1)
	_, _, ok := p.read()
	p.NextButton.SetSensitive(!busy && (steps[i] != "computer" || ok))
	switch {
	case steps[i] == "computer" && !ok && p.chosenDrive().UUID == "":
		p.NextButton.SetTooltipText(i18n.T("Choose a backup drive first"))
	case steps[i] == "computer" && !ok:
		p.NextButton.SetTooltipText(i18n.T("Type the address first"))
	default:
		p.NextButton.SetTooltipText("")
	}
	accepted := p.Check.Accepted()
	p.StartButton.SetVisible(accepted && p.prog.Started == "")
	p.StartButton.SetSensitive(!busy)
	p.FinishButton.SetSensitive(!busy)
}

func (p *Page) loadKey() {
	p.keyLoading = true
	p.KeyStack.SetVisibleChildName("loading")
	p.KeySpinner.Start()
	p.CopyButton.SetSensitive(false)
	call(p.env, p.svc, func(ctx context.Context, s Service) (string, error) {
		return s.RemoteKey(ctx, api.RemoteKeyOptions{})
	}, func(line string, err error) {
		p.keyLoading = false
		p.KeySpinner.Stop()
		if err != nil {
			// TRANSLATORS: %s is what went wrong, a sentence or two.
			p.KeyError.SetLabel(fmt.Sprintf(i18n.T("Keepsake’s key could not be shown. %s"), humanize.Error(err)))
			p.KeyStack.SetVisibleChildName("error")
			return
		}
		p.key = line
		p.KeyLine.SetLabel(line)
		p.KeyStack.SetVisibleChildName("line")
		p.CopyButton.SetSensitive(true)
	})
}

func (p *Page) copyKey() {
	if p.key == "" {
		return
	}
	p.CopyButton.Clipboard().SetText(p.key)
	p.env.Toast(i18n.T("Key copied"))
}

// prepare saves the computer before its key is asked for: the service
// asks the computer at the profile's address.
func (p *Page) prepare() Prepare {
	c, prog := p.choices, p.prog
	name := prog.Name
	if name == "" {
		name = ProfileName(c, p.taken)
	}
	return func(ctx context.Context, s Service) (string, Stage, error) {
		prog, stage, err := Save(ctx, s, name, c, prog)
		// Queued before the check's answer, so the page knows what is
		// saved when it shows the outcome.
		coreglib.IdleAdd(func() { p.prog = prog })
		return prog.Name, stage, err
	}
}

func (p *Page) start() {
	if p.busy() || p.prog.Name == "" {
		return
	}
	name := p.prog.Name
	p.starting = true
	p.StartError.SetVisible(false)
	p.updateNav()
	call(p.env, p.svc, func(ctx context.Context, s Service) (dbus.ObjectPath, error) {
		return StartBackup(ctx, s, name)
	}, func(job dbus.ObjectPath, err error) {
		p.starting = false
		p.env.Refresh()
		if err != nil {
			p.StartError.SetLabel(Failure(StageBackup, err))
			p.StartError.SetVisible(true)
			p.StartButton.SetLabel(i18n.T("_Try Again"))
			p.FinishButton.SetVisible(true)
			p.updateNav()
			return
		}
		p.prog.Started = job
		p.updateNav()
		// TRANSLATORS: %s is the other computer's name.
		p.env.Toast(humanize.Escape(fmt.Sprintf(i18n.T("The first backup of %s has started."), p.choices.HostName())))
		p.done(name)
	})
}

func (p *Page) cancel() {
	if p.busy() {
		return
	}
	if p.prog.Name != "" && !p.Check.Accepted() {
		// TRANSLATORS: %s is the other computer's name.
		p.env.Toast(humanize.Escape(fmt.Sprintf(i18n.T("%s is saved, but not backed up until its key is checked. The overview offers to check it."), p.choices.HostName())))
	}
	p.done("")
}
