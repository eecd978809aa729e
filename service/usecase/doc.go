// Package usecase is Keepsake's one use-case layer: every operation that
// keepsaked offers over D-Bus and keepsakectl offers on a drive (backup,
// restore, snapshots, ls, search, versions, where, deleted, duplicates,
// diff, du, log, policy, pin, prune, verify, repair, Flatpak list and
// restore, app data), with typed requests and results (the structs of
// shared/api where a result crosses the bus), and the rules around them:
// who may see and restore what (Allowed, Scope, FlatpakRestore's
// NeedsAdmin), which host and snapshot a command means on a drive (Open,
// Repo.Snapshot), the layout of a drive (FlatpakFile, the offline copies
// of Flatpak apps) and the grammar of sizes and times (shared/grammar).
//
// Layering: cmd → {cli, daemon} are front ends: they parse, authorize
// (the daemon with polkit), call a use case and print or convert its
// result. They never import engine, catalog or repo; only this package
// does, and names the engine's value types they need (types.go).
// usecase knows nothing of D-Bus or of terminals: it reports progress
// through callbacks and returns named errors (shared/kerr).
//
// A front end on a drive (keepsakectl --repo) restoring Flatpak apps:
//
//	x, err := usecase.Open(dir, usecase.OpenOptions{ThisHost: host})
//	...
//	defer x.Close()
//	me := usecase.CurrentCaller(uid, gid, groups)
//	q := usecase.FlatpakRestoreRequest{Snapshot: "latest", Offline: true, Data: true,
//		Flatpak: usecase.FlatpakOptions{Env: env}} // e.g. FLATPAK_SYSTEM_DIR
//	plan, err := x.PlanFlatpakRestore(ctx, me, q) // the snapshot, the installation
//	if plan.NeedsAdmin {
//		// the system's or another user's installation: root only here
//		// (keepsaked asks polkit for configure)
//	}
//	err = plan.Check() // refs the snapshot lacks, a user this machine lacks
//	res, err := plan.Run(ctx, usecase.FlatpakProgress{Installed: printStep})
//	// res.Outcomes say what became of each ref; res.Counts() how many failed
//
// Listing is x.ListFlatpaks(ctx, me, usecase.FlatpakListRequest{Snapshot:
// "latest", Flatpak: opts}); one app's data is x.RestoreAppData. A backup
// records the apps with usecase.RecordFlatpaks (its Extras go into the
// BackupRequest) and refreshes the offline copy with
// (*Drive).UpdateFlatpakOffline.
package usecase
