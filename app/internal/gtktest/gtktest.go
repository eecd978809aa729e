// Package gtktest sets up GTK for the app's tests that build real widgets:
// they need a display, and GTK wants every call on the thread it was
// initialised on.
package gtktest

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/diamondburned/gotk4-adwaita/pkg/adw"
	"github.com/diamondburned/gotk4/pkg/glib/v2"
	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/keepsake/keepsake/app/live"
	"github.com/keepsake/keepsake/app/ui"
	"github.com/keepsake/keepsake/shared/client"
)

// RequireDisplay skips without an X or Wayland display, but fails under
// CI, whose test command runs these tests inside xvfb-run: there a
// missing display is a broken setup, not a reason to pass.
func RequireDisplay(t testing.TB) {
	t.Helper()
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("GTK tests need a display; CI runs them under xvfb-run")
		}
		t.Skip("needs a display (run under xvfb-run)")
	}
}

// Init readies GTK and libadwaita for a test on its own goroutine, which
// stays on this thread to the end of the test.
func Init(t testing.TB) {
	t.Helper()
	RequireDisplay(t)
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread)
	gtk.Init()
	adw.Init()
}

// Toasts records what a page toasted.
type Toasts []string

// Env is what a page gets with the service gone (every call fails with
// "not running"): the given profile and parent window, a State of
// nothing unless the test sets one, and toasts recorded in the returned
// list.
func Env(profile string, window *gtk.Window) (*ui.Env, *Toasts) {
	toasts := &Toasts{}
	return &ui.Env{
		Client:      func() *client.Client { return nil },
		State:       func() live.State { return live.State{} },
		Profile:     func() string { return profile },
		Select:      func(string) {},
		AddComputer: func() {},
		ReviewKey:   func(string) {},
		Window:      func() *gtk.Window { return window },
		Toast:       func(m string) { *toasts = append(*toasts, m) },
		Refresh:     func() {},
		Show:        func(string) {},
		History:     func(string) {},
	}, toasts
}

// Pump runs what is pending on the GTK main loop.
func Pump() {
	ctx := glib.MainContextDefault()
	for ctx.Iteration(false) {
	}
}

// WaitFor runs the main loop until ok holds, failing the test after five
// seconds.
func WaitFor(t testing.TB, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		Pump()
		time.Sleep(10 * time.Millisecond)
	}
}

// FindButton is the button inside w whose tooltip or label (without its
// mnemonic's underscore) is text, or nil.
func FindButton(w gtk.Widgetter, text string) *gtk.Button {
	if b, ok := w.(*gtk.Button); ok {
		if b.TooltipText() == text || strings.ReplaceAll(b.Label(), "_", "") == text {
			return b
		}
	}
	for c := gtk.BaseWidget(w).FirstChild(); c != nil; c = gtk.BaseWidget(c).NextSibling() {
		if b := FindButton(c, text); b != nil {
			return b
		}
	}
	return nil
}
