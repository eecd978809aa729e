// Package overview is the app's first page: the state of the backups at
// a glance (last and next backup, the drive and its free space), "Back Up
// Now", the running job's progress with Cancel, and the last error in
// plain words with what to do about it.
package overview
