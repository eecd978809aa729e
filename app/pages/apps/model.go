package apps

import (
	"fmt"
	"github.com/keepsake/keepsake/app/humanize"
	"path"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/i18n"
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
		// TRANSLATORS: of an app a backup recorded: it is not installed now.
		return i18n.T("Not installed")
	case "older":
		// TRANSLATORS: of an app a backup recorded: an older version is installed now.
		return i18n.T("Older installed")
	case "newer":
		// TRANSLATORS: of an app a backup recorded: a newer version is installed now.
		return i18n.T("Newer installed")
	case "same":
		// TRANSLATORS: of an app: it is installed.
		return i18n.T("Installed")
	case "different":
		// TRANSLATORS: of an app a backup recorded: the same version, built
		// differently, is installed now.
		return i18n.T("Different build")
	}
	// TRANSLATORS: of an app a backup recorded: whether it is installed now
	// is not known.
	return i18n.T("Unknown")
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
		// TRANSLATORS: a Flatpak branch ("stable").
		return fmt.Sprintf(i18n.T("Branch %s"), saved)
	}
	return fmt.Sprintf(i18n.T("Version %s"), saved)
}

// DataText says whether the backup holds the app's data.
func DataText(data bool) string {
	if data {
		// TRANSLATORS: the backup holds the app's own files and settings.
		return i18n.T("Data saved")
	}
	return i18n.T("No data saved")
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
		return i18n.T("System Apps")
	}
	user := strings.TrimPrefix(name, "user:")
	if user == me {
		return i18n.T("Your Apps")
	}
	// TRANSLATORS: %s is a user name.
	return fmt.Sprintf(i18n.T("Apps of %s"), user)
}

// InstallationDescription says who may reinstall an installation's apps.
func InstallationDescription(name, me string) string {
	if name == "system" {
		return i18n.T("Installed for everyone on this computer. Reinstalling them needs an administrator.")
	}
	if strings.TrimPrefix(name, "user:") == me {
		return i18n.T("Installed for you only.")
	}
	return i18n.T("Reinstalling another person’s apps needs an administrator.")
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
		// TRANSLATORS: a Flatpak runtime; %s is its id ("org.gnome.Platform").
		return fmt.Sprintf(i18n.T("Runtime %s"), id)
	case "remote":
		// TRANSLATORS: a Flatpak remote; %s is its name ("flathub").
		return fmt.Sprintf(i18n.T("Source %s"), o.Ref)
	case "data":
		// TRANSLATORS: an app's own files and settings; %s is the app.
		return fmt.Sprintf(i18n.T("Data of %s"), path.Base(o.Ref))
	case "override":
		// TRANSLATORS: an app's Flatpak overrides; %s is the app.
		return fmt.Sprintf(i18n.T("Permissions of %s"), name)
	case "pin":
		// TRANSLATORS: a pinned Flatpak runtime (flatpak pin); %s is its ref.
		return fmt.Sprintf(i18n.T("Pin %s"), o.Ref)
	case "mask":
		// TRANSLATORS: a masked Flatpak ref (flatpak mask); %s is the pattern.
		return fmt.Sprintf(i18n.T("Mask %s"), o.Ref)
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
			return i18n.T("Installed")
		}
		// TRANSLATORS: a Flatpak remote, override, pin or mask was restored.
		return i18n.T("Set up again")
	case Present:
		if o.Kind == "app" || o.Kind == "runtime" {
			return i18n.T("Already installed")
		}
		// TRANSLATORS: a Flatpak remote, override, pin or mask was there already.
		return i18n.T("Already set up")
	case Restored:
		// TRANSLATORS: %s is the folder an app's data went to.
		return fmt.Sprintf(i18n.T("Restored to %s"), o.Reason)
	case Failed:
		if o.Reason == "" {
			// TRANSLATORS: reinstalling it failed.
			return i18n.T("Failed")
		}
		// TRANSLATORS: %s is why (from Flatpak, often in English).
		return fmt.Sprintf(i18n.T("Failed: %s"), o.Reason)
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
		// TRANSLATORS: one part of the toast after a reinstall
		// ("2 apps reinstalled, 1 already installed, 1 failed").
		parts = append(parts, fmt.Sprintf(i18n.N("%s app reinstalled", "%s apps reinstalled", installed), humanize.Count(installed)))
	}
	if present > 0 {
		// TRANSLATORS: one part of the toast after a reinstall
		// ("2 apps reinstalled, 1 already installed, 1 failed"): apps.
		parts = append(parts, fmt.Sprintf(i18n.N("%s already installed", "%s already installed", present), humanize.Count(present)))
	}
	if failed > 0 {
		// TRANSLATORS: one part of the toast after a reinstall
		// ("2 apps reinstalled, 1 already installed, 1 failed"): apps.
		parts = append(parts, fmt.Sprintf(i18n.N("%s failed", "%s failed", failed), humanize.Count(failed)))
	}
	if len(parts) == 0 {
		return i18n.T("Nothing was reinstalled")
	}
	return upperFirst(strings.Join(parts, ", "))
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
	case s.Time.IsZero():
		// TRANSLATORS: %[1]s is an app's name, %[2]s the name of a backup
		// ("2025-03-02T140000Z").
		return fmt.Sprintf(i18n.T("The settings and files of %[1]s go back to how they were in the backup %[2]s. Close the app first. Its current data is kept beside them, unless you replace it."), name, when)
	case recent(s.Time, now):
		// TRANSLATORS: %[1]s is an app's name, %[2]s when the backup was
		// made, "today at 10:00" or "yesterday at 10:00".
		return fmt.Sprintf(i18n.T("The settings and files of %[1]s go back to how they were in the backup made %[2]s. Close the app first. Its current data is kept beside them, unless you replace it."), name, lowerFirst(when))
	}
	// TRANSLATORS: %[1]s is an app's name, %[2]s the date the backup was
	// made ("2 March at 14:00").
	return fmt.Sprintf(i18n.T("The settings and files of %[1]s go back to how they were in the backup made on %[2]s. Close the app first. Its current data is kept beside them, unless you replace it."), name, when)
}

// recent says whether t was today or yesterday (SnapshotLabel says
// "Today at" or "Yesterday at" then), by the dates rather than the
// label's words, which are translated.
func recent(t, now time.Time) bool {
	t = t.In(now.Location())
	for _, day := range []time.Time{now, now.AddDate(0, 0, -1)} {
		y, m, d := day.Date()
		if ty, tm, td := t.Date(); ty == y && tm == m && td == d {
			return true
		}
	}
	return false
}

func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return s
	}
	return string(unicode.ToLower(r)) + s[n:]
}

// NoAppsText explains a backup without apps.
func NoAppsText(recording bool) string {
	if recording {
		return i18n.T("This backup recorded no Flatpak app you can see.")
	}
	return i18n.T("Keepsake does not record Flatpak apps with the backups. Turn it on in Preferences to reinstall apps later.")
}

// DataRestoredText tells where an app's data went back to.
func DataRestoredText(name, to, home string) string {
	if to == "" {
		// TRANSLATORS: %s is an app's name.
		return fmt.Sprintf(i18n.T("Data of %s restored"), name)
	}
	// TRANSLATORS: %[1]s is an app's name, %[2]s the folder its data went to.
	return fmt.Sprintf(i18n.T("Data of %[1]s restored to %[2]s"), name, humanize.Folder(to, home))
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	// The first letter, not the first byte: a translated sentence can
	// start with "ś" or "ü".
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}
