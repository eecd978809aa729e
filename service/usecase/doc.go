// Package usecase is Keepsake's one use-case layer: every operation that
// keepsaked offers over D-Bus and keepsakectl offers on a drive (backup,
// restore, snapshots, ls, search, versions, where, deleted, duplicates,
// diff, du, log, policy, pin, prune, verify, repair, Flatpak list and
// restore), with typed requests and results (the structs of shared/api
// where a result crosses the bus), and the rules around them: who may see
// and restore what (Allowed, Scope), which host and snapshot a command
// means on a drive (Open, Repo.Snapshot), and the grammar of sizes and
// times (shared/grammar).
//
// Layering: cmd → {cli, daemon} are front ends: they parse, authorize
// (the daemon with polkit), call a use case and print or convert its
// result. They never import engine or catalog; only this package does.
// usecase knows nothing of D-Bus or of terminals: it reports progress
// through callbacks and returns named errors (shared/kerr).
package usecase
