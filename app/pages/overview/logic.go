package overview

import (
	"fmt"
	"strings"

	"github.com/keepsake/keepsake/app/humanize"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/i18n"
)

// This file holds what the overview says of a backup that left something
// out, apart from GTK so that go test checks it without a display.

// ProblemList is what the overview shows of the entries the last
// successful backup could not take (files it could not read, folders that
// vanished meanwhile): a row that opens on one row per entry.
type ProblemList struct {
	// Title is "3 files or folders" ("" = none), under the heading "Not
	// Backed Up"; Description says what became of them.
	Title, Description string
	Rows               []Problem
	// More says how many the list leaves out: the service names at
	// most 100.
	More string
}

// Problem is one entry the backup could not take.
type Problem struct {
	// Path is the entry as shown (the home folder as ~), What what
	// happened to it.
	Path, What string
}

// Problems is the problem list of a profile; home is the user's home
// folder, shown as ~ ("" for another computer's files).
func Problems(prof client.Profile, home string) ProblemList {
	n := humanize.ProblemCount(prof)
	if n == 0 || prof.LastSuccess == 0 {
		return ProblemList{}
	}
	l := ProblemList{
		// TRANSLATORS: under the heading "Not Backed Up".
		Title: fmt.Sprintf(i18n.N("%s file or folder", "%s files or folders", n), humanize.Count(n)),
		Description: i18n.N("The last backup could not take it. Its earlier backed-up version, if any, is kept, and Keepsake tries again at the next backup.",
			"The last backup could not take them. Their earlier backed-up versions, if any, are kept, and Keepsake tries again at the next backup.", n),
	}
	for _, s := range prof.LastProblems {
		path, what := SplitProblem(s)
		l.Rows = append(l.Rows, Problem{Path: humanize.Folder(path, home), What: upper(what)})
	}
	if left := n - len(l.Rows); left > 0 {
		// TRANSLATORS: the last row of the list of files the backup could
		// not take; %s is how many more there are.
		l.More = fmt.Sprintf(i18n.N("And %s more not listed here", "And %s more not listed here", left), humanize.Count(left))
	}
	return l
}

// SplitProblem takes one of the service's problems ("PATH: what
// happened") apart. A path can hold ": " itself, and the message often
// repeats the path ("cannot read: open /a/b: input/output error"): the
// path is the longest text before a ": " that the message names again,
// else the text before the first ": ".
func SplitProblem(s string) (path, what string) {
	first := -1
	best := -1
	for i := 0; ; {
		j := strings.Index(s[i:], ": ")
		if j < 0 {
			break
		}
		at := i + j
		if first < 0 {
			first = at
		}
		if strings.Contains(s[at+2:], s[:at]) {
			best = at
		}
		i = at + 1
	}
	switch {
	case best >= 0:
		return s[:best], s[best+2:]
	case first >= 0:
		return s[:first], s[first+2:]
	}
	return s, ""
}

// MountList is what the overview shows of the other filesystems mounted
// inside the folders (a NAS share, a USB stick) that the last backup left
// out: a sentence, and a row per mount point to include it.
type MountList struct {
	// Description is the sentence ("" = nothing left out).
	Description string
	Rows        []Mount
}

// Mount is a mount point the last backup left out.
type Mount struct {
	// Path is the mount point as the service has it (for Configure),
	// Title as shown.
	Path, Title string
	// Included: it was added to the included mounts since, so the next
	// backup takes it; there is nothing left to do.
	Included bool
}

// mountsNamed is how many mount points the sentence names.
const mountsNamed = 3

// Mounts is the mount list of a profile; home as for Problems.
func Mounts(prof client.Profile, home string) MountList {
	included := map[string]bool{}
	for _, m := range prof.IncludeMounts {
		included[m] = true
	}
	var l MountList
	var left []string
	for _, m := range prof.SkippedMounts {
		l.Rows = append(l.Rows, Mount{Path: m, Title: humanize.Folder(m, home), Included: included[m]})
		if !included[m] {
			left = append(left, m)
		}
	}
	switch {
	case len(l.Rows) == 0:
	case len(left) == 0:
		l.Description = i18n.N("The other drive inside your folders will be backed up from the next backup.",
			"The other drives inside your folders will be backed up from the next backup.", len(l.Rows))
	default:
		// TRANSLATORS: other filesystems (a network share, a USB stick)
		// mounted inside the backed-up folders; %[1]s is how many, %[2]s
		// where they are ("~/nas, ~/Mounts/photos").
		l.Description = fmt.Sprintf(i18n.N("%[1]s other drive inside your folders was not backed up: %[2]s.",
			"%[1]s other drives inside your folders were not backed up: %[2]s.", len(left)),
			humanize.Count(len(left)), humanize.Folders(left, home, mountsNamed))
	}
	return l
}
