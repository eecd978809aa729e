// Package computers describes the computers Keepsake backs up for the
// pages: this one (a profile of folders here) and every other computer the
// service pulls over ssh (a profile whose sources are ssh:// addresses).
// It names them, says their state and problems in a line or two, and
// decides which warnings ask for the person's action. No GTK.
package computers

import (
	"fmt"
	"strings"
	"time"

	"github.com/keepsake/keepsake/app/humanize"
	"github.com/keepsake/keepsake/app/live"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/dbusapi"
	"github.com/keepsake/keepsake/shared/grammar"
	"github.com/keepsake/keepsake/shared/i18n"
	"github.com/keepsake/keepsake/shared/kerr"
)

// ThisComputer is how the app calls the computer it runs on, in English:
// Title says it in the user's language.
const ThisComputer = "This Computer"

// The HostKey property's values.
const (
	KeyNew      = "new"
	KeyAccepted = "accepted"
	KeyChanged  = "changed"
)

// Remote is the other computer a profile backs up; ok is false for a
// profile of folders on this computer.
func Remote(p client.Profile) (r grammar.Remote, ok bool) {
	r, ok, err := grammar.RemoteSources(p.Sources)
	if err != nil {
		return grammar.Remote{}, p.Remote
	}
	return r, ok || p.Remote
}

// IsRemote reports whether the profile backs up another computer.
func IsRemote(p client.Profile) bool {
	_, ok := Remote(p)
	return ok
}

// baseTitle is a profile's computer name before telling apart two that
// share it.
func baseTitle(p client.Profile) string {
	r, ok := Remote(p)
	switch {
	case !ok:
		// TRANSLATORS: the computer the app runs on, as a row's title beside the other computers it backs up.
		return i18n.T("This Computer")
	case p.Host != "":
		return p.Host
	case r.Host != "":
		return r.DefaultName()
	}
	return p.Name
}

// Title is how the app names the computer a profile backs up: "This
// Computer", or the other computer's name on the drive. Two profiles of
// one computer (a user's own and an administrator's) are told apart by
// the profile's name.
func Title(p client.Profile, all []client.Profile) string {
	t := baseTitle(p)
	for _, o := range all {
		if o.Name != p.Name && baseTitle(o) == t {
			return t + " (" + p.Name + ")"
		}
	}
	return t
}

// Titles are the titles of every profile, in the service's order.
func Titles(all []client.Profile) []string {
	out := make([]string, len(all))
	for i, p := range all {
		out[i] = Title(p, all)
	}
	return out
}

// Kind is how bad a computer's state is.
type Kind int

const (
	// Fine: backed up, backing up, or waiting without a problem.
	Fine Kind = iota
	// Warning: something the person should know (away, overdue, not
	// set up yet).
	Warning
	// Problem: backups of it fail until someone acts.
	Problem
)

// Action is what a row offers to do about its problem.
type Action int

const (
	NoAction Action = iota
	// ReviewKey: check the computer's host key and accept it.
	ReviewKey
)

// Row is one computer as the overview lists it.
type Row struct {
	// Name is the profile's name (what selecting the row selects).
	Name   string
	Title  string
	Remote bool
	// Subtitle is the state and the last backup, then any problem on
	// lines of its own. Plain text: escape it for a row.
	Subtitle string
	Kind     Kind
	Action   Action
	// Icon is the computer's own icon.
	Icon string
}

// Rows lists every computer of the state, in the service's order.
func Rows(st live.State, now time.Time) []Row {
	out := make([]Row, 0, len(st.Profiles))
	for _, p := range st.Profiles {
		out = append(out, RowOf(st, p, now))
	}
	return out
}

// RowOf describes one profile's computer.
func RowOf(st live.State, p client.Profile, now time.Time) Row {
	remote := IsRemote(p)
	r := Row{Name: p.Name, Title: Title(p, st.Profiles), Remote: remote, Icon: "computer-symbolic"}
	if remote {
		r.Icon = "network-server-symbolic"
	}
	lines, kind, action := status(st, p, remote, now)
	r.Subtitle, r.Kind, r.Action = strings.Join(lines, "\n"), kind, action
	return r
}

// status is a computer's state in lines of text: what it is doing and
// when it was last backed up, then its problems.
func status(st live.State, p client.Profile, remote bool, now time.Time) ([]string, Kind, Action) {
	// TRANSLATORS: in a computer's row: %s is when ("10 minutes ago", "yesterday at 14:05", "never").
	last := fmt.Sprintf(i18n.T("last backup %s"), humanize.When(client.Time(p.LastSuccess), now))
	never := p.LastSuccess == 0
	state := dbusapi.ProfileState(p.State)
	job, running := st.Job(p.Job)
	running = (running && !job.Finished) || state == dbusapi.StateRunning
	result := kerr.Name(strings.TrimPrefix(p.LastResult, kerr.DBusPrefix))

	var lines []string
	kind, action := Fine, NoAction
	key := p.HostKey
	if result == kerr.HostKeyChanged {
		key = KeyChanged
	}
	if remote && result == kerr.HostKeyUnknown && key != KeyAccepted {
		key = KeyNew
	}
	switch {
	case remote && key == KeyChanged:
		lines = append(lines, i18n.T("Host key changed — check it"), i18n.T("Its backups have stopped until then."))
		kind, action = Problem, ReviewKey
	case running:
		if job.Progress > 0 && job.Progress <= 1 {
			// TRANSLATORS: a computer being backed up and how far it got: %d%% is a percentage ("Backing up now (40%)").
			lines = append(lines, fmt.Sprintf(i18n.T("Backing up now (%d%%)"), int(job.Progress*100)))
		} else {
			lines = append(lines, i18n.T("Backing up now"))
		}
		if !never {
			lines[0] += " · " + last
		}
	case remote && key == KeyNew:
		lines = append(lines, i18n.T("Not set up yet — check its host key"))
		kind, action = Warning, ReviewKey
	case result == kerr.HostUnreachable:
		if never {
			// TRANSLATORS: another computer that was never backed up: %s is when it was last tried ("10 minutes ago", "yesterday at 14:05").
			lines = append(lines, fmt.Sprintf(i18n.T("Not reachable · last tried %s"), humanize.When(client.Time(p.LastAttempt), now)))
		} else {
			// TRANSLATORS: %s says for how long: “for 5 minutes”, “since today at 09:00”, “since 3 March”.
			lines = append(lines, fmt.Sprintf(i18n.T("Not reachable %s"), Since(client.Time(p.LastSuccess), now)))
		}
		kind = Warning
	case p.LastResult != "" && result != kerr.Cancelled:
		first := i18n.T("Last backup failed")
		if !never {
			first += " · " + last
		}
		lines = append(lines, first, humanize.ErrorText(p.LastResult, p.LastMessage))
		kind = Problem
	case state == dbusapi.StateWaitingForDrive:
		lines = append(lines, i18n.T("Waiting for the backup drive"))
		if !never {
			lines[0] += " · " + last
		}
	case state == dbusapi.StateNoDrive:
		lines = append(lines, i18n.T("No backup drive chosen"))
		kind = Warning
	case never:
		lines = append(lines, i18n.T("Not backed up yet"))
	case humanize.ProblemCount(p) > 0:
		// Completed without some entries it could not read: worth a look.
		n := humanize.ProblemCount(p)
		lines = append(lines, fmt.Sprintf(i18n.N("Backed up, with %s problem", "Backed up, with %s problems", n), humanize.Count(n))+" · "+last)
		kind = Warning
	default:
		// TRANSLATORS: a computer backed up without a problem: %s is “last backup 10 minutes ago”.
		lines = append(lines, fmt.Sprintf(i18n.T("Up to date · %s"), last))
	}
	if p.Overdue && !running {
		lines = append(lines, Overdue(p, now))
		if kind == Fine {
			kind = Warning
		}
	}
	return lines, kind, action
}

// Overdue says for how long a computer has gone without a backup.
func Overdue(p client.Profile, now time.Time) string {
	if p.LastSuccess == 0 {
		return i18n.T("Overdue: never backed up")
	}
	days := int(now.Sub(client.Time(p.LastSuccess)) / (24 * time.Hour))
	if days <= 1 {
		return i18n.T("Overdue: no backup for a day")
	}
	return fmt.Sprintf(i18n.N("Overdue: no backup for %s day", "Overdue: no backup for %s days", days), humanize.Count(days))
}

// Since says since when something lasts: "for 5 minutes", "since today
// at 09:00", "since yesterday at 14:05", "since 3 March".
func Since(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(now.Location())
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return i18n.T("for a moment")
	case d < time.Hour:
		if m := int(d / time.Minute); m > 1 {
			return fmt.Sprintf(i18n.N("for %d minute", "for %d minutes", m), m)
		}
		return i18n.T("for a minute")
	}
	return humanize.Since(t, now)
}

// Folders describes what a profile backs up: its folders, and for another
// computer where they are ("/home, /etc on ann@laptop").
func Folders(p client.Profile) []string {
	r, ok := Remote(p)
	if !ok {
		return p.Sources
	}
	return r.Paths
}

// Where is the other computer's address as a person writes it
// ("ann@laptop", "ann@laptop:2222"); "" for this computer.
func Where(p client.Profile) string {
	r, ok := Remote(p)
	if !ok || r.Host == "" {
		return ""
	}
	return Address(r)
}

// Address is user@host[:port] without the scheme and paths.
func Address(r grammar.Remote) string {
	s := strings.TrimPrefix(grammar.Remote{User: r.User, Host: r.Host, Port: r.Port}.String(), "ssh://")
	return strings.TrimSuffix(s, "/")
}
