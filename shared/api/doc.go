// Package api holds the typed values that cross the D-Bus interface: one Go
// struct per dictionary a method returns (Snapshot, Entry, SearchHit,
// Version, DeletedFile, FlatpakRef, the results of jobs) and the keys of
// settings and options, each declared once, in a `key` struct tag.
//
// ToDict and FromDict convert a struct to and from an a{sv} dictionary; the
// D-Bus type of every key follows from the Go type (string s, uint64 t,
// int64 x, uint32 u, bool b, []string as, time.Time x in µs since the
// epoch, Path s). TestKeysMatchXML checks every struct against the
// DictKeys annotations of data/io.github.keepsake.Keepsake1.xml, so the
// interface XML stays the one source of truth.
//
// The same structs are what keepsakectl prints with --json in both of its
// modes (through the service and on a drive directly), so the two cannot
// drift apart: the json tags are the keys with "_" for "-".
//
// Paths are Linux names, which are bytes; D-Bus strings are UTF-8. A Path
// crosses the bus in the escaped form of EncodePath (see there), which
// leaves every valid UTF-8 name as it is.
//
// Layering: api sits in shared/ beside dbusapi (names, errors, object
// paths) and client (the typed client); it imports neither GTK nor SQLite,
// so the app, the CLI and the service all use it.
package api
