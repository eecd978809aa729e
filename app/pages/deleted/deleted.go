package deleted

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"time"

	"github.com/diamondburned/gotk4-adwaita/pkg/adw"
	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/diamondburned/gotk4/pkg/pango"
	"github.com/keepsake/keepsake/app/computers"
	"github.com/keepsake/keepsake/app/humanize"
	"github.com/keepsake/keepsake/app/live"
	"github.com/keepsake/keepsake/app/ui"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/i18n"
)

//go:embed deleted.ui
var deletedUI string

// Page lists the files deleted from a folder and restores them.
type Page struct {
	*gtk.Box `ui:"root"`

	Scroller        *gtk.ScrolledWindow `ui:"scroller"`
	FolderRow       *adw.ActionRow      `ui:"folder_row"`
	FolderButton    *gtk.Button         `ui:"folder_button"`
	SinceRow        *adw.ComboRow       `ui:"since_row"`
	Stack           *gtk.Stack          `ui:"stack"`
	EmptyPage       *adw.StatusPage     `ui:"empty_page"`
	ErrorPage       *adw.StatusPage     `ui:"error_page"`
	CountLabel      *gtk.Label          `ui:"count_label"`
	Files           *gtk.ListBox        `ui:"files"`
	ProgressBox     *gtk.Box            `ui:"progress_box"`
	ProgressBar     *gtk.ProgressBar    `ui:"progress_bar"`
	ProgressDetail  *gtk.Label          `ui:"progress_detail"`
	ActionBar       *gtk.ActionBar      `ui:"action_bar"`
	SelectedLabel   *gtk.Label          `ui:"selected_label"`
	RestoreButton   *gtk.Button         `ui:"restore_button"`
	SelectAllButton *gtk.Button         `ui:"select_all_button"`

	env *ui.Env
	// home is where "~" points in the folders shown: this user's home,
	// or none for another computer's files.
	home    string
	ownHome string
	profile string
	seen    string // the newest snapshot and drive presence the list was read with
	latest  string // the newest snapshot
	folder  string
	// gen numbers listings: only the newest is shown.
	gen uint64
	// all is the listing, files the part of it shown.
	all, files []File
	checks     map[string]*gtk.CheckButton
	selected   map[string]bool
	// restored remembers what this session brought back: the backups go
	// on listing it as deleted until the next backup sees it again.
	restored map[string]bool
	busy     bool
	stale    bool // a new backup came while busy
	chooser  *gtk.FileChooserNative
}

// New builds the deleted files page.
func New(env *ui.Env) *Page {
	p := &Page{env: env, selected: map[string]bool{}, restored: map[string]bool{}, checks: map[string]*gtk.CheckButton{}}
	p.ownHome, _ = os.UserHomeDir()
	p.home = p.ownHome
	ui.Fill(p, deletedUI)
	p.SinceRow.SetSelected(DefaultPeriod)
	p.SinceRow.NotifyProperty("selected", p.load)
	p.FolderButton.ConnectClicked(p.chooseFolder)
	p.SelectAllButton.ConnectClicked(p.selectAll)
	p.RestoreButton.ConnectClicked(p.restore)
	p.Stack.SetVisibleChildName("nofolder")
	return p
}

// Update follows the service: the profile's first folder until the user
// picks one, and a new listing after each new backup.
func (p *Page) Update(st live.State) {
	prof, ok := st.Profile(p.env.Profile())
	if !ok {
		return
	}
	// The list is read again after each new backup, and when the drive
	// comes or goes (the backups are on it: without it, listing fails).
	d, _ := st.Drive(prof.Drive)
	seen := fmt.Sprintf("%s|%t", prof.LastSnapshot, d.Present)
	if prof.Name != p.profile {
		p.profile, p.seen, p.latest = prof.Name, seen, prof.LastSnapshot
		p.restored = map[string]bool{}
		// The folder chooser shows this computer's folders: for another
		// computer the list stays on its first folder.
		remote := computers.IsRemote(prof)
		p.FolderButton.SetVisible(!remote)
		p.home = p.ownHome
		if remote {
			p.home = ""
		}
		folder := ""
		if folders := computers.Folders(prof); len(folders) > 0 {
			folder = folders[0]
		}
		p.setFolder(folder)
		return
	}
	if seen != p.seen {
		p.seen = seen
		if prof.LastSnapshot != p.latest {
			// A new backup has seen the restored files again.
			p.restored = map[string]bool{}
		}
		p.latest = prof.LastSnapshot
		if p.busy {
			p.stale = true // listed again when the restore is over
			return
		}
		p.load()
	}
}

func (p *Page) setFolder(dir string) {
	p.folder = dir
	if dir == "" {
		// TRANSLATORS: no folder chosen.
		p.FolderRow.SetSubtitle(i18n.T("None chosen"))
	} else {
		p.FolderRow.SetSubtitle(humanize.Escape(humanize.Folder(dir, p.home)))
	}
	p.load()
}

func (p *Page) chooseFolder() {
	start := p.folder
	if start == "" {
		start = p.ownHome
	}
	p.chooser = ui.ChooseFolder(p.env.Window(), i18n.T("Choose a Folder"), i18n.T("_Select"), start, func(path string) {
		p.chooser = nil
		if path != "" {
			p.setFolder(path)
		}
	})
}

// load lists the deleted files of the folder and period, off the main loop.
func (p *Page) load() {
	p.gen++
	gen := p.gen
	if p.folder == "" || p.profile == "" {
		p.Stack.SetVisibleChildName("nofolder")
		p.ActionBar.SetRevealed(false)
		return
	}
	profile, folder, period := p.profile, p.folder, int(p.SinceRow.Selected())
	p.Stack.SetVisibleChildName("loading")
	p.ActionBar.SetRevealed(false)
	ui.Call(p.env, func(ctx context.Context, c *client.Client) ([]File, error) {
		ds, err := c.Deleted(ctx, profile, folder, Options(period, time.Now()))
		if err != nil {
			return nil, fmt.Errorf("list files deleted from %s: %w", humanize.Display(folder), err)
		}
		fs := make([]File, len(ds))
		for i, d := range ds {
			fs[i] = FileOf(d)
		}
		SortFiles(fs)
		return fs, nil
	}, func(fs []File, err error) {
		if gen != p.gen {
			return
		}
		switch {
		case err != nil:
			p.ErrorPage.SetDescription(humanize.Escape(humanize.Error(err)))
			p.Stack.SetVisibleChildName("error")
		case len(fs) == 0:
			p.EmptyPage.SetDescription(humanize.Escape(EmptyText(humanize.Folder(folder, p.home), period)))
			p.Stack.SetVisibleChildName("empty")
		default:
			p.show(fs)
		}
	})
}

func (p *Page) show(fs []File) {
	p.all = fs
	p.CountLabel.SetLabel(CountText(len(fs)))
	if len(fs) > MaxRows {
		fs = fs[:MaxRows]
	}
	p.files = fs
	for w := p.Files.FirstChild(); w != nil; w = p.Files.FirstChild() {
		p.Files.Remove(w)
	}
	// A selection survives a new listing only for files still listed.
	keep := map[string]bool{}
	p.checks = map[string]*gtk.CheckButton{}
	now := time.Now()
	for _, f := range fs {
		if p.selected[f.Path] && !p.restored[f.Path] {
			keep[f.Path] = true
		}
		p.Files.Append(p.row(f, keep[f.Path], now))
	}
	p.selected = keep
	p.Stack.SetVisibleChildName("list")
	p.ActionBar.SetRevealed(true)
	p.updateSelection()
}

func (p *Page) row(f File, selected bool, now time.Time) *adw.ActionRow {
	row := adw.NewActionRow()
	row.SetTitle(humanize.Escape(f.Name))
	row.SetSubtitle(humanize.Escape(humanize.Folder(f.Dir, p.home)))
	row.SetTitleLines(2)
	row.SetSubtitleLines(1)
	row.SetTooltipText(humanize.Display(f.Path))

	check := gtk.NewCheckButton()
	check.SetVAlign(gtk.AlignCenter)
	// TRANSLATORS: the accessible name of a file's check box; %s is its name.
	ui.SetAccessibleName(check, fmt.Sprintf(i18n.T("Select %s"), humanize.Display(f.Name)))
	check.SetActive(selected)
	row.AddPrefix(check)
	row.SetActivatableWidget(check)

	facts := gtk.NewBox(gtk.OrientationVertical, 0)
	facts.SetVAlign(gtk.AlignCenter)
	size := SizeText(f)
	if p.restored[f.Path] {
		// TRANSLATORS: beside a deleted file restored since.
		size = i18n.T("Restored")
		check.SetSensitive(false)
	}
	for _, text := range []string{size, LastText(f, now)} {
		l := gtk.NewLabel(text)
		l.SetXAlign(1)
		l.SetEllipsize(pango.EllipsizeEnd)
		l.AddCSSClass("dim-label")
		l.AddCSSClass("caption")
		facts.Append(l)
	}
	row.AddSuffix(facts)

	path := f.Path
	p.checks[path] = check
	check.ConnectToggled(func() {
		if check.Active() {
			p.selected[path] = true
		} else {
			delete(p.selected, path)
		}
		p.updateSelection()
	})
	return row
}

func (p *Page) updateSelection() {
	n := len(p.selected)
	p.SelectedLabel.SetLabel(SelectedText(n))
	p.RestoreButton.SetSensitive(n > 0 && !p.busy)
	p.SelectAllButton.SetSensitive(!p.busy)
}

func (p *Page) selectAll() {
	for path, c := range p.checks {
		if !p.restored[path] {
			c.SetActive(true)
		}
	}
}

func (p *Page) setBusy(busy bool) {
	p.busy = busy
	p.ProgressBox.SetVisible(busy)
	p.FolderButton.SetSensitive(!busy)
	p.SinceRow.SetSensitive(!busy)
	p.Files.SetSensitive(!busy)
	if busy {
		p.ProgressBar.SetFraction(0)
		p.ProgressDetail.SetLabel(i18n.T("Starting…"))
	}
	p.updateSelection()
}

type outcome struct {
	restored, written []string
}

// restore brings the selected files back to where they were, one job per
// snapshot they come from, keeping both where a file of the same name is
// there again.
func (p *Page) restore() {
	var chosen []File
	for _, f := range p.files {
		if p.selected[f.Path] {
			chosen = append(chosen, f)
		}
	}
	batches := Batches(chosen)
	if len(batches) == 0 || p.busy {
		return
	}
	profile := p.profile
	p.setBusy(true)
	ui.Call(p.env, func(ctx context.Context, c *client.Client) (outcome, error) {
		var o outcome
		for i, b := range batches {
			// Keep both where a file of the same name is there again.
			job, err := c.Restore(ctx, profile, b.Snapshot, b.Paths, api.RestoreOptions{Overwrite: false})
			if err != nil {
				return o, fmt.Errorf("restore from backup %s: %w", b.Snapshot, err)
			}
			j, err := ui.Wait(ctx, c, job, func(j client.Job) { p.progress(i, len(batches), j) })
			if err != nil {
				return o, fmt.Errorf("restore from backup %s: %w", b.Snapshot, err)
			}
			o.restored = append(o.restored, b.Paths...)
			res, _ := j.RestoreResult() // a service without one says it in the message
			o.written = append(o.written, Written(res, j.Message)...)
		}
		return o, nil
	}, func(o outcome, err error) {
		for _, path := range o.restored {
			p.restored[path] = true
			delete(p.selected, path)
		}
		p.setBusy(false)
		if err != nil {
			p.env.Toast(humanize.Error(err))
		} else {
			p.env.Toast(RestoreSummary(o.restored, o.written))
		}
		switch {
		case p.stale:
			p.stale = false
			p.load()
		case len(o.restored) > 0:
			p.show(p.all)
		}
	})
}

func (p *Page) progress(i, n int, j client.Job) {
	if !p.busy {
		return
	}
	if f, ok := Fraction(i, n, j.Progress); ok {
		p.ProgressBar.SetFraction(f)
	} else {
		p.ProgressBar.Pulse()
	}
	p.ProgressDetail.SetLabel(humanize.Progress(j, time.Now()))
}
