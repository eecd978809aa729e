// Package humanize turns what keepsaked reports (error names, sizes,
// times, job progress, profile states) into the short sentences the app
// shows. It has no GTK dependency so it tests in milliseconds.
package humanize
