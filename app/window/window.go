package window

import (
	_ "embed"
	"fmt"
	"os"
	"slices"
	"sync"

	"github.com/diamondburned/gotk4-adwaita/pkg/adw"
	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/diamondburned/gotk4/pkg/pango"
	"github.com/keepsake/keepsake/app/computers"
	"github.com/keepsake/keepsake/app/humanize"
	"github.com/keepsake/keepsake/app/live"
	"github.com/keepsake/keepsake/app/pages/apps"
	"github.com/keepsake/keepsake/app/pages/browse"
	"github.com/keepsake/keepsake/app/pages/computer"
	"github.com/keepsake/keepsake/app/pages/deleted"
	"github.com/keepsake/keepsake/app/pages/history"
	"github.com/keepsake/keepsake/app/pages/overview"
	"github.com/keepsake/keepsake/app/pages/search"
	"github.com/keepsake/keepsake/app/pages/setup"
	"github.com/keepsake/keepsake/app/ui"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/i18n"
	"github.com/keepsake/keepsake/shared/kerr"
)

//go:embed window.ui
var windowUI string

// page is what the view switcher shows: a widget that follows the service.
type page interface {
	gtk.Widgetter
	Update(live.State)
}

// Window is the main window.
type Window struct {
	*adw.ApplicationWindow

	Root          *gtk.Box               `ui:"root"`
	Toasts        *adw.ToastOverlay      `ui:"toasts"`
	Top           *gtk.Stack             `ui:"top"`
	Views         *adw.ViewStack         `ui:"views"`
	SwitcherBar   *adw.ViewSwitcherBar   `ui:"switcher_bar"`
	SwitcherTitle *adw.ViewSwitcherTitle `ui:"switcher_title"`
	MissingPage   *adw.StatusPage        `ui:"missing_page"`
	MissingFix    *gtk.Label             `ui:"missing_fix"`
	RetryButton   *gtk.Button            `ui:"retry_button"`
	SetupSlot     *adw.Bin               `ui:"setup_slot"`
	ComputerSlot  *adw.Bin               `ui:"computer_slot"`
	// ComputerSwitch chooses the computer Browse, Search and Deleted
	// show, when there are several.
	ComputerSwitch *gtk.DropDown `ui:"computer_switch"`

	env   *ui.Env
	pages []page
	setup *setup.Page
	// inSetup keeps the setup on screen once started, even after the
	// profile it creates appears, until the user finishes it.
	inSetup bool
	// computer adds another computer; it stays on screen until the
	// person leaves it.
	computer *computer.Page

	// selected is the computer the person chose ("" = their own).
	selected string
	// switchNames are the profiles the switch lists, switchTitles its
	// texts; switching marks changes the window makes itself.
	switchList   *gtk.StringList
	switchNames  []string
	switchTitles []string
	switching    bool

	// browse and search are the pages the desktop opens directly
	// (open.go); pending is what waits for the first reading of the
	// service to be done.
	browse  *browse.Page
	search  *search.Page
	pending []func()

	mu     sync.Mutex // guards client and state, set from the watcher's goroutine
	client *client.Client
	state  live.State
}

// Options configures the window.
type Options struct {
	// Watcher refreshes the service's state; Env.Refresh pokes it.
	Watcher *live.Watcher
}

// New builds the main window of app.
func New(app *adw.Application, opts Options) *Window {
	w := &Window{ApplicationWindow: adw.NewApplicationWindow(&app.Application)}
	ui.Fill(w, windowUI)
	w.SetTitle("Keepsake")
	w.SetDefaultSize(defaultSize())
	w.SetSizeRequest(360, 400)
	w.SetContent(w.Root)
	w.SetHideOnClose(true) // the app keeps running in the background (tray, notifications)
	w.SwitcherTitle.NotifyProperty("title-visible", func() {
		w.SwitcherBar.SetReveal(w.SwitcherTitle.TitleVisible())
	})

	w.env = &ui.Env{
		Client:      w.currentClient,
		State:       w.currentState,
		Profile:     w.profileName,
		Select:      w.selectProfile,
		AddComputer: w.addComputer,
		ReviewKey:   func(name string) { computer.Review(w.env, name) },
		Window:      func() *gtk.Window { return &w.ApplicationWindow.ApplicationWindow.Window },
		Toast:       func(msg string) { w.Toasts.AddToast(adw.NewToast(msg)) },
		Refresh: func() {
			if opts.Watcher != nil {
				opts.Watcher.Refresh()
			}
		},
		Show: func(name string) {
			w.showTop("main")
			w.Views.SetVisibleChildName(name)
		},
	}
	w.env.History = func(path string) { history.Open(w.env, path) }

	add := func(p page, name, title, icon string) {
		vp := w.Views.AddTitled(p, name, title)
		vp.SetIconName(icon)
		w.pages = append(w.pages, p)
	}
	// TRANSLATORS: the titles of the window's pages, in the view switcher (short: a phone shows them under icons).
	add(overview.New(w.env), "overview", i18n.T("Overview"), "go-home-symbolic")
	w.browse, w.search = browse.New(w.env), search.New(w.env)
	add(w.browse, "browse", i18n.P("page", "Browse"), "document-open-recent-symbolic")
	add(w.search, "search", i18n.P("page", "Search"), "system-search-symbolic")
	add(deleted.New(w.env), "deleted", i18n.P("page", "Deleted"), "user-trash-symbolic")
	add(apps.New(w.env), "apps", i18n.P("page", "Apps"), "view-app-grid-symbolic")

	// Made now, not when first needed: GTK 4.8 does not tell assistive
	// technologies about a child added to an AdwBin that is already shown.
	w.setup = setup.New(w.env, func() {
		w.inSetup = false
		w.env.Show("overview")
		w.env.Refresh()
	})
	w.SetupSlot.SetChild(w.setup)
	w.computer = computer.New(w.env, w.computerDone)
	w.ComputerSlot.SetChild(w.computer)

	w.switchList = gtk.NewStringList(nil)
	w.ComputerSwitch.SetModel(w.switchList)
	w.ComputerSwitch.SetFactory(switchFactory(true))
	w.ComputerSwitch.SetListFactory(switchFactory(false))
	w.ComputerSwitch.NotifyProperty("selected", func() {
		i := int(w.ComputerSwitch.Selected())
		if w.switching || i < 0 || i >= len(w.switchNames) {
			return
		}
		w.selectProfile(w.switchNames[i])
	})
	w.Views.NotifyProperty("visible-child-name", w.showSwitch)

	w.RetryButton.ConnectClicked(func() {
		w.showTop("connecting")
		w.env.Refresh()
	})
	return w
}

// defaultSize is the window's first size; KEEPSAKE_WINDOW_SIZE=WxH
// overrides it (screenshots at phone width, 360x720).
func defaultSize() (int, int) {
	var w, h int
	if _, err := fmt.Sscanf(os.Getenv("KEEPSAKE_WINDOW_SIZE"), "%dx%d", &w, &h); err == nil && w >= 360 && h >= 400 {
		return w, h
	}
	return 900, 680
}

// Env is the environment the pages share.
func (w *Window) Env() *ui.Env { return w.env }

// OwnEnv is Env about the user's own profile whatever computer the pages
// show, for the preferences window (another computer's settings are its
// address and folders there, which it does not edit).
func (w *Window) OwnEnv() *ui.Env {
	e := *w.env
	e.Profile = w.OwnProfile
	return &e
}

func (w *Window) currentClient() *client.Client {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.client
}

func (w *Window) currentState() live.State {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.state
}

// profileName picks the profile the app shows: the computer the person
// chose, else their own profile, else the first one the service has (an
// administrator's whole-machine profile).
func (w *Window) profileName() string {
	st := w.currentState()
	if _, ok := st.Profile(w.selected); ok && w.selected != "" {
		return w.selected
	}
	return ownProfile(st, uint32(os.Getuid()))
}

// OwnProfile is the user's own profile, whatever computer the pages
// show: the tray, Back Up Now from a notification and the preferences
// are about it.
func (w *Window) OwnProfile() string {
	return ownProfile(w.currentState(), uint32(os.Getuid()))
}

// selectProfile makes the pages show another computer.
func (w *Window) selectProfile(name string) {
	if name == w.profileName() {
		return
	}
	w.selected = name
	st := w.currentState()
	if st.Err != nil || w.Top.VisibleChildName() != "main" {
		return
	}
	w.syncSwitch(st)
	for _, p := range w.pages {
		p.Update(st)
	}
}

// syncSwitch lists the computers in the switch and selects the one shown.
func (w *Window) syncSwitch(st live.State) {
	names := make([]string, len(st.Profiles))
	for i, p := range st.Profiles {
		names[i] = p.Name
	}
	titles := computers.Titles(st.Profiles)
	w.switching = true
	defer func() { w.switching = false }()
	if !slices.Equal(names, w.switchNames) || !slices.Equal(titles, w.switchTitles) {
		w.switchList.Splice(0, w.switchList.NItems(), titles)
		w.switchNames, w.switchTitles = names, titles
	}
	shown := w.profileName()
	for i, n := range names {
		if n == shown {
			w.ComputerSwitch.SetSelected(uint(i))
		}
	}
	w.showSwitch()
}

// showSwitch shows the computer switch over the pages that show one
// computer's backups, when there is more than one; the overview lists
// them all itself.
func (w *Window) showSwitch() {
	show := len(w.switchNames) > 1 && w.Top.VisibleChildName() == "main" && w.Views.VisibleChildName() != "overview"
	w.ComputerSwitch.SetVisible(show)
}

// switchFactory shows the computers' names in the switch; in its button
// (ellipsize) a long name gives way on a narrow window.
func switchFactory(ellipsize bool) *gtk.ListItemFactory {
	f := gtk.NewSignalListItemFactory()
	f.ConnectSetup(func(item *gtk.ListItem) {
		l := gtk.NewLabel("")
		l.SetXAlign(0)
		if ellipsize {
			// At least "This Comp…" on a phone, whole names when there
			// is room.
			l.SetEllipsize(pango.EllipsizeEnd)
			l.SetWidthChars(10)
			l.SetMaxWidthChars(24)
		}
		item.SetChild(l)
	})
	f.ConnectBind(func(item *gtk.ListItem) {
		l, ok := item.Child().(*gtk.Label)
		if !ok {
			return
		}
		if s, ok := item.Item().Cast().(*gtk.StringObject); ok {
			l.SetLabel(s.String())
		}
	})
	return &f.ListItemFactory
}

// addComputer shows the steps that add another computer.
func (w *Window) addComputer() {
	w.computer.Reset(w.currentState())
	w.showTop("computer")
}

// computerDone leaves the steps: to the new computer's overview, or back
// where the person came from.
func (w *Window) computerDone(name string) {
	if name != "" {
		w.selected = name
		w.inSetup = false
	}
	w.env.Refresh()
	st := w.currentState()
	if w.inSetup || len(st.Profiles) == 0 {
		w.showSetup(st)
		return
	}
	w.showTop("main")
	w.Views.SetVisibleChildName("overview")
	w.Update(st)
}

// ownProfile is the user's own profile of this computer, else the first
// of this computer (another computer's profiles belong to the
// administrator, uid 0, but they are nobody's own), else the first.
func ownProfile(st live.State, uid uint32) string {
	for _, p := range st.Profiles {
		if p.Owner == uid && !computers.IsRemote(p) {
			return p.Name
		}
	}
	for _, p := range st.Profiles {
		if !computers.IsRemote(p) {
			return p.Name
		}
	}
	if len(st.Profiles) > 0 {
		return st.Profiles[0].Name
	}
	return ""
}

// SetClient is called from the watcher's goroutine when it (re)connects.
func (w *Window) SetClient(c *client.Client) {
	w.mu.Lock()
	w.client = c
	w.mu.Unlock()
}

// Update shows a new reading of the service; it runs on the main loop.
func (w *Window) Update(st live.State) {
	w.mu.Lock()
	w.state = st
	w.mu.Unlock()
	if st.Err != nil {
		w.MissingFix.SetLabel(missingText(st.Err))
		w.showTop("missing")
		return
	}
	w.computer.Update(st)
	if w.Top.VisibleChildName() == "computer" {
		return // until the person leaves it
	}
	if len(st.Profiles) == 0 || w.inSetup {
		w.showSetup(st)
		return
	}
	w.showTop("main")
	w.syncSwitch(st)
	for _, p := range w.pages {
		p.Update(st)
	}
	w.runPending()
}

func (w *Window) showSetup(st live.State) {
	w.inSetup = true
	w.setup.Update(st)
	w.showTop("setup")
}

// showTop switches the window's content; the page switcher only makes
// sense over the pages.
func (w *Window) showTop(name string) {
	w.Top.SetVisibleChildName(name)
	main := name == "main"
	w.SwitcherTitle.SetViewSwitcherEnabled(main)
	w.SwitcherBar.SetVisible(main)
	w.showSwitch()
}

// missingText tells how to get the service running. The cause is only
// added when it is something else than the service not being there.
func missingText(err error) string {
	// TRANSLATORS: %s is the command that starts the service; “keepsake” is the package's name, not to be translated.
	text := fmt.Sprintf(i18n.T("Keepsake backs up with a service that runs in the background, even when nobody is logged in. If Keepsake is installed, start the service with\n\n%s\n\nIf it is not installed, install the “keepsake” package of your distribution."),
		"sudo systemctl enable --now keepsake.service")
	// The service not being there is said above already.
	if !kerr.Is(err, kerr.ServiceNotRunning) {
		text += "\n\n" + humanize.Error(err)
	}
	return text
}
