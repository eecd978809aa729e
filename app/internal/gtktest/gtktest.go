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
// stays on this thread to the end of the test and owns GLib's default
// main context meanwhile.
//
// Owning the context matters because gotk4 drops its reference to a
// widget from Go's finalizer thread through g_main_context_invoke, which
// runs the call right there when no thread owns the context: a widget
// could then be destroyed while the test's thread draws it. Owned, the
// call waits for the test's next Pump. GTK draws with cairo here: a GL
// context belongs to one thread, and a subtest (Run) is another.
func Init(t testing.TB) {
	t.Helper()
	InitForApp(t)
	ctx := glib.MainContextDefault()
	if !acquire(ctx) {
		t.Fatal("GLib's main context stays owned by another thread")
	}
	t.Cleanup(ctx.Release)
}

// InitForApp readies GTK for a test that runs an application, whose run
// owns the main context while it lasts. It draws with cairo, as Init.
func InitForApp(t testing.TB) {
	t.Helper()
	RequireDisplay(t)
	if os.Getenv("GSK_RENDERER") == "" {
		os.Setenv("GSK_RENDERER", "cairo")
	}
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread)
	gtk.Init()
	adw.Init()
}

// acquire takes the default main context, which the finalizer thread may
// hold for a moment.
func acquire(ctx *glib.MainContext) bool {
	deadline := time.Now().Add(5 * time.Second)
	for !ctx.Acquire() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// Run runs f as the subtest name of a test that called Init: the subtest
// has a goroutine (and so a thread) of its own, and GTK with it while it
// runs.
func Run(t *testing.T, name string, f func(t *testing.T)) bool {
	t.Helper()
	ctx := glib.MainContextDefault()
	ctx.Release()
	defer func() {
		if !acquire(ctx) {
			t.Fatal("GLib's main context stays owned by another thread")
		}
	}()
	return t.Run(name, func(t *testing.T) {
		Init(t)
		f(t)
	})
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
