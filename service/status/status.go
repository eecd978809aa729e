package status

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/keepsake/keepsake/service/internal/atomicfile"
)

// File names in the status directory.
const (
	TextFile = "status"
	JSONFile = "status.json"
)

// Profile is what the status files say about one profile.
type Profile struct {
	Name string
	// State is what the profile is doing: idle, running,
	// waiting-for-drive, failed, watching-degraded, ...
	State string
	// LastSuccess, LastAttempt and NextDue are zero for never/unknown.
	LastSuccess, LastAttempt, NextDue time.Time
	// Result is "ok" or the error name of the last attempt; empty before
	// the first.
	Result  string
	Message string
	// Drive is the backup drive's filesystem UUID, empty if none.
	Drive        string
	DrivePresent bool
	// TargetFree is the free bytes on the drive; -1 if unknown.
	TargetFree int64
	// Host is the computer the profile backs up, as named on the drive.
	Host string
	// Remote says Host is another computer, pulled over ssh.
	Remote bool
	// AgeHours is the whole hours since the last success; -1 for never.
	AgeHours int64
	// Overdue: the last success is older than the profile's overdue-days.
	Overdue bool
	// Received is what the last backup of another computer transferred,
	// in bytes; -1 if unknown or not another computer.
	Received int64
	// Problems counts the entries the last successful backup could not
	// take (Result is then "partial"); ProblemList names some of them,
	// each "PATH: what happened".
	Problems    int
	ProblemList []string
	// SkippedMounts are the other filesystems inside the sources that the
	// last successful backup left out.
	SkippedMounts []string
}

// MaxProblemLines is how many of a profile's problems the text file lists.
const MaxProblemLines = 10

// Write replaces dir/status and dir/status.json with the state of ps at
// now (see the package documentation for their shape). dir is created
// (0755) if missing.
func Write(dir string, ps []Profile, now time.Time) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write status: %w", err)
	}
	js, err := jsonStatus(ps, now)
	if err != nil {
		return fmt.Errorf("write status: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(dir, JSONFile), js, 0o644); err != nil {
		return fmt.Errorf("write status: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(dir, TextFile), textStatus(ps, now), 0o644); err != nil {
		return fmt.Errorf("write status: %w", err)
	}
	return nil
}

func textStatus(ps []Profile, now time.Time) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# keepsake status %s\n", textTime(now))
	for _, p := range ps {
		free := "-"
		if p.TargetFree >= 0 {
			free = strconv.FormatInt(p.TargetFree, 10)
		}
		present := "no"
		if p.DrivePresent {
			present = "yes"
		}
		fmt.Fprintf(&b, "profile=%s state=%s result=%s last-success=%s last-attempt=%s next-due=%s drive=%s drive-present=%s target-free=%s host=%s remote=%s age-hours=%s overdue=%s received=%s problems=%d skipped-mounts=%d\n",
			word(p.Name), word(p.State), word(p.Result), textTime(p.LastSuccess), textTime(p.LastAttempt), textTime(p.NextDue),
			word(p.Drive), present, free, word(p.Host), yesNo(p.Remote), count(p.AgeHours), yesNo(p.Overdue), count(p.Received),
			p.Problems, len(p.SkippedMounts))
		if msg := line(p.Message); msg != "" {
			fmt.Fprintf(&b, "message.%s=%s\n", word(p.Name), msg)
		}
		for i, pr := range p.ProblemList {
			if i == MaxProblemLines {
				break
			}
			fmt.Fprintf(&b, "problem.%s=%s\n", word(p.Name), line(pr))
		}
		for _, m := range p.SkippedMounts {
			fmt.Fprintf(&b, "skipped-mount.%s=%s\n", word(p.Name), line(m))
		}
	}
	return b.Bytes()
}

func textTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// count is n, or "-" when negative (unknown).
func count(n int64) string {
	if n < 0 {
		return "-"
	}
	return strconv.FormatInt(n, 10)
}

// word makes s a single field: "-" if empty, blanks and control
// characters replaced, so splitting a line on blanks always works. The
// file is plain ASCII (a web server may serve it as it is): anything else
// becomes '?'; status.json has the full text.
func word(s string) string {
	if s == "" {
		return "-"
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return '_'
		}
		if r > unicode.MaxASCII {
			return '?'
		}
		return r
	}, s)
}

// line makes s fit on one line of ASCII.
func line(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		if r > unicode.MaxASCII {
			return '?'
		}
		return r
	}, s))
}

type jsonProfile struct {
	Name          string   `json:"name"`
	State         string   `json:"state"`
	Result        *string  `json:"result"`
	Message       string   `json:"message"`
	LastSuccess   *string  `json:"last_success"`
	LastAttempt   *string  `json:"last_attempt"`
	NextDue       *string  `json:"next_due"`
	Drive         string   `json:"drive"`
	DrivePresent  bool     `json:"drive_present"`
	TargetFree    *int64   `json:"target_free"`
	Host          string   `json:"host"`
	Remote        bool     `json:"remote"`
	AgeHours      *int64   `json:"age_hours"`
	Overdue       bool     `json:"overdue"`
	Received      *int64   `json:"received"`
	Problems      int      `json:"problems"`
	ProblemList   []string `json:"problem_list"`
	SkippedMounts []string `json:"skipped_mounts"`
}

func jsonStatus(ps []Profile, now time.Time) ([]byte, error) {
	ts := func(t time.Time) *string {
		if t.IsZero() {
			return nil
		}
		s := t.UTC().Format(time.RFC3339)
		return &s
	}
	out := struct {
		Updated  *string       `json:"updated"`
		Profiles []jsonProfile `json:"profiles"`
	}{Updated: ts(now), Profiles: []jsonProfile{}}
	for _, p := range ps {
		jp := jsonProfile{
			Name: p.Name, State: p.State, Message: p.Message,
			LastSuccess: ts(p.LastSuccess), LastAttempt: ts(p.LastAttempt), NextDue: ts(p.NextDue),
			Drive: p.Drive, DrivePresent: p.DrivePresent, Host: p.Host, Remote: p.Remote, Overdue: p.Overdue,
			AgeHours: known(p.AgeHours), Received: known(p.Received),
			Problems: p.Problems, ProblemList: nonNil(p.ProblemList), SkippedMounts: nonNil(p.SkippedMounts),
		}
		if p.Result != "" {
			r := p.Result
			jp.Result = &r
		}
		if p.TargetFree >= 0 {
			f := p.TargetFree
			jp.TargetFree = &f
		}
		out.Profiles = append(out.Profiles, jp)
	}
	data, err := json.MarshalIndent(out, "", "  ")
	return append(data, '\n'), err
}

// known is n, or nil (JSON null) when negative.
func known(n int64) *int64 {
	if n < 0 {
		return nil
	}
	return &n
}

// nonNil makes a nil list an empty JSON array.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
