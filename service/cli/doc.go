// Package cli is keepsakectl: one command tree (cobra) for scripts,
// people and disaster recovery.
//
// Layering: cli is a front end. Commands parse their arguments (times,
// sizes and settings through shared/grammar and shared/api, relative
// paths from the current folder) and run on a Backend: the use cases of
// service/usecase on a drive (--repo), or keepsaked through
// shared/client. Both return the shared/api structs, so a command prints
// the same text and the same --json either way. It never imports the
// engine or the catalog. Progress from either (the engine's callbacks, a
// Job's properties) becomes a bar on a terminal or JSON events.
package cli
