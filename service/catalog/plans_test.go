package catalog

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/mattn/go-sqlite3"
)

// Every connection the catalog opens plans a statement once for all the
// values bound to it (see stableDriver). It fails when a catalog is
// opened with another driver, or when a go-sqlite3 upgrade moved the
// handle stablePlans reaches for: the per-file queries of a backup would
// then be compiled again on every call.
func TestConnectionsHaveStablePlans(t *testing.T) {
	p := filepath.Join(t.TempDir(), "catalog.db")
	c, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, err := OpenReadOnly(p)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for name, db := range map[string]*sql.DB{"read-write": c.db, "beside a backup": c.ro, "read-only": r.db} {
		conn, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		err = conn.Raw(func(dc any) error {
			sc, ok := dc.(*sqlite3.SQLiteConn)
			if !ok {
				t.Errorf("%s connection: a %T, not go-sqlite3's", name, dc)
			} else if !stablePlans(sc, false) {
				t.Errorf("%s connection: query planner stability guarantee is off", name)
			}
			return nil
		})
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// One statement of a backup's transaction may change more pages than fit
// in memory for undoing it alone (ending the versions of a deleted folder
// of 300 000 files): SQLite then moves that statement's journal to a
// temporary file. With the threshold raised to 4 MiB (SQLITE_CONFIG_
// STMTJRNL_SPILL, as this catalog once did) that move failed with
// SQLITE_FULL, "database or disk is full", whatever the free space: the
// memory journal writes a chunk of the threshold's size at once, and
// SQLite's Unix file layer masks a write's length with 0x1ffff, so 4 MiB
// becomes 0 bytes, read as a full disk. The threshold stays SQLite's own.
func TestBigStatementInTransaction(t *testing.T) {
	c := openTemp(t)
	tx, err := c.DB().Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`WITH RECURSIVE s(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM s WHERE x < 299999)
		INSERT INTO contents(id, sha256, size) SELECT x + 1, randomblob(32), x FROM s`); err != nil {
		t.Fatal("insert:", err)
	}
	// Every page of the table existed before this statement: its undo
	// journal holds them all, about 20 MB.
	res, err := tx.Exec(`UPDATE contents SET size = size + 1`)
	if err != nil {
		t.Fatal("update:", err)
	}
	if n, _ := res.RowsAffected(); n != 300000 {
		t.Fatalf("update changed %d rows, want 300000", n)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var sum int64
	if err := c.DB().QueryRow(`SELECT sum(size) FROM contents`).Scan(&sum); err != nil || sum != 299999*300000/2+300000 {
		t.Fatalf("sum of sizes %d (%v), want %d", sum, err, 299999*300000/2+300000)
	}
}
