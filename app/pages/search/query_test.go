package search

import (
	"github.com/keepsake/keepsake/app/humanize"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keepsake/keepsake/shared/api"
)

func at(day int) time.Time { return time.Date(2026, 11, day, 10, 0, 0, 0, time.UTC) }

func TestHitOf(t *testing.T) {
	d := api.SearchHit{
		Entry: api.Entry{Path: "/home/a/notes.txt", Name: "notes.txt", Type: "file", Size: 42, Mtime: at(1)},
		First: at(2), Last: at(5), Snapshots: []string{"2026-11-02T100000Z", "2026-11-05T100000Z"},
	}
	got := HitOf(d)
	want := Hit{Path: "/home/a/notes.txt", Type: "file", Size: 42, Mtime: at(1), First: at(2), Last: at(5),
		FirstSnapshot: "2026-11-02T100000Z", LastSnapshot: "2026-11-05T100000Z"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("HitOf = %+v, want %+v", got, want)
	}
	if h := HitOf(api.SearchHit{Entry: api.Entry{Path: "/x"}}); h.LastSnapshot != "" || !h.Last.IsZero() {
		t.Errorf("missing keys: %+v", h)
	}
	// A name that is not UTF-8 keeps its bytes.
	if g := GroupHits([]Hit{HitOf(api.SearchHit{Entry: api.Entry{Path: "/h/caf\xe9/r\xe9sum\xe9", Type: "file"}})}); g[0].Name != "r\xe9sum\xe9" || g[0].Dir != "/h/caf\xe9" {
		t.Errorf("raw name: %+v", g)
	}
}

func TestGroupHits(t *testing.T) {
	hits := []Hit{
		{Path: "/h/a/report.odt", Type: "file", Size: 10, First: at(1), Last: at(3), LastSnapshot: "s3"},
		{Path: "/h/b/report.odt", Type: "file", Size: 7, First: at(2), Last: at(2), LastSnapshot: "s2"},
		{Path: "/h/a/report.odt", Type: "file", Size: 12, First: at(4), Last: at(9), LastSnapshot: "s9"},
		{Path: "/h/reports", Type: "dir", First: at(1), Last: at(9), LastSnapshot: "s9"},
		{Path: "/h/a/report.odt", Type: "file", Size: 11, First: at(3), Last: at(4), LastSnapshot: "s4"},
		{Path: "/report", Type: "symlink", First: at(2), Last: at(2), LastSnapshot: "s2"},
	}
	got := GroupHits(hits)
	want := []Group{
		{Path: "/h/a/report.odt", Name: "report.odt", Dir: "/h/a", Type: "file", Versions: 3, Size: 12, First: at(1), Last: at(9), LastSnapshot: "s9"},
		{Path: "/h/b/report.odt", Name: "report.odt", Dir: "/h/b", Type: "file", Versions: 1, Size: 7, First: at(2), Last: at(2), LastSnapshot: "s2"},
		{Path: "/report", Name: "report", Dir: "/", Type: "symlink", Versions: 1, First: at(2), Last: at(2), LastSnapshot: "s2"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GroupHits =\n%+v\nwant\n%+v", got, want)
	}
	if got := GroupHits(nil); len(got) != 0 {
		t.Errorf("GroupHits(nil) = %v", got)
	}
}

func TestPattern(t *testing.T) {
	for in, want := range map[string]string{"": "", "   ": "", " report ": "report", "*.odt": "*.odt", "a b": "a b"} {
		if got := Pattern(in); got != want {
			t.Errorf("Pattern(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTexts(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.Local)
	cases := []struct{ name, got, want string }{
		{"one version", VersionsText(1), "1 version"},
		{"versions", VersionsText(4), "4 versions"},
		{"in latest", SeenText(Group{LastSnapshot: "L", Last: now.Add(-time.Hour)}, "L", now), "In latest backup"},
		{"gone", SeenText(Group{LastSnapshot: "A", Last: now.Add(-24 * time.Hour)}, "L", now), "Last seen yesterday at 12:00"},
		{"unknown latest", SeenText(Group{LastSnapshot: "A", Last: now.Add(-5 * time.Minute)}, "", now), "Last seen 5 minutes ago"},
		{"no time", SeenText(Group{}, "L", now), ""},
		{"home", humanize.Folder("/home/ann", "/home/ann"), "~"},
		{"in home", humanize.Folder("/home/ann/Documents", "/home/ann/"), "~/Documents"},
		{"lookalike", humanize.Folder("/home/anna/x", "/home/ann"), "/home/anna/x"},
		{"elsewhere", humanize.Folder("/srv/data", "/home/ann"), "/srv/data"},
		{"no home", humanize.Folder("/srv", ""), "/srv"},
		{"summary one", Summary(make([]Group, 1), false, "", ""), "1 file found"},
		{"summary folder", Summary(make([]Group, 3), false, "/home/ann/Music", "/home/ann"), "3 files found in ~/Music"},
		{"summary cut", Summary(make([]Group, 400), true, "/x", ""), "The first 400 files found. Type more of the name to find fewer."},
		{"none", NoResultsText("repr", "", ""), "No backed-up file has “repr” in its name. Try part of the name, or a pattern like *.odt."},
		{"none glob", NoResultsText("*.odt", "/home/ann/Work", "/home/ann"), "No backed-up file has “*.odt” in its name in ~/Work."},
		{"icon file", Icon("file"), "text-x-generic-symbolic"},
		{"icon link", Icon("symlink"), "emblem-symbolic-link-symbolic"},
		{"escape", humanize.Escape(`Tom & Jerry <1>.txt`), "Tom &amp; Jerry &lt;1&gt;.txt"},
		{"escape quotes", humanize.Escape(`it's "x"`), "it&apos;s &quot;x&quot;"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
		if strings.Contains(c.got, "Error") {
			t.Errorf("%s: error name shown: %q", c.name, c.got)
		}
	}
}
