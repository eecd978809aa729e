package search

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"time"

	"github.com/diamondburned/gotk4-adwaita/pkg/adw"
	"github.com/diamondburned/gotk4/pkg/core/glib"
	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/diamondburned/gotk4/pkg/pango"
	"github.com/keepsake/keepsake/app/computers"
	"github.com/keepsake/keepsake/app/humanize"
	"github.com/keepsake/keepsake/app/live"
	"github.com/keepsake/keepsake/app/ui"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/i18n"
)

//go:embed search.ui
var searchUI string

// Page searches every backup by file name as the user types.
type Page struct {
	*gtk.Box `ui:"root"`

	Entry            *gtk.SearchEntry    `ui:"entry"`
	Spinner          *gtk.Spinner        `ui:"spinner"`
	ScopeLabel       *gtk.Label          `ui:"scope_label"`
	EverywhereButton *gtk.Button         `ui:"everywhere_button"`
	FolderButton     *gtk.Button         `ui:"folder_button"`
	Stack            *gtk.Stack          `ui:"stack"`
	NonePage         *adw.StatusPage     `ui:"none_page"`
	ErrorPage        *adw.StatusPage     `ui:"error_page"`
	Scroller         *gtk.ScrolledWindow `ui:"scroller"`
	Summary          *gtk.Label          `ui:"summary"`
	Results          *gtk.ListBox        `ui:"results"`

	env *ui.Env
	// home is where "~" points in the folders shown: this user's home,
	// or none for another computer's files.
	home    string
	ownHome string
	// folder limits the search to one folder ("" = everywhere).
	folder string
	// gen numbers searches: only the newest one's results are shown, so a
	// slow answer to an old query never replaces a newer one.
	gen     uint64
	profile string
	latest  string // the profile's newest snapshot
	chooser *gtk.FileChooserNative
	timer   glib.SourceHandle // the pending debounced search
}

// New builds the search page.
func New(env *ui.Env) *Page {
	p := &Page{env: env}
	p.ownHome, _ = os.UserHomeDir()
	p.home = p.ownHome
	ui.Fill(p, searchUI)
	// GtkSearchEntry's own delay applies to typing only, not to text set
	// otherwise (pasted, or through accessibility): debounce every change
	// the same way. Enter searches at once.
	p.Entry.ConnectChanged(p.debounce)
	p.Entry.ConnectActivate(p.searchNow)
	p.Entry.ConnectStopSearch(func() { p.Entry.SetText("") })
	// Typing anywhere on the page goes to the search entry.
	p.Entry.SetKeyCaptureWidget(p.Box)
	p.FolderButton.ConnectClicked(p.chooseFolder)
	p.EverywhereButton.ConnectClicked(func() { p.setFolder("") })
	return p
}

// Update follows the service: the profile shown and its newest snapshot.
func (p *Page) Update(st live.State) {
	name := p.env.Profile()
	prof, ok := st.Profile(name)
	if !ok {
		return
	}
	newer := prof.LastSnapshot != p.latest
	p.latest = prof.LastSnapshot
	if name == p.profile && newer && Pattern(p.Entry.Text()) != "" {
		// A backup just ended: a search asked before it committed answered
		// without its files. The same search runs again, and results
		// already shown keep their place.
		p.run(true)
		return
	}
	if name != p.profile {
		first := p.profile == ""
		p.profile = name
		// The folder chooser shows this computer's folders: another
		// computer is searched everywhere.
		remote := computers.IsRemote(prof)
		p.FolderButton.SetVisible(!remote)
		p.home = p.ownHome
		if remote {
			p.home = ""
		}
		if !first {
			if remote && p.folder != "" {
				p.setFolder("") // searches again
				return
			}
			p.search()
		}
	}
}

// Find searches for text everywhere, as if typed (GNOME Shell's "search
// in the app").
func (p *Page) Find(text string) {
	if p.folder != "" {
		p.setFolder("")
	}
	p.Entry.SetText(text)
	p.searchNow()
	p.Entry.GrabFocus()
}

func (p *Page) setFolder(dir string) {
	p.folder = dir
	p.EverywhereButton.SetVisible(dir != "")
	if dir == "" {
		p.ScopeLabel.SetLabel(i18n.T("In all backed-up folders"))
		p.ScopeLabel.SetTooltipText("")
	} else {
		// TRANSLATORS: above the search results; %s is a folder ("~/Documents").
		p.ScopeLabel.SetLabel(fmt.Sprintf(i18n.T("Only in %s"), humanize.Folder(dir, p.home)))
		p.ScopeLabel.SetTooltipText(dir)
	}
	p.search()
}

func (p *Page) chooseFolder() {
	start := p.folder
	if start == "" {
		start = p.ownHome
	}
	p.chooser = ui.ChooseFolder(p.env.Window(), i18n.T("Search Only in Folder"), i18n.T("_Select"), start, func(path string) {
		p.chooser = nil
		if path != "" {
			p.setFolder(path)
		}
	})
}

// Debounce is how long the text must stay unchanged before it is searched.
const Debounce = 150 * time.Millisecond

func (p *Page) debounce() {
	if p.timer != 0 {
		glib.SourceRemove(p.timer)
	}
	// A blank entry needs no service: the empty state shows at once, but
	// from the main loop, since replacing the text empties it on the way.
	delay := Debounce
	if Pattern(p.Entry.Text()) == "" {
		delay = 0
	}
	p.timer = glib.TimeoutAdd(uint(delay/time.Millisecond), func() bool {
		p.timer = 0
		p.search()
		return false
	})
}

func (p *Page) searchNow() {
	if p.timer != 0 {
		glib.SourceRemove(p.timer)
		p.timer = 0
	}
	p.search()
}

type answer struct {
	groups    []Group
	truncated bool
}

// search runs the query in the entry, off the main loop.
func (p *Page) search() { p.run(false) }

// run runs the query in the entry; keepPlace leaves the results' scroll
// position as it is (the same search again).
func (p *Page) run(keepPlace bool) {
	p.gen++
	gen := p.gen
	pattern := Pattern(p.Entry.Text())
	if pattern == "" {
		p.spin(false)
		p.Stack.SetVisibleChildName("empty")
		return
	}
	profile, folder := p.env.Profile(), p.folder
	p.spin(true)
	if p.Stack.VisibleChildName() == "empty" {
		p.Stack.SetVisibleChildName("searching")
	}
	ui.Call(p.env, func(ctx context.Context, c *client.Client) (answer, error) {
		gs, trunc, err := query(ctx, c, profile, pattern, folder)
		return answer{gs, trunc}, err
	}, func(a answer, err error) {
		if gen != p.gen {
			return
		}
		p.spin(false)
		switch {
		case err != nil:
			p.ErrorPage.SetDescription(humanize.Escape(humanize.Error(err)))
			p.Stack.SetVisibleChildName("error")
		case len(a.groups) == 0:
			p.NonePage.SetDescription(humanize.Escape(NoResultsText(pattern, folder, p.home)))
			p.Stack.SetVisibleChildName("none")
		default:
			top := p.Scroller.VAdjustment().Value()
			p.show(a, folder)
			if keepPlace {
				p.Scroller.VAdjustment().SetValue(top)
			}
		}
	})
}

func (p *Page) spin(on bool) {
	p.Spinner.SetSpinning(on)
	p.Spinner.SetVisible(on)
}

func (p *Page) show(a answer, folder string) {
	p.Summary.SetLabel(Summary(a.groups, a.truncated, folder, p.home))
	for w := p.Results.FirstChild(); w != nil; w = p.Results.FirstChild() {
		p.Results.Remove(w)
	}
	now := time.Now()
	for _, g := range a.groups {
		p.Results.Append(p.row(g, now))
	}
	p.Scroller.VAdjustment().SetValue(0)
	p.Stack.SetVisibleChildName("results")
}

func (p *Page) row(g Group, now time.Time) *adw.ActionRow {
	row := adw.NewActionRow()
	row.SetTitle(humanize.Escape(g.Name))
	row.SetSubtitle(humanize.Escape(humanize.Folder(g.Dir, p.home)))
	row.SetTitleLines(2)
	row.SetSubtitleLines(1)
	row.SetTooltipText(humanize.Display(g.Path))
	row.SetActivatable(true)
	row.AddPrefix(gtk.NewImageFromIconName(Icon(g.Type)))

	facts := gtk.NewBox(gtk.OrientationVertical, 0)
	facts.SetVAlign(gtk.AlignCenter)
	for _, text := range []string{VersionsText(g.Versions), SeenText(g, p.latest, now)} {
		l := gtk.NewLabel(text)
		l.SetXAlign(1)
		l.SetEllipsize(pango.EllipsizeEnd)
		l.AddCSSClass("dim-label")
		l.AddCSSClass("caption")
		facts.Append(l)
	}
	row.AddSuffix(facts)
	row.AddSuffix(gtk.NewImageFromIconName("go-next-symbolic"))

	path := g.Path
	row.ConnectActivated(func() { p.env.History(path) })
	return row
}
