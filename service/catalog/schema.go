package catalog

// schema is applied on every open; every statement is idempotent.
const schema = `
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS snapshots(
	id        INTEGER PRIMARY KEY,
	host      TEXT NOT NULL,
	name      TEXT NOT NULL,
	started   INTEGER NOT NULL,           -- µs since the epoch
	finished  INTEGER NOT NULL DEFAULT 0, -- µs since the epoch
	complete  INTEGER NOT NULL DEFAULT 0, -- 1 once the folder has its final name
	pinned    INTEGER NOT NULL DEFAULT 0,
	files     INTEGER NOT NULL DEFAULT 0,
	dirs      INTEGER NOT NULL DEFAULT 0,
	bytes     INTEGER NOT NULL DEFAULT 0,
	new_bytes INTEGER NOT NULL DEFAULT 0, -- bytes copied (not linked) by this snapshot
	sources   TEXT NOT NULL DEFAULT '',   -- newline-separated absolute paths
	UNIQUE(host, name)
);
-- Files a snapshot carries beside the backed-up tree, in <snapshot>/.keepsake/
-- (e.g. the Flatpak inventory): kept here too so they can be queried.
CREATE TABLE IF NOT EXISTS snapshot_files(
	snapshot_id INTEGER NOT NULL,
	name        TEXT NOT NULL,
	data        BLOB NOT NULL,
	PRIMARY KEY(snapshot_id, name)
);
CREATE TABLE IF NOT EXISTS dirs(
	id   INTEGER PRIMARY KEY,
	path TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS contents(
	id     INTEGER PRIMARY KEY,
	sha256 BLOB NOT NULL UNIQUE,
	size   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS versions(
	id          INTEGER PRIMARY KEY,
	host        TEXT NOT NULL,
	dir_id      INTEGER NOT NULL REFERENCES dirs(id),
	name        TEXT NOT NULL,
	first_snap  INTEGER NOT NULL,
	last_snap   INTEGER,                  -- NULL: in the host's newest snapshot
	type        INTEGER NOT NULL,
	mode        INTEGER NOT NULL,
	uid         INTEGER NOT NULL,
	gid         INTEGER NOT NULL,
	user        TEXT NOT NULL DEFAULT '',
	grp         TEXT NOT NULL DEFAULT '',
	size        INTEGER NOT NULL DEFAULT 0,
	mtime_ns    INTEGER NOT NULL,
	ctime_ns    INTEGER NOT NULL,
	dev         INTEGER NOT NULL DEFAULT 0,
	ino         INTEGER NOT NULL DEFAULT 0,
	nlink       INTEGER NOT NULL DEFAULT 1,
	rdev        INTEGER NOT NULL DEFAULT 0,
	content_id  INTEGER REFERENCES contents(id),
	link_target TEXT,
	xattrs      BLOB
);
CREATE INDEX IF NOT EXISTS versions_open ON versions(host, dir_id) WHERE last_snap IS NULL;
CREATE INDEX IF NOT EXISTS versions_dir ON versions(dir_id, name);
CREATE INDEX IF NOT EXISTS versions_name ON versions(name COLLATE NOCASE);
CREATE INDEX IF NOT EXISTS versions_content ON versions(content_id);
-- Closed versions by their last snapshot: what a prune may orphan.
CREATE INDEX IF NOT EXISTS versions_closed ON versions(last_snap) WHERE last_snap IS NOT NULL;
-- (size, mtime) finds a stored twin worth hashing for; with the inode, a
-- renamed file.
CREATE INDEX IF NOT EXISTS versions_twin ON versions(size, mtime_ns, ino);
CREATE TABLE IF NOT EXISTS audit(
	id       INTEGER PRIMARY KEY,
	time     INTEGER NOT NULL,            -- µs since the epoch
	uid      INTEGER NOT NULL,
	user     TEXT NOT NULL DEFAULT '',
	action   TEXT NOT NULL,               -- backup, copied, linked, skipped, pruned, restored, ...
	host     TEXT NOT NULL DEFAULT '',
	snapshot TEXT NOT NULL DEFAULT '',
	path     TEXT NOT NULL DEFAULT '',
	detail   TEXT NOT NULL DEFAULT ''
);
-- Snapshots the catalog has forgotten whose folders are still to be
-- removed: written in the same transaction that deletes their rows.
CREATE TABLE IF NOT EXISTS pending_deletes(
	host TEXT NOT NULL,
	name TEXT NOT NULL,
	PRIMARY KEY(host, name)
);
-- Every name ever recorded, once: name search scans these, not every
-- version.
CREATE TABLE IF NOT EXISTS names(
	id   INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE
);
-- Where a folder's listing sits when not at its own path (see doc.go):
-- over [first_snap, last_snap] of host, listing_id's versions are at
-- dirs.path of dir_id. A listing without rows here for a host is at its
-- own dirs.path in every snapshot of it.
CREATE TABLE IF NOT EXISTS placements(
	host       TEXT NOT NULL,
	listing_id INTEGER NOT NULL REFERENCES dirs(id),
	dir_id     INTEGER NOT NULL REFERENCES dirs(id),
	first_snap INTEGER NOT NULL,
	last_snap  INTEGER,                   -- NULL: still there
	PRIMARY KEY(host, listing_id, first_snap)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS placements_dir ON placements(dir_id);
-- Folder entries by inode: a folder that appears at a new path is looked
-- up here to tell a moved folder from a new one.
CREATE INDEX IF NOT EXISTS versions_dir_ino ON versions(ino) WHERE type = 2;
-- Files with several names by inode: a journal that reports one name of
-- such a file changed has the others looked up here (LinkedNames).
CREATE INDEX IF NOT EXISTS versions_links ON versions(ino) WHERE type = 1 AND nlink > 1;
INSERT OR IGNORE INTO meta(key, value) VALUES('schema', '2');
UPDATE meta SET value = '2' WHERE key = 'schema' AND value = '1';
`

// schemaVersion is the catalog layout this code reads and writes; a
// catalog of a newer one is refused rather than misread (version 2 added
// placements: a version 1 reader would show moved folders at their old
// paths and a backup by it would record them wrongly).
const schemaVersion = 2
