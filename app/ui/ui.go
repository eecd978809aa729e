package ui

import (
	"context"
	"fmt"
	"reflect"

	"github.com/diamondburned/gotk4/pkg/core/glib"
	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/keepsake/keepsake/app/live"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/i18n"
)

// Async runs work on its own goroutine, never on the GTK main loop (every
// D-Bus call can wait for polkit or a busy service), and hands its result
// to done on the main loop.
func Async[T any](work func() (T, error), done func(T, error)) {
	go func() {
		v, err := work()
		glib.IdleAdd(func() { done(v, err) })
	}()
}

// Fill loads a .ui description and sets every exported pointer field of
// dst (a pointer to a struct) whose `ui:"id"` tag names an object in it.
// A missing object or a wrong type is a programming error: it panics with
// the id, so a page's test fails at once.
//
// The properties marked translatable="yes" come out in the user's
// language: the builder reads them from Keepsake's own catalog, not from
// the program's default gettext domain.
func Fill(dst any, xml string) *gtk.Builder {
	b := gtk.NewBuilder()
	b.SetTranslationDomain(i18n.Domain)
	if err := b.AddFromString(xml, len(xml)); err != nil {
		panic(fmt.Sprintf("ui: %v", err))
	}
	v := reflect.ValueOf(dst).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		id := t.Field(i).Tag.Get("ui")
		if id == "" {
			continue
		}
		obj := b.GetObject(id)
		if obj == nil {
			panic(fmt.Sprintf("ui: no object %q in %s", id, t.Name()))
		}
		cast := obj.Cast()
		fv := reflect.ValueOf(cast)
		if !fv.Type().AssignableTo(v.Field(i).Type()) {
			panic(fmt.Sprintf("ui: object %q is %T, field %s wants %s", id, cast, t.Field(i).Name, v.Field(i).Type()))
		}
		v.Field(i).Set(fv)
	}
	return b
}

// Env is what a page needs from the rest of the app.
type Env struct {
	// Client is the connection to keepsaked; nil while it is not reachable.
	Client func() *client.Client
	// State is the latest reading of the service.
	State func() live.State
	// Profile is the profile the app shows: the computer chosen with
	// Select, else the caller's own, else the first.
	Profile func() string
	// Select makes the pages show the computer of another profile ("" =
	// back to the caller's own).
	Select func(profile string)
	// AddComputer opens the steps that add another computer to back up.
	AddComputer func()
	// ReviewKey opens the check of a profile's computer's host key.
	ReviewKey func(profile string)
	// Window is the main window, the parent of dialogs.
	Window func() *gtk.Window
	// Toast shows a short message at the bottom of the window.
	Toast func(message string)
	// Refresh asks for a new reading of the service now.
	Refresh func()
	// Show switches the window to a page by name ("overview", "browse",
	// "search", "deleted", "apps").
	Show func(page string)
	// History opens the version history of a backed-up file.
	History func(path string)
}

// Call runs f with the client off the main loop and hands the result to
// done on it; without a connection done gets the ServiceNotRunning error
// that the app shows as "the service is not running". f's context is
// the one its calls take.
func Call[T any](env *Env, f func(ctx context.Context, c *client.Client) (T, error), done func(T, error)) {
	c := env.Client()
	Async(func() (T, error) {
		if c == nil {
			var zero T
			return zero, errNoService
		}
		return f(context.Background(), c)
	}, done)
}

// SetAccessibleName names a widget for screen readers (and the UI tests,
// which find widgets by these names) when it shows no text of its own.
func SetAccessibleName(w gtk.Widgetter, name string) {
	gtk.BaseWidget(w).UpdateProperty([]gtk.AccessibleProperty{gtk.AccessiblePropertyLabel}, []glib.Value{*glib.NewValue(name)})
}
