package ui

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/diamondburned/gotk4/pkg/gio/v2"
	"github.com/diamondburned/gotk4/pkg/gtk/v4"
	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/app/portal"
	"github.com/keepsake/keepsake/shared/i18n"
)

// ChooseFolder shows the native folder chooser (the portal's, in a
// sandbox) opening at start, and calls done on the main loop with the
// chosen folder, or "" when the person cancelled. The caller must keep the
// returned dialog referenced until done runs: no widget holds a native
// dialog, and a collected one never answers.
func ChooseFolder(parent *gtk.Window, title, accept, start string, done func(path string)) *gtk.FileChooserNative {
	fc := gtk.NewFileChooserNative(title, parent, gtk.FileChooserActionSelectFolder, accept, i18n.T("_Cancel"))
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
		if path == "" || !portal.Sandboxed() {
			done(path)
			return
		}
		hostFolder(parent, path, done)
	})
	fc.Show()
	return fc
}

// hostFolder hands done the host's path of a folder the sandboxed app
// was given through the document portal (/run/user/UID/doc/…), which
// keepsaked cannot use. When the portal does not say, it explains and
// offers the home folder, which a Flatpak shares with the host.
func hostFolder(parent *gtk.Window, path string, done func(string)) {
	Async(func() (string, error) {
		conn, err := dbus.ConnectSessionBus()
		if err != nil {
			conn = nil
		} else {
			defer conn.Close()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return portal.NewResolver(conn).Host(ctx, path)
	}, func(host string, err error) {
		if err == nil {
			done(host)
			return
		}
		home, _ := os.UserHomeDir()
		d := gtk.NewMessageDialog(parent, gtk.DialogModal|gtk.DialogDestroyWithParent, gtk.MessageWarning, gtk.ButtonsNone)
		d.SetObjectProperty("text", i18n.T("Keepsake Cannot Tell Where This Folder Is"))
		d.SetObjectProperty("secondary-text", HostFolderText(home))
		d.AddButton(i18n.T("_Cancel"), int(gtk.ResponseCancel))
		d.AddButton(i18n.T("Use _Home Folder"), int(gtk.ResponseAccept))
		d.SetDefaultResponse(int(gtk.ResponseAccept))
		d.ConnectResponse(func(resp int) {
			d.Destroy()
			if resp == int(gtk.ResponseAccept) && home != "" {
				done(home)
				return
			}
			done("")
		})
		d.Present()
	})
}

// HostFolderText explains why a folder chosen in the Flatpak cannot be
// used.
func HostFolderText(home string) string {
	// TRANSLATORS: %s is the home folder ("/home/ann").
	return fmt.Sprintf(i18n.T("The desktop gave Keepsake this folder without saying where it is on the computer, so the backup service cannot find it. Your home folder (%s) can always be used; choose a folder inside it, or back up the whole home folder."), home)
}
