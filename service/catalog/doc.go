// Package catalog is the SQLite catalog of a repository: snapshots, every
// file version as one row valid over a range of snapshots, content by
// SHA-256, and an audit log.
//
// A version row holds first_snap and last_snap. last_snap is NULL while the
// version is still present in its host's newest snapshot, so a backup in
// which a file did not change writes nothing for it: the catalog grows with
// changes, not with snapshots × files. A snapshot s of host h holds version
// v when v.host = h and v.first_snap <= s.id <= coalesce(v.last_snap, ∞);
// snapshot ids only grow, so ranges stay valid when snapshots are pruned.
//
// # Folders that move
//
// A version's dir_id does not name a path but a listing: one folder
// instance, the entries that folder held over time. A listing sits at a
// path; usually its own (the dirs.path of its id), and then nothing more
// is written. When a folder moves, its listing goes along: a row of
// placements(host, listing_id, dir_id, first_snap, last_snap) puts it at
// the new path from the snapshot of the move on, and one more row says it
// was at its own path until then. A listing with placements for a host is
// where they say in each snapshot; one without any is at its own path in
// every snapshot (so catalogs from before placements need no change).
// Moving a folder of N files in F folders thus writes the folder's entry
// in its new parent (and closes the old one), and for each of the F
// listings two placements and its new path in dirs (some 300 bytes in
// all, most of it the path and its index), whatever N is: the files'
// versions stay as they are, open. Moving it back writes the placements
// again. (Placing only the moved folder and deriving its subfolders' paths
// from it would save the F-1 others, at the price of resolving a path
// through its ancestors in every query.)
//
// Reads go through located (catalog.go): each version seen as one piece
// per placement its range overlaps, with the piece's range and path. A
// path becomes listings first (listingsAt: those placed there in the
// snapshot, and the path's own listing unless it has placements), so
// browsing, restoring and history use versions' indexes as before; a
// version's pieces give search, verify, diff and "where" their paths per
// snapshot. A file's history is that of its name in every listing that
// was ever at its folder, so it continues across the move; a version whose
// folder moved on is not deleted at the old path (Deleted reports a
// version at the place of its last piece only); diff names the pieces of
// one version at two paths a move. Prune deletes the placements that hold
// no snapshot any more, like the versions.
//
// A listing serves one folder per snapshot. The walk (service/engine)
// takes a folder's listing from where the previous snapshot had it: its
// own path when the folder's inode is the one recorded there; the old
// path of a folder that vanished from it with the same device and inode
// (a move: the folder entry index versions_dir_ino finds it), unless the
// folder's time changed and it holds less than half of the names the old
// one held (a new folder given a deleted one's inode number), or another
// folder now stands at the old path while the new path had one too (so
// inode numbers that do not last, as on some FUSE filesystems, are not
// taken for moves); for a pull,
// which has no inodes to follow, a folder gone from the pulled tree whose
// entries were exactly the new folder's. A folder whose inode changed in
// place keeps its listing when it holds at least half the names it held
// (recreated in place), else it is new: the old listing stays for a move
// of the old folder found later in the walk. A new folder whose path's
// listing is taken (moved away, or still holding entries) gets a new
// listing, a dirs row named "#<snapshot> <path>" (never a path: paths
// start with /) placed at its path.
//
// A backup runs in one write transaction (see Txn), committed only after the
// snapshot's data is durable; a crash before the commit leaves the catalog
// as it was.
package catalog
