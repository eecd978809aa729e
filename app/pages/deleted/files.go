package deleted

import (
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/keepsake/keepsake/app/humanize"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/i18n"
)

// File is one file gone from the folder. Path, Name and Dir are raw
// bytes, for calls to the service; labels show them through
// humanize.Display.
type File struct {
	Path, Name, Dir, Type string
	Size                  int64
	Mtime                 time.Time
	// LastSnapshot is the newest backup holding it: the one to restore from.
	LastSnapshot string
	// LastTime is when that backup was made (zero if its name says not).
	LastTime time.Time
}

// FileOf reads a Deleted result.
func FileOf(d api.DeletedFile) File {
	p := string(d.Path)
	dir, name := path.Split(p)
	if dir != "/" {
		dir = strings.TrimSuffix(dir, "/")
	}
	f := File{Path: p, Name: name, Dir: dir, Type: d.Type, Size: int64(d.Size),
		Mtime: d.Mtime, LastSnapshot: d.LastSnapshot}
	f.LastTime, _ = SnapshotTime(f.LastSnapshot)
	return f
}

// snapshotLayout is how keepsaked names snapshots: their UTC start time.
const snapshotLayout = "2006-01-02T150405Z"

// SnapshotTime reads the time in a snapshot's name.
func SnapshotTime(name string) (time.Time, bool) {
	if len(name) < len(snapshotLayout) {
		return time.Time{}, false
	}
	t, err := time.Parse(snapshotLayout, name[:len(snapshotLayout)])
	if err != nil {
		return time.Time{}, false
	}
	return t.Local(), true
}

// SortFiles puts the most recently deleted first (the newest backup that
// still held them), then by path.
func SortFiles(fs []File) {
	sort.SliceStable(fs, func(i, j int) bool {
		if fs[i].LastSnapshot != fs[j].LastSnapshot {
			return fs[i].LastSnapshot > fs[j].LastSnapshot
		}
		return fs[i].Path < fs[j].Path
	})
}

// Period is a choice of "deleted since".
type Period struct {
	Label string
	// Days back from now; 0 is any time. A month is a calendar month.
	Days, Months int
}

// Periods are the choices, in the order the combo row shows them.
var Periods = []Period{
	{Label: i18n.Noop("In the last day"), Days: 1},
	{Label: i18n.Noop("In the last week"), Days: 7},
	{Label: i18n.Noop("In the last month"), Months: 1},
	{Label: i18n.Noop("At any time")},
}

// DefaultPeriod is the week: recent enough to be short, long enough to
// find what someone misses after a few days.
const DefaultPeriod = 1

// Since is the start of period i before now; zero means any time.
func Since(i int, now time.Time) time.Time {
	if i < 0 || i >= len(Periods) {
		return time.Time{}
	}
	p := Periods[i]
	if p.Days == 0 && p.Months == 0 {
		return time.Time{}
	}
	return now.AddDate(0, -p.Months, -p.Days)
}

// Options are the Deleted call's options for period i.
func Options(i int, now time.Time) api.DeletedOptions {
	return api.DeletedOptions{Since: Since(i, now)}
}

// Batch is what one Restore call brings back: paths of one snapshot.
type Batch struct {
	Snapshot string
	Paths    []string
}

// Batches groups files by the snapshot to restore each from (its last),
// oldest snapshot first, so that one call restores each group.
func Batches(fs []File) []Batch {
	by := map[string][]string{}
	for _, f := range fs {
		if f.LastSnapshot == "" || f.Path == "" {
			continue
		}
		by[f.LastSnapshot] = append(by[f.LastSnapshot], f.Path)
	}
	out := make([]Batch, 0, len(by))
	for s, ps := range by {
		sort.Strings(ps)
		out = append(out, Batch{Snapshot: s, Paths: dedupe(ps)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Snapshot < out[j].Snapshot })
	return out
}

func dedupe(sorted []string) []string {
	out := sorted[:0]
	for i, s := range sorted {
		if i == 0 || s != sorted[i-1] {
			out = append(out, s)
		}
	}
	return out
}

// Fraction is the progress of batch i of n, itself at progress (negative
// when the job does not know); ok is false when nothing can be said.
func Fraction(i, n int, progress float64) (float64, bool) {
	if n <= 0 {
		return 0, false
	}
	if progress < 0 {
		if n == 1 {
			return 0, false
		}
		progress = 0
	}
	f := (float64(i) + min(progress, 1)) / float64(n)
	return min(max(f, 0), 1), true
}

// Written is where a finished restore job put each item: its Result
// says (restored, bytes exact), or else its message, one per line.
func Written(res api.RestoreResult, message string) []string {
	if len(res.Restored) > 0 {
		out := make([]string, len(res.Restored))
		for i, p := range res.Restored {
			out[i] = string(p)
		}
		return out
	}
	var out []string
	for _, l := range strings.Split(message, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// RestoreSummary says what a restore did: how many came back, and how
// many were put beside a file of the same name that exists again.
func RestoreSummary(requested, written []string) string {
	asked := map[string]bool{}
	for _, p := range requested {
		asked[p] = true
	}
	beside := 0
	for _, w := range written {
		if !asked[w] {
			beside++
		}
	}
	n := len(requested)
	if n == 1 {
		name := humanize.Display(path.Base(requested[0]))
		if beside == 1 && len(written) == 1 {
			// TRANSLATORS: %[1]s is the file's name, %[2]s the name it was
			// restored as, beside a file of the same name.
			return fmt.Sprintf(i18n.T("“%[1]s” restored as “%[2]s”"), name, humanize.Display(path.Base(written[0])))
		}
		// TRANSLATORS: %s is the file's name.
		return fmt.Sprintf(i18n.T("“%s” restored"), name)
	}
	s := fmt.Sprintf(i18n.N("%s file restored", "%s files restored", n), humanize.Count(n))
	if beside > 0 {
		// TRANSLATORS: %[1]s is "12 files restored", %[2]s how many of them
		// were put beside a file of the same name that exists again.
		s = fmt.Sprintf(i18n.N("%[1]s, %[2]s beside a file of the same name", "%[1]s, %[2]s beside files of the same name", beside),
			s, humanize.Count(beside))
	}
	return s
}

// MaxRows is how many files the page lists: past that a list is no help,
// and a shorter period or a deeper folder is.
const MaxRows = 1000

// CountText is the line above the list.
func CountText(total int) string {
	if total > MaxRows {
		// TRANSLATORS: %[1]s is how many files were deleted, %[2]s how many
		// of them are listed (1,000).
		return fmt.Sprintf(i18n.N("%[1]s file deleted. The %[2]s deleted most recently are shown: choose a shorter time or a folder inside this one to see others.",
			"%[1]s files deleted. The %[2]s deleted most recently are shown: choose a shorter time or a folder inside this one to see others.", total),
			humanize.Count(total), humanize.Count(MaxRows))
	}
	return fmt.Sprintf(i18n.N("%s file deleted", "%s files deleted", total), humanize.Count(total))
}

// SelectedText counts the selection.
func SelectedText(n int) string {
	if n == 0 {
		// TRANSLATORS: no deleted file is selected.
		return i18n.T("None selected")
	}
	// TRANSLATORS: how many deleted files are selected.
	return fmt.Sprintf(i18n.N("%s selected", "%s selected", n), humanize.Count(n))
}

// SizeText is a file's size, or what it is when a size says nothing.
func SizeText(f File) string {
	switch f.Type {
	case "dir":
		// TRANSLATORS: in place of a deleted item's size.
		return i18n.P("file type", "Folder")
	case "symlink":
		// TRANSLATORS: in place of a deleted item's size: a symbolic link.
		return i18n.P("file type", "Link")
	}
	return humanize.Size(f.Size)
}

// LastText says which backup last held the file.
func LastText(f File, now time.Time) string {
	if f.LastTime.IsZero() {
		// TRANSLATORS: %s is the name of a backup ("2025-03-02T140000Z").
		return fmt.Sprintf(i18n.T("Last backed up in %s"), f.LastSnapshot)
	}
	// TRANSLATORS: %s is when, as in "5 minutes ago", "yesterday at 14:05".
	return fmt.Sprintf(i18n.T("Last backed up %s"), humanize.When(f.LastTime, now))
}

// EmptyText says that nothing was deleted, for which folder and time.
func EmptyText(folder string, period int) string {
	// TRANSLATORS: %s is a folder ("~/Documents").
	s := i18n.T("The backups show no file deleted from %s.")
	switch period {
	case 0:
		// TRANSLATORS: %s is a folder ("~/Documents").
		s = i18n.T("The backups show no file deleted from %s in the last day.")
	case 1:
		// TRANSLATORS: %s is a folder ("~/Documents").
		s = i18n.T("The backups show no file deleted from %s in the last week.")
	case 2:
		// TRANSLATORS: %s is a folder ("~/Documents").
		s = i18n.T("The backups show no file deleted from %s in the last month.")
	}
	return fmt.Sprintf(s, folder)
}
