package ui

import (
	"github.com/diamondburned/gotk4/pkg/gio/v2"
	"github.com/diamondburned/gotk4/pkg/gtk/v4"
)

// ChooseFolder shows the native folder chooser (the portal's, in a
// sandbox) opening at start, and calls done on the main loop with the
// chosen folder, or "" when the person cancelled. The caller must keep the
// returned dialog referenced until done runs: no widget holds a native
// dialog, and a collected one never answers.
func ChooseFolder(parent *gtk.Window, title, accept, start string, done func(path string)) *gtk.FileChooserNative {
	fc := gtk.NewFileChooserNative(title, parent, gtk.FileChooserActionSelectFolder, accept, "_Cancel")
	fc.SetModal(true)
	if start != "" {
		// A failure only means the dialog opens somewhere else.
		_ = fc.SetCurrentFolder(gio.NewFileForPath(start))
	}
	fc.ConnectResponse(func(resp int) {
		path := ""
		if resp == int(gtk.ResponseAccept) {
			if f := fc.File(); f != nil {
				path = f.Path()
			}
		}
		fc.Destroy()
		done(path)
	})
	fc.Show()
	return fc
}
