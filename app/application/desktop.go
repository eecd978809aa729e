package application

import (
	"context"
	"log"
	"net/url"
	"os"
	"strings"
	"time"

	coreglib "github.com/diamondburned/gotk4/pkg/core/glib"
	"github.com/diamondburned/gotk4/pkg/gio/v2"
	"github.com/diamondburned/gotk4/pkg/glib/v2"
	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/app/portal"
	"github.com/keepsake/keepsake/app/searchprovider"
	"github.com/keepsake/keepsake/shared/i18n"
)

// The actions the desktop activates over D-Bus
// (org.freedesktop.Application.ActivateAction on the app's id, which
// starts the app if needed):
//
//	show-history  s  a file's version history (Files: Previous Versions…)
//	browse-folder s  Browse at a folder (Files: Previous Versions… of a folder)
//	search        s  the Search page searching for a name
//	browse-backups   the Browse page (the launcher's "Browse Backups")
//	search-backups   the Search page (the launcher's "Search Backups")
//
// A path is given as a file:// URI (Files has one for every file, and
// its percent-encoding carries any byte of a Linux name) or as an
// absolute path.
func (a *App) addDesktopActions() {
	a.addStringAction("show-history", func(arg string) {
		if p, ok := PathArg(arg); ok {
			a.present()
			a.win.ShowHistory(p)
		}
	})
	a.addStringAction("browse-folder", func(arg string) {
		if p, ok := PathArg(arg); ok {
			a.present()
			a.win.BrowseFolder(p)
		}
	})
	a.addStringAction("search", func(text string) {
		a.present()
		a.win.ShowSearch(text)
	})
	a.addAction("browse-backups", nil, func() {
		a.present()
		a.win.ShowPage("browse")
	})
	a.addAction("search-backups", nil, func() {
		a.present()
		a.win.ShowSearch("")
	})
}

func (a *App) addStringAction(name string, f func(string)) {
	act := gio.NewSimpleAction(name, glib.NewVariantType("s"))
	act.ConnectActivate(func(v *glib.Variant) {
		if v != nil {
			f(v.String())
		}
	})
	a.AddAction(act)
}

// PathArg reads an action's path: a file:// URI of this computer, or an
// absolute path. Anything else (another computer's URI, a relative
// path) is refused.
func PathArg(arg string) (string, bool) {
	if rest, ok := strings.CutPrefix(arg, "file://"); ok {
		// file:///p or file://localhost/p
		if i := strings.IndexByte(rest, '/'); i < 0 || (i > 0 && rest[:i] != "localhost") {
			return "", false
		} else {
			rest = rest[i:]
		}
		p, err := url.PathUnescape(rest)
		if err != nil {
			return "", false
		}
		arg = p
	}
	if !strings.HasPrefix(arg, "/") {
		return "", false
	}
	if len(arg) > 1 {
		arg = strings.TrimSuffix(arg, "/")
	}
	return arg, true
}

// startSearchProvider answers GNOME Shell's overview searches from its
// own goroutines (app/searchprovider); what it opens is handed to the
// main loop.
func (a *App) startSearchProvider() {
	env := a.win.Env()
	home, _ := os.UserHomeDir()
	p := searchprovider.New(searchprovider.Options{
		Client: func() searchprovider.Searcher {
			if c := env.Client(); c != nil {
				return c
			}
			return nil
		},
		Profile: a.win.OwnProfile,
		Latest: func() string {
			prof, _ := env.State().Profile(a.win.OwnProfile())
			return prof.LastSnapshot
		},
		Home: home,
		ActivateResult: func(path string) {
			coreglib.IdleAdd(func() {
				a.present()
				a.win.ShowHistory(path)
			})
		},
		LaunchSearch: func(text string) {
			coreglib.IdleAdd(func() {
				a.present()
				a.win.ShowSearch(text)
			})
		},
	})
	go func() {
		// The connection lives as long as the app; without a session
		// bus (or with another instance answering) the overview simply
		// does not list Keepsake's files.
		if _, err := searchprovider.Start(p); err != nil {
			log.Printf("keepsake: no search provider for the overview: %v", err)
		}
	}()
}

// requestBackground asks the Background portal, inside Flatpak only, to
// let the app run with no window and start it at login in the
// background: a sandboxed app's autostart entry is never read. The
// desktop may ask the person; the answer is not waited for.
func (a *App) requestBackground() {
	if !portal.Sandboxed() {
		return
	}
	go func() {
		conn, err := dbus.ConnectSessionBus()
		if err != nil {
			log.Printf("keepsake: cannot ask to run in the background: %v", err)
			return
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := portal.RequestBackground(ctx, conn,
			// TRANSLATORS: why the app asks to run in the background; the desktop may show it when it asks the person.
			i18n.T("Keepsake backs up when your backup drive is plugged in and tells you when a backup fails."),
			[]string{"keepsake", "--hide-window"}); err != nil {
			log.Printf("keepsake: %v", err)
		}
	}()
}
