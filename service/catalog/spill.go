package catalog

/*
// SQLite's own, linked in by github.com/mattn/go-sqlite3.
extern int sqlite3_config(int, ...);

static int keepsake_stmt_journal_spill(int bytes) {
	return sqlite3_config(26, bytes); // SQLITE_CONFIG_STMTJRNL_SPILL
}
*/
import "C"

// SQLite keeps a statement journal (the pages a statement changed, to undo
// it alone) in memory up to 64 KiB, then in a temporary file: a backup's
// batched inserts into an indexed table pass that at almost every
// statement, which made tens of thousands of writes to /var/tmp for one
// pull of 10 000 files. Up to stmtJournalInMemory stays in memory (per
// connection, for one statement at a time); bigger ones still spill. It
// must be set before SQLite's first use, which no package does in init.
const stmtJournalInMemory = 4 << 20

func init() {
	C.keepsake_stmt_journal_spill(stmtJournalInMemory)
}
