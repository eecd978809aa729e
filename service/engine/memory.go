package engine

import (
	"os"
	"runtime/debug"
)

// MemoryLimit is the Go heap the programs that run backups hold to (a soft
// limit: the collector works harder near it, never fails). What a backup
// keeps alive is small and bounded (a slice of one folder, the catalog's
// statements); without a limit the collector lets garbage grow to twice
// that between cycles, and a folder of 500 000 files walked as fast as
// the disk allows would show a few hundred megabytes of resident memory.
// With SQLite's page caches beside it, the process stays under 100 MB.
const MemoryLimit = 64 << 20

// LimitMemory applies MemoryLimit, unless GOMEMLIMIT says otherwise.
func LimitMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(MemoryLimit)
	}
}
