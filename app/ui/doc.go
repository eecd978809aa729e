// Package ui holds what every page of the app shares: running service
// calls off the GTK main loop and bringing their results back to it,
// filling typed structs from .ui files, and the Env a page gets to reach
// the service, the window and the other pages.
package ui
