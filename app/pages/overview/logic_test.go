package overview

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/keepsake/keepsake/app/live"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/dbusapi"
)

func TestSplitProblem(t *testing.T) {
	cases := []struct{ in, path, what string }{
		{"/home/ann/a.txt: cannot read: open /home/ann/a.txt: input/output error", "/home/ann/a.txt", "cannot read: open /home/ann/a.txt: input/output error"},
		// A name holding ": ": the message names the whole path again.
		{"/home/ann/Notes: 2024: cannot read: open /home/ann/Notes: 2024: input/output error", "/home/ann/Notes: 2024", "cannot read: open /home/ann/Notes: 2024: input/output error"},
		// A message that does not repeat the path: up to the first ": ".
		{"/home/ann/gone: source folder is missing", "/home/ann/gone", "source folder is missing"},
		{"/home/ann/x: removed to make room: disk full", "/home/ann/x", "removed to make room: disk full"},
		{"no separator", "no separator", ""},
	}
	for _, c := range cases {
		path, what := SplitProblem(c.in)
		if path != c.path || what != c.what {
			t.Errorf("SplitProblem(%q) = %q, %q; want %q, %q", c.in, path, what, c.path, c.what)
		}
	}
}

func TestProblems(t *testing.T) {
	const home = "/home/ann"
	eio := "/home/ann/Photos/broken.jpg: cannot read: open /home/ann/Photos/broken.jpg: input/output error"
	gone := "/srv/data/tmp: cannot read folder: no such file or directory"
	many := make([]string, 100)
	for i := range many {
		many[i] = fmt.Sprintf("/home/ann/f%d: cannot read: input/output error", i)
	}
	cases := []struct {
		name      string
		prof      client.Profile
		home      string
		title     string
		desc      string
		rows      []Problem
		more      string
		wantEmpty bool
	}{
		{name: "none", prof: client.Profile{LastSuccess: 1}, home: home, wantEmpty: true},
		{name: "never backed up: nothing to say", prof: client.Profile{LastProblems: []string{eio}, LastProblemCount: 1}, home: home, wantEmpty: true},
		{name: "one, in the home folder", prof: client.Profile{LastSuccess: 1, LastProblems: []string{eio}, LastProblemCount: 1}, home: home,
			title: "1 file or folder",
			desc:  "The last backup could not take it. Its earlier backed-up version, if any, is kept, and Keepsake tries again at the next backup.",
			rows:  []Problem{{"~/Photos/broken.jpg", "Cannot read: open /home/ann/Photos/broken.jpg: input/output error"}}},
		{name: "two, one outside the home folder", prof: client.Profile{LastSuccess: 1, LastProblems: []string{eio, gone}, LastProblemCount: 2}, home: home,
			title: "2 files or folders",
			desc:  "The last backup could not take them. Their earlier backed-up versions, if any, are kept, and Keepsake tries again at the next backup.",
			rows: []Problem{{"~/Photos/broken.jpg", "Cannot read: open /home/ann/Photos/broken.jpg: input/output error"},
				{"/srv/data/tmp", "Cannot read folder: no such file or directory"}}},
		{name: "another computer's paths keep their home", prof: client.Profile{LastSuccess: 1, LastProblems: []string{eio}, LastProblemCount: 1}, home: "",
			title: "1 file or folder",
			desc:  "The last backup could not take it. Its earlier backed-up version, if any, is kept, and Keepsake tries again at the next backup.",
			rows:  []Problem{{"/home/ann/Photos/broken.jpg", "Cannot read: open /home/ann/Photos/broken.jpg: input/output error"}}},
		{name: "more than the service lists", prof: client.Profile{LastSuccess: 1, LastProblems: many, LastProblemCount: 250}, home: home,
			title: "250 files or folders", more: "And 150 more not listed here"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := Problems(c.prof, c.home)
			if c.wantEmpty {
				if !reflect.DeepEqual(l, ProblemList{}) {
					t.Errorf("Problems = %+v, want nothing", l)
				}
				return
			}
			if l.Title != c.title || l.More != c.more || (c.desc != "" && l.Description != c.desc) {
				t.Errorf("Problems = %q / %q / %q; want %q / %q / %q", l.Title, l.Description, l.More, c.title, c.desc, c.more)
			}
			if c.rows != nil && !reflect.DeepEqual(l.Rows, c.rows) {
				t.Errorf("rows = %q, want %q", l.Rows, c.rows)
			}
			if len(l.Rows) != len(c.prof.LastProblems) {
				t.Errorf("%d rows for %d problems", len(l.Rows), len(c.prof.LastProblems))
			}
		})
	}
}

func TestMounts(t *testing.T) {
	const home = "/home/ann"
	cases := []struct {
		name             string
		include, skipped []string
		home             string
		desc             string
		rows             []Mount
	}{
		{name: "none", home: home},
		{name: "included, none skipped", include: []string{"/home/ann/nas"}, home: home},
		{name: "one", skipped: []string{"/home/ann/nas"}, home: home,
			desc: "1 other drive inside your folders was not backed up: ~/nas.",
			rows: []Mount{{"/home/ann/nas", "~/nas", false}}},
		{name: "two", skipped: []string{"/home/ann/nas", "/home/ann/Mounts/photos"}, home: home,
			desc: "2 other drives inside your folders were not backed up: ~/nas, ~/Mounts/photos.",
			rows: []Mount{{"/home/ann/nas", "~/nas", false}, {"/home/ann/Mounts/photos", "~/Mounts/photos", false}}},
		{name: "one of two included since", include: []string{"/home/ann/nas"}, skipped: []string{"/home/ann/nas", "/srv/usb"}, home: home,
			desc: "1 other drive inside your folders was not backed up: /srv/usb.",
			rows: []Mount{{"/home/ann/nas", "~/nas", true}, {"/srv/usb", "/srv/usb", false}}},
		{name: "all included since", include: []string{"/home/ann/nas", "/srv/usb"}, skipped: []string{"/home/ann/nas", "/srv/usb"}, home: home,
			desc: "The other drives inside your folders will be backed up from the next backup.",
			rows: []Mount{{"/home/ann/nas", "~/nas", true}, {"/srv/usb", "/srv/usb", true}}},
		{name: "the one included since", include: []string{"/home/ann/nas"}, skipped: []string{"/home/ann/nas"}, home: home,
			desc: "The other drive inside your folders will be backed up from the next backup.",
			rows: []Mount{{"/home/ann/nas", "~/nas", true}}},
		{name: "five: three named", skipped: []string{"/home/ann/a", "/home/ann/b", "/home/ann/c", "/home/ann/d", "/home/ann/e"}, home: home,
			desc: "5 other drives inside your folders were not backed up: ~/a, ~/b, ~/c and 2 more."},
		{name: "four: all named rather than \"and 1 more\"", skipped: []string{"/home/ann/a", "/home/ann/b", "/home/ann/c", "/home/ann/d"}, home: home,
			desc: "4 other drives inside your folders were not backed up: ~/a, ~/b, ~/c, ~/d."},
		{name: "the home itself, and no home known", skipped: []string{"/home/ann"}, home: "",
			desc: "1 other drive inside your folders was not backed up: /home/ann.",
			rows: []Mount{{"/home/ann", "/home/ann", false}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := Mounts(client.Profile{IncludeMounts: c.include, SkippedMounts: c.skipped}, c.home)
			if l.Description != c.desc {
				t.Errorf("description = %q, want %q", l.Description, c.desc)
			}
			if c.rows != nil && !reflect.DeepEqual(l.Rows, c.rows) {
				t.Errorf("rows = %+v, want %+v", l.Rows, c.rows)
			}
			if len(l.Rows) != len(c.skipped) {
				t.Errorf("%d rows for %d skipped mounts", len(l.Rows), len(c.skipped))
			}
		})
	}
}

// TestHeadlineWithProblems: a backup that left entries out says how many
// in the headline, in the right number; a failure or a backup running
// says so instead.
func TestHeadlineWithProblems(t *testing.T) {
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.Local)
	base := client.Profile{Name: "home", Sources: []string{"/home/me"}, State: uint32(dbusapi.StateIdle),
		LastSuccess: now.Add(-time.Minute).UnixMicro()}
	cases := []struct {
		state    dbusapi.ProfileState
		count    uint32
		listed   int
		headline string
	}{
		{dbusapi.StateIdle, 0, 0, "Backups are up to date"},
		{dbusapi.StateIdle, 1, 1, "Backed up, with 1 problem"},
		{dbusapi.StateIdle, 3, 3, "Backed up, with 3 problems"},
		{dbusapi.StateIdle, 250, 100, "Backed up, with 250 problems"},
		// A count the service did not fill in: the list's length.
		{dbusapi.StateIdle, 0, 2, "Backed up, with 2 problems"},
		{dbusapi.StateFailed, 3, 3, "The last backup failed"},
		{dbusapi.StateRunning, 3, 3, "Backing up…"},
	}
	for _, c := range cases {
		p := base
		p.State, p.LastProblemCount = uint32(c.state), c.count
		for i := 0; i < c.listed; i++ {
			p.LastProblems = append(p.LastProblems, fmt.Sprintf("/home/me/f%d: cannot read: input/output error", i))
		}
		if v := View(live.State{}, p, now); v.Headline != c.headline {
			t.Errorf("%v with %d problems: headline %q, want %q", c.state, c.count, v.Headline, c.headline)
		}
	}
}
