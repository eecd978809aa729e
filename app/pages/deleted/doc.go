// Package deleted is the app's Deleted page: the files that disappeared
// from a folder since a day, week or month, each from the last backup
// holding it, ticked and restored to their place (keep-both).
package deleted
