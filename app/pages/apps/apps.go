package apps

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/user"
	"sort"
	"strings"
	"time"

	"github.com/diamondburned/gotk4-adwaita/pkg/adw"
	"github.com/diamondburned/gotk4/pkg/gio/v2"
	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/keepsake/keepsake/app/humanize"
	"github.com/keepsake/keepsake/app/live"
	"github.com/keepsake/keepsake/app/ui"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/i18n"
)

//go:embed apps.ui
var appsUI string

// Page compares a backup's Flatpak apps with what is installed, reinstalls
// them and rolls their data back.
type Page struct {
	*gtk.Box `ui:"root"`

	SnapshotRow     *adw.ComboRow    `ui:"snapshot_row"`
	SnapshotList    *gtk.StringList  `ui:"snapshot_list"`
	ResultsBox      *gtk.Box         `ui:"results_box"`
	DismissButton   *gtk.Button      `ui:"dismiss_button"`
	ResultsList     *gtk.ListBox     `ui:"results_list"`
	Stack           *gtk.Stack       `ui:"stack"`
	NonePage        *adw.StatusPage  `ui:"none_page"`
	ErrorPage       *adw.StatusPage  `ui:"error_page"`
	GroupsBox       *gtk.Box         `ui:"groups_box"`
	ProgressBox     *gtk.Box         `ui:"progress_box"`
	ProgressTitle   *gtk.Label       `ui:"progress_title"`
	ProgressBar     *gtk.ProgressBar `ui:"progress_bar"`
	ProgressDetail  *gtk.Label       `ui:"progress_detail"`
	ActionBar       *gtk.ActionBar   `ui:"action_bar"`
	MissingButton   *gtk.Button      `ui:"missing_button"`
	ReinstallButton *gtk.Button      `ui:"reinstall_button"`

	env       *ui.Env
	home, me  string
	profile   string
	seen      string // the newest snapshot and drive presence the list was read with
	recording bool   // the profile records Flatpak apps
	snaps     []Snapshot
	chosen    bool // the user picked a backup: keep it when the list changes
	// filling is set while the snapshot list is replaced, whose selection
	// changes are not the user's.
	filling bool
	gen     uint64
	insts   []Installation
	names   map[string]string
	infos   map[string]*gio.AppInfo
	checks  map[string]*gtk.CheckButton
	// selected holds installation+"\x00"+ref of the checked apps.
	selected map[string]bool
	busy     bool
	stale    bool // a new backup came while busy
	groups   []gtk.Widgetter
}

// New builds the apps page.
func New(env *ui.Env) *Page {
	p := &Page{env: env, selected: map[string]bool{}, checks: map[string]*gtk.CheckButton{}}
	p.home, _ = os.UserHomeDir()
	if u, err := user.Current(); err == nil {
		p.me = u.Username
	}
	ui.Fill(p, appsUI)
	p.SnapshotRow.NotifyProperty("selected", func() {
		if !p.filling {
			p.chosen = true
			p.loadApps()
		}
	})
	p.DismissButton.ConnectClicked(func() { p.ResultsBox.SetVisible(false) })
	p.MissingButton.ConnectClicked(p.reinstallMissing)
	p.ReinstallButton.ConnectClicked(p.reinstallSelected)
	p.Stack.SetVisibleChildName("loading")
	// Shown again, the page compares with what is installed now: an app
	// may have been removed or installed since the list was read.
	p.ConnectMap(func() {
		if p.profile != "" && !p.busy && len(p.snaps) > 0 {
			p.loadApps()
		}
	})
	return p
}

// Update follows the service: a new backup adds to the list of backups.
func (p *Page) Update(st live.State) {
	prof, ok := st.Profile(p.env.Profile())
	if !ok {
		return
	}
	p.recording = prof.Flatpak
	// The backups are read again after each new one, and when the drive
	// comes or goes (they are on it: without it, listing them fails).
	d, _ := st.Drive(prof.Drive)
	seen := fmt.Sprintf("%s|%t", prof.LastSnapshot, d.Present)
	if prof.Name == p.profile && seen == p.seen {
		return
	}
	if prof.Name != p.profile {
		p.snaps, p.chosen = nil, false
	}
	p.profile, p.seen = prof.Name, seen
	if p.busy {
		p.stale = true // read when the job is over: the list must not move under it
		return
	}
	p.loadSnapshots()
}

// reload reads again what a finished job changed, and what changed
// meanwhile.
func (p *Page) reload() {
	if p.stale {
		p.stale = false
		p.loadSnapshots()
		return
	}
	p.loadApps()
}

func (p *Page) selectedSnapshot() (Snapshot, bool) {
	i := int(p.SnapshotRow.Selected())
	if i < 0 || i >= len(p.snaps) {
		return Snapshot{}, false
	}
	return p.snaps[i], true
}

// loadSnapshots fills the backup choice, keeping the one chosen.
func (p *Page) loadSnapshots() {
	profile := p.profile
	// Without a choice the newest backup is shown, also after a new one.
	var keep Snapshot
	if p.chosen {
		keep, _ = p.selectedSnapshot()
	}
	ui.Call(p.env, func(ctx context.Context, c *client.Client) ([]Snapshot, error) {
		ds, err := c.Snapshots(ctx, profile, api.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("list backups of %s: %w", profile, err)
		}
		return Snapshots(ds), nil
	}, func(snaps []Snapshot, err error) {
		if profile != p.profile {
			return
		}
		if err != nil {
			p.gen++ // whatever list was coming is for a state gone by
			p.ErrorPage.SetDescription(humanize.Escape(humanize.Error(err)))
			p.Stack.SetVisibleChildName("error")
			p.ActionBar.SetRevealed(false)
			return
		}
		p.snaps = snaps
		p.filling = true
		now := time.Now()
		labels := make([]string, len(snaps))
		sel := 0
		for i, s := range snaps {
			labels[i] = SnapshotLabel(s, now)
			if s.Name == keep.Name {
				sel = i
			}
		}
		p.SnapshotList.Splice(0, p.SnapshotList.NItems(), labels)
		p.SnapshotRow.SetSelected(uint(sel))
		p.filling = false
		if len(snaps) == 0 {
			p.gen++
			p.Stack.SetVisibleChildName("nosnapshots")
			p.ActionBar.SetRevealed(false)
			return
		}
		p.loadApps()
	})
}

// loadApps lists the chosen backup's apps, off the main loop.
func (p *Page) loadApps() {
	p.gen++
	gen := p.gen
	snap, ok := p.selectedSnapshot()
	if !ok {
		return
	}
	profile := p.profile
	p.Stack.SetVisibleChildName("loading")
	p.ActionBar.SetRevealed(false)
	ui.Call(p.env, func(ctx context.Context, c *client.Client) ([]App, error) {
		ds, err := c.Flatpaks(ctx, profile, snap.Name, api.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("list the Flatpak apps of backup %s: %w", snap.Name, err)
		}
		apps := make([]App, len(ds))
		for i, d := range ds {
			apps[i] = AppOf(d)
		}
		return apps, nil
	}, func(apps []App, err error) {
		if gen != p.gen {
			return
		}
		if err != nil {
			p.ErrorPage.SetDescription(humanize.Escape(humanize.Error(err)))
			p.Stack.SetVisibleChildName("error")
			return
		}
		p.readAppInfos()
		p.show(GroupApps(apps, p.names))
	})
}

// readAppInfos learns the names and icons of the installed apps from
// their desktop files (Flatpak exports them).
func (p *Page) readAppInfos() {
	p.names = map[string]string{}
	p.infos = map[string]*gio.AppInfo{}
	for _, info := range gio.AppInfoGetAll() {
		id := strings.TrimSuffix(info.ID(), ".desktop")
		if id == "" {
			continue
		}
		p.names[id] = info.Name()
		p.infos[id] = info
	}
}

func key(installation, ref string) string { return installation + "\x00" + ref }

func (p *Page) show(insts []Installation) {
	p.insts = insts
	for _, g := range p.groups {
		p.GroupsBox.Remove(g)
	}
	p.groups = nil
	p.checks = map[string]*gtk.CheckButton{}
	keep := map[string]bool{}
	if len(insts) == 0 {
		p.NonePage.SetDescription(humanize.Escape(NoAppsText(p.recording)))
		p.Stack.SetVisibleChildName("none")
		p.ActionBar.SetRevealed(false)
		p.selected = keep
		return
	}
	for _, in := range insts {
		g := adw.NewPreferencesGroup()
		g.SetTitle(humanize.Escape(InstallationTitle(in.Name, p.me)))
		g.SetDescription(humanize.Escape(InstallationDescription(in.Name, p.me)))
		for _, a := range in.Apps {
			k := key(in.Name, a.Ref)
			if p.selected[k] {
				keep[k] = true
			}
			g.Add(p.row(a, keep[k]))
		}
		p.GroupsBox.Append(g)
		p.groups = append(p.groups, g)
	}
	p.selected = keep
	p.Stack.SetVisibleChildName("list")
	p.ActionBar.SetRevealed(true)
	p.updateButtons()
}

func (p *Page) row(a App, selected bool) *adw.ActionRow {
	row := adw.NewActionRow()
	row.SetTitle(humanize.Escape(a.Name))
	row.SetSubtitle(humanize.Escape(Subtitle(a)))
	row.SetTooltipText(a.Ref)

	check := gtk.NewCheckButton()
	check.SetVAlign(gtk.AlignCenter)
	// TRANSLATORS: the accessible name of an app's check box; %s is the app.
	ui.SetAccessibleName(check, fmt.Sprintf(i18n.T("Select %s"), a.Name))
	check.SetActive(selected)
	row.AddPrefix(check)
	row.SetActivatableWidget(check)

	var icon *gtk.Image
	if info := p.infos[a.ID]; info != nil && info.Icon() != nil {
		icon = gtk.NewImageFromGIcon(info.Icon())
	} else {
		icon = gtk.NewImageFromIconName("application-x-executable")
	}
	icon.SetPixelSize(32)
	row.AddPrefix(icon)

	if a.Data {
		b := gtk.NewButtonFromIconName("edit-undo-symbolic")
		b.SetVAlign(gtk.AlignCenter)
		// TRANSLATORS: put an app's own files and settings back as a backup
		// has them.
		b.SetTooltipText(i18n.T("Roll Back Data…"))
		// TRANSLATORS: the accessible name of Roll Back Data…; %s is the app.
		ui.SetAccessibleName(b, fmt.Sprintf(i18n.T("Roll Back Data of %s…"), a.Name))
		b.AddCSSClass("flat")
		app := a
		b.ConnectClicked(func() { p.confirmRollBack(app) })
		row.AddSuffix(b)
	}

	k := key(a.Installation, a.Ref)
	p.checks[k] = check
	check.ConnectToggled(func() {
		if check.Active() {
			p.selected[k] = true
		} else {
			delete(p.selected, k)
		}
		p.updateButtons()
	})
	return row
}

func (p *Page) updateButtons() {
	missing := 0
	for _, in := range p.insts {
		missing += len(Missing(in))
	}
	p.ReinstallButton.SetSensitive(len(p.selected) > 0 && !p.busy)
	p.MissingButton.SetSensitive(missing > 0 && !p.busy)
	p.SnapshotRow.SetSensitive(!p.busy)
	p.GroupsBox.SetSensitive(!p.busy)
}

func (p *Page) setBusy(busy bool, title string) {
	p.busy = busy
	p.ProgressBox.SetVisible(busy)
	if busy {
		p.ProgressTitle.SetLabel(title)
		p.ProgressBar.SetFraction(0)
		p.ProgressDetail.SetLabel(i18n.T("Starting…"))
	}
	p.updateButtons()
}

func (p *Page) progress(j client.Job, step, steps int) {
	if !p.busy {
		return
	}
	if j.Progress >= 0 && steps > 0 {
		p.ProgressBar.SetFraction((float64(step) + min(j.Progress, 1)) / float64(steps))
	} else {
		p.ProgressBar.Pulse()
	}
	p.ProgressDetail.SetLabel(humanize.Progress(j, time.Now()))
}

func (p *Page) reinstallSelected() {
	refs := map[string][]string{}
	for _, in := range p.insts {
		for _, a := range in.Apps {
			if p.selected[key(in.Name, a.Ref)] {
				refs[in.Name] = append(refs[in.Name], a.Ref)
			}
		}
	}
	p.reinstall(refs)
}

func (p *Page) reinstallMissing() {
	refs := map[string][]string{}
	for _, in := range p.insts {
		if m := Missing(in); len(m) > 0 {
			refs[in.Name] = m
		}
	}
	p.reinstall(refs)
}

// reinstall runs one RestoreFlatpaks job per installation, one after the
// other (each may ask for an administrator), and collects what became of
// every app: one installation failing does not stop the next.
func (p *Page) reinstall(refs map[string][]string) {
	snap, ok := p.selectedSnapshot()
	if !ok || len(refs) == 0 || p.busy {
		return
	}
	var insts []string
	for name := range refs {
		insts = append(insts, name)
	}
	sort.Slice(insts, func(i, j int) bool {
		if (insts[i] == "system") != (insts[j] == "system") {
			return insts[i] == "system"
		}
		return insts[i] < insts[j]
	})
	profile := p.profile
	p.setBusy(true, humanize.Operation("flatpak-restore")+"…")
	ui.Call(p.env, func(ctx context.Context, c *client.Client) ([]Outcome, error) {
		var all []Outcome
		for step, in := range insts {
			outs, err := reinstallOne(ctx, c, profile, snap.Name, in, refs[in], func(j client.Job) { p.progress(j, step, len(insts)) })
			if len(outs) == 0 && err != nil {
				outs = []Outcome{{Installation: in, Kind: "installation", Ref: in, Status: Failed, Reason: humanize.Error(err)}}
			}
			all = append(all, outs...)
		}
		SortOutcomes(all)
		return all, nil
	}, func(outs []Outcome, err error) {
		p.setBusy(false, "")
		if err != nil { // no service: nothing was tried
			p.env.Toast(humanize.Error(err))
			return
		}
		p.env.Toast(Tally(outs))
		p.showResults(outs)
		for k := range p.selected {
			delete(p.selected, k)
		}
		p.reload()
	})
}

// reinstallOne runs and follows one installation's job; its outcomes come
// from the job's Result even when the job failed (it fails when any app did).
// progress gets the readings on the main loop.
func reinstallOne(ctx context.Context, c *client.Client, profile, snapshot, installation string, refs []string, progress func(client.Job)) ([]Outcome, error) {
	path, err := c.RestoreFlatpaks(ctx, profile, snapshot, refs, api.FlatpakRestoreOptions{Installation: installation})
	if err != nil {
		return nil, fmt.Errorf("reinstall apps of %s: %w", installation, err)
	}
	j, werr := ui.Wait(ctx, c, path, progress)
	res := j.Result
	// The Result is set just before the job completes; read it again in
	// case its change signal was missed.
	if again, err := c.Job(ctx, path); err == nil && len(again.Result) > 0 {
		res = again.Result
	}
	if werr != nil {
		werr = fmt.Errorf("reinstall apps of %s: %w", installation, werr)
	}
	return ParseResult(installation, res), werr
}

func (p *Page) showResults(outs []Outcome) {
	for w := p.ResultsList.FirstChild(); w != nil; w = p.ResultsList.FirstChild() {
		p.ResultsList.Remove(w)
	}
	shown := Shown(outs)
	for _, o := range shown {
		row := adw.NewActionRow()
		row.SetTitle(humanize.Escape(OutcomeTitle(o, p.names, p.me)))
		text := OutcomeText(o)
		if o.Kind == "data" && o.Status == Restored {
			// TRANSLATORS: %s is the folder an app's data went to.
			text = fmt.Sprintf(i18n.T("Restored to %s"), humanize.Folder(o.Reason, p.home))
		}
		row.SetSubtitle(humanize.Escape(text))
		img := gtk.NewImageFromIconName(OutcomeIcon(o))
		if o.Status == Failed {
			img.AddCSSClass("error")
		} else {
			img.AddCSSClass("success")
		}
		row.AddPrefix(img)
		p.ResultsList.Append(row)
	}
	p.ResultsBox.SetVisible(len(shown) > 0)
}

// confirmRollBack asks before putting an app's data back: it changes the
// app's settings and files, which a person may not expect.
func (p *Page) confirmRollBack(a App) {
	snap, ok := p.selectedSnapshot()
	if !ok || p.busy {
		return
	}
	dlg := gtk.NewMessageDialog(p.env.Window(), gtk.DialogModal|gtk.DialogDestroyWithParent, gtk.MessageQuestion, gtk.ButtonsNone)
	// TRANSLATORS: %s is an app's name.
	dlg.SetObjectProperty("text", fmt.Sprintf(i18n.T("Roll Back Data of %s?"), a.Name))
	dlg.SetObjectProperty("secondary-text", RollBackText(a.Name, snap, time.Now()))
	dlg.AddButton(i18n.T("_Cancel"), int(gtk.ResponseCancel))
	// TRANSLATORS: keep the app's current data beside the one put back.
	dlg.AddButton(i18n.T("_Keep Both"), rollBackKeep)
	replace := dlg.AddButton(i18n.T("_Replace"), rollBackReplace)
	gtk.BaseWidget(replace).AddCSSClass("destructive-action")
	dlg.SetDefaultResponse(rollBackKeep)
	dlg.ConnectResponse(func(resp int) {
		dlg.Destroy()
		switch resp {
		case rollBackKeep:
			p.rollBack(a, snap, false)
		case rollBackReplace:
			p.rollBack(a, snap, true)
		}
	})
	dlg.Present()
}

const (
	rollBackKeep    = 1
	rollBackReplace = 2
)

func (p *Page) rollBack(a App, snap Snapshot, overwrite bool) {
	if p.busy {
		return
	}
	profile := p.profile
	p.setBusy(true, humanize.Operation("app-data-restore")+"…")
	ui.Call(p.env, func(ctx context.Context, c *client.Client) (string, error) {
		path, err := c.RestoreAppData(ctx, profile, snap.Name, a.ID, api.AppDataOptions{Overwrite: overwrite})
		if err != nil {
			return "", fmt.Errorf("roll back data of %s: %w", a.ID, err)
		}
		j, err := ui.Wait(ctx, c, path, func(j client.Job) { p.progress(j, 0, 1) })
		if err != nil {
			return "", fmt.Errorf("roll back data of %s: %w", a.ID, err)
		}
		return strings.TrimSpace(j.Message), nil
	}, func(to string, err error) {
		p.setBusy(false, "")
		if p.stale {
			p.reload()
		}
		if err != nil {
			p.env.Toast(humanize.Error(err))
			return
		}
		p.env.Toast(DataRestoredText(a.Name, to, p.home))
	})
}
