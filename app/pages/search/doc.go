// Package search is the app's Search page: search as you type across
// every backup, the hits grouped by file, a row opening the file's
// version history. Query is the call and grouping without GTK, which
// build-aux/bench-app.sh times per keystroke.
package search
