// Package searchprovider answers GNOME Shell's searches from the
// Activities overview (org.gnome.Shell.SearchProvider2): typing a file
// name there lists the backed-up files that have it, and choosing one
// opens its history in Keepsake.
//
// It lives in the app's process but never on GTK's main loop: godbus
// serves the session bus from its own goroutines, and the answers come
// from the service's Search over the system bus (shared/client), which
// scopes them to the calling user as it does for the app's Search page.
// The app is told about activations through callbacks, which must hand
// the work to the main loop themselves. No GTK here.
package searchprovider
