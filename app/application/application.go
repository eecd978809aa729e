package application

import (
	"context"
	"fmt"
	"github.com/keepsake/keepsake/shared/version"
	"os"
	"strings"

	"github.com/diamondburned/gotk4-adwaita/pkg/adw"
	coreglib "github.com/diamondburned/gotk4/pkg/core/glib"
	"github.com/diamondburned/gotk4/pkg/gio/v2"
	"github.com/diamondburned/gotk4/pkg/glib/v2"
	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/keepsake/keepsake/app/humanize"
	"github.com/keepsake/keepsake/app/live"
	"github.com/keepsake/keepsake/app/pages/prefs"
	"github.com/keepsake/keepsake/app/tray"
	"github.com/keepsake/keepsake/app/window"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/i18n"
)

// ID is the application id (desktop file, D-Bus name, GSettings).
const ID = "io.github.keepsake.Keepsake"

// Options are the command line's choices.
type Options struct {
	// HideWindow starts in the background: tray icon and notifications
	// only, as the autostart entry does at login.
	HideWindow bool
	// NoTray leaves the tray icon out (a desktop without a tray host).
	NoTray bool
	// NotifySuccess also notifies finished backups (off: no spam).
	NotifySuccess bool
	// Action is an app action without parameter to run at start
	// (--action=browse-backups: the launcher's actions, for desktops
	// that start apps by their Exec line), in the running instance if
	// there is one.
	Action string
}

// App is the running application.
type App struct {
	*adw.Application
	opts    Options
	win     *window.Window
	watcher *live.Watcher
	tray    *tray.Tray
	cancel  context.CancelFunc
	state   live.State
	// pendingUnlock is a drive (UUID) whose unlock dialog waits for a
	// reading of the service that lists it.
	pendingUnlock string
	// clock is GNOME's clock-format setting, kept for its signal.
	clock *gio.Settings
}

// Run runs the app with GTK's own arguments (the app's were parsed by
// the caller into opts) and returns the exit status.
func Run(opts Options, gtkArgs []string) int {
	a := &App{Application: adw.NewApplication(ID, gio.ApplicationFlagsNone), opts: opts}
	a.ConnectStartup(a.startup)
	a.ConnectActivate(a.activate)
	a.ConnectShutdown(func() {
		if a.cancel != nil {
			a.cancel()
		}
		if a.tray != nil {
			a.tray.Stop()
		}
	})
	if opts.Action != "" {
		// Registering makes this the running instance (startup adds the
		// actions) or finds the one running, which then runs it.
		if err := a.Register(context.Background()); err == nil {
			a.ActivateAction(opts.Action, nil)
		}
	}
	return a.Application.Run(gtkArgs)
}

func (a *App) startup() {
	// The app lives on without a window: notifications and the tray need it.
	a.Hold()
	addIcons()
	// Times are shown on the desktop's clock; a change redraws what
	// the last reading of the service shows.
	a.clock = followClock(func() {
		if a.win != nil && !a.state.Read.IsZero() {
			a.update(a.state)
		}
	})
	a.addAction("preferences", []string{"<Control>comma"}, func() { prefs.Open(a.win.OwnEnv()) })
	a.addAction("about", nil, a.about)
	a.addAction("open", nil, a.present)
	a.addAction("backup-now", nil, a.backUpNow)
	a.addAction("quit", []string{"<Control>q"}, a.Quit)
	a.addAction("close-window", []string{"<Control>w"}, func() { a.win.SetVisible(false) })
	// The UnlockNeeded notification's action: the drive's UUID.
	unlockAct := gio.NewSimpleAction("unlock-drive", glib.NewVariantType("s"))
	unlockAct.ConnectActivate(func(v *glib.Variant) {
		if v != nil {
			a.unlockDrive(v.String())
		}
	})
	a.AddAction(unlockAct)

	a.watcher = live.NewWatcher(live.Options{
		Connect: func() (*client.Client, error) {
			c, err := client.Connect()
			if a.win != nil {
				a.win.SetClient(c)
			}
			return c, err
		},
		OnState: func(st live.State) { coreglib.IdleAdd(func() { a.update(st) }) },
		OnEvent: func(e live.Event) { coreglib.IdleAdd(func() { a.notify(e) }) },
	})
	a.win = window.New(a.Application, window.Options{Watcher: a.watcher})
	a.addDesktopActions()
	a.startSearchProvider()
	a.requestBackground()
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	go a.watcher.Run(ctx)

	if !a.opts.NoTray {
		a.tray = tray.Start(tray.Options{
			OnOpen:      func() { coreglib.IdleAdd(a.present) },
			OnBackupNow: func() { coreglib.IdleAdd(a.backUpNow) },
			OnQuit:      func() { coreglib.IdleAdd(a.Quit) },
		})
	}
}

func (a *App) activate() {
	if a.opts.HideWindow {
		// Only the first activation (the autostart) stays hidden; opening
		// the app again from the launcher shows the window.
		a.opts.HideWindow = false
		return
	}
	a.present()
}

func (a *App) present() { a.win.Present() }

func (a *App) addAction(name string, accels []string, f func()) {
	act := gio.NewSimpleAction(name, nil)
	act.ConnectActivate(func(*glib.Variant) { f() })
	a.AddAction(act)
	if len(accels) > 0 {
		a.SetAccelsForAction("app."+name, accels)
	}
}

func (a *App) update(st live.State) {
	a.state = st
	a.win.Update(st)
	if uuid := a.pendingUnlock; uuid != "" && st.Err == nil {
		a.pendingUnlock = ""
		for _, d := range st.Drives {
			if d.UUID == uuid {
				a.unlockDrive(uuid)
			}
		}
	}
	a.benchFrame(st)
	if a.tray != nil {
		a.tray.Update(TrayStatus(st, a.win.OwnProfile()))
	}
}

// backUpNow starts the user's own backup (from the tray or a
// notification), saying in a notification what went wrong if it cannot.
func (a *App) backUpNow() {
	env := a.win.Env()
	name := a.win.OwnProfile()
	c := env.Client()
	if c == nil || name == "" {
		a.present()
		return
	}
	go func() {
		_, err := c.BackupNow(context.Background(), name, api.BackupOptions{})
		coreglib.IdleAdd(func() {
			if err != nil {
				a.send("backup-failed", i18n.T("Backup could not start"), humanize.Error(err), gio.NotificationPriorityHigh)
			}
			a.watcher.Refresh()
		})
	}()
}

func (a *App) about() {
	d := gtk.NewAboutDialog()
	d.SetProgramName("Keepsake")
	d.SetLogoIconName(ID)
	d.SetVersion(version.Version)
	d.SetComments(i18n.T("Back up your files and apps, and bring them back"))
	d.SetWebsite("https://github.com/keepsake/keepsake")
	d.SetLicenseType(gtk.LicenseGPL30)
	d.SetTransientFor(&a.win.ApplicationWindow.ApplicationWindow.Window)
	d.SetModal(true)
	d.Present()
}

// TrayStatus is the tray's one-line state.
func TrayStatus(st live.State, profile string) tray.Status {
	if st.Err != nil {
		return tray.Status{Text: i18n.T("Backup service not running"), Problem: true}
	}
	p, ok := st.Profile(profile)
	if !ok {
		return tray.Status{Text: i18n.T("Backups not set up")}
	}
	s := tray.Status{Text: humanize.State(p), Running: p.Job != "/" && p.Job != ""}
	if j, ok := st.Job(p.Job); ok && s.Running {
		s.Text = humanize.Operation(j.Operation)
		if j.Progress > 0 {
			s.Text += " " + percent(j.Progress)
		}
	}
	s.Problem = p.LastResult != "" && p.LastResult != "Cancelled"
	return s
}

func percent(f float64) string { return fmt.Sprintf("%.0f%%", f*100) }

// ParseArgs splits the app's own flags from GTK's.
func ParseArgs(args []string) (Options, []string) {
	var o Options
	rest := []string{args[0]}
	for _, a := range args[1:] {
		switch a {
		case "--hide-window":
			o.HideWindow = true
		case "--no-tray":
			o.NoTray = true
		case "--notify-success":
			o.NotifySuccess = true
		case "--action=browse-backups", "--action=search-backups":
			o.Action = strings.TrimPrefix(a, "--action=")
		default:
			rest = append(rest, a)
		}
	}
	if os.Getenv("KEEPSAKE_NOTIFY_SUCCESS") == "1" {
		o.NotifySuccess = true
	}
	return o, rest
}
