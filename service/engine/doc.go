// Package engine writes and reads hardlink snapshots: Backup walks the
// sources, links what is unchanged or already stored, copies the rest and
// records every version in the catalog; Restore brings entries back without
// ever writing through a symlink it did not create. The engine never prints:
// it reports through the callbacks in its Options, which the CLI, the D-Bus
// service and the app turn into progress.
package engine
