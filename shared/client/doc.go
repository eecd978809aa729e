// Package client is the typed Go client of keepsaked's D-Bus interface,
// for keepsakectl and the app.
//
// Every call takes a context first. Queries return the structs of
// shared/api (Snapshots []api.Snapshot, List []api.Entry, ...) and take
// its option structs (api.SearchOptions, api.RestoreOptions, ...; api.Auth
// where a method has no other option), sent with api.ToOptions. Paths are
// Go strings holding the raw bytes of a Linux name: the client sends them
// encoded with api.EncodePath and decodes those it receives, so a name
// that is not UTF-8 crosses exactly. A finished Job's Result reads typed
// with BackupResult, RestoreResult, PruneResult and VerifyResult.
//
// Errors come back as named errors (shared/kerr), so callers test
// kerr.Is(err, kerr.NotAuthorized) rather than D-Bus error strings. When
// nothing answers for the service (not running, gone during a call or
// while a job was followed, no system bus) the error is
// kerr.ServiceNotRunning, which only the client makes.
package client
