package history

import (
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/keepsake/keepsake/app/humanize"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/i18n"
)

// Version is one distinct content a file had. Paths and Path are raw
// bytes, for calls to the service; labels show them through
// humanize.Display.
type Version struct {
	SHA256             string
	Size               int64
	Mtime, First, Last time.Time
	// Paths are the names it had; Snapshots every backup holding it.
	Paths, Snapshots []string
	// Snapshot and Path are where it is restored from: the latest backup
	// holding it and the name it had there.
	Snapshot, Path string
}

// Versions turns the service's Versions result into rows, newest first.
// Entries with the same content are merged: one row per content is what
// "versions" means to a person.
func Versions(ds []api.Version) []Version {
	var out []Version
	bySHA := map[string]int{}
	for _, d := range ds {
		v := Version{
			SHA256:    d.SHA256,
			Size:      int64(d.Size),
			Mtime:     d.Mtime,
			First:     d.First,
			Last:      d.Last,
			Snapshots: d.Snapshots,
		}
		for _, p := range d.Paths {
			v.Paths = append(v.Paths, string(p))
		}
		v.Snapshot, v.Path = source(v.Paths, v.Snapshots)
		if v.Snapshot == "" || v.Path == "" {
			continue // nothing to restore it from
		}
		if v.Last.IsZero() {
			v.Last = v.First
		}
		if i, ok := bySHA[v.SHA256]; ok && v.SHA256 != "" {
			out[i] = merge(out[i], v)
			continue
		}
		if v.SHA256 != "" {
			bySHA[v.SHA256] = len(out)
		}
		out = append(out, v)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.Last.Equal(b.Last) {
			return a.Last.After(b.Last)
		}
		return a.First.After(b.First)
	})
	return out
}

// source picks where a version is restored from. The service lists a
// version's places in order and concatenates their snapshots in the same
// order, so the last snapshot belongs to the last path.
func source(paths, snaps []string) (snapshot, p string) {
	if len(paths) == 0 || len(snaps) == 0 {
		return "", ""
	}
	return snaps[len(snaps)-1], paths[len(paths)-1]
}

func merge(a, b Version) Version {
	out := a
	if b.Last.After(a.Last) {
		out.Snapshot, out.Path, out.Last, out.Mtime = b.Snapshot, b.Path, b.Last, b.Mtime
	}
	if b.First.Before(a.First) {
		out.First = b.First
	}
	out.Paths = union(a.Paths, b.Paths)
	out.Snapshots = union(a.Snapshots, b.Snapshots)
	sort.Strings(out.Snapshots) // names are UTC timestamps
	return out
}

func union(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range append(append([]string{}, a...), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// Label is a version's row: the title says when it was first backed up,
// the subtitle how long it stayed, its size and its other names.
func Label(v Version, file, home, latest string, now time.Time) (title, subtitle string) {
	title = humanize.DateTitle(v.First, now, humanize.Minutes)
	var parts []string
	switch {
	case latest != "" && v.Snapshot == latest:
		parts = append(parts, i18n.T("In the latest backup"))
	case !v.Last.IsZero() && !v.Last.Equal(v.First):
		// TRANSLATORS: how long a version stayed; %s is a date inside a sentence ("today at 14:05", "2 March at 09:00").
		parts = append(parts, fmt.Sprintf(i18n.T("Until %s"), humanize.DateInSentence(v.Last, now, humanize.Minutes)))
	}
	parts = append(parts, humanize.Size(v.Size))
	if r := RenamedFrom(v, file, home); r != "" {
		parts = append(parts, r)
	}
	return title, strings.Join(parts, " · ")
}

// Titles are the versions' row titles (Label's), told apart when two
// would read the same: versions backed up in the same minute show the
// seconds too ("Today at 09:48:05"), and any still alike in the same
// second say which is the later one (versions are newest first).
func Titles(vs []Version, now time.Time) []string {
	titles := make([]string, len(vs))
	count := func(clock humanize.Precision) map[string]int {
		n := map[string]int{}
		for i, v := range vs {
			titles[i] = humanize.DateTitle(v.First, now, clock)
			n[titles[i]]++
		}
		return n
	}
	byMinute := count(humanize.Minutes)
	bySecond := map[string]int{}
	for i, v := range vs {
		if byMinute[humanize.DateTitle(v.First, now, humanize.Minutes)] > 1 {
			titles[i] = humanize.DateTitle(v.First, now, humanize.Seconds)
		}
		bySecond[titles[i]]++
	}
	seen := map[string]int{}
	for i, t := range titles {
		if n := bySecond[t]; n > 1 {
			seen[t]++
			switch {
			case n == 2 && seen[t] == 1:
				// TRANSLATORS: a version's title when two were backed up in
				// the same second; %s is when ("Today at 09:48:05").
				titles[i] = fmt.Sprintf(i18n.T("%s (the later one)"), t)
			case n == 2:
				// TRANSLATORS: as "%s (the later one)".
				titles[i] = fmt.Sprintf(i18n.T("%s (the earlier one)"), t)
			default:
				// TRANSLATORS: a version's title when several were backed up
				// in the same second: %[1]s is when, %[2]d which one of the
				// %[3]d alike.
				titles[i] = fmt.Sprintf(i18n.T("%[1]s (%[2]d of %[3]d, newest first)"), t, seen[t], n)
			}
		}
	}
	return titles
}

// RenamedFrom names the other names a version had ("" when it only had
// the file's): just the name when it stayed in the same folder.
func RenamedFrom(v Version, file, home string) string {
	var others []string
	for _, p := range v.Paths {
		if p == file {
			continue
		}
		name := tilde(p, home)
		if path.Dir(p) == path.Dir(file) {
			name = humanize.Display(path.Base(p))
		}
		// TRANSLATORS: quotation marks around a file name.
		others = append(others, fmt.Sprintf(i18n.T("“%s”"), name))
	}
	switch len(others) {
	case 0:
		return ""
	case 1:
		// TRANSLATORS: %s is an earlier name of the file, in quotes.
		return fmt.Sprintf(i18n.T("Renamed from %s"), others[0])
	case 2:
		// TRANSLATORS: %[1]s and %[2]s are earlier names of the file, in quotes.
		return fmt.Sprintf(i18n.T("Renamed from %[1]s and %[2]s"), others[0], others[1])
	}
	n := len(others) - 1
	// TRANSLATORS: %[1]s is an earlier name of the file, in quotes; %[2]s
	// how many other names it had.
	return fmt.Sprintf(i18n.N("Renamed from %[1]s and %[2]s other name", "Renamed from %[1]s and %[2]s other names", n), others[0], humanize.Count(n))
}

// tilde is a path for display, shortened in the home folder.
func tilde(p, home string) string {
	if home == "" || home == "/" {
		return humanize.Display(p)
	}
	home = path.Clean(home)
	if p == home {
		return "~"
	}
	if strings.HasPrefix(p, home+"/") {
		return "~" + humanize.Display(p[len(home):])
	}
	return humanize.Display(p)
}

// Subtitle is the window's subtitle: the folder the file is in.
func Subtitle(file, home string) string {
	return tilde(path.Dir(file), home)
}

// OpenBase is the folder read-only copies are restored into. The
// service runs with PrivateTmp=yes, so a folder in /tmp would be the
// service's own, invisible to the app: the user's runtime folder comes
// first (private, in memory, emptied at logout), then the cache; the
// temporary folder only when neither is known.
func OpenBase(runtimeDir, cacheDir, tempDir string) string {
	switch {
	case runtimeDir != "":
		return filepath.Join(runtimeDir, "keepsake", "versions")
	case cacheDir != "":
		return filepath.Join(cacheDir, "keepsake", "versions")
	}
	return filepath.Join(tempDir, "keepsake-versions")
}

// Restored is where a restore put the file: the job's Result names it
// (restored), else its message (first line), else the service's rule
// To/<base name>.
func Restored(res api.RestoreResult, message, to, file string) string {
	if len(res.Restored) > 0 && res.Restored[0] != "" {
		return string(res.Restored[0])
	}
	for _, l := range strings.Split(message, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	if to == "" {
		return file
	}
	return filepath.Join(to, path.Base(file))
}

// RestoredText is the toast after a restore.
func RestoredText(where, home string) string {
	// TRANSLATORS: %s is a file's place ("~/Documents/a.txt").
	return fmt.Sprintf(i18n.T("Restored to %s"), tilde(where, home))
}

// OpenFailedText is the toast when no app opens a read-only copy: the
// copy exists, so saying where lets the person open it another way.
func OpenFailedText(copied, home string) string {
	// TRANSLATORS: %[1]s is a file name, %[2]s the folder its copy is in.
	return fmt.Sprintf(i18n.T("No app is set up to open “%[1]s”. The read-only copy is in %[2]s"), humanize.Display(path.Base(copied)), tilde(path.Dir(copied), home))
}

// FileURI is the file:// URI of an absolute path, escaped.
func FileURI(p string) string {
	return (&url.URL{Scheme: "file", Path: p}).String()
}
