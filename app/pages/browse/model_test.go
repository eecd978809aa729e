package browse

import (
	"reflect"
	"testing"
	"time"

	"github.com/keepsake/keepsake/shared/api"
)

var (
	loc = time.FixedZone("CET", 3600)
	now = time.Date(2026, 11, 22, 15, 30, 0, 0, loc)
)

func snap(name string, t time.Time, files, bytes uint64, pinned bool) api.Snapshot {
	return api.Snapshot{Name: name, Time: api.Stamp(t), Files: files, Bytes: bytes, Pinned: pinned, Host: "laptop"}
}

func TestSnapshotsNewestFirstWithLabels(t *testing.T) {
	ds := []api.Snapshot{
		snap("2025-03-01T080000Z", time.Date(2025, 3, 1, 9, 0, 0, 0, loc), 10, 5000, false),
		snap("2026-11-22T090000Z", time.Date(2026, 11, 22, 10, 0, 0, 0, loc), 1, 999, true),
		snap("2026-11-21T090000Z", time.Date(2026, 11, 21, 10, 0, 0, 0, loc), 1234, 1_200_000_000, false),
		snap("2026-06-02T070500Z", time.Date(2026, 6, 2, 9, 5, 0, 0, loc), 0, 0, false),
		{Time: api.FromMicros(5)}, // no name: skipped
	}
	got := Snapshots(ds, now)
	want := []struct{ name, title, subtitle string }{
		{"2026-11-22T090000Z", "Today at 10:00", "1 file · 999 bytes · pinned"},
		{"2026-11-21T090000Z", "Yesterday at 10:00", "1,234 files · 1.2\u00a0GB"},
		{"2026-06-02T070500Z", "2 June at 09:05", "0 files · 0 bytes"},
		{"2025-03-01T080000Z", "1 March 2025 at 09:00", "10 files · 5.0\u00a0kB"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d snapshots, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Name != w.name || g.Title != w.title || g.Subtitle != w.subtitle {
			t.Errorf("%d: got %q %q %q, want %q %q %q", i, g.Name, g.Title, g.Subtitle, w.name, w.title, w.subtitle)
		}
	}
}

func TestSnapshotsSameMinuteGetSeconds(t *testing.T) {
	ds := []api.Snapshot{
		snap("2026-11-22T090005Z", time.Date(2026, 11, 22, 10, 0, 5, 0, loc), 1, 1, false),
		snap("2026-11-22T090040Z", time.Date(2026, 11, 22, 10, 0, 40, 0, loc), 1, 1, false),
		snap("2026-11-22T080000Z", time.Date(2026, 11, 22, 9, 0, 0, 0, loc), 1, 1, false),
	}
	got := Snapshots(ds, now)
	titles := []string{got[0].Title, got[1].Title, got[2].Title}
	want := []string{"Today at 10:00:40", "Today at 10:00:05", "Today at 09:00"}
	if !reflect.DeepEqual(titles, want) {
		t.Errorf("titles = %q, want %q", titles, want)
	}
}

func TestPickSnapshot(t *testing.T) {
	snaps := []Snapshot{{Name: "c"}, {Name: "b"}, {Name: "a"}}
	cases := []struct {
		current string
		snaps   []Snapshot
		want    int
	}{
		{"", snaps, 0},
		{"b", snaps, 1},
		{"gone", snaps, 0},
		{"b", nil, -1},
	}
	for _, c := range cases {
		if got := PickSnapshot(c.snaps, c.current); got != c.want {
			t.Errorf("PickSnapshot(%q) = %d, want %d", c.current, got, c.want)
		}
	}
}

func TestStartDir(t *testing.T) {
	cases := []struct {
		sources []string
		want    string
	}{
		{nil, "/"},
		{[]string{"/home/me/Documents"}, "/home/me/Documents"},
		{[]string{"/home/me/Documents", "/home/me/Pictures"}, "/home/me"},
		{[]string{"/home/me/Documents/", "/home/me/Documents/Work"}, "/home/me/Documents"},
		{[]string{"/home/me", "/etc"}, "/"},
		{[]string{"/home/meg", "/home/me"}, "/home"},
		{[]string{"relative", "/srv/data"}, "/srv/data"},
	}
	for _, c := range cases {
		if got := StartDir(c.sources); got != c.want {
			t.Errorf("StartDir(%q) = %q, want %q", c.sources, got, c.want)
		}
	}
}

func TestParent(t *testing.T) {
	for in, want := range map[string]string{"/": "/", "/home": "/", "/home/me/": "/home", "/a/b/c": "/a/b"} {
		if got := Parent(in); got != want {
			t.Errorf("Parent(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCrumbs(t *testing.T) {
	cases := []struct {
		dir, home string
		want      []Crumb
	}{
		{"/", "/home/me", []Crumb{{"Computer", "/"}}},
		{"/home", "/home/me", []Crumb{{"Computer", "/"}, {"home", "/home"}}},
		{"/home/me", "/home/me", []Crumb{{"Home", "/home/me"}}},
		{"/home/me/Documents/Work", "/home/me/", []Crumb{{"Home", "/home/me"}, {"Documents", "/home/me/Documents"}, {"Work", "/home/me/Documents/Work"}}},
		{"/home/meg/x", "/home/me", []Crumb{{"Computer", "/"}, {"home", "/home"}, {"meg", "/home/meg"}, {"x", "/home/meg/x"}}},
		{"/srv/data", "", []Crumb{{"Computer", "/"}, {"srv", "/srv"}, {"data", "/srv/data"}}},
	}
	for _, c := range cases {
		if got := Crumbs(c.dir, c.home); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Crumbs(%q, %q) = %v, want %v", c.dir, c.home, got, c.want)
		}
	}
}

func TestEntriesFoldersFirstByName(t *testing.T) {
	mtime := api.Stamp(time.Date(2026, 11, 21, 8, 15, 0, 0, loc))
	ds := []api.Entry{
		{Name: "zeta.txt", Path: "/home/me/zeta.txt", Type: "file", Size: 1500, Mtime: mtime},
		{Name: "Music", Path: "/home/me/Music", Type: "dir", Mtime: mtime},
		{Name: "alpha.odt", Type: "file", Size: 1},
		{Name: "link", Type: "symlink", Target: "/etc/hosts"},
		{Name: "documents", Type: "dir"},
		{Name: "fifo", Type: "other"},
	}
	got := Entries(ds, "/home/me", now)
	type row struct{ title, path, subtitle, icon string }
	var rows []row
	for _, e := range got {
		rows = append(rows, row{e.Title, e.Path, e.Subtitle, e.Icon})
	}
	want := []row{
		{"documents", "/home/me/documents", "Folder", "folder-symbolic"},
		{"Music", "/home/me/Music", "Folder, modified yesterday at 08:15", "folder-symbolic"},
		{"alpha.odt", "/home/me/alpha.odt", "1 byte", ""},
		{"fifo", "/home/me/fifo", "Special file", "text-x-generic-symbolic"},
		{"link", "/home/me/link", "Link to /etc/hosts", "insert-link-symbolic"},
		{"zeta.txt", "/home/me/zeta.txt", "1.5\u00a0kB, modified yesterday at 08:15", ""},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("entries:\n got %v\nwant %v", rows, want)
	}
	if !got[0].IsDir() || got[2].IsDir() {
		t.Errorf("IsDir wrong: %+v", got)
	}
}

func TestTilde(t *testing.T) {
	cases := []struct{ p, home, want string }{
		{"/home/me/a.txt", "/home/me", "~/a.txt"},
		{"/home/me", "/home/me", "~"},
		{"/home/meg/a", "/home/me", "/home/meg/a"},
		{"/etc/x", "", "/etc/x"},
	}
	for _, c := range cases {
		if got := Tilde(c.p, c.home); got != c.want {
			t.Errorf("Tilde(%q, %q) = %q, want %q", c.p, c.home, got, c.want)
		}
	}
}

func TestRestoredText(t *testing.T) {
	cases := []struct{ msg, fallback, want string }{
		{"/home/me/report (restored 2026-11-22 10.00).odt", "/home/me/report.odt", "Restored to ~/report (restored 2026-11-22 10.00).odt"},
		{"", "/home/me/report.odt", "Restored to ~/report.odt"},
		{"", "", "Restored"},
		{"/home/me/a\n/home/me/b\n", "", "Restored 2 items to ~"},
	}
	for _, c := range cases {
		if got := RestoredText(c.msg, c.fallback, "/home/me"); got != c.want {
			t.Errorf("RestoredText(%q) = %q, want %q", c.msg, got, c.want)
		}
	}
}

func TestReplaceQuestion(t *testing.T) {
	s := Snapshot{Time: time.Date(2026, 11, 22, 10, 0, 0, 0, loc)}
	h, b := ReplaceQuestion(Entry{Name: "report.odt", Type: "file"}, s, now)
	if h != "Replace “report.odt”?" || b != "The file is replaced with its version from today at 10:00. Changes made since then are lost." {
		t.Errorf("file: %q %q", h, b)
	}
	s.Time = time.Date(2026, 3, 2, 10, 0, 0, 0, loc)
	_, b = ReplaceQuestion(Entry{Name: "Work", Type: "dir"}, s, now)
	if b != "Files in the folder are replaced with their versions from 2 March at 10:00. Changes made to them since then are lost." {
		t.Errorf("dir: %q", b)
	}
}

// A name that is not UTF-8 keeps its bytes for calls and shows readably.
func TestEntriesKeepRawNames(t *testing.T) {
	got := Entries([]api.Entry{
		{Name: "caf\xe9.txt", Path: "/home/me/caf\xe9.txt", Type: "file", Size: 2},
		{Name: "old", Path: "/home/me/old", Type: "symlink", Target: "/srv/\xff"},
	}, "/home/me", now)
	if got[0].Name != "caf\xe9.txt" || got[0].Path != "/home/me/caf\xe9.txt" || got[0].Title != "caf\uFFFD.txt" {
		t.Errorf("entry %+v", got[0])
	}
	if got[1].Subtitle != "Link to /srv/\uFFFD" || got[1].Target != "/srv/\xff" {
		t.Errorf("link %+v", got[1])
	}
	crumbs := Crumbs("/home/me/caf\xe9/x", "/home/me")
	if c := crumbs[1]; c.Label != "caf\uFFFD" || c.Path != "/home/me/caf\xe9" {
		t.Errorf("crumb %+v", c)
	}
	if got := Tilde("/home/me/caf\xe9", "/home/me"); got != "~/caf\uFFFD" {
		t.Errorf("Tilde = %q", got)
	}
	if h, _ := ReplaceQuestion(Entry{Name: "caf\xe9", Type: "file"}, Snapshot{}, now); h != "Replace “caf\uFFFD”?" {
		t.Errorf("ReplaceQuestion = %q", h)
	}
}

func TestSendBackTip(t *testing.T) {
	cases := []struct{ name, restoreTo, want string }{
		{"none", "", ""},
		{"folder and account", "ssh://me@laptop.lan/home/me/Restored", "Send to /home/me/Restored on me@laptop.lan"},
		{"port", "ssh://me@laptop:2222/home/me/Restored/", "Send to /home/me/Restored on me@laptop:2222"},
		{"no user", "ssh://laptop/srv/in", "Send to /srv/in on laptop"},
		{"escaped path", "ssh://me@laptop/home/me/a%2Cb%FF", "Send to /home/me/a,b\uFFFD on me@laptop"},
		{"unreadable", "ssh://me@laptop", "Send to ssh://me@laptop"},
		{"two folders", "ssh://me@laptop/a,/b", "Send to ssh://me@laptop/a,/b"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := SendBackTip(c.restoreTo); got != c.want {
				t.Errorf("SendBackTip(%q) = %q, want %q", c.restoreTo, got, c.want)
			}
		})
	}
}

func TestSentAddress(t *testing.T) {
	cases := []struct{ name, restoreTo, path, want string }{
		{"file", "ssh://me@laptop/home/me/Restored", "/home/me/Documents/report.odt", "ssh://me@laptop/home/me/Restored/home/me/Documents/report.odt"},
		{"comma and raw byte escaped", "ssh://me@laptop:2222/in", "/home/a,b/caf\xe9", "ssh://me@laptop:2222/in/home/a%2Cb/caf%E9"},
		{"no folder", "", "/home/me/x", ""},
		{"no path", "ssh://me@laptop/in", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := SentAddress(c.restoreTo, c.path); got != c.want {
				t.Errorf("SentAddress(%q, %q) = %q, want %q", c.restoreTo, c.path, got, c.want)
			}
		})
	}
}

func TestSentText(t *testing.T) {
	const at = "ssh://me@laptop/home/me/Restored/home/me/Documents/report.odt"
	cases := []struct{ name, msg, fallback, want string }{
		{"one address", at + "\n", "", "Sent “report.odt” to me@laptop: /home/me/Restored/home/me/Documents/report.odt"},
		// The path there is not this user's: no "~" even when it matches.
		{"home path kept whole", "ssh://me@laptop/home/me/report.odt", "", "Sent “report.odt” to me@laptop: /home/me/report.odt"},
		{"port and escapes", "ssh://me@laptop:2222/in/home/a%2Cb/caf%E9", "", "Sent “caf\uFFFD” to me@laptop:2222: /in/home/a,b/caf\uFFFD"},
		{"folder", "ssh://laptop/in/home/me/Music", "", "Sent “Music” to laptop: /in/home/me/Music"},
		{"empty message uses fallback", "", at, "Sent “report.odt” to me@laptop: /home/me/Restored/home/me/Documents/report.odt"},
		{"nothing known", "\n", "", "Sent"},
		{"several", "ssh://me@laptop/in/home/me/a\nssh://me@laptop/in/home/me/b\n", "", "Sent 2 items to me@laptop: /in/home/me"},
		{"not an address", "/home/me/Restored/x", "", "Sent to /home/me/Restored/x"},
		{"several not addresses", "a\nb", "", "Sent 2 items"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := SentText(c.msg, c.fallback); got != c.want {
				t.Errorf("SentText(%q, %q) = %q, want %q", c.msg, c.fallback, got, c.want)
			}
		})
	}
}

func TestProgressTitle(t *testing.T) {
	cases := []struct {
		name       string
		toComputer bool
		want       string
	}{
		{"restore here", false, "Restoring “report.odt”…"},
		{"send back", true, "Sending “report.odt”…"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := ProgressTitle("report.odt", c.toComputer); got != c.want {
				t.Errorf("ProgressTitle = %q, want %q", got, c.want)
			}
		})
	}
}
