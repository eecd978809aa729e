package browse

import (
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/keepsake/keepsake/app/computers"
	"github.com/keepsake/keepsake/app/humanize"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/grammar"
)

// Snapshot is one backup of the timeline.
type Snapshot struct {
	Name   string
	Time   time.Time
	Files  int64
	Bytes  int64
	Pinned bool
	// Title is the row's title and accessible name ("Today at 10:00");
	// Subtitle says what it holds ("1234 files · 1.2 GB").
	Title, Subtitle string
}

// Snapshots turns ListSnapshots' result into the timeline, newest first.
func Snapshots(ds []api.Snapshot, now time.Time) []Snapshot {
	out := make([]Snapshot, 0, len(ds))
	for _, d := range ds {
		s := Snapshot{
			Name:   d.Name,
			Time:   d.Time.In(now.Location()),
			Files:  int64(d.Files),
			Bytes:  int64(d.Bytes),
			Pinned: d.Pinned,
		}
		if s.Name == "" {
			continue
		}
		out = append(out, s)
	}
	// The name breaks ties: it is a UTC timestamp, so it sorts like time.
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.After(out[j].Time)
		}
		return out[i].Name > out[j].Name
	})
	// Several backups in one minute (Back Up Now twice) would share a
	// title, and titles are what people and tests pick rows by.
	count := map[string]int{}
	for i := range out {
		out[i].Title = humanize.DateTitle(out[i].Time, now, humanize.Minutes)
		count[out[i].Title]++
	}
	for i := range out {
		if count[out[i].Title] > 1 {
			out[i].Title = humanize.DateTitle(out[i].Time, now, humanize.Seconds)
		}
		out[i].Subtitle = snapshotSubtitle(out[i])
	}
	return out
}

func snapshotSubtitle(s Snapshot) string {
	parts := []string{plural(s.Files, "file"), humanize.Size(s.Bytes)}
	if s.Pinned {
		parts = append(parts, "pinned")
	}
	return strings.Join(parts, " · ")
}

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%s %ss", humanize.Count(n), unit)
}

// PickSnapshot is the row to show after the timeline was (re)loaded: the
// backup shown before if it still exists, else the newest; -1 when there
// is none.
func PickSnapshot(snaps []Snapshot, current string) int {
	if len(snaps) == 0 {
		return -1
	}
	for i, s := range snaps {
		if s.Name == current {
			return i
		}
	}
	return 0
}

// StartDir is the folder browsing starts in: the only source itself, or
// the closest folder holding every source, so what was backed up is at
// most a few clicks away; "/" without sources.
func StartDir(sources []string) string {
	var dirs []string
	for _, s := range sources {
		if s == "" || !path.IsAbs(s) {
			continue
		}
		dirs = append(dirs, path.Clean(s))
	}
	if len(dirs) == 0 {
		return "/"
	}
	common := dirs[0]
	for _, d := range dirs[1:] {
		for !within(d, common) {
			common = path.Dir(common)
		}
	}
	return common
}

// within says whether p is dir or below it.
func within(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

// Parent is the folder above dir ("/" stays "/").
func Parent(dir string) string {
	return path.Dir(path.Clean(dir))
}

// Crumb is one button of the path bar: Label is for display, Path the
// folder's raw bytes.
type Crumb struct {
	Label, Path string
}

// Crumbs is the path bar of dir: from "Home" when dir is in the user's
// home (as the file manager shows it), else from the file system root.
func Crumbs(dir, home string) []Crumb {
	dir = path.Clean(dir)
	var out []Crumb
	rest := dir
	if home != "" && home != "/" && within(dir, path.Clean(home)) {
		home = path.Clean(home)
		out = append(out, Crumb{Label: "Home", Path: home})
		rest = strings.TrimPrefix(dir, home)
	} else {
		out = append(out, Crumb{Label: "Computer", Path: "/"})
	}
	at := out[0].Path
	for _, seg := range strings.Split(rest, "/") {
		if seg == "" {
			continue
		}
		at = path.Join(at, seg)
		out = append(out, Crumb{Label: humanize.Display(seg), Path: at})
	}
	return out
}

// Entry is one item of a folder in a backup. Name, Path and Target are
// the raw bytes of the names (what calls to the service take); Title and
// Subtitle are what a label shows.
type Entry struct {
	Name, Path string
	// Type is file, dir, symlink or other.
	Type   string
	Size   int64
	Mtime  time.Time
	Target string
	// Title is the file name (the row's accessible name); Subtitle the
	// size and when it was modified.
	Title, Subtitle string
	Icon            string
}

// IsDir says whether the entry is a folder one can enter.
func (e Entry) IsDir() bool { return e.Type == "dir" }

// Entries turns ListDirectory's result for dir into rows: folders first,
// then by name as a person sorts them (case does not matter).
func Entries(ds []api.Entry, dir string, now time.Time) []Entry {
	out := make([]Entry, 0, len(ds))
	for _, d := range ds {
		e := Entry{
			Name:   string(d.Name),
			Path:   string(d.Path),
			Type:   d.Type,
			Size:   int64(d.Size),
			Mtime:  d.Mtime,
			Target: string(d.Target),
		}
		if e.Name == "" {
			continue
		}
		if e.Path == "" {
			e.Path = path.Join(dir, e.Name)
		}
		e.Title = humanize.Display(e.Name)
		e.Subtitle, e.Icon = describe(e, now)
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.IsDir() != b.IsDir() {
			return a.IsDir()
		}
		if la, lb := strings.ToLower(a.Name), strings.ToLower(b.Name); la != lb {
			return la < lb
		}
		return a.Name < b.Name
	})
	return out
}

func describe(e Entry, now time.Time) (subtitle, icon string) {
	modified := ""
	if !e.Mtime.IsZero() {
		modified = "modified " + humanize.When(e.Mtime.In(now.Location()), now)
	}
	join := func(parts ...string) string {
		var keep []string
		for _, p := range parts {
			if p != "" {
				keep = append(keep, p)
			}
		}
		s := strings.Join(keep, ", ")
		if s == "" {
			return s
		}
		return strings.ToUpper(s[:1]) + s[1:]
	}
	switch e.Type {
	case "dir":
		return join("folder", modified), "folder-symbolic"
	case "symlink":
		if e.Target != "" {
			return "Link to " + humanize.Display(e.Target), "insert-link-symbolic"
		}
		return "Link", "insert-link-symbolic"
	case "file":
		return join(humanize.Size(e.Size), modified), ""
	}
	return join("special file", modified), "text-x-generic-symbolic"
}

// Tilde shortens a path in the user's home the way GNOME shows it, for
// display (see humanize.Display).
func Tilde(p, home string) string {
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

// RestoredText is the toast after a restore. The job's message lists
// where each item went, one a line (a copy beside a newer file has a
// "(restored …)" name, which is worth seeing).
func RestoredText(message, fallback, home string) string {
	where := lines(message)
	switch len(where) {
	case 0:
		if fallback == "" {
			return "Restored"
		}
		return "Restored to " + Tilde(fallback, home)
	case 1:
		return "Restored to " + Tilde(where[0], home)
	}
	return fmt.Sprintf("Restored %d items to %s", len(where), Tilde(path.Dir(where[0]), home))
}

// lines are the non-empty lines of a job's message.
func lines(message string) []string {
	var out []string
	for _, l := range strings.Split(message, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// SendBackTip is the tooltip of Send Back to Computer: the folder on the
// other computer that sent items go into, and whose account there they
// belong to ("Send to /home/me/Restored on me@laptop"); "" when the
// profile names none (the button is hidden then). An address this app
// cannot read is shown as it is rather than hiding the button: the
// service checked it, and says what is wrong if sending fails.
func SendBackTip(restoreTo string) string {
	if restoreTo == "" {
		return ""
	}
	r, err := grammar.ParseRemote(restoreTo)
	if err != nil || len(r.Paths) != 1 {
		return "Send to " + humanize.Display(restoreTo)
	}
	return fmt.Sprintf("Send to %s on %s", humanize.Display(r.Paths[0]), computers.Address(r))
}

// SentAddress is where the service puts item p when sending it back: p
// below the folder of restoreTo, as an ssh:// address like those of the
// job's message; "" when restoreTo is not an address of one folder.
func SentAddress(restoreTo, p string) string {
	r, err := grammar.ParseRemote(restoreTo)
	if err != nil || len(r.Paths) != 1 || p == "" {
		return ""
	}
	r.Paths = []string{path.Join(r.Paths[0], p)}
	return r.String()
}

// SentText is the toast after sending items back to the other computer.
// The job's message lists where each went there as ssh:// addresses, one a
// line: the toast names the account and computer and the path there, in
// full, since "~" would be this user's home, not one there. The name
// comes first so that a narrow window, which cuts the end off, still
// says what was sent and to where. fallback is the expected address when
// the message is empty.
func SentText(message, fallback string) string {
	where := lines(message)
	if len(where) == 0 && fallback != "" {
		where = []string{fallback}
	}
	if len(where) == 0 {
		return "Sent"
	}
	r, err := grammar.ParseRemote(where[0])
	if err != nil || len(r.Paths) != 1 || r.Paths[0] == "/" {
		// Not an address of one path: said as the service wrote it.
		if len(where) == 1 {
			return "Sent to " + humanize.Display(where[0])
		}
		return fmt.Sprintf("Sent %d items", len(where))
	}
	to, p := computers.Address(r), r.Paths[0]
	if len(where) == 1 {
		return fmt.Sprintf("Sent “%s” to %s: %s", humanize.Display(path.Base(p)), to, humanize.Display(p))
	}
	return fmt.Sprintf("Sent %d items to %s: %s", len(where), to, humanize.Display(path.Dir(p)))
}

// ReplaceQuestion is the confirmation before Restore and Replace.
func ReplaceQuestion(e Entry, s Snapshot, now time.Time) (heading, body string) {
	when := humanize.DateInSentence(s.Time, now, humanize.Minutes)
	if e.IsDir() {
		return fmt.Sprintf("Replace “%s”?", humanize.Display(e.Name)),
			fmt.Sprintf("Files in the folder are replaced with their versions from %s. Changes made to them since then are lost.", when)
	}
	return fmt.Sprintf("Replace “%s”?", humanize.Display(e.Name)),
		fmt.Sprintf("The file is replaced with its version from %s. Changes made since then are lost.", when)
}

// ProgressTitle is the heading above a running restore's progress bar;
// sending back to the other computer says so, as nothing changes here.
func ProgressTitle(name string, toComputer bool) string {
	if toComputer {
		return fmt.Sprintf("Sending “%s”…", humanize.Display(name))
	}
	return fmt.Sprintf("Restoring “%s”…", humanize.Display(name))
}
