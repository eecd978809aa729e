package catalog

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/keepsake/keepsake/service/btrfs"
	"github.com/keepsake/keepsake/service/fsmeta"
	"github.com/keepsake/keepsake/shared/kerr"
	"github.com/mattn/go-sqlite3"
	"golang.org/x/sys/unix"
)

// Catalog is an open catalog database.
type Catalog struct {
	db *sql.DB
	// ro serves the reads a backup makes beside its transaction (see
	// Prefetch and Txn.readStmt): a pull of another computer asks it for
	// a stored copy of each file it shares with the drive, at random
	// places in a catalog of tens of megabytes, which a small page cache
	// turns into a read of the file for nearly every page (half the time
	// of those lookups at 100 000 files). An idle connection is closed,
	// and its cache freed, after a minute.
	ro   *sql.DB
	path string
}

// Open opens (creating if needed) the catalog at p.
func Open(p string) (*Catalog, error) {
	// synchronous=FULL: a commit is on the disk when it returns, which is
	// what lets the snapshot's rename come after it.
	file := "file:" + (&url.URL{Path: p}).EscapedPath()
	inPlace(p)
	db, err := sql.Open(stableDriver, file+"?_journal_mode=WAL&_synchronous=FULL&_busy_timeout=10000&_txlock=immediate&_cache_size=-16384")
	if err != nil {
		return nil, fmt.Errorf("open catalog %s: %w", p, err)
	}
	if err := checkSchema(db, p); err != nil {
		db.Close()
		return nil, openFailed(p, err)
	}
	// Bringing the layout up to date writes, which waits for a backup's
	// transaction (its whole run) and then fails as "database is locked":
	// a catalog already up to date is only read, so a search while a
	// backup runs opens it at once.
	if !schemaCurrent(db) {
		if _, err := db.Exec(schema); err != nil {
			db.Close()
			if isCorrupt(err) {
				return nil, kerr.Wrap(kerr.CatalogCorrupt, err, "catalog %s is damaged (the snapshot folders beside it are plain files: "+
					"browse them or copy them back with cp -a; move the catalog aside to start a new one)", p)
			}
			return nil, openFailed(p, err)
		}
		if err := fillNames(db); err != nil {
			db.Close()
			return nil, openFailed(p, err)
		}
	}
	ro, err := sql.Open(stableDriver, file+"?_busy_timeout=10000&_query_only=1&_cache_size=-16384")
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open catalog %s: %w", p, err)
	}
	ro.SetMaxOpenConns(2)
	ro.SetConnMaxIdleTime(time.Minute)
	return &Catalog{db: db, ro: ro, path: p}, nil
}

// inPlace makes the catalog's files about to be created at p (the
// database, and its write-ahead log, made anew at each first open) files
// without copy-on-write when p is on btrfs, as systemd-journald does with
// its journals: SQLite rewrites pages in place, which copy-on-write turns
// into a new extent for every page written, and each is metadata that
// stays (a backup that moves a big folder rewrites a page per folder).
// Files that exist keep what they have (the flag takes only on an empty
// file); elsewhere nothing is done.
func inPlace(p string) {
	dir, err := unix.Open(filepath.Dir(p), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer unix.Close(dir)
	if ok, err := btrfs.Is(dir); err != nil || !ok {
		return
	}
	// SQLite's own modes: the database 0644 less the umask, its log the
	// database's mode and owner.
	var db unix.Stat_t
	mode, owned := uint32(0o644), false
	if unix.Fstatat(dir, filepath.Base(p), &db, unix.AT_SYMLINK_NOFOLLOW) == nil {
		mode, owned = db.Mode&0o777, true
	}
	for _, name := range []string{filepath.Base(p), filepath.Base(p) + "-wal"} {
		// O_EXCL: only a file made here, empty.
		fd, err := unix.Openat(dir, name, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
		if err != nil {
			continue
		}
		if owned {
			if unix.Fchmod(fd, mode) != nil || unix.Fchown(fd, int(db.Uid), int(db.Gid)) != nil {
				// Not as the database is: SQLite makes its own.
				unix.Close(fd)
				unix.Unlinkat(dir, name, 0)
				continue
			}
		}
		// Best effort: a file with copy-on-write works the same.
		_ = btrfs.SetNoCOW(fd)
		unix.Close(fd)
	}
}

// OpenReadOnly opens an existing catalog for reading only: a user who may
// read the drive but not write to it lists and searches it this way. It
// never creates, migrates or writes anything.
func OpenReadOnly(p string) (*Catalog, error) {
	if _, err := os.Stat(p); err != nil {
		return nil, fmt.Errorf("open catalog %s: %w", p, err)
	}
	base := "file:" + (&url.URL{Path: p}).EscapedPath() + "?mode=ro&_busy_timeout=10000&_query_only=1&_cache_size=-16384"
	// A WAL database needs its -shm file even to read; where it cannot be
	// made (a read-only drive, a folder the user may not write) and no
	// writer is running, the file is read as it is (immutable).
	var err error
	for _, file := range []string{base, base + "&immutable=1"} {
		var db *sql.DB
		if db, err = sql.Open(readOnlyDriver, file); err != nil {
			return nil, fmt.Errorf("open catalog %s: %w", p, err)
		}
		var n int
		if err = db.QueryRow(`SELECT count(*) FROM snapshots`).Scan(&n); err == nil {
			if err := checkSchema(db, p); err != nil {
				db.Close()
				return nil, err
			}
			return &Catalog{db: db, ro: db, path: p}, nil
		}
		db.Close()
		if isCorrupt(err) {
			return nil, kerr.Wrap(kerr.CatalogCorrupt, err, "catalog %s is damaged", p)
		}
	}
	return nil, fmt.Errorf("open catalog %s: %w", p, err)
}

// readOnlyDriver is SQLite for OpenReadOnly: a catalog from before
// placements, read where it cannot be brought up to date, gets an empty
// table of each connection's own in their stead (every folder is then at
// its own path, as it was when that catalog was written).
const readOnlyDriver = "sqlite3-keepsake-ro"

func init() {
	sql.Register(readOnlyDriver, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		stablePlans(c, true)
		rows, err := c.Query(`SELECT count(*) FROM sqlite_master WHERE name = 'placements'`, nil)
		if err != nil {
			return nil // not a database: the caller's first query says so
		}
		n := []driver.Value{int64(0)}
		err = rows.Next(n)
		rows.Close()
		if err != nil || n[0].(int64) > 0 {
			return nil
		}
		_, err = c.Exec(`PRAGMA query_only = 0; CREATE TEMP TABLE IF NOT EXISTS placements(host TEXT, listing_id INTEGER,
			dir_id INTEGER, first_snap INTEGER, last_snap INTEGER, PRIMARY KEY(host, listing_id, first_snap)) WITHOUT ROWID;
			PRAGMA query_only = 1`, nil)
		return err
	}})
}

// checkSchema refuses a catalog written by a newer Keepsake.
func checkSchema(db *sql.DB, p string) error {
	var v string
	err := db.QueryRow(`SELECT value FROM meta WHERE key = 'schema'`).Scan(&v)
	if err != nil {
		// A new file, or one from before the meta table: nothing newer.
		return nil
	}
	if n, _ := strconv.Atoi(v); n > schemaVersion {
		return kerr.New(kerr.CatalogCorrupt, "catalog %s has layout %s, newer than this Keepsake reads (%d): update Keepsake to use this drive", p, v, schemaVersion)
	}
	return nil
}

// schemaObjects are the tables and indexes the schema makes.
var schemaObjects = func() []string {
	var names []string
	for _, m := range regexp.MustCompile(`CREATE (?:TABLE|INDEX) IF NOT EXISTS (\w+)`).FindAllStringSubmatch(schema, -1) {
		names = append(names, m[1])
	}
	return names
}()

// schemaCurrent says whether the catalog has every table and index of the
// schema, at this layout, with its name table filled: then opening it
// writes nothing. Any error (a new file, a damaged one) is "no": the
// schema's statements then say what is wrong.
func schemaCurrent(db *sql.DB) bool {
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type IN ('table', 'index')
		UNION ALL SELECT key || '=' || value FROM meta WHERE key IN ('schema', 'names')`)
	if err != nil {
		return false
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var name string
		if rows.Scan(&name) != nil {
			return false
		}
		have[name] = true
	}
	if rows.Err() != nil || !have["schema="+strconv.Itoa(schemaVersion)] || !have["names=1"] {
		return false
	}
	for _, name := range schemaObjects {
		if !have[name] {
			return false
		}
	}
	return true
}

// fillNames builds the name table of a catalog written before it existed.
func fillNames(db *sql.DB) error {
	var done int
	if err := db.QueryRow(`SELECT count(*) FROM meta WHERE key = 'names'`).Scan(&done); err != nil || done > 0 {
		return err
	}
	_, err := db.Exec(`BEGIN; INSERT OR IGNORE INTO names(name) SELECT DISTINCT name FROM versions;
		INSERT INTO meta(key, value) VALUES('names', '1'); COMMIT`)
	return err
}

// openFailed says why the catalog at p could not be opened for writing.
// A drive full to the last block is NoSpace, as a backup's own writes
// say it: SQLite cannot even start its write-ahead log there.
func openFailed(p string, err error) error {
	var named *kerr.Error
	if errors.As(err, &named) {
		return err
	}
	if IsFull(err) {
		return kerr.Wrap(kerr.NoSpace, err, "the backup drive is full: its catalog %s cannot be written (make room on the drive, or remove old snapshots)", p)
	}
	return fmt.Errorf("open catalog %s: %w", p, err)
}

// IsFull says whether err is the catalog's drive running out of space:
// SQLite's "database or disk is full", or a write that met ENOSPC.
func IsFull(err error) bool {
	var se sqlite3.Error
	return errors.Is(err, syscall.ENOSPC) || errors.As(err, &se) && (se.Code == sqlite3.ErrFull || se.SystemErrno == syscall.ENOSPC)
}

func isCorrupt(err error) bool {
	s := err.Error()
	return strings.Contains(s, "malformed") || strings.Contains(s, "not a database") || strings.Contains(s, "corrupt")
}

// Close closes the database.
func (c *Catalog) Close() error {
	c.ro.Close()
	return c.db.Close()
}

// DB exposes the database for checks in tests and for packages that add
// their own queries.
func (c *Catalog) DB() *sql.DB { return c.db }

// IntegrityCheck runs SQLite's integrity_check and returns its findings;
// nil means "ok".
func (c *Catalog) IntegrityCheck() ([]string, error) {
	rows, err := c.db.Query("PRAGMA integrity_check")
	if err != nil {
		return nil, fmt.Errorf("integrity check: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		if s != "ok" {
			out = append(out, s)
		}
	}
	return out, rows.Err()
}

// Snapshot is one snapshot's row.
type Snapshot struct {
	ID       int64     `json:"id"`
	Host     string    `json:"host"`
	Name     string    `json:"name"`
	Time     time.Time `json:"time"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Complete bool      `json:"-"`
	Pinned   bool      `json:"pinned"`
	Files    int64     `json:"files"`
	Dirs     int64     `json:"dirs"`
	Bytes    int64     `json:"bytes"`
	NewBytes int64     `json:"new_bytes"`
	Sources  []string  `json:"sources"`
}

const snapCols = `id, host, name, started, finished, complete, pinned, files, dirs, bytes, new_bytes, sources`

func scanSnapshot(sc interface{ Scan(...any) error }) (Snapshot, error) {
	var s Snapshot
	var started, finished int64
	var sources string
	err := sc.Scan(&s.ID, &s.Host, &s.Name, &started, &finished, &s.Complete, &s.Pinned,
		&s.Files, &s.Dirs, &s.Bytes, &s.NewBytes, &sources)
	s.Started, s.Finished = time.UnixMicro(started).UTC(), time.UnixMicro(finished).UTC()
	s.Time = s.Started
	if t, err := time.Parse("2006-01-02T150405Z", s.Name); err == nil {
		s.Time = t
	}
	if sources != "" {
		s.Sources = strings.Split(sources, "\n")
	}
	return s, err
}

// Snapshots lists complete snapshots, oldest first; host "" means every host.
func (c *Catalog) Snapshots(host string) ([]Snapshot, error) {
	return c.snapshots(`WHERE complete = 1 AND (? = '' OR host = ?) ORDER BY host, id`, host, host)
}

// Incomplete lists snapshots whose folder has not been renamed yet: the
// catalog committed but the process died before the rename.
func (c *Catalog) Incomplete(host string) ([]Snapshot, error) {
	return c.snapshots(`WHERE complete = 0 AND host = ? ORDER BY id`, host)
}

func (c *Catalog) snapshots(where string, args ...any) ([]Snapshot, error) {
	rows, err := c.db.Query(`SELECT `+snapCols+` FROM snapshots `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	defer rows.Close()
	var out []Snapshot
	for rows.Next() {
		s, err := scanSnapshot(rows)
		if err != nil {
			return nil, fmt.Errorf("list snapshots: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Snapshot finds a complete snapshot by name; "latest" means the newest.
func (c *Catalog) Snapshot(host, name string) (Snapshot, error) {
	var row *sql.Row
	if name == "latest" {
		row = c.db.QueryRow(`SELECT `+snapCols+` FROM snapshots WHERE complete = 1 AND host = ? ORDER BY id DESC LIMIT 1`, host)
	} else {
		row = c.db.QueryRow(`SELECT `+snapCols+` FROM snapshots WHERE complete = 1 AND host = ? AND name = ?`, host, name)
	}
	s, err := scanSnapshot(row)
	if errors.Is(err, sql.ErrNoRows) {
		return s, kerr.New(kerr.SnapshotNotFound, "no snapshot %q of host %q", name, host)
	}
	if err != nil {
		return s, fmt.Errorf("find snapshot %s: %w", name, err)
	}
	return s, nil
}

// MarkComplete records that a snapshot's folder has its final name.
func (c *Catalog) MarkComplete(id int64) error {
	if _, err := c.db.Exec(`UPDATE snapshots SET complete = 1 WHERE id = ?`, id); err != nil {
		return fmt.Errorf("mark snapshot %d complete: %w", id, err)
	}
	return nil
}

// DeleteSnapshotRow forgets a snapshot whose folder is gone. Ranges of
// versions stay as they are: membership is a range test on existing rows.
func (c *Catalog) DeleteSnapshotRow(id int64) error {
	if _, err := c.db.Exec(`DELETE FROM snapshots WHERE id = ?`, id); err != nil {
		return fmt.Errorf("forget snapshot %d: %w", id, err)
	}
	if _, err := c.db.Exec(`DELETE FROM snapshot_files WHERE snapshot_id = ?`, id); err != nil {
		return fmt.Errorf("forget snapshot %d: %w", id, err)
	}
	return nil
}

// ExtraDir is the folder, at the root of every snapshot, holding the
// files a snapshot carries beside the backed-up tree.
const ExtraDir = ".keepsake"

// SnapshotFile returns a file the snapshot carries (see Txn.AddFile); a
// PathNotFound error when it has none of that name.
func (c *Catalog) SnapshotFile(s Snapshot, name string) ([]byte, error) {
	var data []byte
	err := c.db.QueryRow(`SELECT data FROM snapshot_files WHERE snapshot_id = ? AND name = ?`, s.ID, name).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kerr.New(kerr.PathNotFound, "snapshot %s has no %s", s.Name, name)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s of snapshot %s: %w", name, s.Name, err)
	}
	return data, nil
}

// Version is one row of the versions table: an entry as it was over a
// range of snapshots.
type Version struct {
	ID     int64
	Host   string
	Dir    string
	Name   string
	First  int64
	Last   int64 // 0 while open
	Meta   fsmeta.Meta
	SHA256 []byte // files only
	// Light versions (from Txn.Children) lack owner names, symlink
	// target, xattrs and device; Txn.Full adds them.
	Light bool
}

// Path is the entry's absolute source path.
func (v Version) Path() string { return path.Join(v.Dir, v.Name) }

const versionCols = `v.id, v.host, d.path, v.name, v.first_snap, coalesce(v.last_snap, 0), v.type, v.mode, v.uid, v.gid,
	v.user, v.grp, v.size, v.mtime_ns, v.ctime_ns, v.dev, v.ino, v.nlink, v.rdev, c.sha256, coalesce(v.link_target, ''), v.xattrs`

// located is the versions table seen through placements: one row per
// piece of a version's range spent at one path. dir_id is the path (a
// dirs id), listing the folder instance the version belongs to;
// first_snap and last_snap are the piece's, row_first and row_last the
// version's own. A version of a listing without placements is one piece
// at the listing's own path. Filters on listing, name, content_id and the
// like reach versions' indexes (SQLite flattens the subquery); a filter
// on dir_id cannot: resolve paths to listings first (listingsAt).
const located = `(SELECT v.id AS id, v.host AS host, v.dir_id AS listing, coalesce(p.dir_id, v.dir_id) AS dir_id, v.name AS name,
	max(v.first_snap, coalesce(p.first_snap, 0)) AS first_snap,
	CASE WHEN p.last_snap IS NULL THEN v.last_snap WHEN v.last_snap IS NULL THEN p.last_snap
		ELSE min(v.last_snap, p.last_snap) END AS last_snap,
	v.first_snap AS row_first, v.last_snap AS row_last, v.type AS type, v.mode AS mode, v.uid AS uid, v.gid AS gid,
	v.user AS user, v.grp AS grp, v.size AS size, v.mtime_ns AS mtime_ns, v.ctime_ns AS ctime_ns, v.dev AS dev,
	v.ino AS ino, v.nlink AS nlink, v.rdev AS rdev, v.content_id AS content_id, v.link_target AS link_target,
	v.xattrs AS xattrs
	FROM versions v LEFT JOIN placements p ON p.host = v.host AND p.listing_id = v.dir_id
		AND p.first_snap <= coalesce(v.last_snap, 9223372036854775807)
		AND coalesce(p.last_snap, 9223372036854775807) >= v.first_snap)`

const versionFrom = ` FROM ` + located + ` v JOIN dirs d ON d.id = v.dir_id LEFT JOIN contents c ON c.id = v.content_id `

// listingsAt is a subquery of the listings at folder path ?1 (a path, not
// an id) in host ?2's snapshot ?3: those placed there then, and the
// path's own listing unless it has placements of its own for the host.
const listingsAt = `(SELECT p.listing_id FROM placements p JOIN dirs pd ON pd.id = p.dir_id
		WHERE pd.path = ?1 AND p.host = ?2 AND p.first_snap <= ?3 AND (p.last_snap IS NULL OR p.last_snap >= ?3)
	UNION ALL SELECT od.id FROM dirs od WHERE od.path = ?1
		AND NOT EXISTS (SELECT 1 FROM placements op WHERE op.host = ?2 AND op.listing_id = od.id))`

// listingsEverAt is listingsAt for any snapshot of the host.
const listingsEverAt = `(SELECT p.listing_id FROM placements p JOIN dirs pd ON pd.id = p.dir_id
		WHERE pd.path = ?1 AND p.host = ?2
	UNION ALL SELECT od.id FROM dirs od WHERE od.path = ?1
		AND NOT EXISTS (SELECT 1 FROM placements op WHERE op.host = ?2 AND op.listing_id = od.id))`

// listingsBelow is listingsAt for folder ?1 and every folder below it
// (?4 is ?1 with a trailing slash, ?5 its length); with ?3 = 0, in any
// snapshot.
const listingsBelow = `(SELECT p.listing_id FROM placements p JOIN dirs pd ON pd.id = p.dir_id
		WHERE (pd.path = ?1 OR substr(pd.path, 1, ?5) = ?4) AND p.host = ?2
		AND (?3 = 0 OR p.first_snap <= ?3 AND (p.last_snap IS NULL OR p.last_snap >= ?3))
	UNION ALL SELECT od.id FROM dirs od WHERE (od.path = ?1 OR substr(od.path, 1, ?5) = ?4)
		AND NOT EXISTS (SELECT 1 FROM placements op WHERE op.host = ?2 AND op.listing_id = od.id))`

func scanVersion(sc interface{ Scan(...any) error }) (Version, error) {
	var v Version
	var typ uint8
	var xattrs []byte
	err := sc.Scan(&v.ID, &v.Host, &v.Dir, &v.Name, &v.First, &v.Last, &typ, &v.Meta.Mode, &v.Meta.UID, &v.Meta.GID,
		&v.Meta.User, &v.Meta.Group, &v.Meta.Size, &v.Meta.MtimeNs, &v.Meta.CtimeNs, u64{&v.Meta.Dev}, u64{&v.Meta.Ino},
		&v.Meta.Nlink, u64{&v.Meta.Rdev}, &v.SHA256, &v.Meta.LinkTarget, &xattrs)
	if err != nil {
		return v, err
	}
	v.Meta.Type = fsmeta.Type(typ)
	if len(xattrs) > 0 {
		xs, err := fsmeta.DecodeXattrs(xattrs)
		if err != nil {
			return v, kerr.Wrap(kerr.CatalogCorrupt, err, "version %d", v.ID)
		}
		v.Meta.Xattrs = xs
	}
	return v, nil
}

func (c *Catalog) versions(q string, args ...any) ([]Version, error) {
	rows, err := c.db.Query(`SELECT `+versionCols+versionFrom+q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Version
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// inSnapshot is the range test "v is in snapshot ?" (bind the id twice).
const inSnapshot = ` v.first_snap <= ? AND (v.last_snap IS NULL OR v.last_snap >= ?) `

// inSnapshot3 is inSnapshot for the snapshot bound as ?3.
const inSnapshot3 = ` v.first_snap <= ?3 AND (v.last_snap IS NULL OR v.last_snap >= ?3) `

// List returns the entries of directory dir in a snapshot, sorted by name.
func (c *Catalog) List(s Snapshot, dir string) ([]Version, error) {
	vs, err := c.versions(`WHERE v.listing IN `+listingsAt+` AND d.path = ?1 AND v.host = ?2 AND`+inSnapshot3+`ORDER BY v.name`, dir, s.Host, s.ID)
	if err != nil {
		return nil, fmt.Errorf("list %s in %s: %w", dir, s.Name, err)
	}
	return vs, nil
}

// Lookup returns the entry at an absolute path in a snapshot.
func (c *Catalog) Lookup(s Snapshot, p string) (Version, error) {
	if p == "/" {
		return Version{Host: s.Host, Dir: "/", Name: "", Meta: fsmeta.Meta{Type: fsmeta.Dir, Mode: 0o755}}, nil
	}
	vs, err := c.versions(`WHERE v.listing IN `+listingsAt+` AND d.path = ?1 AND v.name = ?4 AND v.host = ?2 AND`+inSnapshot3,
		path.Dir(p), s.Host, s.ID, path.Base(p))
	if err != nil {
		return Version{}, fmt.Errorf("look up %s in %s: %w", p, s.Name, err)
	}
	if len(vs) == 0 {
		return Version{}, kerr.New(kerr.PathNotFound, "%s is not in snapshot %s", p, s.Name)
	}
	return vs[0], nil
}

// Subtree returns every entry below directory p (not p itself) in a
// snapshot, parents before children.
func (c *Catalog) Subtree(s Snapshot, p string) ([]Version, error) {
	prefix := strings.TrimSuffix(p, "/") + "/"
	vs, err := c.versions(`WHERE v.listing IN `+listingsBelow+` AND (d.path = ?1 OR substr(d.path, 1, ?5) = ?4)
		AND v.host = ?2 AND`+inSnapshot3+`ORDER BY d.path, v.name`,
		p, s.Host, s.ID, prefix, len(prefix))
	if err != nil {
		return nil, fmt.Errorf("list %s in %s: %w", p, s.Name, err)
	}
	return vs, nil
}

// Hit is one search result: a version and the snapshots that hold it.
type Hit struct {
	Version
	Snapshots []string
}

// SearchOptions narrow a search.
type SearchOptions struct {
	// Pattern is a glob when it has * ? or [ (matched against the whole
	// name, case-sensitive), else a case-insensitive substring of the name.
	Pattern string
	In      string    // only below this folder
	Since   time.Time // only versions some snapshot at or after this holds
	Until   time.Time // ... at or before this
	Limit   int       // at most this many hits (default 1000)
}

// Search finds entries by name across every snapshot. The pattern is
// matched against the distinct names first (far fewer than versions), and
// only the versions with a matching name are read.
func (c *Catalog) Search(o SearchOptions) ([]Hit, error) {
	if o.Limit <= 0 {
		o.Limit = 1000
	}
	var nameMatch, verMatch, arg string
	if strings.ContainsAny(o.Pattern, "*?[") {
		nameMatch, verMatch, arg = `name GLOB ?1`, `v.name GLOB ?1`, o.Pattern
	} else {
		nameMatch, arg = `name LIKE ?1 ESCAPE '\'`, "%"+likeEscape(o.Pattern)+"%"
		verMatch = `v.` + nameMatch
	}
	in := path.Clean(o.In) // "/a/b/" is the folder /a/b
	inFolder := o.In != "" && in != "/"
	var q string
	args := []any{arg}
	if inFolder {
		prefix := in + "/"
		// past every path below the folder: its closing "/" grown to "0"
		end := prefix[:len(prefix)-1] + "0"
		args = append(args, in, len(prefix), prefix, end)
		narrow, err := c.narrowFolder(prefix, end)
		if err != nil {
			return nil, fmt.Errorf("search %q in %s: %w", o.Pattern, o.In, err)
		}
		if narrow {
			// A folder holding a small part of the tree: its own versions
			// are fewer than the names, so they are matched directly.
			q = `WHERE v.listing IN ` + listingsUnder + ` AND ` + verMatch
		}
	}
	byNames := q == ""
	if byNames {
		if arg == o.Pattern {
			nameMatch += globRange(o.Pattern)
		}
		q = `WHERE ` + namesHere
		if arg == o.Pattern {
			q += ` AND ` + verMatch
		}
	}
	if inFolder {
		q += ` AND (d.path = ?2 OR substr(d.path, 1, ?3) = ?4)`
	}
	ix, err := c.snapshotIndex()
	if err != nil {
		return nil, err
	}
	// A time window becomes a range of snapshot ids (ids grow with time):
	// a coarse filter in the query, made exact below.
	window := !o.Since.IsZero() || !o.Until.IsZero()
	if !o.Since.IsZero() {
		var minID int64 = 1 << 62
		for _, list := range ix.byHost {
			for _, s := range list {
				if !s.Time.Before(o.Since) && s.ID < minID {
					minID = s.ID
				}
			}
		}
		args = append(args, minID)
		q += fmt.Sprintf(` AND (v.last_snap IS NULL OR v.last_snap >= ?%d)`, len(args))
	}
	if !o.Until.IsZero() {
		var maxID int64
		for _, list := range ix.byHost {
			for _, s := range list {
				if !s.Time.After(o.Until) && s.ID > maxID {
					maxID = s.ID
				}
			}
		}
		args = append(args, maxID)
		q += fmt.Sprintf(` AND v.first_snap <= ?%d`, len(args))
	}
	// The limit goes into the query: a short pattern can match a great
	// many versions. A time window filters afterwards, so read more then.
	limit := o.Limit
	if window {
		limit *= 4
	}
	args = append(args, limit)
	q += fmt.Sprintf(` ORDER BY d.path, v.name, v.first_snap LIMIT ?%d`, len(args))
	// run reads the versions whose names names (SQL) picks.
	run := func(names string, more ...any) ([]Hit, error) {
		vs, err := c.versions(strings.Replace(q, namesHere, names, 1), append(args, more...)...)
		if err != nil {
			return nil, fmt.Errorf("search %q: %w", o.Pattern, err)
		}
		hits := make([]Hit, 0, len(vs))
		for _, v := range vs {
			var held []string
			for _, s := range ix.holding(v) {
				if (o.Since.IsZero() || !s.Time.Before(o.Since)) && (o.Until.IsZero() || !s.Time.After(o.Until)) {
					held = append(held, s.Name)
				}
			}
			if len(held) == 0 {
				continue // pruned, or outside the time window
			}
			hits = append(hits, Hit{Version: v, Snapshots: held})
			if len(hits) == o.Limit {
				break
			}
		}
		return hits, nil
	}
	if !byNames {
		return run("")
	}
	matching := func(n string) string {
		return `v.name COLLATE NOCASE IN (SELECT name FROM names WHERE ` + nameMatch + n + `)`
	}
	if !inFolder && !window {
		// Each name has at least one version, so without other filters
		// the first Limit matching names are enough.
		return run(matching(fmt.Sprintf(" LIMIT %d", o.Limit)))
	}
	// A folder or a time window may leave out the versions of any name:
	// a few names are looked up by name; of many, the first Limit are
	// tried first (as without a filter), and all of them only if those
	// gave too few hits.
	few := 4 * o.Limit
	names, err := c.matchingNames(nameMatch, arg, few)
	if err != nil {
		return nil, fmt.Errorf("search %q: %w", o.Pattern, err)
	}
	if len(names) <= few {
		if len(names) == 0 {
			return []Hit{}, nil
		}
		marks := make([]string, len(names))
		for i := range names {
			marks[i] = fmt.Sprintf("?%d", len(args)+1+i)
		}
		return run(`v.name COLLATE NOCASE IN (`+strings.Join(marks, ",")+`)`, names...)
	}
	hits, err := run(matching(fmt.Sprintf(" LIMIT %d", o.Limit)))
	if err != nil || len(hits) == o.Limit {
		return hits, err
	}
	return run(matching(""))
}

// namesHere marks where Search puts the test of a version's name.
const namesHere = "\x00names\x00"

// matchingNames returns up to limit+1 distinct names matching match
// (SQL on the names table's column name, with the pattern as ?1).
func (c *Catalog) matchingNames(match, pattern string, limit int) ([]any, error) {
	rows, err := c.db.Query(`SELECT name FROM names WHERE `+match+` LIMIT ?2`, pattern, limit+1)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []any
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

// listingsUnder is a subquery of the listings that are, or were once
// placed, at folder ?2 or below it (paths from ?4 up to ?5): a superset
// of those in the folder, which the caller narrows by the placed path.
const listingsUnder = `(SELECT id FROM dirs WHERE path = ?2 OR path >= ?4 AND path < ?5
	UNION SELECT p.listing_id FROM placements p JOIN dirs pd ON pd.id = p.dir_id
		WHERE pd.path = ?2 OR pd.path >= ?4 AND pd.path < ?5)`

// narrowShare is the share of the catalog's folders (1/narrowShare) up to
// which a folder counts as narrow; tests set it to try both ways.
var narrowShare int64 = 4

// narrowFolder says the folders from path from up to path to are at most
// a quarter of the catalog's folders. A search in such a folder reads its
// versions rather than every distinct name: a short pattern matches most
// names, and looking each up took over half a second in a million
// versions (BenchmarkSearch1M), where the folder's own versions take a
// few milliseconds. In a folder holding most of the tree, the names are
// fewer than its versions.
func (c *Catalog) narrowFolder(from, to string) (bool, error) {
	var all, under int64
	if err := c.db.QueryRow(`SELECT coalesce(max(id), 0) FROM dirs`).Scan(&all); err != nil {
		return false, err
	}
	err := c.db.QueryRow(`SELECT count(*) FROM (SELECT 1 FROM dirs WHERE path >= ?1 AND path < ?2 LIMIT ?3)`,
		from, to, all/narrowShare+1).Scan(&under)
	return under <= all/narrowShare, err
}

// globRange narrows a search by a glob to the names that begin with its
// literal start ("IMG_2*" -> IMG_2 <= name < IMG_3), a range of the names
// index. SQLite finds that range itself only when it plans a query for
// the pattern bound to it, which the catalog's stable plans never do
// (see stableDriver). The bounds are written as hex, so that no byte of
// a name can end the literal. "" when the glob starts with a wildcard.
func globRange(glob string) string {
	n := strings.IndexAny(glob, "*?[")
	if n <= 0 {
		return ""
	}
	prefix := glob[:n]
	r := fmt.Sprintf(` AND name >= CAST(X'%x' AS TEXT)`, prefix)
	// The first string past every name with the prefix: its last byte
	// that can grow, grown, and the rest dropped.
	end := []byte(prefix)
	for len(end) > 0 && end[len(end)-1] == 0xff {
		end = end[:len(end)-1]
	}
	if len(end) > 0 {
		end[len(end)-1]++
		r += fmt.Sprintf(` AND name < CAST(X'%x' AS TEXT)`, end)
	}
	return r
}

func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID       int64     `json:"id"`
	Time     time.Time `json:"time"`
	UID      int       `json:"uid"`
	User     string    `json:"user"`
	Action   string    `json:"action"`
	Host     string    `json:"host,omitempty"`
	Snapshot string    `json:"snapshot,omitempty"`
	Path     string    `json:"path,omitempty"`
	Detail   string    `json:"detail,omitempty"`
}

// Actor is who asked for an action, for the audit log.
type Actor struct {
	UID  int
	User string
}

// CurrentActor is the process's own user.
func CurrentActor() Actor {
	uid := os.Getuid()
	return Actor{UID: uid, User: fsmeta.UserName(uint32(uid))}
}

type execer interface {
	Exec(string, ...any) (sql.Result, error)
}

func audit(x execer, a Actor, action, host, snapshot, p, detail string) error {
	_, err := x.Exec(`INSERT INTO audit(time, uid, user, action, host, snapshot, path, detail) VALUES(?,?,?,?,?,?,?,?)`,
		time.Now().UnixMicro(), a.UID, a.User, action, host, snapshot, p, detail)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// Audit appends one entry to the audit log.
func (c *Catalog) Audit(a Actor, action, host, snapshot, p, detail string) error {
	return audit(c.db, a, action, host, snapshot, p, detail)
}

// Log returns the newest audit entries, oldest first.
func (c *Catalog) Log(limit int) ([]AuditEntry, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := c.db.Query(`SELECT id, time, uid, user, action, host, snapshot, path, detail FROM
		(SELECT * FROM audit ORDER BY id DESC LIMIT ?) ORDER BY id`, limit)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var t int64
		if err := rows.Scan(&e.ID, &t, &e.UID, &e.User, &e.Action, &e.Host, &e.Snapshot, &e.Path, &e.Detail); err != nil {
			return nil, err
		}
		e.Time = time.UnixMicro(t).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// Counts are table sizes, for tests and for "how big is my catalog".
type Counts struct {
	Snapshots, Versions, Contents, Dirs int64
}

// Count returns the sizes of the main tables.
func (c *Catalog) Count() (Counts, error) {
	var n Counts
	err := c.db.QueryRow(`SELECT (SELECT count(*) FROM snapshots), (SELECT count(*) FROM versions),
		(SELECT count(*) FROM contents), (SELECT count(*) FROM dirs)`).Scan(&n.Snapshots, &n.Versions, &n.Contents, &n.Dirs)
	return n, err
}

// u64 scans a 64-bit device or inode number that SQLite holds as a signed
// integer: FUSE and network filesystems hand out inode numbers with the
// top bit set, which int64(n) stored as negative.
type u64 struct{ p *uint64 }

func (u u64) Scan(src any) error {
	switch x := src.(type) {
	case int64:
		*u.p = uint64(x)
	case nil:
		*u.p = 0
	default:
		return fmt.Errorf("a device or inode number is a %T", src)
	}
	return nil
}
