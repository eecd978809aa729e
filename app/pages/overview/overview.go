package overview

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"reflect"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/diamondburned/gotk4-adwaita/pkg/adw"
	coreglib "github.com/diamondburned/gotk4/pkg/core/glib"
	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/app/computers"
	"github.com/keepsake/keepsake/app/humanize"
	"github.com/keepsake/keepsake/app/live"
	"github.com/keepsake/keepsake/app/pages/prefs"
	"github.com/keepsake/keepsake/app/pages/setup"
	"github.com/keepsake/keepsake/app/pages/unlock"
	"github.com/keepsake/keepsake/app/ui"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/dbusapi"
	"github.com/keepsake/keepsake/shared/i18n"
)

//go:embed overview.ui
var overviewUI string

// Page is the overview.
type Page struct {
	*gtk.ScrolledWindow `ui:"root"`

	StateIcon      *gtk.Image            `ui:"state_icon"`
	ComputerLabel  *gtk.Label            `ui:"computer_label"`
	ComputersGroup *adw.PreferencesGroup `ui:"computers_group"`
	ComputerList   *gtk.ListBox          `ui:"computer_list"`
	AddComputerRow *adw.ActionRow        `ui:"add_computer_row"`
	Headline       *gtk.Label            `ui:"headline"`
	Summary        *gtk.Label            `ui:"summary"`
	JobBox         *gtk.Box              `ui:"job_box"`
	JobTitle       *gtk.Label            `ui:"job_title"`
	JobProgress    *gtk.ProgressBar      `ui:"job_progress"`
	JobDetail      *gtk.Label            `ui:"job_detail"`
	CancelButton   *gtk.Button           `ui:"cancel_button"`
	BackupButton   *gtk.Button           `ui:"backup_button"`
	ErrorGroup     *adw.PreferencesGroup `ui:"error_group"`
	ErrorRow       *adw.ActionRow        `ui:"error_row"`
	ProblemsGroup  *adw.PreferencesGroup `ui:"problems_group"`
	ProblemsRow    *adw.ExpanderRow      `ui:"problems_row"`
	MountsGroup    *adw.PreferencesGroup `ui:"mounts_group"`
	DriveRow       *adw.ActionRow        `ui:"drive_row"`
	DriveState     *gtk.Label            `ui:"drive_state"`
	UnlockButton   *gtk.Button           `ui:"unlock_button"`
	FoldersRow     *adw.ActionRow        `ui:"folders_row"`
	ScheduleRow    *adw.ActionRow        `ui:"schedule_row"`

	env *ui.Env
	job dbus.ObjectPath // the job the progress shows
	// rows are the computers listed, before the "add" row.
	rows []*computerRow
	home string
	// problems and mounts are what the rows below show, rebuilt only when
	// they change so that focus and the open list survive a refresh.
	problems    ProblemList
	problemRows []gtk.Widgetter
	mounts      MountList
	mountRows   []mountRow
}

// mountRow is a mount point's row, with its Include button (nil once
// included).
type mountRow struct {
	row     *adw.ActionRow
	include *gtk.Button
}

// computerRow is one computer in the list.
type computerRow struct {
	name   string
	row    *adw.ActionRow
	icon   *gtk.Image
	status *gtk.Image
	review *gtk.Button
	mark   *gtk.Image
}

// New builds the overview.
func New(env *ui.Env) *Page {
	p := &Page{env: env}
	p.home, _ = os.UserHomeDir()
	ui.Fill(p, overviewUI)
	p.BackupButton.ConnectClicked(p.backUpNow)
	setup.Plain(coreglib.InternObject(p.AddComputerRow))
	p.CancelButton.ConnectClicked(p.cancel)
	p.UnlockButton.ConnectClicked(p.unlock)
	// An action row's own signal: clicks, keys and assistive
	// technologies all end there.
	p.AddComputerRow.ConnectActivated(func() {
		if p.env.AddComputer != nil {
			p.env.AddComputer()
		}
	})
	return p
}

func (p *Page) backUpNow() {
	name := p.env.Profile()
	p.BackupButton.SetSensitive(false)
	ui.Call(p.env, func(ctx context.Context, c *client.Client) (dbus.ObjectPath, error) {
		return c.BackupNow(ctx, name, api.BackupOptions{})
	}, func(_ dbus.ObjectPath, err error) {
		p.BackupButton.SetSensitive(true)
		if err != nil {
			p.env.Toast(humanize.Error(err))
		}
		p.env.Refresh()
	})
}

// unlock opens the unlock dialog of the shown profile's drive; the
// profile is backed up once it is unlocked.
func (p *Page) unlock() {
	st := p.env.State()
	prof, ok := st.Profile(p.env.Profile())
	if !ok {
		return
	}
	if d, ok := st.Drive(prof.Drive); ok && unlock.Needed(d) {
		unlock.Open(p.env, d, prof.Name)
	}
}

func (p *Page) cancel() {
	job := p.job
	if job == "" {
		return
	}
	p.CancelButton.SetSensitive(false)
	ui.Call(p.env, func(ctx context.Context, c *client.Client) (struct{}, error) {
		return struct{}{}, c.Cancel(ctx, job, api.Auth{})
	}, func(_ struct{}, err error) {
		p.CancelButton.SetSensitive(true)
		if err != nil {
			p.env.Toast(humanize.Error(err))
		}
		p.env.Refresh()
	})
}

// Update shows a reading of the service.
func (p *Page) Update(st live.State) {
	now := time.Now()
	shown := p.env.Profile()
	p.showComputers(st, shown, now)
	prof, ok := st.Profile(shown)
	if !ok {
		return
	}
	v := View(st, prof, now)
	p.ComputerLabel.SetVisible(len(p.rows) > 0)
	p.ComputerLabel.SetLabel(computers.Title(prof, st.Profiles))
	p.StateIcon.SetFromIconName(v.Icon)
	// The app's own icon is in colour; the symbolic state icons are dimmed.
	if strings.HasSuffix(v.Icon, "-symbolic") {
		p.StateIcon.AddCSSClass("dim-label")
	} else {
		p.StateIcon.RemoveCSSClass("dim-label")
	}
	p.Headline.SetLabel(v.Headline)
	p.Summary.SetLabel(v.Summary)
	p.ErrorGroup.SetVisible(v.Error != "")
	p.ErrorRow.SetTitle(v.Error)
	p.DriveRow.SetTitle(v.DriveTitle)
	p.DriveRow.SetSubtitle(v.DriveSubtitle)
	p.DriveState.SetLabel(v.DriveState)
	p.UnlockButton.SetVisible(v.Unlock)
	p.FoldersRow.SetSubtitle(humanize.Escape(v.Folders))
	p.ScheduleRow.SetSubtitle(v.Schedule)
	// Another computer's paths are its own: its home is not this one's.
	home := p.home
	if computers.IsRemote(prof) {
		home = ""
	}
	p.showProblems(Problems(prof, home))
	p.showMounts(Mounts(prof, home))

	p.job = ""
	job, running := st.Job(prof.Job)
	running = running && !job.Finished
	p.JobBox.SetVisible(running)
	p.BackupButton.SetVisible(!running)
	if !running {
		// Cleared, not only hidden: assistive technologies (and the UI
		// tests) read the text of hidden widgets too in GTK 4.8.
		p.JobTitle.SetLabel("")
		p.JobDetail.SetLabel("")
	} else {
		p.job = job.Path
		p.JobTitle.SetLabel(humanize.Operation(job.Operation))
		if job.Progress > 0 {
			p.JobProgress.SetFraction(job.Progress)
		} else {
			p.JobProgress.Pulse()
		}
		p.JobDetail.SetLabel(humanize.Progress(job, now))
		p.CancelButton.SetVisible(job.Cancelable)
	}
}

// showProblems lists what the last backup could not take, in a row that
// opens on them.
func (p *Page) showProblems(l ProblemList) {
	p.ProblemsGroup.SetVisible(l.Title != "")
	p.ProblemsGroup.SetDescription(humanize.Escape(l.Description))
	p.ProblemsRow.SetTitle(humanize.Escape(l.Title))
	if reflect.DeepEqual(l, p.problems) && len(p.problemRows) > 0 {
		return
	}
	p.problems = l
	for _, r := range p.problemRows {
		p.ProblemsRow.Remove(r)
	}
	p.problemRows = p.problemRows[:0]
	for _, pr := range l.Rows {
		row := setup.NewRow(pr.Path, pr.What)
		p.ProblemsRow.AddRow(row)
		p.problemRows = append(p.problemRows, row)
	}
	if l.More != "" {
		row := setup.NewRow(l.More, "")
		row.AddCSSClass("dim-label")
		p.ProblemsRow.AddRow(row)
		p.problemRows = append(p.problemRows, row)
	}
}

// showMounts says which other drives mounted inside the folders the last
// backup left out, each with a button that includes it from the next
// backup on.
func (p *Page) showMounts(l MountList) {
	p.MountsGroup.SetVisible(len(l.Rows) > 0)
	p.MountsGroup.SetDescription(humanize.Escape(l.Description))
	if reflect.DeepEqual(l, p.mounts) && len(p.mountRows) > 0 {
		return
	}
	p.mounts = l
	for _, r := range p.mountRows {
		p.MountsGroup.Remove(r.row)
	}
	p.mountRows = p.mountRows[:0]
	for _, m := range l.Rows {
		m := m
		// TRANSLATORS: under another drive mounted inside a backed-up folder.
		note := i18n.T("Only its empty folder is kept")
		if m.Included {
			note = i18n.T("Included from the next backup")
		}
		r := mountRow{row: setup.NewRow(m.Title, note)}
		r.row.AddPrefix(gtk.NewImageFromIconName("drive-harddisk-symbolic"))
		if !m.Included {
			r.include = gtk.NewButtonWithMnemonic(i18n.T("_Include"))
			r.include.SetVAlign(gtk.AlignCenter)
			// TRANSLATORS: the accessible name of the Include button; %s is
			// a mount point ("~/nas").
			ui.SetAccessibleName(r.include, fmt.Sprintf(i18n.T("Include %s"), humanize.Display(m.Title)))
			include := r.include
			include.ConnectClicked(func() { p.includeMount(m.Path, include) })
			r.row.AddSuffix(include)
		}
		p.MountsGroup.Add(r.row)
		p.mountRows = append(p.mountRows, r)
	}
}

// includeMount adds a mount point to the profile's included mounts, read
// from the service just before so a change made meanwhile is kept.
func (p *Page) includeMount(path string, button *gtk.Button) {
	name, home := p.env.Profile(), p.home
	button.SetSensitive(false)
	ui.Call(p.env, func(ctx context.Context, c *client.Client) (string, error) {
		return prefs.IncludeMount(ctx, c, name, path, home)
	}, func(problem string, err error) {
		button.SetSensitive(true)
		switch {
		case err != nil:
			p.env.Toast(humanize.Error(err))
		case problem != "":
			p.env.Toast(humanize.Escape(problem))
		}
		p.env.Refresh()
	})
}

// showComputers lists the computers, updating the rows in place while the
// same computers are listed (rebuilding them would lose the focus).
func (p *Page) showComputers(st live.State, shown string, now time.Time) {
	title, rows := Computers(st, now)
	p.ComputersGroup.SetTitle(title)
	same := len(rows) == len(p.rows)
	for i := 0; same && i < len(rows); i++ {
		same = rows[i].Name == p.rows[i].name
	}
	if !same {
		for _, r := range p.rows {
			p.ComputerList.Remove(r.row)
		}
		p.rows = p.rows[:0]
		for i, r := range rows {
			cr := p.newComputerRow(r.Name)
			p.ComputerList.Insert(cr.row, i)
			p.rows = append(p.rows, cr)
		}
	}
	for i, r := range rows {
		p.rows[i].show(r, r.Name == shown && len(rows) > 1)
	}
}

func (p *Page) newComputerRow(name string) *computerRow {
	r := &computerRow{name: name, row: adw.NewActionRow()}
	setup.Plain(coreglib.InternObject(r.row))
	r.row.SetActivatable(true)
	r.row.ConnectActivated(func() {
		if p.env.Select != nil {
			p.env.Select(name)
		}
	})
	r.row.SetSubtitleLines(0)
	r.icon = gtk.NewImage()
	r.row.AddPrefix(r.icon)
	r.status = gtk.NewImageFromIconName("dialog-warning-symbolic")
	r.row.AddSuffix(r.status)
	r.review = gtk.NewButtonWithMnemonic(i18n.T("Check _Key…"))
	r.review.SetVAlign(gtk.AlignCenter)
	r.review.ConnectClicked(func() {
		if p.env.ReviewKey != nil {
			p.env.ReviewKey(name)
		}
	})
	r.row.AddSuffix(r.review)
	r.mark = gtk.NewImageFromIconName("object-select-symbolic")
	// TRANSLATORS: the tooltip of the check mark on the computer shown.
	r.mark.SetTooltipText(i18n.T("Shown"))
	r.row.AddSuffix(r.mark)
	return r
}

func (r *computerRow) show(c computers.Row, selected bool) {
	setup.SetRowText(r.row, c.Title, c.Subtitle)
	r.icon.SetFromIconName(c.Icon)
	r.status.SetVisible(c.Kind != computers.Fine)
	r.status.RemoveCSSClass("warning")
	r.status.RemoveCSSClass("error")
	switch c.Kind {
	case computers.Warning:
		r.status.AddCSSClass("warning")
		r.status.SetTooltipText(i18n.T("Needs attention"))
	case computers.Problem:
		r.status.AddCSSClass("error")
		// TRANSLATORS: the tooltip of a computer's error icon.
		r.status.SetTooltipText(i18n.T("Backups of it fail"))
	}
	r.review.SetVisible(c.Action == computers.ReviewKey)
	// TRANSLATORS: the accessible name of Check Key…; %s is a computer.
	ui.SetAccessibleName(r.review, fmt.Sprintf(i18n.T("Check Key of %s"), c.Title))
	r.mark.SetVisible(selected)
}

// Computers is the list of computers: its title, and the rows to show.
// One computer alone (this one) needs no row of its own: the page is
// about it already, and the list only offers to add another.
func Computers(st live.State, now time.Time) (title string, rows []computers.Row) {
	rows = computers.Rows(st, now)
	if len(rows) == 1 && !rows[0].Remote {
		return i18n.T("Other Computers"), nil
	}
	return i18n.T("Computers"), rows
}

// ViewModel is what the overview shows, computed without GTK.
type ViewModel struct {
	Icon, Headline, Summary               string
	Error                                 string
	DriveTitle, DriveSubtitle, DriveState string
	// Unlock offers "Unlock…" on the drive's row: it is plugged in,
	// encrypted and locked.
	Unlock            bool
	Folders, Schedule string
}

// View computes the overview of a profile.
func View(st live.State, prof client.Profile, now time.Time) ViewModel {
	v := ViewModel{Icon: "io.github.keepsake.Keepsake", Headline: humanize.State(prof)}
	switch dbusapi.ProfileState(prof.State) {
	case dbusapi.StateFailed:
		v.Icon = "dialog-warning-symbolic"
	case dbusapi.StateRunning:
		v.Icon = "emblem-synchronizing-symbolic"
	case dbusapi.StateWaitingForDrive, dbusapi.StateNoDrive:
		v.Icon = "drive-harddisk-symbolic"
	}
	if prof.LastSuccess == 0 && dbusapi.ProfileState(prof.State) == dbusapi.StateIdle {
		v.Headline = i18n.T("Not backed up yet")
	}
	// TRANSLATORS: %s is when, as in "5 minutes ago", "yesterday at 14:05", "never".
	last := fmt.Sprintf(i18n.T("Last backup: %s"), humanize.When(client.Time(prof.LastSuccess), now))
	next := ""
	if prof.NextRun > 0 {
		// TRANSLATORS: the next backup; %s is when, as in "in 5 minutes",
		// "tomorrow at 09:00".
		next = fmt.Sprintf(i18n.T("Next: %s"), humanize.Until(client.Time(prof.NextRun), now))
	} else if prof.Interval == 0 {
		next = i18n.T("Backups run when you ask")
	}
	v.Summary = strings.TrimSpace(last + "\n" + next)
	if prof.LastResult != "" && prof.LastResult != "Cancelled" {
		v.Error = humanize.ErrorText(prof.LastResult, prof.LastMessage)
	}
	if prof.WatchProblem != "" && v.Error == "" {
		// TRANSLATORS: %s is the reason, from the system (in English).
		v.Error = fmt.Sprintf(i18n.T("Changes are not watched (%s), so backups read every folder."), prof.WatchProblem)
	}

	v.DriveTitle = i18n.T("No drive chosen")
	v.DriveState = ""
	if d, ok := st.Drive(prof.Drive); ok {
		v.DriveTitle = DriveName(d)
		switch {
		case d.Present:
			v.DriveState = i18n.P("drive", "Connected")
		default:
			v.DriveState = i18n.P("drive", "Not connected")
		}
		if d.Warning != "" {
			v.DriveSubtitle = d.Warning
		} else if free := freeOf(d, prof); free >= 0 {
			// TRANSLATORS: the backup drive's free space ("200 GB free").
			v.DriveSubtitle = fmt.Sprintf(i18n.T("%s free"), humanize.Size(free))
			if d.Size > 0 {
				// TRANSLATORS: the backup drive's free space and size
				// ("200 GB free of 500 GB").
				v.DriveSubtitle = fmt.Sprintf(i18n.T("%[1]s free of %[2]s"), humanize.Size(free), humanize.Size(int64(d.Size)))
			}
		}
		v.Unlock = unlock.Needed(d)
		switch {
		case v.Unlock:
			v.DriveState = i18n.P("drive", "Locked")
			v.DriveSubtitle = i18n.T("Encrypted: unlock it to back up")
		case d.Encrypted && v.DriveSubtitle != "":
			// TRANSLATORS: %s is the drive's free space ("200 GB free of 500 GB").
			v.DriveSubtitle = fmt.Sprintf(i18n.T("Encrypted · %s"), v.DriveSubtitle)
		case d.Encrypted:
			v.DriveSubtitle = i18n.P("drive", "Encrypted")
		}
	} else if prof.DriveUUID != "" {
		// TRANSLATORS: a drive without a label; %s is its UUID.
		v.DriveTitle = fmt.Sprintf(i18n.T("Drive %s"), prof.DriveUUID)
		v.DriveState = i18n.P("drive", "Not connected")
	}
	folders := computers.Folders(prof)
	switch len(folders) {
	case 0:
		// TRANSLATORS: no folder is backed up.
		v.Folders = i18n.P("folders", "None")
	case 1, 2, 3:
		v.Folders = humanize.Display(strings.Join(folders, ", "))
	default:
		n := len(folders) - 2
		// TRANSLATORS: %[1]s is two folders ("~/Documents, ~/Photos"),
		// %[2]s how many more are backed up.
		v.Folders = fmt.Sprintf(i18n.N("%[1]s and %[2]s more", "%[1]s and %[2]s more", n),
			humanize.Display(strings.Join(folders[:2], ", ")), humanize.Count(n))
	}
	if where := computers.Where(prof); where != "" {
		// TRANSLATORS: %[1]s are the folders backed up, %[2]s the other
		// computer they are on ("ann@laptop").
		v.Folders = fmt.Sprintf(i18n.T("%[1]s on %[2]s"), v.Folders, where)
	}
	v.Schedule = upper(humanize.Interval(time.Duration(prof.Interval) * time.Second))
	switch {
	case prof.OnChange && prof.OnPlug:
		// TRANSLATORS: %s is how often backups run ("Every hour").
		v.Schedule = fmt.Sprintf(i18n.T("%s, and after changes, and when the drive is plugged in"), v.Schedule)
	case prof.OnChange:
		// TRANSLATORS: %s is how often backups run ("Every hour").
		v.Schedule = fmt.Sprintf(i18n.T("%s, and after changes"), v.Schedule)
	case prof.OnPlug:
		// TRANSLATORS: %s is how often backups run ("Every hour").
		v.Schedule = fmt.Sprintf(i18n.T("%s, and when the drive is plugged in"), v.Schedule)
	}
	return v
}

func freeOf(d client.Drive, prof client.Profile) int64 {
	if d.Free >= 0 && (d.Free > 0 || d.Present) {
		return d.Free
	}
	return prof.TargetFree
}

// DriveName is how a drive is called: its label, else its size.
func DriveName(d client.Drive) string {
	if d.Label != "" {
		return d.Label
	}
	if d.Size > 0 {
		// TRANSLATORS: a drive without a label, by its size ("500 GB Drive").
		return fmt.Sprintf(i18n.T("%s Drive"), humanize.Size(int64(d.Size)))
	}
	// TRANSLATORS: a drive without a label; %s is its UUID.
	return fmt.Sprintf(i18n.T("Drive %s"), d.UUID)
}

func upper(s string) string {
	if s == "" {
		return s
	}
	// The first letter, not the first byte: a translated sentence can
	// start with "ś" or "ü".
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}
