package apps

import (
	"fmt"
	"github.com/keepsake/keepsake/app/humanize"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/shared/api"
)

// App is one ref a snapshot recorded, beside what is installed now.
type App struct {
	Installation, Ref, Kind, ID, Branch, Origin string
	Version, Commit                             string
	InstalledSize                               int64
	// State is missing, older, newer, same or different (installed now
	// compared with the snapshot).
	State, InstalledVersion string
	// Data says the snapshot holds the app's ~/.var/app/ID.
	Data bool
	// Name is the app's name when it is installed, else its id.
	Name string
}

// AppOf reads a ListFlatpaks result.
func AppOf(d api.FlatpakRef) App {
	return App{
		Installation: d.Installation, Ref: d.Ref, Kind: d.Kind, ID: d.ID,
		Branch: d.Branch, Origin: d.Origin, Version: d.Version, Commit: d.Commit,
		InstalledSize: int64(d.InstalledSize), State: d.State, InstalledVersion: d.InstalledVersion,
		Data: d.Data,
	}
}

// StateText says in words how what is installed compares with the backup.
func StateText(state string) string {
	switch state {
	case "missing":
		return "Not installed"
	case "older":
		return "Older installed"
	case "newer":
		return "Newer installed"
	case "same":
		return "Installed"
	case "different":
		return "Different build"
	}
	return "Unknown"
}

// VersionText is the saved version, and the installed one where it differs.
func VersionText(a App) string {
	saved := a.Version
	if saved == "" {
		saved = a.Branch
	}
	switch a.State {
	case "older", "newer", "different":
		if a.InstalledVersion != "" && a.InstalledVersion != a.Version && saved != "" {
			return saved + " → " + a.InstalledVersion
		}
	}
	if saved == "" {
		return ""
	}
	if a.Version == "" {
		return "Branch " + saved
	}
	return "Version " + saved
}

// DataText says whether the backup holds the app's data.
func DataText(data bool) string {
	if data {
		return "Data saved"
	}
	return "No data saved"
}

// Subtitle is an app row's subtitle: its id when a name is shown, then
// the state, the versions and the data.
func Subtitle(a App) string {
	parts := []string{StateText(a.State)}
	if v := VersionText(a); v != "" {
		parts = append(parts, v)
	}
	parts = append(parts, DataText(a.Data))
	s := strings.Join(parts, " · ")
	if a.Name != "" && a.Name != a.ID {
		s = a.ID + "\n" + s
	}
	return s
}

// Installation is the apps of one Flatpak installation.
type Installation struct {
	Name string // "system" or "user:NAME"
	Apps []App
}

// GroupApps keeps the apps (runtimes come with them) and groups them per
// installation, the system one first, each sorted by name; names maps
// app ids to the names of installed apps.
func GroupApps(all []App, names map[string]string) []Installation {
	by := map[string][]App{}
	for _, a := range all {
		if a.Kind != "app" {
			continue
		}
		a.Name = a.ID
		if n := names[a.ID]; n != "" {
			a.Name = n
		}
		by[a.Installation] = append(by[a.Installation], a)
	}
	out := make([]Installation, 0, len(by))
	for name, apps := range by {
		sort.Slice(apps, func(i, j int) bool {
			ni, nj := strings.ToLower(apps[i].Name), strings.ToLower(apps[j].Name)
			if ni != nj {
				return ni < nj
			}
			return apps[i].Ref < apps[j].Ref
		})
		out = append(out, Installation{Name: name, Apps: apps})
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i].Name == "system") != (out[j].Name == "system") {
			return out[i].Name == "system"
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// InstallationTitle heads an installation's apps; me is the user's name.
func InstallationTitle(name, me string) string {
	if name == "system" {
		return "System Apps"
	}
	user := strings.TrimPrefix(name, "user:")
	if user == me {
		return "Your Apps"
	}
	return "Apps of " + user
}

// InstallationDescription says who may reinstall an installation's apps.
func InstallationDescription(name, me string) string {
	if name == "system" {
		return "Installed for everyone on this computer. Reinstalling them needs an administrator."
	}
	if strings.TrimPrefix(name, "user:") == me {
		return "Installed for you only."
	}
	return "Reinstalling another person’s apps needs an administrator."
}

// Missing lists the refs of an installation's apps that are not installed.
func Missing(in Installation) []string {
	var out []string
	for _, a := range in.Apps {
		if a.State == "missing" {
			out = append(out, a.Ref)
		}
	}
	return out
}

// Outcome is what a reinstall did about one thing.
type Outcome struct {
	Installation string
	// Kind is app, runtime, remote, override, pin, mask or data; a whole
	// installation that could not be started is "installation".
	Kind, Ref string
	// Status is installed, present, failed or restored.
	Status string
	// Reason is why it failed, or where data went.
	Reason string
}

// Outcome statuses.
const (
	Installed = "installed"
	Present   = "present"
	Failed    = "failed"
	Restored  = "restored"
)

// ParseResult reads a RestoreFlatpaks job's Result (api.FlatpakRestoreResult:
// one key "KIND REF" per thing done, its value "installed", "present",
// "failed: why" or, for data, "restored to PATH") into the list's rows.
func ParseResult(installation string, res map[string]dbus.Variant) []Outcome {
	var r api.FlatpakRestoreResult
	r.FromDict(res) // a value that is not text is left out
	var out []Outcome
	for _, o := range r.Outcomes {
		row := Outcome{Installation: installation, Kind: o.Kind, Ref: string(o.Ref), Status: o.Outcome}
		switch o.Outcome {
		case api.OutcomeFailed:
			row.Status, row.Reason = Failed, o.Message
		case api.OutcomeRestored:
			row.Status, row.Reason = Restored, string(o.To)
		}
		out = append(out, row)
	}
	SortOutcomes(out)
	return out
}

var kindOrder = map[string]int{"installation": 0, "app": 1, "runtime": 2, "remote": 3, "data": 4, "override": 5, "pin": 6, "mask": 7}

// SortOutcomes orders outcomes the way the list reads: per installation,
// apps before what they needed.
func SortOutcomes(outs []Outcome) {
	rank := func(k string) int {
		if r, ok := kindOrder[k]; ok {
			return r
		}
		return len(kindOrder)
	}
	sort.SliceStable(outs, func(i, j int) bool {
		a, b := outs[i], outs[j]
		if a.Installation != b.Installation {
			if (a.Installation == "system") != (b.Installation == "system") {
				return a.Installation == "system"
			}
			return a.Installation < b.Installation
		}
		if rank(a.Kind) != rank(b.Kind) {
			return rank(a.Kind) < rank(b.Kind)
		}
		return a.Ref < b.Ref
	})
}

// Shown picks the outcomes worth a row: every app and its data, and
// anything else only when it failed (a runtime or a remote that failed
// explains an app that did).
func Shown(outs []Outcome) []Outcome {
	var out []Outcome
	for _, o := range outs {
		if o.Kind == "app" || o.Kind == "data" || o.Kind == "installation" || o.Status == Failed {
			out = append(out, o)
		}
	}
	return out
}

// RefID is the id in a ref ("app/ID/ARCH/BRANCH"), or the ref itself.
func RefID(ref string) string {
	if parts := strings.Split(ref, "/"); len(parts) == 4 {
		return parts[1]
	}
	return ref
}

// OutcomeTitle names what an outcome is about.
func OutcomeTitle(o Outcome, names map[string]string, me string) string {
	id := RefID(o.Ref)
	name := names[id]
	if name == "" {
		name = id
	}
	switch o.Kind {
	case "app":
		return name
	case "runtime":
		return "Runtime " + id
	case "remote":
		return "Source " + o.Ref
	case "data":
		return "Data of " + path.Base(o.Ref)
	case "override":
		return "Permissions of " + name
	case "installation":
		return InstallationTitle(o.Installation, me)
	}
	return upperFirst(o.Kind) + " " + o.Ref
}

// OutcomeText says what became of it.
func OutcomeText(o Outcome) string {
	switch o.Status {
	case Installed:
		if o.Kind == "app" || o.Kind == "runtime" {
			return "Installed"
		}
		return "Set up again"
	case Present:
		if o.Kind == "app" || o.Kind == "runtime" {
			return "Already installed"
		}
		return "Already set up"
	case Restored:
		return "Restored to " + o.Reason
	case Failed:
		if o.Reason == "" {
			return "Failed"
		}
		return "Failed: " + o.Reason
	}
	return upperFirst(o.Status)
}

// OutcomeIcon marks success and failure.
func OutcomeIcon(o Outcome) string {
	if o.Status == Failed {
		return "dialog-warning-symbolic"
	}
	return "emblem-ok-symbolic"
}

// Tally sums up a reinstall in one sentence, for a toast.
func Tally(outs []Outcome) string {
	var installed, present, failed int
	for _, o := range outs {
		if o.Kind != "app" && o.Kind != "installation" {
			continue
		}
		switch o.Status {
		case Installed:
			installed++
		case Present:
			present++
		case Failed:
			failed++
		}
	}
	var parts []string
	if installed > 0 {
		parts = append(parts, count(installed, "app reinstalled", "apps reinstalled"))
	}
	if present > 0 {
		parts = append(parts, count(present, "already installed", "already installed"))
	}
	if failed > 0 {
		parts = append(parts, count(failed, "failed", "failed"))
	}
	if len(parts) == 0 {
		return "Nothing was reinstalled"
	}
	return upperFirst(strings.Join(parts, ", "))
}

func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%s %s", humanize.Count(n), many)
}

// Snapshot is one backup to pick.
type Snapshot struct {
	Name string
	Time time.Time
}

// Snapshots reads ListSnapshots, newest first.
func Snapshots(ds []api.Snapshot) []Snapshot {
	out := make([]Snapshot, 0, len(ds))
	for _, d := range ds {
		out = append(out, Snapshot{Name: d.Name, Time: d.Time})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.After(out[j].Time)
		}
		return out[i].Name > out[j].Name
	})
	return out
}

// SnapshotLabel names a backup by its local time, precisely enough to
// tell two of one day apart.
func SnapshotLabel(s Snapshot, now time.Time) string {
	if s.Time.IsZero() {
		return s.Name
	}
	return humanize.DateTitle(s.Time, now, humanize.Minutes)
}

// RollBackText explains, before it is done, what rolling data back does.
func RollBackText(name string, s Snapshot, now time.Time) string {
	when := SnapshotLabel(s, now)
	switch {
	case strings.HasPrefix(when, "Today") || strings.HasPrefix(when, "Yesterday"):
		when = "made " + strings.ToLower(when[:1]) + when[1:]
	case !s.Time.IsZero():
		when = "made on " + when
	}
	return "The settings and files of " + name + " go back to how they were in the backup " + when +
		". Close the app first. Its current data is kept beside them, unless you replace it."
}

// NoAppsText explains a backup without apps.
func NoAppsText(recording bool) string {
	if recording {
		return "This backup recorded no Flatpak app you can see."
	}
	return "Keepsake does not record Flatpak apps with the backups. Turn it on in Preferences to reinstall apps later."
}

// DataRestoredText tells where an app's data went back to.
func DataRestoredText(name, to, home string) string {
	if to == "" {
		return "Data of " + name + " restored"
	}
	return "Data of " + name + " restored to " + humanize.Folder(to, home)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
