package history

import (
	"github.com/keepsake/keepsake/app/humanize"
	"reflect"
	"testing"
	"time"

	"github.com/keepsake/keepsake/shared/api"
)

var (
	loc = time.FixedZone("CET", 3600)
	now = time.Date(2026, 11, 22, 15, 30, 0, 0, loc)
)

func at(day, hour int) time.Time { return time.Date(2026, 11, day, hour, 0, 0, 0, loc) }

func version(sha string, size uint64, first, last time.Time, paths, snaps []string) api.Version {
	v := api.Version{SHA256: sha, Size: size, Mtime: first.Add(-time.Minute), First: first, Last: last, Snapshots: snaps}
	for _, p := range paths {
		v.Paths = append(v.Paths, api.Path(p))
	}
	return v
}

const file = "/home/me/Documents/report.odt"

func TestVersionsNewestFirstAndSource(t *testing.T) {
	ds := []api.Version{
		version("aa", 100, at(10, 9), at(12, 9), []string{"/home/me/Documents/draft.odt"}, []string{"2026-11-10T080000Z", "2026-11-12T080000Z"}),
		version("cc", 300, at(20, 9), at(22, 10), []string{file}, []string{"2026-11-20T080000Z", "2026-11-22T090000Z"}),
		version("bb", 200, at(13, 9), at(19, 9), []string{"/home/me/Documents/draft.odt", file}, []string{"2026-11-13T080000Z", "2026-11-15T080000Z", "2026-11-19T080000Z"}),
		version("dd", 1, at(1, 9), at(1, 9), nil, nil), // nowhere to restore from
	}
	got := Versions(ds)
	var shas, snaps, paths []string
	for _, v := range got {
		shas = append(shas, v.SHA256)
		snaps = append(snaps, v.Snapshot)
		paths = append(paths, v.Path)
	}
	if want := []string{"cc", "bb", "aa"}; !reflect.DeepEqual(shas, want) {
		t.Errorf("order = %v, want %v", shas, want)
	}
	if want := []string{"2026-11-22T090000Z", "2026-11-19T080000Z", "2026-11-12T080000Z"}; !reflect.DeepEqual(snaps, want) {
		t.Errorf("snapshots = %v, want %v", snaps, want)
	}
	if want := []string{file, file, "/home/me/Documents/draft.odt"}; !reflect.DeepEqual(paths, want) {
		t.Errorf("paths = %v, want %v", paths, want)
	}
}

func TestVersionsMergeSameContent(t *testing.T) {
	ds := []api.Version{
		version("aa", 100, at(10, 9), at(12, 9), []string{"/x/old.txt"}, []string{"2026-11-10T080000Z", "2026-11-12T080000Z"}),
		version("bb", 5, at(13, 9), at(14, 9), []string{"/x/new.txt"}, []string{"2026-11-13T080000Z", "2026-11-14T080000Z"}),
		version("aa", 100, at(15, 9), at(18, 9), []string{"/x/new.txt"}, []string{"2026-11-15T080000Z", "2026-11-18T080000Z"}),
	}
	got := Versions(ds)
	if len(got) != 2 {
		t.Fatalf("got %d versions, want 2: %+v", len(got), got)
	}
	a := got[0]
	if a.SHA256 != "aa" || !a.First.Equal(at(10, 9)) || !a.Last.Equal(at(18, 9)) {
		t.Errorf("merged = %+v", a)
	}
	if a.Snapshot != "2026-11-18T080000Z" || a.Path != "/x/new.txt" {
		t.Errorf("merged source = %s %s", a.Snapshot, a.Path)
	}
	if want := []string{"/x/old.txt", "/x/new.txt"}; !reflect.DeepEqual(a.Paths, want) {
		t.Errorf("merged paths = %v", a.Paths)
	}
	if len(a.Snapshots) != 4 || a.Snapshots[3] != "2026-11-18T080000Z" {
		t.Errorf("merged snapshots = %v", a.Snapshots)
	}
}

func TestLabel(t *testing.T) {
	cases := []struct {
		name            string
		v               Version
		latest          string
		title, subtitle string
	}{
		{"latest", Version{Size: 1500, First: at(20, 9), Last: at(22, 10), Paths: []string{file}, Snapshot: "S"}, "S",
			"20 November at 09:00", "In the latest backup · 1.5\u00a0kB"},
		{"ranged", Version{Size: 1, First: at(21, 9), Last: at(22, 10), Paths: []string{file}, Snapshot: "old"}, "S",
			"Yesterday at 09:00", "Until today at 10:00 · 1 byte"},
		{"single snapshot", Version{Size: 0, First: at(22, 9), Last: at(22, 9), Paths: []string{file}, Snapshot: "old"}, "S",
			"Today at 09:00", "0 bytes"},
		{"renamed", Version{Size: 10, First: time.Date(2025, 1, 2, 3, 4, 0, 0, loc), Last: at(1, 9), Paths: []string{"/home/me/Documents/draft.odt", file}, Snapshot: "old"}, "",
			"2 January 2025 at 03:04", "Until 1 November at 09:00 · 10 bytes · Renamed from “draft.odt”"},
	}
	for _, c := range cases {
		title, sub := Label(c.v, file, "/home/me", c.latest, now)
		if title != c.title || sub != c.subtitle {
			t.Errorf("%s: got %q / %q, want %q / %q", c.name, title, sub, c.title, c.subtitle)
		}
	}
}

func TestRenamedFrom(t *testing.T) {
	cases := []struct {
		paths []string
		want  string
	}{
		{[]string{file}, ""},
		{nil, ""},
		{[]string{"/home/me/Documents/a.odt"}, "Renamed from “a.odt”"},
		{[]string{"/home/me/Old/report.odt", file}, "Renamed from “~/Old/report.odt”"},
		{[]string{"/srv/a", "/home/me/Documents/b"}, "Renamed from “/srv/a” and “b”"},
		{[]string{"/x/a", "/x/b", "/x/c"}, "Renamed from “/x/a” and 2 other names"},
	}
	for _, c := range cases {
		if got := RenamedFrom(Version{Paths: c.paths}, file, "/home/me"); got != c.want {
			t.Errorf("RenamedFrom(%v) = %q, want %q", c.paths, got, c.want)
		}
	}
}

func TestOpenBase(t *testing.T) {
	cases := []struct{ run, cache, tmp, want string }{
		{"/run/user/1000", "/home/me/.cache", "/tmp", "/run/user/1000/keepsake/versions"},
		{"", "/home/me/.cache", "/tmp", "/home/me/.cache/keepsake/versions"},
		{"", "", "/tmp", "/tmp/keepsake-versions"},
	}
	for _, c := range cases {
		if got := OpenBase(c.run, c.cache, c.tmp); got != c.want {
			t.Errorf("OpenBase(%q, %q, %q) = %q, want %q", c.run, c.cache, c.tmp, got, c.want)
		}
	}
}

func TestRestored(t *testing.T) {
	cases := []struct{ msg, to, file, want string }{
		{"/run/user/1/k/open-1/report.odt\n", "/run/user/1/k/open-1", file, "/run/user/1/k/open-1/report.odt"},
		{"", "/run/user/1/k/open-1", file, "/run/user/1/k/open-1/report.odt"},
		{"", "", file, file},
		{"/home/me/Documents/report (restored 2026-11-22 10.00).odt", "", file, "/home/me/Documents/report (restored 2026-11-22 10.00).odt"},
	}
	for _, c := range cases {
		if got := Restored(api.RestoreResult{}, c.msg, c.to, c.file); got != c.want {
			t.Errorf("Restored(%q, %q) = %q, want %q", c.msg, c.to, got, c.want)
		}
	}
	// The Result names it exactly, bytes included.
	res := api.RestoreResult{Paths: []api.Path{file}, Restored: []api.Path{"/run/user/1/k/open-1/caf\xe9.odt"}}
	if got := Restored(res, "/run/user/1/k/open-1/caf\uFFFD.odt", "/run/user/1/k/open-1", file); got != "/run/user/1/k/open-1/caf\xe9.odt" {
		t.Errorf("Restored from the Result = %q", got)
	}
	if got := RestoredText("/home/me/Documents/x.odt", "/home/me"); got != "Restored to ~/Documents/x.odt" {
		t.Errorf("RestoredText = %q", got)
	}
}

func TestOpenFailedText(t *testing.T) {
	got := OpenFailedText("/home/me/.cache/keepsake/versions/open-1/report.odt", "/home/me")
	if want := "No app is set up to open “report.odt”. The read-only copy is in ~/.cache/keepsake/versions/open-1"; got != want {
		t.Errorf("OpenFailedText = %q, want %q", got, want)
	}
}

func TestFileURI(t *testing.T) {
	cases := map[string]string{
		"/run/user/1000/a b.odt": "file:///run/user/1000/a%20b.odt",
		"/tmp/100%#?.txt":        "file:///tmp/100%25%23%3F.txt",
		"/tmp/été.txt":           "file:///tmp/%C3%A9t%C3%A9.txt",
	}
	for in, want := range cases {
		if got := FileURI(in); got != want {
			t.Errorf("FileURI(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDateLabelAndSubtitle(t *testing.T) {
	if got := humanize.DateTitle(time.Time{}, now, humanize.Minutes); got != "Unknown Time" {
		t.Errorf("zero: %q", got)
	}
	if got := humanize.DateTitle(time.Date(2026, 11, 22, 8, 59, 0, 0, time.UTC), now, humanize.Minutes); got != "Today at 09:59" {
		t.Errorf("in local time: %q", got)
	}
	if got := Subtitle(file, "/home/me"); got != "~/Documents" {
		t.Errorf("Subtitle = %q", got)
	}
	if got := Subtitle("/home/me/caf\xe9/x", "/home/me"); got != "~/caf\uFFFD" {
		t.Errorf("Subtitle of a name that is not UTF-8 = %q", got)
	}
}

func TestTitlesTellVersionsApart(t *testing.T) {
	sec := func(day, h, m, s int) Version {
		return Version{First: time.Date(2026, 11, day, h, m, s, 0, loc)}
	}
	for _, tc := range []struct {
		name string
		vs   []Version
		want []string
	}{
		{"different minutes need no seconds", []Version{sec(22, 9, 48, 5), sec(22, 9, 12, 40)},
			[]string{"Today at 09:48", "Today at 09:12"}},
		{"the same minute shows the seconds", []Version{sec(22, 9, 48, 41), sec(22, 9, 48, 5), sec(22, 8, 0, 0)},
			[]string{"Today at 09:48:41", "Today at 09:48:05", "Today at 08:00"}},
		{"the same minute on another day too", []Version{sec(3, 9, 48, 41), sec(3, 9, 48, 5)},
			[]string{"3 November at 09:48:41", "3 November at 09:48:05"}},
		{"the same minute on two days is not alike", []Version{sec(22, 9, 48, 41), sec(21, 9, 48, 5)},
			[]string{"Today at 09:48", "Yesterday at 09:48"}},
		{"the same second says which is later", []Version{sec(22, 9, 48, 5), sec(22, 9, 48, 5)},
			[]string{"Today at 09:48:05 (the later one)", "Today at 09:48:05 (the earlier one)"}},
		{"three in one second are numbered", []Version{sec(22, 9, 48, 5), sec(22, 9, 48, 5), sec(22, 9, 48, 5)},
			[]string{"Today at 09:48:05 (1 of 3, newest first)", "Today at 09:48:05 (2 of 3, newest first)", "Today at 09:48:05 (3 of 3, newest first)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Titles(tc.vs, now); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Titles = %q, want %q", got, tc.want)
			}
		})
	}
}
