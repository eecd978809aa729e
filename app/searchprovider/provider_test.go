package searchprovider

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/keepsake/keepsake/shared/api"
)

// fakeService stands in for keepsaked's Search: these tests are about
// what the provider asks and how it turns answers into the shell's
// results (the service's own search and scope are tested in
// service/usecase and service/daemon, and over the real bus by the UI
// test).
type fakeService struct {
	mu    sync.Mutex
	calls []call
	hits  []api.SearchHit
	err   error
	// block makes a search wait for its context to end.
	block func(pattern string) bool
}

type call struct {
	profile, pattern string
	limit            uint32
}

func (f *fakeService) Search(ctx context.Context, profile, pattern string, opts api.SearchOptions) ([]api.SearchHit, error) {
	f.mu.Lock()
	f.calls = append(f.calls, call{profile, pattern, opts.Limit})
	block := f.block != nil && f.block(pattern)
	f.mu.Unlock()
	if block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return f.hits, f.err
}

func (f *fakeService) searches() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

var day = time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)

func hit(p, typ string, last time.Time, snaps ...string) api.SearchHit {
	return api.SearchHit{Entry: api.Entry{Path: api.Path(p), Type: typ}, Last: last, First: last.Add(-time.Hour), Snapshots: snaps}
}

func provider(f *fakeService) *Provider {
	return New(Options{
		Client:  func() Searcher { return f },
		Profile: func() string { return "ann" },
		Latest:  func() string { return "2026-12-02T100000Z" },
		Home:    "/home/ann",
		Now:     func() time.Time { return day.Add(12 * time.Hour) },
	})
}

func TestIDsRoundTripEveryPath(t *testing.T) {
	for _, tc := range []struct{ name, path, id string }{
		{"UTF-8 is its own id", "/home/ann/Größe.txt", "/home/ann/Größe.txt"},
		{"Latin-1 bytes in hex", "/home/ann/caf\xe9.txt", "x:2f686f6d652f616e6e2f636166e92e747874"},
		{"a newline stays a newline", "/home/ann/a\nb", "/home/ann/a\nb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ID(tc.path); got != tc.id {
				t.Errorf("ID = %q, want %q", got, tc.id)
			}
			if got, ok := PathOf(tc.id); !ok || got != tc.path {
				t.Errorf("PathOf(%q) = %q, %v; want %q", tc.id, got, ok, tc.path)
			}
		})
	}
	for _, bad := range []string{"", "x:", "x:zz", "relative"} {
		if p, ok := PathOf(bad); ok {
			t.Errorf("PathOf(%q) = %q, want no path", bad, p)
		}
	}
}

func TestPatternAndMatches(t *testing.T) {
	for _, tc := range []struct {
		name    string
		terms   []string
		pattern string
		file    string
		matches bool
	}{
		{"one term", []string{"report"}, "report", "Report-2026.odt", true},
		{"the longest term asks the service", []string{"q3", "report"}, "report", "report-q3.txt", true},
		{"every term must be in the name", []string{"q4", "report"}, "report", "report-q3.txt", false},
		{"case does not matter", []string{"REPORT"}, "REPORT", "report.txt", true},
		{"a glob is the service's", []string{"*.odt"}, "*.odt", "letter.odt", true},
		{"longest in letters, not bytes", []string{"ééé", "abcd"}, "abcd", "abcd-ééé", true},
		{"blank terms ask nothing", []string{" ", ""}, "", "anything", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Pattern(tc.terms); got != tc.pattern {
				t.Errorf("Pattern(%q) = %q, want %q", tc.terms, got, tc.pattern)
			}
			if got := Matches(tc.file, tc.terms); got != tc.matches {
				t.Errorf("Matches(%q, %q) = %v", tc.file, tc.terms, got)
			}
		})
	}
}

func TestGroupMakesFilesOfVersions(t *testing.T) {
	hits := []api.SearchHit{
		hit("/home/ann/Documents/report.txt", "file", day.Add(-48*time.Hour), "2026-11-29T100000Z", "2026-11-30T100000Z"),
		hit("/home/ann/Documents", "dir", day, "2026-12-02T100000Z"),
		hit("/home/ann/old/report.txt", "file", day.Add(-24*time.Hour), "2026-12-01T100000Z"),
		hit("/home/ann/Documents/report.txt", "file", day, "2026-12-01T100000Z", "2026-12-02T100000Z"),
		hit("/home/ann/Documents/summary.txt", "file", day, "2026-12-02T100000Z"),
	}
	got := Group(hits, []string{"report"}, Limit)
	want := []Result{
		{ID: "/home/ann/Documents/report.txt", Path: "/home/ann/Documents/report.txt", Name: "report.txt", Dir: "/home/ann/Documents", Last: day, LastSnapshot: "2026-12-02T100000Z"},
		{ID: "/home/ann/old/report.txt", Path: "/home/ann/old/report.txt", Name: "report.txt", Dir: "/home/ann/old", Last: day.Add(-24 * time.Hour), LastSnapshot: "2026-12-01T100000Z"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Group =\n%+v\nwant\n%+v", got, want)
	}
	if n := len(Group(hits, nil, 1)); n != 1 {
		t.Errorf("Group with a limit of 1 gives %d files", n)
	}
}

func TestSearchAsksForTheUsersOwnProfileAndFewHits(t *testing.T) {
	f := &fakeService{hits: []api.SearchHit{hit("/home/ann/report.txt", "file", day, "2026-12-02T100000Z")}}
	p := provider(f)
	ids := p.Search([]string{"rep", "report"})
	if !reflect.DeepEqual(ids, []string{"/home/ann/report.txt"}) {
		t.Errorf("ids = %q", ids)
	}
	if got, want := f.searches(), []call{{"ann", "report", hitLimit}}; !reflect.DeepEqual(got, want) {
		t.Errorf("the service was asked %+v, want %+v", got, want)
	}
}

func TestNothingIsFoundWithoutServiceOrProfile(t *testing.T) {
	saved := StartWait
	StartWait = 50 * time.Millisecond
	defer func() { StartWait = saved }()
	f := &fakeService{hits: []api.SearchHit{hit("/home/ann/report.txt", "file", day)}}
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"no service", Options{Client: func() Searcher { return nil }, Profile: func() string { return "ann" }}},
		{"no profile yet", Options{Client: func() Searcher { return f }, Profile: func() string { return "" }}},
		{"the service fails", Options{Client: func() Searcher { return &fakeService{err: errors.New("not authorized")} }, Profile: func() string { return "ann" }}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ids := New(tc.opts).Search([]string{"report"})
			if ids == nil || len(ids) != 0 {
				t.Errorf("ids = %#v, want an empty list (D-Bus has no null)", ids)
			}
		})
	}
}

func TestTheFirstSearchWaitsForTheAppToKnowTheProfile(t *testing.T) {
	f := &fakeService{hits: []api.SearchHit{hit("/home/ann/report.txt", "file", day)}}
	var mu sync.Mutex
	profile := ""
	p := New(Options{
		Client:  func() Searcher { return f },
		Profile: func() string { mu.Lock(); defer mu.Unlock(); return profile },
	})
	go func() {
		time.Sleep(100 * time.Millisecond) // the app's first reading of the service
		mu.Lock()
		profile = "ann"
		mu.Unlock()
	}()
	if ids := p.Search([]string{"report"}); len(ids) != 1 {
		t.Errorf("the first search found %q", ids)
	}
}

func TestNewerTermsCancelTheSearchUnderWay(t *testing.T) {
	f := &fakeService{
		hits:  []api.SearchHit{hit("/home/ann/report.txt", "file", day)},
		block: func(pattern string) bool { return pattern == "re" },
	}
	p := provider(f)
	done := make(chan []string)
	go func() { done <- p.Search([]string{"re"}) }()
	for len(f.searches()) == 0 {
		time.Sleep(time.Millisecond)
	}
	newer := p.Search([]string{"report"})
	select {
	case old := <-done:
		if len(old) != 0 {
			t.Errorf("the cancelled search answered %q", old)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the older search was not cancelled by the newer one")
	}
	if !reflect.DeepEqual(newer, []string{"/home/ann/report.txt"}) {
		t.Errorf("the newer search answered %q", newer)
	}
}

func TestSubsearchFiltersACompleteAnswerWithoutTheService(t *testing.T) {
	f := &fakeService{hits: []api.SearchHit{
		hit("/home/ann/report-q3.txt", "file", day),
		hit("/home/ann/report-q4.txt", "file", day.Add(-time.Hour)),
	}}
	p := provider(f)
	first := p.Search([]string{"report"})
	if len(first) != 2 {
		t.Fatalf("first search found %q", first)
	}
	got := p.Subsearch(first, []string{"report", "q4"})
	if !reflect.DeepEqual(got, []string{"/home/ann/report-q4.txt"}) {
		t.Errorf("subsearch = %q", got)
	}
	if n := len(f.searches()); n != 1 {
		t.Errorf("the service was asked %d times, want once", n)
	}
	// Narrowing on from the filtered answer needs no service either.
	if got := p.Subsearch(got, []string{"report", "q4.txt"}); len(got) != 1 || len(f.searches()) != 1 {
		t.Errorf("narrowing on = %q, with %d searches", got, len(f.searches()))
	}
	// Ids that are not the latest answer: asked again.
	p.Subsearch([]string{"/home/ann/unknown.txt"}, []string{"unknown"})
	if calls := f.searches(); len(calls) != 2 || calls[1].pattern != "unknown" {
		t.Errorf("for other ids the service was asked %+v", calls)
	}
}

func TestSubsearchAsksAgainWhenTheAnswerWasCut(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files int
		per   int
	}{
		{"the service stopped at its limit", 12, 5},   // 60 versions of 12 files
		{"more files than the overview shows", 25, 1}, // 25 files, 20 shown
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeService{}
			for i := 0; i < tc.files; i++ {
				for j := 0; j < tc.per; j++ {
					f.hits = append(f.hits, hit(fmt.Sprintf("/home/ann/report-%02d.txt", i), "file", day.Add(time.Duration(j)*time.Hour)))
				}
			}
			p := provider(f)
			first := p.Search([]string{"report"})
			p.Subsearch(first, []string{"report-0"})
			if n := len(f.searches()); n != 2 {
				t.Errorf("the service was asked %d times, want 2: the first answer was not all there is", n)
			}
		})
	}
}

func TestMetasSayWhereAndWhen(t *testing.T) {
	f := &fakeService{hits: []api.SearchHit{
		hit("/home/ann/Documents/report.txt", "file", day.Add(10*time.Hour), "2026-12-02T100000Z"),
		hit("/home/ann/Pictures/holiday.jpg", "file", day.Add(-14*time.Hour), "2026-12-01T100000Z"),
		hit("/srv/caf\xe9.odt", "file", time.Date(2026, 3, 12, 9, 0, 0, 0, time.UTC), "2026-03-12T090000Z"),
	}}
	p := provider(f)
	ids := p.Search([]string{"."})
	got := p.Metas(append(ids, "/never/found"))
	want := []Meta{
		{ID: "/home/ann/Documents/report.txt", Name: "report.txt", Description: "In ~/Documents, in the latest backup", Icon: ". GThemedIcon text-plain text-x-generic"},
		{ID: "/home/ann/Pictures/holiday.jpg", Name: "holiday.jpg", Description: "In ~/Pictures, last backed up yesterday at 10:00", Icon: ". GThemedIcon image-jpeg image-x-generic text-x-generic"},
		{ID: "x:2f7372762f636166e92e6f6474", Name: "caf\uFFFD.odt", Description: "In /srv, last backed up 12 March at 09:00", Icon: ". GThemedIcon application-vnd.oasis.opendocument.text application-x-generic text-x-generic"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Metas =\n%+v\nwant\n%+v", got, want)
	}
}

func TestActivateAndLaunch(t *testing.T) {
	var opened, searched []string
	p := New(Options{
		ActivateResult: func(path string) { opened = append(opened, path) },
		LaunchSearch:   func(text string) { searched = append(searched, text) },
	})
	p.Activate("/home/ann/report.txt")
	p.Activate("x:2f636166e9")
	p.Activate("nonsense")
	p.Launch([]string{"q3", "report"})
	if want := []string{"/home/ann/report.txt", "/caf\xe9"}; !reflect.DeepEqual(opened, want) {
		t.Errorf("opened %q, want %q", opened, want)
	}
	if want := []string{"report"}; !reflect.DeepEqual(searched, want) {
		t.Errorf("searched %q, want %q", searched, want)
	}
}
