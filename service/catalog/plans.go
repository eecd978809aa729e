package catalog

/*
typedef struct sqlite3 sqlite3;
int sqlite3_db_config(sqlite3 *, int op, ...);

// keepsake_stable_plans turns SQLite's query planner stability guarantee
// (SQLITE_DBCONFIG_ENABLE_QPSG) on (set 1) or leaves it (set -1), and
// returns whether it is on, or -1.
static int keepsake_stable_plans(void *db, int set) {
	int on = -1;
	if (sqlite3_db_config((sqlite3 *)db, 1007, set, &on) != 0) return -1;
	return on;
}
*/
import "C"

import (
	"database/sql"
	"reflect"

	"github.com/mattn/go-sqlite3"
)

// stableDriver is SQLite with the same query plan for every value bound
// to a statement's parameters.
//
// Without it SQLite marks a statement for compiling again whenever a
// bound value may have steered its plan (a LIMIT ?, or a `column = ?`
// left to filter rows), and go-sqlite3 clears the bindings after every
// use, which is such a change: the catalog's per-file queries (stored
// copies of a content, a file's twin) were parsed and planned anew on
// every call, 80 µs instead of 20 µs, a third of the CPU of indexing a
// computer's pull. The catalog's queries have one good plan whatever the
// values, save one thing SQLite then no longer does for a bound glob:
// narrow it to the index range of its literal start, which Search asks
// for itself (globRange).
const stableDriver = "sqlite3-keepsake"

func init() {
	sql.Register(stableDriver, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		stablePlans(c, true)
		return nil
	}})
}

// stablePlans turns the guarantee on for a connection (or, set false,
// leaves it as it is), and says whether it is on. go-sqlite3 has no call
// for sqlite3_db_config: its handle is taken from the connection's
// unexported field; a version of go-sqlite3 without that field gets the
// default planning (slower, as correct; TestConnectionsHaveStablePlans
// fails then).
func stablePlans(c *sqlite3.SQLiteConn, set bool) bool {
	f := reflect.ValueOf(c).Elem().FieldByName("db")
	if !f.IsValid() || f.Kind() != reflect.Pointer || f.IsNil() {
		return false
	}
	op := C.int(-1)
	if set {
		op = 1
	}
	return C.keepsake_stable_plans(f.UnsafePointer(), op) == 1
}
