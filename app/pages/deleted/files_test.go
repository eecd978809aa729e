package deleted

import (
	"github.com/keepsake/keepsake/app/humanize"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keepsake/keepsake/shared/api"
)

func TestSnapshotTime(t *testing.T) {
	cases := []struct {
		name string
		want time.Time
		ok   bool
	}{
		{"2026-11-22T100000Z", time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), true},
		{"2026-11-22T100000Z-2", time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), true},
		{"latest", time.Time{}, false},
		{"2026-13-22T100000Z", time.Time{}, false},
		{"", time.Time{}, false},
	}
	for _, c := range cases {
		got, ok := SnapshotTime(c.name)
		if ok != c.ok || !got.Equal(c.want) {
			t.Errorf("SnapshotTime(%q) = %v, %v; want %v, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

func TestFileOf(t *testing.T) {
	d := api.DeletedFile{Entry: api.Entry{Path: "/home/a/Docs/cv.odt", Name: "cv.odt", Type: "file", Size: 2048}, LastSnapshot: "2026-11-20T080000Z"}
	got := FileOf(d)
	want := File{Path: "/home/a/Docs/cv.odt", Name: "cv.odt", Dir: "/home/a/Docs", Type: "file", Size: 2048,
		LastSnapshot: "2026-11-20T080000Z", LastTime: time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC).Local()}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FileOf = %+v, want %+v", got, want)
	}
	if f := FileOf(api.DeletedFile{Entry: api.Entry{Path: "/top"}}); f.Dir != "/" || f.Name != "top" {
		t.Errorf("file at the root: %+v", f)
	}
	// A name that is not UTF-8 keeps its bytes.
	if f := FileOf(api.DeletedFile{Entry: api.Entry{Path: "/h/caf\xe9/r\xe9sum\xe9"}}); f.Dir != "/h/caf\xe9" || f.Name != "r\xe9sum\xe9" {
		t.Errorf("raw name: %+v", f)
	}
}

func TestSince(t *testing.T) {
	now := time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		i    int
		want time.Time
	}{
		{0, time.Date(2026, 3, 30, 12, 0, 0, 0, time.UTC)},
		{1, time.Date(2026, 3, 24, 12, 0, 0, 0, time.UTC)},
		{2, time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC)}, // 31 February normalises
		{3, time.Time{}},
		{-1, time.Time{}},
		{9, time.Time{}},
	}
	for _, c := range cases {
		if got := Since(c.i, now); !got.Equal(c.want) {
			t.Errorf("Since(%d) = %v, want %v", c.i, got, c.want)
		}
	}
	if o := api.ToOptions(Options(3, now)); len(o) != 0 {
		t.Errorf("any time sends a since: %v", o)
	}
	if o := api.ToOptions(Options(0, now)); o["since"].Value() != now.AddDate(0, 0, -1).UnixMicro() {
		t.Errorf("Options(0) = %v", o)
	}
	if len(Periods) != 4 || Periods[DefaultPeriod].Label != "In the last week" {
		t.Errorf("periods changed: %v (the .ui file lists them too)", Periods)
	}
}

func TestBatches(t *testing.T) {
	fs := []File{
		{Path: "/h/b.txt", LastSnapshot: "2026-11-20T080000Z"},
		{Path: "/h/a.txt", LastSnapshot: "2026-11-22T080000Z"},
		{Path: "/h/c.txt", LastSnapshot: "2026-11-20T080000Z"},
		{Path: "/h/a.txt", LastSnapshot: "2026-11-22T080000Z"},
		{Path: "/h/lost", LastSnapshot: ""},
	}
	want := []Batch{
		{Snapshot: "2026-11-20T080000Z", Paths: []string{"/h/b.txt", "/h/c.txt"}},
		{Snapshot: "2026-11-22T080000Z", Paths: []string{"/h/a.txt"}},
	}
	if got := Batches(fs); !reflect.DeepEqual(got, want) {
		t.Errorf("Batches = %+v, want %+v", got, want)
	}
	if got := Batches(nil); len(got) != 0 {
		t.Errorf("Batches(nil) = %v", got)
	}
}

func TestSortFiles(t *testing.T) {
	fs := []File{{Path: "/b", LastSnapshot: "1"}, {Path: "/c", LastSnapshot: "2"}, {Path: "/a", LastSnapshot: "1"}}
	SortFiles(fs)
	var got []string
	for _, f := range fs {
		got = append(got, f.Path)
	}
	if strings.Join(got, " ") != "/c /a /b" {
		t.Errorf("SortFiles order = %v", got)
	}
}

func TestFraction(t *testing.T) {
	cases := []struct {
		i, n int
		p    float64
		want float64
		ok   bool
	}{
		{0, 1, 0.5, 0.5, true},
		{0, 1, -1, 0, false},
		{1, 2, -1, 0.5, true},
		{1, 2, 0.5, 0.75, true},
		{1, 2, 3, 1, true},
		{0, 0, 0.5, 0, false},
	}
	for _, c := range cases {
		got, ok := Fraction(c.i, c.n, c.p)
		if ok != c.ok || got != c.want {
			t.Errorf("Fraction(%d, %d, %v) = %v, %v; want %v, %v", c.i, c.n, c.p, got, ok, c.want, c.ok)
		}
	}
}

func TestRestoreSummary(t *testing.T) {
	cases := []struct {
		name     string
		req, out []string
		want     string
	}{
		{"one", []string{"/h/cv.odt"}, []string{"/h/cv.odt"}, "“cv.odt” restored"},
		{"one beside", []string{"/h/cv.odt"}, []string{"/h/cv (restored 2026-11-22 10.00).odt"}, "“cv.odt” restored as “cv (restored 2026-11-22 10.00).odt”"},
		{"many", []string{"/a", "/b", "/c"}, []string{"/a", "/b", "/c"}, "3 files restored"},
		{"many one beside", []string{"/a", "/b"}, []string{"/a", "/b (restored x)"}, "2 files restored, 1 beside a file of the same name"},
		{"many beside", []string{"/a", "/b"}, []string{"/a (r)", "/b (r)"}, "2 files restored, 2 beside files of the same name"},
		{"no message", []string{"/a", "/b"}, nil, "2 files restored"},
	}
	for _, c := range cases {
		if got := RestoreSummary(c.req, c.out); got != c.want {
			t.Errorf("%s: RestoreSummary = %q, want %q", c.name, got, c.want)
		}
	}
	if got := Written(api.RestoreResult{Restored: []api.Path{"/a", "/caf\xe9"}}, "/a\n/caf\uFFFD\n"); !reflect.DeepEqual(got, []string{"/a", "/caf\xe9"}) {
		t.Errorf("Written from the Result = %q", got)
	}
	if got := Written(api.RestoreResult{}, "/a\n\n/b (restored)\n"); !reflect.DeepEqual(got, []string{"/a", "/b (restored)"}) {
		t.Errorf("Written = %q", got)
	}
}

func TestTexts(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.Local)
	cases := []struct{ name, got, want string }{
		{"count one", CountText(1), "1 file deleted"},
		{"count", CountText(12), "12 files deleted"},
		{"count cut", CountText(MaxRows + 5), "1,005 files deleted. The 1,000 deleted most recently are shown: choose a shorter time or a folder inside this one to see others."},
		{"selected none", SelectedText(0), "None selected"},
		{"selected", SelectedText(3), "3 selected"},
		{"size", SizeText(File{Type: "file", Size: 1234567}), "1.2\u00a0MB"},
		{"size dir", SizeText(File{Type: "dir", Size: 4096}), "Folder"},
		{"last", LastText(File{LastTime: now.Add(-24 * time.Hour)}, now), "Last backed up yesterday at 12:00"},
		{"last unknown", LastText(File{LastSnapshot: "odd"}, now), "Last backed up in odd"},
		{"empty week", EmptyText("~/Documents", 1), "The backups show no file deleted from ~/Documents in the last week."},
		{"empty any", EmptyText("/srv", 3), "The backups show no file deleted from /srv."},
		{"folder", humanize.Folder("/home/a/x", "/home/a"), "~/x"},
		{"escape", humanize.Escape("a&b<c>"), "a&amp;b&lt;c&gt;"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
}
