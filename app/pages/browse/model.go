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
	"github.com/keepsake/keepsake/shared/i18n"
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
	// TRANSLATORS: how many files a backup holds, under its date.
	files := fmt.Sprintf(i18n.N("%s file", "%s files", int(s.Files)), humanize.Count(s.Files))
	parts := []string{files, humanize.Size(s.Bytes)}
	if s.Pinned {
		// TRANSLATORS: under a backup that is kept whatever happens to
		// old backups.
		parts = append(parts, i18n.T("pinned"))
	}
	return strings.Join(parts, " · ")
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
		// TRANSLATORS: the first button of the path bar, for the home folder.
		out = append(out, Crumb{Label: i18n.P("path bar", "Home"), Path: home})
		rest = strings.TrimPrefix(dir, home)
	} else {
		// TRANSLATORS: the first button of the path bar, for the root folder
		// (as the Files app names it).
		out = append(out, Crumb{Label: i18n.P("path bar", "Computer"), Path: "/"})
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

// describe is an entry's subtitle: what it is or its size, and when it was
// modified (each sentence whole, for translation).
func describe(e Entry, now time.Time) (subtitle, icon string) {
	when := ""
	if !e.Mtime.IsZero() {
		when = humanize.When(e.Mtime.In(now.Location()), now)
	}
	switch e.Type {
	case "dir":
		if when == "" {
			return i18n.P("file type", "Folder"), "folder-symbolic"
		}
		// TRANSLATORS: %s is when, as in "5 minutes ago", "yesterday at 14:05".
		return fmt.Sprintf(i18n.T("Folder, modified %s"), when), "folder-symbolic"
	case "symlink":
		if e.Target != "" {
			// TRANSLATORS: a symbolic link; %s is where it points.
			return fmt.Sprintf(i18n.T("Link to %s"), humanize.Display(e.Target)), "insert-link-symbolic"
		}
		// TRANSLATORS: a symbolic link.
		return i18n.P("file type", "Link"), "insert-link-symbolic"
	case "file":
		if when == "" {
			return humanize.Size(e.Size), ""
		}
		// TRANSLATORS: %[1]s is a file's size, %[2]s when it was modified,
		// as in "5 minutes ago", "yesterday at 14:05".
		return fmt.Sprintf(i18n.T("%[1]s, modified %[2]s"), humanize.Size(e.Size), when), ""
	}
	if when == "" {
		// TRANSLATORS: a device, a socket or a pipe.
		return i18n.T("Special file"), "text-x-generic-symbolic"
	}
	// TRANSLATORS: a device, a socket or a pipe; %s is when it was
	// modified, as in "5 minutes ago", "yesterday at 14:05".
	return fmt.Sprintf(i18n.T("Special file, modified %s"), when), "text-x-generic-symbolic"
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
			return i18n.T("Restored")
		}
		// TRANSLATORS: %s is where the item was restored ("~/Documents/a.txt").
		return fmt.Sprintf(i18n.T("Restored to %s"), Tilde(fallback, home))
	case 1:
		// TRANSLATORS: %s is where the item was restored ("~/Documents/a.txt").
		return fmt.Sprintf(i18n.T("Restored to %s"), Tilde(where[0], home))
	}
	// TRANSLATORS: %[1]s is how many items, %[2]s the folder they went to.
	return fmt.Sprintf(i18n.N("Restored %[1]s item to %[2]s", "Restored %[1]s items to %[2]s", len(where)),
		humanize.Count(len(where)), Tilde(path.Dir(where[0]), home))
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
		// TRANSLATORS: the tooltip of Send Back to Computer; %s is an
		// ssh:// address.
		return fmt.Sprintf(i18n.T("Send to %s"), humanize.Display(restoreTo))
	}
	// TRANSLATORS: the tooltip of Send Back to Computer; %[1]s is a folder
	// on the other computer, %[2]s the account there ("me@laptop").
	return fmt.Sprintf(i18n.T("Send to %[1]s on %[2]s"), humanize.Display(r.Paths[0]), computers.Address(r))
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
		// TRANSLATORS: items were sent back to the other computer.
		return i18n.T("Sent")
	}
	r, err := grammar.ParseRemote(where[0])
	if err != nil || len(r.Paths) != 1 || r.Paths[0] == "/" {
		// Not an address of one path: said as the service wrote it.
		if len(where) == 1 {
			// TRANSLATORS: %s is an address on the other computer.
			return fmt.Sprintf(i18n.T("Sent to %s"), humanize.Display(where[0]))
		}
		return fmt.Sprintf(i18n.N("Sent %s item", "Sent %s items", len(where)), humanize.Count(len(where)))
	}
	to, p := computers.Address(r), r.Paths[0]
	if len(where) == 1 {
		// TRANSLATORS: %[1]s is a file name, %[2]s the account on the other
		// computer ("me@laptop"), %[3]s where the file is there.
		return fmt.Sprintf(i18n.T("Sent “%[1]s” to %[2]s: %[3]s"), humanize.Display(path.Base(p)), to, humanize.Display(p))
	}
	// TRANSLATORS: %[1]s is how many items, %[2]s the account on the other
	// computer ("me@laptop"), %[3]s the folder they are in there.
	return fmt.Sprintf(i18n.N("Sent %[1]s item to %[2]s: %[3]s", "Sent %[1]s items to %[2]s: %[3]s", len(where)),
		humanize.Count(len(where)), to, humanize.Display(path.Dir(p)))
}

// ReplaceQuestion is the confirmation before Restore and Replace.
func ReplaceQuestion(e Entry, s Snapshot, now time.Time) (heading, body string) {
	when := humanize.DateInSentence(s.Time, now, humanize.Minutes)
	if e.IsDir() {
		// TRANSLATORS: %s is a folder's name; then %s is when the backup
		// was made ("today at 10:00", "2 March at 14:00").
		return fmt.Sprintf(i18n.T("Replace “%s”?"), humanize.Display(e.Name)),
			fmt.Sprintf(i18n.T("Files in the folder are replaced with their versions from %s. Changes made to them since then are lost."), when)
	}
	// TRANSLATORS: %s is a file's name; then %s is when the backup was made
	// ("today at 10:00", "2 March at 14:00").
	return fmt.Sprintf(i18n.T("Replace “%s”?"), humanize.Display(e.Name)),
		fmt.Sprintf(i18n.T("The file is replaced with its version from %s. Changes made since then are lost."), when)
}

// ProgressTitle is the heading above a running restore's progress bar;
// sending back to the other computer says so, as nothing changes here.
func ProgressTitle(name string, toComputer bool) string {
	if toComputer {
		// TRANSLATORS: %s is the name of what is sent to the other computer.
		return fmt.Sprintf(i18n.T("Sending “%s”…"), humanize.Display(name))
	}
	// TRANSLATORS: %s is the name of what is restored.
	return fmt.Sprintf(i18n.T("Restoring “%s”…"), humanize.Display(name))
}
