package tray

import (
	_ "embed"
	"fmt"
	"sync"

	"fyne.io/systray"
	"github.com/keepsake/keepsake/shared/i18n"
)

//go:embed icon.png
var iconPNG []byte

//go:embed icon-problem.png
var problemPNG []byte

// Options are the menu's actions; each is called from the tray's goroutine.
type Options struct {
	OnOpen, OnBackupNow, OnQuit func()
}

// Status is what the tray shows.
type Status struct {
	Text    string
	Running bool
	Problem bool
}

// Tray is a running tray icon.
type Tray struct {
	mu      sync.Mutex
	ready   bool
	status  Status
	state   *systray.MenuItem
	backup  *systray.MenuItem
	end     func()
	stopped chan struct{}
}

// Start shows the tray icon.
func Start(opts Options) *Tray {
	t := &Tray{stopped: make(chan struct{})}
	start, end := systray.RunWithExternalLoop(func() { t.ready = true; t.build(opts) }, func() {})
	t.end = end
	start()
	return t
}

func (t *Tray) build(opts Options) {
	t.mu.Lock()
	defer t.mu.Unlock()
	systray.SetIcon(iconPNG)
	systray.SetTitle("Keepsake")
	systray.SetTooltip("Keepsake")
	t.state = systray.AddMenuItem("Keepsake", "")
	t.state.Disable()
	systray.AddSeparator()
	t.backup = systray.AddMenuItem(i18n.T("Back Up Now"), i18n.T("Start a backup now"))
	open := systray.AddMenuItem(i18n.T("Open Keepsake"), "")
	systray.AddSeparator()
	quit := systray.AddMenuItem(i18n.T("Quit"), i18n.T("Stop the app (backups go on without it)"))
	systray.SetOnTapped(func() { call(opts.OnOpen) })
	go func() {
		for {
			select {
			case <-t.backup.ClickedCh:
				call(opts.OnBackupNow)
			case <-open.ClickedCh:
				call(opts.OnOpen)
			case <-quit.ClickedCh:
				call(opts.OnQuit)
			case <-t.stopped:
				return
			}
		}
	}()
	t.apply()
}

func call(f func()) {
	if f != nil {
		f()
	}
}

// Update shows a new status.
func (t *Tray) Update(s Status) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s == t.status && t.state != nil {
		return
	}
	t.status = s
	if t.state != nil {
		t.apply()
	}
}

func (t *Tray) apply() {
	s := t.status
	if s.Text == "" {
		s.Text = "Keepsake"
	}
	t.state.SetTitle(s.Text)
	// TRANSLATORS: the tray icon's tooltip: %s is the state of the backups ("Backups are up to date").
	systray.SetTooltip(fmt.Sprintf(i18n.T("Keepsake: %s"), s.Text))
	if s.Problem {
		systray.SetIcon(problemPNG)
	} else {
		systray.SetIcon(iconPNG)
	}
	if s.Running {
		t.backup.Disable()
	} else {
		t.backup.Enable()
	}
}

// Stop removes the icon.
func (t *Tray) Stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	select {
	case <-t.stopped:
		return
	default:
	}
	close(t.stopped)
	t.end()
}
