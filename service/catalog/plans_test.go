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
