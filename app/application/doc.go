// Package application wires the Keepsake app together: the
// libadwaita application and its actions, the main window, the watcher
// that follows keepsaked, native notifications for the service's events,
// and the tray icon. It runs in the background after its window closes
// (and from login with --hide-window), so notifications still arrive.
package application
