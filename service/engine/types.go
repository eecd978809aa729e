package engine

import (
	"time"

	"github.com/keepsake/keepsake/service/catalog"
)

// Kind classifies an entry of a backup, as a dry run reports it.
type Kind string

const (
	New       Kind = "new"
	Modified  Kind = "modified"
	MetaOnly  Kind = "metadata"
	Moved     Kind = "moved"
	Duplicate Kind = "duplicate"
	Deleted   Kind = "deleted"
	Unchanged Kind = "unchanged"
	Skipped   Kind = "skipped"
)

// PlanEntry is one changed path of a backup (unchanged paths are counted,
// not listed).
type PlanEntry struct {
	Kind Kind   `json:"kind"`
	Path string `json:"path"`
	// From is, for a moved file or folder, where it was before.
	From string `json:"from,omitempty"`
}

// Progress is a snapshot of a running backup or restore, for progress bars
// and D-Bus Job objects.
type Progress struct {
	Phase       string `json:"phase"`
	Files       int64  `json:"files"`        // entries handled so far
	Bytes       int64  `json:"bytes"`        // bytes of the entries handled so far
	CopiedBytes int64  `json:"copied_bytes"` // bytes actually copied
	TotalFiles  int64  `json:"total_files"`  // entries the run will handle, 0 if unknown
	TotalBytes  int64  `json:"total_bytes"`  // their bytes, 0 if unknown
	// TotalsCounted says the totals were counted (a backup's walk of the
	// sources, a prune's list of snapshots); otherwise they are an estimate
	// (the previous snapshot's size) that the work may outgrow.
	TotalsCounted bool          `json:"totals_counted,omitempty"`
	Elapsed       time.Duration `json:"elapsed_ns"`
	Current       string        `json:"current,omitempty"`
}

// entryCost is what handling one entry (a file created, its metadata set,
// its catalog row written) weighs in a fraction, in bytes copied. With
// bytes alone, a tree of many small files sits near 0% for most of its
// run and jumps at the end; with entries alone, one large file copied
// last sits at 99%. An entry takes about as long as copying some tens of
// KiB to a hundred (about a thousand entries a second against 100 MB/s on
// a USB disk, ten thousand against 500 MB/s on an SSD), so each counts as
// that much: the fraction is the share of the estimated time.
const entryCost = 64 << 10

// DoneBytes is the bytes handled so far. The engine counts an entry's
// bytes once it is recorded and copied bytes as each file is copied:
// during a copy of new files the copied bytes run ahead, so it takes
// whichever is further.
func (p Progress) DoneBytes() int64 { return max(p.Bytes, p.CopiedBytes, 0) }

// Fraction is how far the run is, 0..1, or -1 when it cannot say: no
// totals, or an estimate the work has outgrown in files or bytes (new
// data), where claiming 99% for minutes would be a lie. Entries and bytes
// both count (see entryCost). Work beyond counted totals (files that grew
// meanwhile) stays just below 1: only the end of the run is the end.
func (p Progress) Fraction() float64 {
	if p.TotalFiles <= 0 && p.TotalBytes <= 0 {
		return -1
	}
	if !p.TotalsCounted && (p.DoneBytes() > p.TotalBytes || p.Files > p.TotalFiles) {
		return -1
	}
	done := float64(p.DoneBytes()) + float64(max(p.Files, 0))*entryCost
	total := float64(max(p.TotalBytes, 0)) + float64(max(p.TotalFiles, 0))*entryCost
	return min(done/total, maxFraction)
}

// Totals are the totals worth showing beside what is done: counted ones
// always, an estimate only while the work has not outgrown it (0 then).
func (p Progress) Totals() (files, bytes int64) {
	files, bytes = max(p.TotalFiles, 0), max(p.TotalBytes, 0)
	if !p.TotalsCounted {
		if p.Files > files {
			files = 0
		}
		if p.DoneBytes() > bytes {
			bytes = 0
		}
	}
	return files, bytes
}

// maxFraction is the most a running job claims.
const maxFraction = 0.99

// Left is the time the run still needs at its pace so far, 0 when unknown:
// no fraction, or too early to judge the pace.
func (p Progress) Left() time.Duration {
	f := p.Fraction()
	if f <= 0.01 || p.Elapsed < time.Second {
		return 0
	}
	return time.Duration(float64(p.Elapsed) * (1 - f) / f)
}

// Warning is a problem that did not stop the run.
type Warning struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// Result is the outcome of a backup.
type Result struct {
	Snapshot    string `json:"snapshot"`
	Host        string `json:"host"`
	DryRun      bool   `json:"dry_run"`
	Files       int64  `json:"files"` // entries in the snapshot (files, symlinks, others)
	Dirs        int64  `json:"dirs"`
	Bytes       int64  `json:"bytes"` // total size of the files in the snapshot
	Copied      int64  `json:"copied"`
	CopiedBytes int64  `json:"copied_bytes"`
	Linked      int64  `json:"linked"`
	New         int64  `json:"new"`
	Modified    int64  `json:"modified"`
	MetaOnly    int64  `json:"metadata"`
	Moved       int64  `json:"moved"`
	Duplicate   int64  `json:"duplicate"`
	Deleted     int64  `json:"deleted"`
	Unchanged   int64  `json:"unchanged"`
	Skipped     int64  `json:"skipped"`
	// KeptPrevious are skipped files whose previous version stays in the
	// snapshot (and current in the catalog), counted in Skipped too.
	KeptPrevious int64 `json:"kept_previous"`
	// Pruned are snapshots removed before the run to make room (MinFree).
	Pruned []PrunedSnapshot `json:"pruned,omitempty"`
	Hashed int64            `json:"hashed"` // files whose content was read and hashed
	// HashedInTransfer are the files of a backup of another computer
	// read while the transfer was still going (counted in Hashed too).
	HashedInTransfer int64 `json:"hashed_in_transfer,omitempty"`
	ReadDirs         int64 `json:"read_dirs"`   // directories read from the source
	ReusedDirs       int64 `json:"reused_dirs"` // directories taken from the previous snapshot (dirty-dir mode)
	// CarriedDirs are folders taken over whole, with everything below
	// them, without being entered: on a btrfs drive with ChangedDirs,
	// where the snapshot starts as the previous one.
	CarriedDirs int64 `json:"carried_dirs,omitempty"`
	// PatchedDirs are folders of which only the entries named changed
	// (ChangedNames) were looked at; counted in neither ReadDirs nor
	// ReusedDirs.
	PatchedDirs int64 `json:"patched_dirs,omitempty"`
	// ReceivedBytes is what a backup of another computer transferred.
	ReceivedBytes int64 `json:"received_bytes,omitempty"`
	// SkippedMounts are the mount points of other filesystems below the
	// sources that were kept as empty folders (see IncludeMounts).
	SkippedMounts []string    `json:"skipped_mounts,omitempty"`
	Warnings      []Warning   `json:"warnings,omitempty"`
	Plan          []PlanEntry `json:"plan,omitempty"`
	Duration      float64     `json:"duration_s"`
}

// Extra is a file a snapshot carries beside the tree.
type Extra struct {
	Name string // a plain file name
	Data []byte
}

// BackupOptions configure one backup run.
type BackupOptions struct {
	Host    string
	Sources []string // absolute paths
	// Excludes are gitignore-style patterns (see package exclude).
	Excludes []string
	// NoDefaultExcludes turns off the built-in exclusions (caches, trash).
	NoDefaultExcludes bool
	// IncludeMounts are mount points below the sources whose other
	// filesystems are backed up too; any other is kept as an empty folder
	// (like rsync -x), and reported in Result.SkippedMounts.
	IncludeMounts []string
	DryRun        bool
	// Rehash hashes every file instead of trusting size, mtime, ctime and
	// inode to say it is unchanged.
	Rehash bool
	// ChangedDirs, when not nil, switches to dirty-directory mode: only
	// these directories (and new ones) are read from the source; every
	// other directory is taken from the previous snapshot.
	ChangedDirs []string
	// ChangedNames, with ChangedDirs, are entries known to have changed
	// (made, written, removed, renamed, given other attributes), by path.
	// The folder holding one is changed too; where the snapshot begins as
	// the previous one (btrfs), such a folder that ChangedDirs does not
	// name is not read whole: only these names in it are looked at, the
	// rest stays as it was.
	ChangedNames []string
	// Plan lists changed paths in the Result (always on for a dry run).
	Plan  bool
	Actor catalog.Actor
	// Workers copying and linking in parallel; 0 picks a default.
	Workers int
	// MinFree, when the drive has less free space before the run, thins
	// the oldest unpinned snapshots until it has that much (never the
	// newest; each removal is in the audit log).
	MinFree int64
	// LinkMax overrides the repository's link limit (tests use a small one).
	LinkMax uint64
	// Progress is called a few times a second; Warn for each warning.
	Progress func(Progress)
	Warn     func(Warning)
	// Fetch, when set, makes this a backup of another computer: Sources
	// are absolute paths there, Fetch brings them into the snapshot folder
	// (rsync over ssh; see Fetch) and the run indexes what arrived.
	// Excludes, ChangedDirs and DryRun do not apply.
	Fetch Fetch
	// Extras are files the snapshot carries beside the backed-up tree, in
	// <snapshot>/.keepsake/<name> and in the catalog (e.g. the Flatpak
	// inventory): readable with or without Keepsake.
	Extras []Extra
	// Now gives the snapshot's time (tests pin it).
	Now func() time.Time
	// ProgressInterval defaults to 250ms.
	ProgressInterval time.Duration
}
