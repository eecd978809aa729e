// Package overview is the app's first page: the state of the backups at
// a glance (last and next backup, the drive and its free space), "Back Up
// Now", the running job's progress with Cancel, and the last error in
// plain words with what to do about it. A backup that could not take some
// entries says how many and lists them; other drives mounted inside the
// folders, which backups leave out, are named, each with a button to
// include it. With other computers backed up it lists every computer with
// its state and problems; choosing one shows it on every page, a changed
// host key offers its check, and the last row adds a computer.
package overview
