// Package watch keeps track of which source directories changed since the
// last backup, so a run can read only those (engine.BackupOptions.ChangedDirs)
// and take every other directory from the previous snapshot.
//
// A Watcher puts an inotify watch (through fsnotify) on every directory below
// its roots. For every event it records the directory whose listing or entry
// metadata changed, which is the parent of the event's path: that is where
// the engine reads the entry from. A directory whose own metadata changed
// (chmod, utimes) is recorded itself, since the engine records a
// directory's metadata in the catalog only when it reads that directory.
// A new directory (created or moved in) is
// walked at once, watched and recorded with everything below it, because
// whatever was created inside it before its watch landed produced no event.
//
// Recorded directories go to a journal file that survives restarts. Each
// Batch carries a token; Commit with that token forgets what the batch held
// and keeps what was recorded after it.
//
// A full scan is asked for (Batch's full result) after every start, since
// nothing was watched while the service was not running, after an event
// queue overflow, when a source folder is missing, and on MarkFull. When the
// inotify watch or instance limit is reached the watcher gives up its
// watches (they are a per-user budget other programs need) and asks for a
// full scan on every batch until it is restarted; State says why.
//
// Not seen by inotify, and so left to the periodic full scan: a file changed
// through a hardlink in another directory, writes through a shared mmap,
// changes made by another machine on a network file system, and a file
// system mounted over a watched directory after its watch landed.
package watch
