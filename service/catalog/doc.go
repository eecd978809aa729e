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
// A backup runs in one write transaction (see Txn), committed only after the
// snapshot's data is durable; a crash before the commit leaves the catalog
// as it was.
package catalog
