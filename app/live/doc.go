// Package live follows keepsaked for the app: it polls the service's
// objects, refreshes at once when the service signals a change, and turns
// the differences between two readings into the events the app notifies
// about (a backup failed, a drive was connected and a backup started, a
// drive is safe to remove, a drive has not been seen for days). It has no
// GTK dependency: the window and the tray subscribe to it.
package live
