package catalog

import (
	"database/sql"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/keepsake/keepsake/service/fsmeta"
	"github.com/keepsake/keepsake/shared/kerr"
)

// Txn is one backup's write transaction. Only the goroutine that began it
// may use it.
type Txn struct {
	// mu serializes use: the walker, the copy workers and the recorder of
	// a backup share one transaction.
	mu     sync.Mutex
	cat    *Catalog
	tx     *sql.Tx
	host   string
	name   string
	snap   int64 // the snapshot being written
	prev   int64 // the host's previous snapshot, 0 for the first
	dirIDs map[string]int64
	// visited are walked directory ids not yet written to the temp table.
	visited []int64
	stmts   map[string]*sql.Stmt
	actor   Actor
	// readStmts run on the pool's other connections: reads of the
	// committed catalog that need not wait for the transaction.
	readMu      sync.Mutex
	readStmts   map[string]*sql.Stmt
	hadVersions bool
	// Placements of the host as the previous snapshot left them: the
	// listing placed at each folder (open placements), and the listings
	// that have any (those are not at their own path).
	placedAt map[int64]int64
	placed   map[int64]bool
	// hasPlaces is placed kept up to date by this run's Place.
	hasPlaces map[int64]bool
}

func (t *Txn) readStmt(q string) (*sql.Stmt, error) {
	t.readMu.Lock()
	defer t.readMu.Unlock()
	if s, ok := t.readStmts[q]; ok {
		return s, nil
	}
	s, err := t.cat.ro.Prepare(q)
	if err != nil {
		return nil, err
	}
	t.readStmts[q] = s
	return s, nil
}

// BeginSnapshot starts the transaction of a new snapshot. It is invisible to
// every reader until Commit.
func (c *Catalog) BeginSnapshot(host, name string, started time.Time, sources []string, actor Actor) (*Txn, error) {
	tx, err := c.db.Begin()
	if err != nil {
		return nil, fmt.Errorf("begin snapshot %s: %w", name, err)
	}
	t := &Txn{cat: c, readStmts: map[string]*sql.Stmt{}, tx: tx, host: host, name: name, dirIDs: map[string]int64{}, stmts: map[string]*sql.Stmt{}, actor: actor,
		placedAt: map[int64]int64{}, placed: map[int64]bool{}, hasPlaces: map[int64]bool{}}
	fail := func(err error) (*Txn, error) {
		tx.Rollback()
		return nil, fmt.Errorf("begin snapshot %s: %w", name, err)
	}
	// The previous snapshot is the newest row of the host, complete or not:
	// an incomplete one has been resumed (renamed) before a new run starts.
	err = tx.QueryRow(`SELECT coalesce(max(id), 0) FROM snapshots WHERE host = ?`, host).Scan(&t.prev)
	if err != nil {
		return fail(err)
	}
	res, err := tx.Exec(`INSERT INTO snapshots(host, name, started, sources) VALUES(?,?,?,?)`,
		host, name, started.UnixMicro(), strings.Join(sources, "\n"))
	if err != nil {
		return fail(err)
	}
	if t.snap, err = res.LastInsertId(); err != nil {
		return fail(err)
	}
	if _, err := tx.Exec(`CREATE TEMP TABLE IF NOT EXISTS visited(id INTEGER PRIMARY KEY); DELETE FROM visited`); err != nil {
		return fail(err)
	}
	if err := tx.QueryRow(`SELECT EXISTS (SELECT 1 FROM versions)`).Scan(&t.hadVersions); err != nil {
		return fail(err)
	}
	// Every directory id at once: one query instead of one per folder.
	rows, err := tx.Query(`SELECT id, path FROM dirs`)
	if err != nil {
		return fail(err)
	}
	for rows.Next() {
		var id int64
		var p string
		if err := rows.Scan(&id, &p); err != nil {
			rows.Close()
			return fail(err)
		}
		t.dirIDs[p] = id
	}
	rows.Close()
	if rows, err = tx.Query(`SELECT listing_id, dir_id, last_snap IS NULL FROM placements WHERE host = ?`, host); err != nil {
		return fail(err)
	}
	for rows.Next() {
		var listing, dir int64
		var open bool
		if err := rows.Scan(&listing, &dir, &open); err != nil {
			rows.Close()
			return fail(err)
		}
		t.placed[listing], t.hasPlaces[listing] = true, true
		if open {
			t.placedAt[dir] = listing
		}
	}
	rows.Close()
	return t, nil
}

// PrevListing returns the listing (folder instance) at folder p in the
// previous snapshot: the one placed there, else p's own unless that one
// has moved; 0 when there is none.
func (t *Txn) PrevListing(p string) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	id, ok := t.dirIDs[p]
	if !ok {
		return 0
	}
	if l, ok := t.placedAt[id]; ok {
		return l
	}
	if t.placed[id] {
		return 0
	}
	return id
}

// FreeListing returns a listing for a folder at p whose previous entries
// are not wanted (a new folder): p's own, or the one placed there, unless
// taken says it is taken or it still has entries; else a new one.
func (t *Txn) FreeListing(p string, taken map[int64]bool) (int64, error) {
	t.mu.Lock()
	_, known := t.dirIDs[p]
	t.mu.Unlock()
	id, err := t.DirID(p)
	if err != nil || !known {
		return id, err // a path never seen: its own listing is free
	}
	if l := t.PrevListing(p); l != 0 && !taken[l] {
		open, err := t.HasOpen(l)
		if err != nil || !open {
			return l, err
		}
	}
	return t.NewListing(p)
}

// HasOpen says whether listing has versions in the previous snapshot.
func (t *Txn) HasOpen(listing int64) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, err := t.stmt(`SELECT EXISTS (SELECT 1 FROM versions WHERE host = ? AND dir_id = ? AND last_snap IS NULL AND first_snap < ?)`)
	if err != nil {
		return false, err
	}
	var open bool
	if err := s.QueryRow(t.host, listing, t.snap).Scan(&open); err != nil {
		return false, fmt.Errorf("entries of folder %d: %w", listing, err)
	}
	return open, nil
}

// Place records that listing is at folder p from this snapshot on: a
// folder that moved takes its entries along for the cost of this row.
func (t *Txn) Place(listing int64, p string) error {
	id, err := t.DirID(p)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.hasPlaces[listing] {
		// Until now at its own path: say so, for the snapshots so far.
		if _, err := t.exec(`INSERT INTO placements(host, listing_id, dir_id, first_snap, last_snap) VALUES(?, ?, ?, 0, ?)`,
			t.host, listing, listing, t.prev); err != nil {
			return fmt.Errorf("place folder %s: %w", p, err)
		}
		t.hasPlaces[listing] = true
	}
	// Its old place, and whatever listing was placed at p before (its
	// folder is gone or moved on): they end with the previous snapshot.
	if _, err := t.exec(`UPDATE placements SET last_snap = ? WHERE host = ? AND last_snap IS NULL AND (listing_id = ? OR dir_id = ?)`,
		t.prev, t.host, listing, id); err != nil {
		return fmt.Errorf("place folder %s: %w", p, err)
	}
	if _, err := t.exec(`INSERT INTO placements(host, listing_id, dir_id, first_snap) VALUES(?, ?, ?, ?)`,
		t.host, listing, id, t.snap); err != nil {
		return fmt.Errorf("place folder %s: %w", p, err)
	}
	return nil
}

// NewListing makes a new listing at folder p, for a folder there whose
// path's own listing has moved elsewhere or is taken by this run.
func (t *Txn) NewListing(p string) (int64, error) {
	t.mu.Lock()
	// Named so it can never be taken for a path (paths start with /).
	res, err := t.exec(`INSERT INTO dirs(path) VALUES(?)`, fmt.Sprintf("#%d %s", t.snap, p))
	var id int64
	if err == nil {
		id, err = res.LastInsertId()
	}
	if err == nil {
		t.hasPlaces[id] = true
	}
	t.mu.Unlock()
	if err != nil {
		return 0, fmt.Errorf("add folder %s: %w", p, err)
	}
	return id, t.Place(id, p)
}

// FoldersWith finds the listings whose entries in the previous snapshot
// include a file of this name, content and mtime, with where each was:
// candidates for a folder that moved, found by what it holds.
func (t *Txn) FoldersWith(name string, sum []byte, m fsmeta.Meta) ([]Listing, error) {
	if !t.hadVersions {
		return nil, nil
	}
	s, err := t.readStmt(`SELECT v.listing, d.path FROM ` + located + ` v JOIN dirs d ON d.id = v.dir_id
		JOIN contents c ON c.id = v.content_id
		WHERE c.sha256 = ? AND v.name = ? AND v.host = ? AND v.type = 1 AND v.mtime_ns = ?
		AND v.last_snap IS NULL AND v.row_first < ? LIMIT 8`)
	if err != nil {
		return nil, err
	}
	rows, err := s.Query(sum, name, t.host, m.MtimeNs, t.snap)
	if err != nil {
		return nil, fmt.Errorf("find a moved folder: %w", err)
	}
	defer rows.Close()
	var out []Listing
	for rows.Next() {
		var l Listing
		if err := rows.Scan(&l.Listing, &l.Path); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// Listing is a folder instance and the path it had.
type Listing struct {
	Listing int64
	Path    string
}

// MovedFrom finds where the previous snapshot had the folder with m's
// device and inode, open there: candidates for the old path of a folder
// that moved (the caller checks the source no longer has it there).
func (t *Txn) MovedFrom(m fsmeta.Meta) ([]Folder, error) {
	if !t.hadVersions {
		return nil, nil
	}
	s, err := t.readStmt(`SELECT d.path, v.name, v.mtime_ns FROM ` + located + ` v JOIN dirs d ON d.id = v.dir_id
		WHERE v.ino = ? AND v.type = 2 AND v.host = ? AND v.dev = ? AND v.last_snap IS NULL AND v.row_first < ? LIMIT 4`)
	if err != nil {
		return nil, err
	}
	rows, err := s.Query(int64(m.Ino), t.host, int64(m.Dev), t.snap)
	if err != nil {
		return nil, fmt.Errorf("find a moved folder: %w", err)
	}
	defer rows.Close()
	var out []Folder
	for rows.Next() {
		var dir, name string
		var f Folder
		if err := rows.Scan(&dir, &name, &f.MtimeNs); err != nil {
			return nil, err
		}
		f.Path = path.Join(dir, name)
		out = append(out, f)
	}
	return out, rows.Err()
}

// Folder is a folder of the previous snapshot: where it was, and its
// modification time there.
type Folder struct {
	Path    string
	MtimeNs int64
}

// ID is the id of the snapshot being written; Prev that of the one before.
func (t *Txn) ID() int64   { return t.snap }
func (t *Txn) Prev() int64 { return t.prev }

func (t *Txn) stmt(q string) (*sql.Stmt, error) {
	if s, ok := t.stmts[q]; ok {
		return s, nil
	}
	s, err := t.tx.Prepare(q)
	if err != nil {
		return nil, err
	}
	t.stmts[q] = s
	return s, nil
}

// DirID interns a directory path.
func (t *Txn) DirID(p string) (int64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if id, ok := t.dirIDs[p]; ok {
		return id, nil
	}
	ins, err := t.stmt(`INSERT INTO dirs(path) VALUES(?)`)
	if err != nil {
		return 0, err
	}
	res, err := ins.Exec(p)
	if err != nil {
		return 0, fmt.Errorf("add dir %s: %w", p, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("dir %s: %w", p, err)
	}
	t.dirIDs[p] = id
	return id, nil
}

// childrenQuery reads a directory's entries in the previous snapshot as
// light versions: only what deciding "unchanged" needs, since it runs for
// every directory of every backup.
const childrenQuery = `SELECT v.id, v.name, v.first_snap, v.type, v.mode, v.uid, v.gid, v.size, v.mtime_ns, v.ctime_ns,
	v.ino, v.nlink, v.rdev, c.sha256 FROM versions v LEFT JOIN contents c ON c.id = v.content_id
	WHERE v.host = ? AND v.dir_id = ? AND v.last_snap IS NULL AND v.first_snap < ?`

func scanChildren(rows *sql.Rows, host, dir string) (map[string]Version, error) {
	defer rows.Close()
	out := map[string]Version{}
	for rows.Next() {
		v := Version{Host: host, Dir: dir, Light: true}
		var typ uint8
		m := &v.Meta
		if err := rows.Scan(&v.ID, &v.Name, &v.First, &typ, &m.Mode, &m.UID, &m.GID, &m.Size, &m.MtimeNs, &m.CtimeNs,
			u64{&m.Ino}, &m.Nlink, u64{&m.Rdev}, &v.SHA256); err != nil {
			return nil, fmt.Errorf("previous entries of %s: %w", dir, err)
		}
		m.Type = fsmeta.Type(typ)
		out[v.Name] = v
	}
	return out, rows.Err()
}

// Children returns the entries of directory dirID in the previous snapshot,
// by name, as light versions.
func (t *Txn) Children(dir string, dirID int64) (map[string]Version, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, err := t.stmt(childrenQuery)
	if err != nil {
		return nil, err
	}
	rows, err := s.Query(t.host, dirID, t.snap)
	if err != nil {
		return nil, fmt.Errorf("previous entries of %s: %w", dir, err)
	}
	return scanChildren(rows, t.host, dir)
}

// ChildrenRange is Children for the names from lo (inclusive) up to hi
// (exclusive; with toEnd, every name from lo on), in byte order as Go
// sorts strings: a big folder is read a slice at a time.
func (t *Txn) ChildrenRange(dir string, dirID int64, lo, hi string, toEnd bool) (map[string]Version, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	// versions_dir serves the name range; versions_open would read the
	// whole folder for every slice.
	s, err := t.stmt(strings.Replace(childrenQuery, "FROM versions v", "FROM versions v INDEXED BY versions_dir", 1) +
		` AND v.name >= ? AND (? OR v.name < ?)`)
	if err != nil {
		return nil, err
	}
	rows, err := s.Query(t.host, dirID, t.snap, lo, toEnd, hi)
	if err != nil {
		return nil, fmt.Errorf("previous entries of %s: %w", dir, err)
	}
	return scanChildren(rows, t.host, dir)
}

// ChildNames are the names of directory dirID's entries in the previous
// snapshot, sorted.
func (t *Txn) ChildNames(dir string, dirID int64) ([]string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, err := t.stmt(`SELECT name FROM versions
		WHERE host = ? AND dir_id = ? AND last_snap IS NULL AND first_snap < ? ORDER BY name`)
	if err != nil {
		return nil, err
	}
	rows, err := s.Query(t.host, dirID, t.snap)
	if err != nil {
		return nil, fmt.Errorf("previous names in %s: %w", dir, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("previous names in %s: %w", dir, err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// Full completes a light version.
func (t *Txn) Full(v *Version) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !v.Light {
		return nil
	}
	s, err := t.stmt(`SELECT user, grp, coalesce(link_target, ''), xattrs, dev FROM versions WHERE id = ?`)
	if err != nil {
		return err
	}
	var xattrs []byte
	if err := s.QueryRow(v.ID).Scan(&v.Meta.User, &v.Meta.Group, &v.Meta.LinkTarget, &xattrs, u64{&v.Meta.Dev}); err != nil {
		return fmt.Errorf("version %d: %w", v.ID, err)
	}
	xs, err := fsmeta.DecodeXattrs(xattrs)
	if err != nil {
		return kerr.Wrap(kerr.CatalogCorrupt, err, "version %d", v.ID)
	}
	v.Meta.Xattrs, v.Light = xs, false
	return nil
}

// Visit records that directory dirID was walked in this snapshot, so its
// previous entries are not swept as deleted at the end.
func (t *Txn) Visit(dirID int64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.visited = append(t.visited, dirID)
	if len(t.visited) >= 500 {
		return t.flushVisits()
	}
	return nil
}

func (t *Txn) flushVisits() error {
	for len(t.visited) > 0 {
		n := min(len(t.visited), 500)
		q := "INSERT OR IGNORE INTO visited(id) VALUES" + strings.TrimSuffix(strings.Repeat("(?),", n), ",")
		args := make([]any, n)
		for i, id := range t.visited[:n] {
			args[i] = id
		}
		if _, err := t.tx.Exec(q, args...); err != nil {
			return fmt.Errorf("record visited folders: %w", err)
		}
		t.visited = t.visited[n:]
	}
	return nil
}

// UpdateStat refreshes the ctime and inode a version was last seen with,
// without starting a new version: a file copied elsewhere and back, or
// touched without change, is still the same version, and refreshing keeps
// the next run from hashing it again.
func (t *Txn) UpdateStat(id int64, m fsmeta.Meta) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, err := t.stmt(`UPDATE versions SET ctime_ns = ?, ino = ?, dev = ?, nlink = ? WHERE id = ?`)
	if err != nil {
		return err
	}
	_, err = s.Exec(m.CtimeNs, int64(m.Ino), int64(m.Dev), int64(m.Nlink), id)
	return err
}

// End closes a version: it was last present in the previous snapshot.
func (t *Txn) End(id int64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, err := t.stmt(`UPDATE versions SET last_snap = ? WHERE id = ?`)
	if err != nil {
		return err
	}
	_, err = s.Exec(t.prev, id)
	return err
}

// EndListing closes the previous snapshot's entries of listing, the
// folder at dir there that this run drops with everything it held
// (deleted, excluded, no longer backed up), and returns them: the
// listings of the folders among them are the caller's to end in turn.
// It is the sweep of a run that did not walk every folder (a btrfs
// snapshot carries the unchanged ones over), where EndUnvisited would
// end what was merely not looked at.
func (t *Txn) EndListing(dir string, listing int64) (map[string]Version, error) {
	kids, err := t.Children(dir, listing)
	if err != nil || len(kids) == 0 {
		return kids, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	s, err := t.stmt(`UPDATE versions SET last_snap = ? WHERE host = ? AND dir_id = ? AND last_snap IS NULL AND first_snap < ?`)
	if err != nil {
		return nil, err
	}
	if _, err := s.Exec(t.prev, t.host, listing, t.snap); err != nil {
		return nil, fmt.Errorf("close the entries of %s: %w", dir, err)
	}
	return kids, nil
}

// Unvisited returns the previous snapshot's entries in directories this run
// did not walk: what was deleted along with its folder, or lies under a
// source that was dropped.
func (t *Txn) Unvisited(fn func(Version)) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.flushVisits(); err != nil {
		return err
	}
	// Streamed: a moved folder can leave hundreds of thousands behind.
	// Each at its place in the previous snapshot (a placement this run
	// ended, of a folder whose path another took, still counts).
	rows, err := t.tx.Query(`SELECT `+versionCols+versionFrom+`WHERE v.host = ? AND v.row_last IS NULL AND v.row_first < ?
		AND (v.last_snap IS NULL OR v.last_snap >= ?) AND v.listing NOT IN (SELECT id FROM visited)
		ORDER BY d.path, v.name`, t.host, t.snap, t.prev)
	if err != nil {
		return fmt.Errorf("find deleted entries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return err
		}
		fn(v)
	}
	return rows.Err()
}

// EndUnvisited closes every entry Unvisited returns.
func (t *Txn) EndUnvisited() (int64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.flushVisits(); err != nil {
		return 0, err
	}
	res, err := t.tx.Exec(`UPDATE versions SET last_snap = ? WHERE host = ? AND last_snap IS NULL AND first_snap < ?
		AND dir_id NOT IN (SELECT id FROM visited)`, t.prev, t.host, t.snap)
	if err != nil {
		return 0, fmt.Errorf("close deleted entries: %w", err)
	}
	return res.RowsAffected()
}

// HasTwin reports whether any version has this size and mtime: only then
// can a content match also match the metadata a hardlink must share, so
// only then is hashing before copying worth it.
//
// It reads the committed catalog on a reader connection, not through the
// transaction: the walker asks for every new file and must not queue
// behind the recorder's writes. Twins written by this very run are not
// seen; they are found by content when recorded.
func (t *Txn) HasTwin(size, mtimeNs int64) (bool, error) {
	if !t.hadVersions {
		return false, nil // a first backup: nothing to find
	}
	s, err := t.readStmt(`SELECT 1 FROM versions WHERE size = ? AND mtime_ns = ? LIMIT 1`)
	if err != nil {
		return false, err
	}
	var one int
	err = s.QueryRow(size, mtimeNs).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// Renamed finds the file of the previous snapshot that has the same inode,
// size and mtime as m: a file renamed or moved within its filesystem keeps
// all three, so it need not be read again (--rehash reads it anyway).
//
// Like HasTwin it reads the committed catalog, which holds the previous
// snapshot, without waiting for the transaction.
func (t *Txn) Renamed(m fsmeta.Meta) (Version, bool, error) {
	// Only what linking needs: this runs once per moved file.
	s, err := t.readStmt(`SELECT d.path, v.name, v.mode, v.uid, v.gid, v.xattrs, c.sha256 FROM ` + located + ` v
		JOIN dirs d ON d.id = v.dir_id JOIN contents c ON c.id = v.content_id
		WHERE v.ino = ? AND v.host = ? AND v.size = ? AND v.mtime_ns = ?
		AND v.type = 1 AND v.first_snap < ? AND (v.last_snap IS NULL OR v.last_snap = ?) LIMIT 1`)
	if err != nil {
		return Version{}, false, err
	}
	v := Version{Host: t.host, Meta: m}
	var xattrs []byte
	err = s.QueryRow(int64(m.Ino), t.host, m.Size, m.MtimeNs, t.snap, t.prev).Scan(&v.Dir, &v.Name,
		&v.Meta.Mode, &v.Meta.UID, &v.Meta.GID, &xattrs, &v.SHA256)
	if errors.Is(err, sql.ErrNoRows) {
		return v, false, nil
	}
	if err != nil {
		return v, false, err
	}
	if v.Meta.Xattrs, err = fsmeta.DecodeXattrs(xattrs); err != nil {
		return v, false, kerr.Wrap(kerr.CatalogCorrupt, err, "version of %s", v.Path())
	}
	return v, v.SHA256 != nil, nil
}

// Stored is a place in the repository where a version's file lies.
type Stored struct {
	Host     string
	Snapshot string // folder name; for this run's snapshot, Current is true
	Current  bool
	Path     string // absolute source path
}

// Linkable finds stored copies with this content whose inode metadata
// (mode, owner, mtime, xattrs) equals m, so a hardlink to them is exact.
// Newest first, at most limit.
func (t *Txn) Linkable(sum []byte, m fsmeta.Meta, limit int) ([]Stored, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, err := t.stmt(linkableQuery)
	if err != nil {
		return nil, err
	}
	return t.linkable(s, sum, m, limit)
}

// LinkableStored is Linkable over what earlier runs stored: the committed
// catalog, read beside the transaction without waiting for it (many
// workers at once), for a caller that keeps track of this run's own
// copies itself.
func (t *Txn) LinkableStored(sum []byte, m fsmeta.Meta, limit int) ([]Stored, error) {
	s, err := t.readStmt(linkableQuery)
	if err != nil {
		return nil, err
	}
	return t.linkable(s, sum, m, limit)
}

// linkableQuery: an open version from an earlier run is stored in the
// previous snapshot; one this run added is stored in the snapshot being
// written; a closed one in the newest snapshot of its range that still
// exists; an open one of another host in that host's newest snapshot.
const linkableQuery = `SELECT v.host, d.path, v.name, s.id, s.name FROM ` + located + ` v
	JOIN contents c ON c.id = v.content_id JOIN dirs d ON d.id = v.dir_id
	JOIN snapshots s ON s.id = (SELECT max(s2.id) FROM snapshots s2 WHERE s2.host = v.host AND s2.id >= v.first_snap
		AND s2.id <= coalesce(v.last_snap, CASE WHEN v.first_snap = ?1 THEN ?1 WHEN v.host = ?10 THEN ?2 ELSE 9223372036854775807 END)
		AND (s2.complete = 1 OR s2.id = ?1))
	WHERE c.sha256 = ?3 AND v.type = 1 AND v.mode = ?4 AND v.uid = ?5 AND v.gid = ?6 AND v.mtime_ns = ?7 AND v.xattrs IS ?8
	ORDER BY v.id DESC LIMIT ?9`

func (t *Txn) linkable(s *sql.Stmt, sum []byte, m fsmeta.Meta, limit int) ([]Stored, error) {
	rows, err := s.Query(t.snap, t.prev, sum, m.Mode, m.UID, m.GID, m.MtimeNs, fsmeta.EncodeXattrs(m.Xattrs), limit, t.host)
	if err != nil {
		return nil, fmt.Errorf("find content: %w", err)
	}
	defer rows.Close()
	var out []Stored
	for rows.Next() {
		var host, dir, name, snapName string
		var id int64
		if err := rows.Scan(&host, &dir, &name, &id, &snapName); err != nil {
			return nil, err
		}
		out = append(out, Stored{Host: host, Snapshot: snapName, Current: id == t.snap, Path: strings.TrimSuffix(dir, "/") + "/" + name})
	}
	return out, rows.Err()
}

// Audit appends to the audit log inside the transaction.
func (t *Txn) Audit(action, p, detail string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return audit(t.tx, t.actor, action, t.host, t.name, p, detail)
}

// AddFile stores a file the snapshot carries beside the tree (the engine
// writes it to <snapshot>/.keepsake/<name> as well).
func (t *Txn) AddFile(name string, data []byte) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, err := t.tx.Exec(`INSERT OR REPLACE INTO snapshot_files(snapshot_id, name, data) VALUES (?, ?, ?)`, t.snap, name, data); err != nil {
		return fmt.Errorf("store %s of snapshot %s: %w", name, t.name, err)
	}
	return nil
}

// Totals are a snapshot's figures, stored with it.
type Totals struct {
	Files, Dirs, Bytes, NewBytes int64
}

// Commit stores the totals and commits. The data must be durable before.
func (t *Txn) Commit(tot Totals, finished time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	defer t.closeStmts()
	_, err := t.tx.Exec(`UPDATE snapshots SET finished = ?, files = ?, dirs = ?, bytes = ?, new_bytes = ? WHERE id = ?`,
		finished.UnixMicro(), tot.Files, tot.Dirs, tot.Bytes, tot.NewBytes, t.snap)
	if err != nil {
		t.tx.Rollback()
		return fmt.Errorf("commit snapshot %s: %w", t.name, err)
	}
	if err := t.tx.Commit(); err != nil {
		return fmt.Errorf("commit snapshot %s: %w", t.name, err)
	}
	return nil
}

// Rollback abandons the snapshot.
func (t *Txn) Rollback() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closeStmts()
	t.tx.Rollback()
}

func (t *Txn) closeStmts() {
	for _, s := range t.stmts {
		s.Close()
	}
	t.stmts = map[string]*sql.Stmt{}
	t.readMu.Lock()
	for _, s := range t.readStmts {
		s.Close()
	}
	t.readStmts = map[string]*sql.Stmt{}
	t.readMu.Unlock()
}
