package api

import (
	"fmt"

	"github.com/keepsake/keepsake/shared/grammar"
)

// Summary says what a backup did in one line.
func (r BackupResult) Summary() string {
	return fmt.Sprintf("snapshot %s: %s, %s, %s copied (%s)", r.Snapshot, grammar.Count(int64(r.Files), "file", "files"),
		grammar.Count(int64(r.Dirs), "folder", "folders"), grammar.Count(int64(r.Copied), "file", "files"), grammar.FormatSize(int64(r.CopiedBytes)))
}

// Summary says what a restore did in one line.
func (r RestoreResult) Summary() string {
	return fmt.Sprintf("%s, %s, %s from snapshot %s", grammar.Count(int64(r.Files), "file", "files"),
		grammar.Count(int64(r.Dirs), "folder", "folders"), grammar.FormatSize(int64(r.Bytes)), r.Snapshot)
}

// Summary says what a prune did (or would do) in one line.
func (r PruneResult) Summary() string {
	n := int64(len(r.Removed))
	if r.DryRun {
		return fmt.Sprintf("would remove %s, freeing about %s", grammar.Count(n, "snapshot", "snapshots"), grammar.FormatSize(int64(r.Freed)))
	}
	return fmt.Sprintf("%s removed, %s freed", grammar.Count(n, "snapshot", "snapshots"), grammar.FormatSize(int64(r.Freed)))
}

// Summary says what a verification found in one line.
func (r VerifyResult) Summary() string {
	return fmt.Sprintf("%s checked, %d damaged, %s", grammar.Count(int64(r.Files), "file", "files"), len(r.Damaged),
		grammar.Count(int64(len(r.CatalogProblems)), "catalog problem", "catalog problems"))
}
