// Package browse is the Browse page: a timeline of the profile's
// snapshots beside the folders of the chosen one, walked like a file
// manager, with Restore, Restore and Replace, Restore To…, Send Back to
// Computer (another computer's files, into its restore folder) and
// Version History for the selected item.
package browse

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/diamondburned/gotk4-adwaita/pkg/adw"
	"github.com/diamondburned/gotk4/pkg/core/glib"
	"github.com/diamondburned/gotk4/pkg/gio/v2"
	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/app/computers"
	"github.com/keepsake/keepsake/app/humanize"
	"github.com/keepsake/keepsake/app/live"
	"github.com/keepsake/keepsake/app/ui"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/i18n"
	"github.com/keepsake/keepsake/shared/kerr"
)

//go:embed browse.ui
var browseUI string

// Page browses the backups by time: a timeline of snapshots beside the
// folders of the chosen one, and restores what is selected.
type Page struct {
	*adw.Leaflet `ui:"root"`

	TimelineStack    *gtk.Stack          `ui:"timeline_stack"`
	SnapshotList     *gtk.ListBox        `ui:"snapshot_list"`
	TimelineStatus   *adw.StatusPage     `ui:"timeline_status"`
	TimelineRetry    *gtk.Button         `ui:"timeline_retry"`
	Content          *gtk.Box            `ui:"content"`
	BackButton       *gtk.Button         `ui:"back_button"`
	UpButton         *gtk.Button         `ui:"up_button"`
	CrumbScroller    *gtk.ScrolledWindow `ui:"crumb_scroller"`
	Crumbs           *gtk.Box            `ui:"crumbs"`
	SnapshotLabel    *gtk.Label          `ui:"snapshot_label"`
	FolderStack      *gtk.Stack          `ui:"folder_stack"`
	EntryList        *gtk.ListBox        `ui:"entry_list"`
	FolderStatus     *adw.StatusPage     `ui:"folder_status"`
	FolderRetry      *gtk.Button         `ui:"folder_retry"`
	ProgressRevealer *gtk.Revealer       `ui:"progress_revealer"`
	ProgressTitle    *gtk.Label          `ui:"progress_title"`
	ProgressBar      *gtk.ProgressBar    `ui:"progress_bar"`
	ProgressDetail   *gtk.Label          `ui:"progress_detail"`
	CancelButton     *gtk.Button         `ui:"cancel_button"`
	HistoryButton    *gtk.Button         `ui:"history_button"`
	RestoreButton    *gtk.Button         `ui:"restore_button"`
	RestoreToButton  *gtk.Button         `ui:"restore_to_button"`
	ReplaceButton    *gtk.Button         `ui:"replace_button"`
	// SendBackButton is an icon, like Replace: one more button with a
	// label would not fit the action bar at 360 px.
	SendBackButton *gtk.Button `ui:"send_back_button"`

	env  *ui.Env
	home string

	profile string
	// remote: the profile backs up another computer, whose home folders
	// are not this user's.
	remote bool
	// restoreTo is the folder on the other computer that Send Back puts
	// items in (the profile's RestoreTo, an ssh:// address); "" for this
	// computer's profiles and another's without one, where it is hidden.
	restoreTo string
	// seen is what the timeline was last loaded for (profile, its last
	// snapshot, whether its drive is present): a change means new backups.
	seen string
	// noService: the last load failed because the service was away, so
	// the next reading (the service is back) loads again.
	noService bool

	snaps []Snapshot
	snap  string // name of the snapshot shown
	// dir is the folder shown; it stays when another snapshot is picked,
	// so flipping through time shows the same folder at other times.
	dir     string
	entries []Entry
	// wanted is a folder asked for (Open) before the page knew its
	// profile: it is shown once the profile is known.
	wanted string
	// snapGen and dirGen drop answers to loads that a newer one replaced.
	snapGen, dirGen int
	// quiet marks selection changes the page makes itself, which must not
	// navigate or reload.
	quiet bool

	jobs    *ui.JobBar // the restore under way
	chooser *gtk.FileChooserNative
}

// New builds the page.
func New(env *ui.Env) *Page {
	p := &Page{env: env, dir: "/"}
	p.home, _ = os.UserHomeDir()
	ui.Fill(p, browseUI)
	p.jobs = ui.NewJobBar(env, ui.JobBar{
		Revealer: p.ProgressRevealer, Title: p.ProgressTitle, Bar: p.ProgressBar,
		Detail: p.ProgressDetail, Cancel: p.CancelButton,
	}, env.Toast, p.syncActions)

	p.NotifyProperty("folded", p.syncFolded)
	p.syncFolded()
	p.BackButton.ConnectClicked(func() { p.Navigate(adw.NavigationDirectionBack) })
	p.UpButton.ConnectClicked(func() { p.enter(Parent(p.dir)) })
	// The path bar shows its end: the folder one is in matters more than
	// the root, and at 360 px only a few crumbs fit.
	adj := p.CrumbScroller.HAdjustment()
	adj.ConnectChanged(func() { adj.SetValue(adj.Upper() - adj.PageSize()) })

	p.SnapshotList.ConnectRowSelected(func(row *gtk.ListBoxRow) {
		if row == nil || p.quiet {
			return
		}
		p.showSnapshot(row.Index())
		p.SetVisibleChild(p.Content)
	})
	// Activation also comes back to a row that is already selected, after
	// Back on a folded leaflet.
	p.SnapshotList.ConnectRowActivated(func(*gtk.ListBoxRow) { p.SetVisibleChild(p.Content) })
	p.TimelineRetry.ConnectClicked(p.loadSnapshots)

	p.EntryList.ConnectRowSelected(func(*gtk.ListBoxRow) { p.syncActions() })
	p.EntryList.ConnectRowActivated(func(row *gtk.ListBoxRow) {
		if e, ok := p.entryAt(row.Index()); ok && e.IsDir() {
			p.enter(e.Path)
		}
	})
	p.FolderRetry.ConnectClicked(p.loadFolder)

	p.RestoreButton.ConnectClicked(func() {
		if e, ok := p.selected(); ok {
			p.restore(e, api.RestoreOptions{})
		}
	})
	p.ReplaceButton.ConnectClicked(p.confirmReplace)
	p.RestoreToButton.ConnectClicked(p.chooseDestination)
	p.SendBackButton.ConnectClicked(func() {
		if e, ok := p.selected(); ok && p.restoreTo != "" {
			p.restore(e, api.RestoreOptions{ToComputer: true})
		}
	})
	p.HistoryButton.ConnectClicked(func() {
		if e, ok := p.selected(); ok && p.env.History != nil {
			p.env.History(e.Path)
		}
	})

	p.showCrumbs()
	p.showFolderMessage("document-open-recent-symbolic", i18n.T("No Backup Chosen"), i18n.T("Choose a backup to see its files."), false)
	return p
}

// Update follows the service: the timeline is read again when the profile
// has a new snapshot or its drive comes or goes, never on every reading.
func (p *Page) Update(st live.State) {
	name := p.env.Profile()
	prof, ok := st.Profile(name)
	if !ok {
		return
	}
	if name != p.profile {
		p.profile = name
		p.snaps, p.snap = nil, ""
		p.remote = computers.IsRemote(prof)
		p.dir = StartDir(computers.Folders(prof))
		if p.wanted != "" {
			p.dir, p.wanted = p.wanted, ""
		}
		p.showCrumbs()
	}
	// Read at every update: restore-to can be set or cleared while the
	// page is open.
	restoreTo := ""
	if p.remote {
		restoreTo = prof.RestoreTo
	}
	if restoreTo != p.restoreTo {
		p.restoreTo = restoreTo
		p.SendBackButton.SetVisible(restoreTo != "")
		p.SendBackButton.SetTooltipText(SendBackTip(restoreTo))
	}
	present := false
	if d, ok := st.Drive(prof.Drive); ok {
		present = d.Present
	}
	key := fmt.Sprintf("%s\x00%s\x00%t", name, prof.LastSnapshot, present)
	if key != p.seen || p.noService {
		p.seen = key
		p.loadSnapshots()
	}
}

// Open shows a folder in the backup shown (the newest, unless the person
// picked another): the Files app's "Previous Versions…" of a folder.
func (p *Page) Open(dir string) {
	if p.profile == "" {
		p.wanted = dir
		return
	}
	p.enter(dir)
	p.SetVisibleChild(p.Content)
}

func (p *Page) syncFolded() {
	p.BackButton.SetVisible(p.Folded())
}

func (p *Page) loadSnapshots() {
	profile := p.profile
	if profile == "" {
		return
	}
	p.snapGen++
	gen := p.snapGen
	if len(p.snaps) == 0 {
		p.TimelineStack.SetVisibleChildName("loading")
	}
	ui.Call(p.env, func(ctx context.Context, c *client.Client) ([]api.Snapshot, error) {
		ds, err := c.Snapshots(ctx, profile, api.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("list the backups of %s: %w", profile, err)
		}
		return ds, nil
	}, func(ds []api.Snapshot, err error) {
		if gen != p.snapGen {
			return
		}
		p.noService = kerr.Is(err, kerr.ServiceNotRunning)
		if err != nil {
			p.snaps = nil
			p.clearList(p.SnapshotList)
			p.TimelineStatus.SetIconName("dialog-warning-symbolic")
			p.TimelineStatus.SetTitle(i18n.T("Backups Not Available"))
			p.TimelineStatus.SetDescription(humanize.Escape(humanize.Error(err)))
			p.TimelineRetry.SetVisible(true)
			p.TimelineStack.SetVisibleChildName("message")
			p.showFolderMessage("dialog-warning-symbolic", i18n.T("Backups Not Available"), humanize.Error(err), false)
			return
		}
		p.showSnapshots(Snapshots(ds, time.Now()))
	})
}

func (p *Page) showSnapshots(snaps []Snapshot) {
	p.snaps = snaps
	p.quiet = true
	defer func() { p.quiet = false }()
	p.clearList(p.SnapshotList)
	if len(snaps) == 0 {
		p.snap = ""
		p.TimelineStatus.SetIconName("document-open-recent-symbolic")
		p.TimelineStatus.SetTitle(i18n.T("No Backups Yet"))
		p.TimelineStatus.SetDescription(i18n.T("Backups appear here once the first one has finished."))
		p.TimelineRetry.SetVisible(false)
		p.TimelineStack.SetVisibleChildName("message")
		p.showFolderMessage("document-open-recent-symbolic", i18n.T("No Backups Yet"), i18n.T("Backups appear here once the first one has finished."), false)
		p.syncActions()
		return
	}
	for _, s := range snaps {
		row := adw.NewActionRow()
		plainTitle(row)
		row.SetTitle(s.Title)
		row.SetSubtitle(s.Subtitle)
		row.SetTitleLines(1)
		row.SetSubtitleLines(1)
		if s.Pinned {
			pin := gtk.NewImageFromIconName("view-pin-symbolic")
			// TRANSLATORS: the tooltip of a pin beside a backup that is kept
			// whatever happens to old backups.
			pin.SetTooltipText(i18n.T("Pinned"))
			row.AddSuffix(pin)
		}
		p.SnapshotList.Append(row)
	}
	p.TimelineStack.SetVisibleChildName("list")
	i := PickSnapshot(snaps, p.snap)
	p.SnapshotList.SelectRow(p.SnapshotList.RowAtIndex(i))
	if snaps[i].Name != p.snap {
		p.showSnapshot(i)
	} else {
		p.SnapshotLabel.SetLabel(snapshotLine(snaps[i]))
	}
}

func snapshotLine(s Snapshot) string {
	// TRANSLATORS: the backup shown; %s is a date inside a sentence ("today at 14:05", "2 March at 09:00").
	return fmt.Sprintf(i18n.T("Backup of %s"), humanize.DateInSentence(s.Time, time.Now(), humanize.Minutes))
}

// showSnapshot shows the same folder in another snapshot.
func (p *Page) showSnapshot(i int) {
	if i < 0 || i >= len(p.snaps) {
		return
	}
	p.snap = p.snaps[i].Name
	p.SnapshotLabel.SetLabel(snapshotLine(p.snaps[i]))
	p.loadFolder()
}

func (p *Page) enter(dir string) {
	p.dir = dir
	p.showCrumbs()
	p.loadFolder()
}

func (p *Page) showCrumbs() {
	p.clearBox(p.Crumbs)
	home := p.home
	if p.remote {
		home = "" // "~" would be this user's home, not one there
	}
	crumbs := Crumbs(p.dir, home)
	for i, c := range crumbs {
		if i > 0 {
			sep := gtk.NewLabel("/")
			sep.AddCSSClass("dim-label")
			p.Crumbs.Append(sep)
		}
		b := gtk.NewButtonWithLabel(c.Label)
		b.AddCSSClass("flat")
		if i == len(crumbs)-1 {
			b.AddCSSClass("heading")
		}
		target := c.Path
		b.ConnectClicked(func() { p.enter(target) })
		p.Crumbs.Append(b)
	}
	p.UpButton.SetSensitive(p.dir != "/")
}

func (p *Page) loadFolder() {
	profile, snap, dir := p.profile, p.snap, p.dir
	if snap == "" {
		return
	}
	p.dirGen++
	gen := p.dirGen
	keep := ""
	if e, ok := p.selected(); ok {
		keep = e.Name
	}
	// Flipping through snapshots keeps the old list on screen until the
	// new one arrives, so the folder does not flash.
	if p.FolderStack.VisibleChildName() == "list" {
		p.EntryList.SetSensitive(false)
	} else {
		p.FolderStack.SetVisibleChildName("loading")
	}
	ui.Call(p.env, func(ctx context.Context, c *client.Client) ([]api.Entry, error) {
		ds, err := c.List(ctx, profile, snap, dir, api.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("list %s in backup %s: %w", humanize.Display(dir), snap, err)
		}
		return ds, nil
	}, func(ds []api.Entry, err error) {
		if gen != p.dirGen {
			return
		}
		p.EntryList.SetSensitive(true)
		if err != nil {
			p.entries = nil
			p.clearList(p.EntryList)
			p.showFolderMessage("dialog-warning-symbolic", i18n.T("Folder Not Available"), humanize.Error(err), true)
			return
		}
		p.showEntries(Entries(ds, dir, time.Now()), keep)
	})
}

func (p *Page) showEntries(entries []Entry, keep string) {
	p.entries = entries
	p.clearList(p.EntryList)
	if len(entries) == 0 {
		// The catalog lists nothing both for an empty folder and for one
		// that did not exist yet: the sentence covers both.
		p.showFolderMessage("folder-symbolic", i18n.T("Nothing Here"), i18n.T("This folder is empty in this backup, or it was not backed up yet at that time."), false)
		return
	}
	for _, e := range entries {
		p.EntryList.Append(entryRow(e, p.enter))
	}
	p.FolderStack.SetVisibleChildName("list")
	for i, e := range entries {
		if keep != "" && e.Name == keep {
			p.EntryList.SelectRow(p.EntryList.RowAtIndex(i))
			break
		}
	}
	p.syncActions()
}

func entryRow(e Entry, enter func(string)) *adw.ActionRow {
	row := adw.NewActionRow()
	plainTitle(row)
	row.SetTitle(e.Title)
	row.SetSubtitle(e.Subtitle)
	row.SetTitleLines(1)
	row.SetSubtitleLines(1)
	row.SetActivatable(true)
	var icon *gtk.Image
	if e.Icon != "" {
		icon = gtk.NewImageFromIconName(e.Icon)
	} else {
		_, ct := gio.ContentTypeGuess(e.Name, nil)
		icon = gtk.NewImageFromGIcon(gio.ContentTypeGetSymbolicIcon(ct))
	}
	row.AddPrefix(icon)
	if e.IsDir() {
		// A visible way in for touch and for the accessibility tree, where
		// a double click is hard to come by.
		open := gtk.NewButtonFromIconName("go-next-symbolic")
		open.SetTooltipText(i18n.T("Open Folder"))
		setAccessibleLabel(&open.Widget, i18n.T("Open Folder"))
		open.AddCSSClass("flat")
		open.SetVAlign(gtk.AlignCenter)
		path := e.Path
		open.ConnectClicked(func() { enter(path) })
		row.AddSuffix(open)
	}
	return row
}

func (p *Page) showFolderMessage(icon, title, description string, retry bool) {
	p.FolderStatus.SetIconName(icon)
	p.FolderStatus.SetTitle(title)
	p.FolderStatus.SetDescription(humanize.Escape(description))
	p.FolderRetry.SetVisible(retry)
	p.FolderStack.SetVisibleChildName("message")
	p.syncActions()
}

func (p *Page) entryAt(i int) (Entry, bool) {
	if i < 0 || i >= len(p.entries) {
		return Entry{}, false
	}
	return p.entries[i], true
}

func (p *Page) selected() (Entry, bool) {
	if p.FolderStack.VisibleChildName() != "list" {
		return Entry{}, false
	}
	row := p.EntryList.SelectedRow()
	if row == nil {
		return Entry{}, false
	}
	return p.entryAt(row.Index())
}

func (p *Page) snapshot() (Snapshot, bool) {
	for _, s := range p.snaps {
		if s.Name == p.snap {
			return s, true
		}
	}
	return Snapshot{}, false
}

// syncActions enables what fits the selection; one restore at a time, as
// the service runs one job per profile anyway.
func (p *Page) syncActions() {
	e, ok := p.selected()
	free := ok && !p.jobs.Busy() && p.chooser == nil
	p.RestoreButton.SetSensitive(free)
	p.RestoreToButton.SetSensitive(free)
	p.ReplaceButton.SetSensitive(free)
	p.SendBackButton.SetSensitive(free)
	p.HistoryButton.SetSensitive(ok && e.Type == "file")
}

func (p *Page) confirmReplace() {
	e, ok := p.selected()
	s, sok := p.snapshot()
	if !ok || !sok {
		return
	}
	heading, body := ReplaceQuestion(e, s, time.Now())
	d := gtk.NewMessageDialog(p.env.Window(), gtk.DialogModal|gtk.DialogDestroyWithParent, gtk.MessageQuestion, gtk.ButtonsNone)
	d.SetObjectProperty("text", heading)
	d.SetObjectProperty("secondary-text", body)
	d.AddButton(i18n.T("_Cancel"), int(gtk.ResponseCancel))
	if w, ok := d.AddButton(i18n.T("_Replace"), int(gtk.ResponseAccept)).(*gtk.Button); ok {
		w.AddCSSClass("destructive-action")
	}
	d.SetDefaultResponse(int(gtk.ResponseCancel))
	d.ConnectResponse(func(resp int) {
		d.Destroy()
		if resp == int(gtk.ResponseAccept) {
			p.restore(e, api.RestoreOptions{Overwrite: true})
		}
	})
	d.Present()
}

func (p *Page) chooseDestination() {
	e, ok := p.selected()
	if !ok || p.chooser != nil {
		return
	}
	// TRANSLATORS: the title of the folder chooser of Restore To….
	p.chooser = ui.ChooseFolder(p.env.Window(), i18n.T("Restore To"), i18n.T("_Restore Here"), "", func(dest string) {
		p.chooser = nil
		p.syncActions()
		if dest != "" {
			p.restore(e, api.RestoreOptions{To: api.Path(filepath.Clean(dest))})
		}
	})
	p.syncActions()
}

// restore starts restoring e from the snapshot shown and follows the job
// to its end; the waiting happens off the main loop.
func (p *Page) restore(e Entry, opts api.RestoreOptions) {
	profile, snap := p.profile, p.snap
	if snap == "" || p.jobs.Busy() {
		return
	}
	fallback := e.Path
	if opts.To != "" {
		fallback = filepath.Join(string(opts.To), e.Name)
	}
	if opts.ToComputer {
		fallback = SentAddress(p.restoreTo, e.Path)
	}
	ui.RunJob(p.jobs, ProgressTitle(e.Name, opts.ToComputer), func(ctx context.Context, c *client.Client, follow func(dbus.ObjectPath) (client.Job, error)) (client.Job, error) {
		job, err := c.Restore(ctx, profile, snap, []string{e.Path}, opts)
		if err != nil {
			return client.Job{}, fmt.Errorf("restore %s from %s: %w", humanize.Display(e.Path), snap, err)
		}
		j, err := follow(job)
		if err != nil {
			return j, fmt.Errorf("restore %s from %s: %w", humanize.Display(e.Path), snap, err)
		}
		return j, nil
	}, func(j client.Job) {
		if opts.ToComputer {
			// The message is an address on the other computer: no "~".
			p.env.Toast(humanize.Escape(SentText(j.Message, fallback)))
			return
		}
		p.env.Toast(humanize.Escape(RestoredText(j.Message, fallback, p.home)))
	})
}

func (p *Page) clearList(l *gtk.ListBox) {
	for w := l.FirstChild(); w != nil; w = l.FirstChild() {
		l.Remove(w)
	}
}

func (p *Page) clearBox(b *gtk.Box) {
	for w := b.FirstChild(); w != nil; w = b.FirstChild() {
		b.Remove(w)
	}
}

// plainTitle turns off libadwaita 1.2's markup in row titles: a file
// called "Tom & Jerry" would not parse, and the accessible name would
// carry the escapes.
func plainTitle(row *adw.ActionRow) {
	row.SetObjectProperty("use-markup", false)
}

func setAccessibleLabel(w *gtk.Widget, label string) {
	w.UpdateProperty([]gtk.AccessibleProperty{gtk.AccessiblePropertyLabel}, []glib.Value{*glib.NewValue(label)})
}
