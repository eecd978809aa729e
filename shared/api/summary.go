package api

import (
	"fmt"

	"github.com/keepsake/keepsake/shared/grammar"
)

// Summary says what a backup did in one line.
func (r BackupResult) Summary() string {
	return fmt.Sprintf("snapshot %s: %s, %s, %s copied (%s)", r.Snapshot, grammar.Count(int64(r.Files), "file", "files"),
		grammar.Count(int64(r.Dirs), "folder", "folders"), grammar.Count(int64(r.Copied), "file", "files"), grammar.HumanSize(int64(r.CopiedBytes)))
}

// Summary says what a restore did in one line.
func (r RestoreResult) Summary() string {
	return fmt.Sprintf("%s, %s, %s from snapshot %s", grammar.Count(int64(r.Files), "file", "files"),
		grammar.Count(int64(r.Dirs), "folder", "folders"), grammar.HumanSize(int64(r.Bytes)), r.Snapshot)
}

// Summary says what a prune did (or would do) in one line.
func (r PruneResult) Summary() string {
	n := int64(len(r.Removed))
	if r.DryRun {
		return fmt.Sprintf("%s: would remove %s and keep %d, freeing about %s", r.Policy, grammar.Count(n, "snapshot", "snapshots"),
			r.Kept, grammar.HumanSize(int64(r.Freed)))
	}
	return fmt.Sprintf("%s: %s removed, %d kept, %s freed, %s free now", r.Policy, grammar.Count(n, "snapshot", "snapshots"),
		r.Kept, grammar.HumanSize(int64(r.Freed)), grammar.HumanSize(int64(r.FreeAfter)))
}

// Summary says what a verification found in one line.
func (r VerifyResult) Summary() string {
	scope := "all content"
	if r.Of > 1 {
		scope = fmt.Sprintf("slice %d of %d", r.Slice+1, r.Of)
	}
	return fmt.Sprintf("%s checked in %s (%s, %s read): %d damaged, %s", grammar.Count(int64(r.Files), "file", "files"),
		grammar.Count(int64(len(r.Snapshots)), "snapshot", "snapshots"), scope, grammar.HumanSize(int64(r.Bytes)), len(r.Damaged),
		grammar.Count(int64(len(r.CatalogProblems)), "catalog problem", "catalog problems"))
}
