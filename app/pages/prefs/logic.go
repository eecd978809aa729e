package prefs

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/keepsake/keepsake/app/computers"
	"github.com/keepsake/keepsake/app/humanize"
	"github.com/keepsake/keepsake/app/pages/setup"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/grammar"
	"github.com/keepsake/keepsake/shared/i18n"
)

// This file holds the window's decisions, apart from GTK so that go test
// checks them without a display.

// Interval is one choice of the schedule's combo row.
type Interval struct {
	Seconds uint64
	Label   string
}

// standardIntervals' labels are in English: Intervals translates them.
var standardIntervals = []Interval{
	{3600, i18n.Noop("Every hour")},
	{6 * 3600, i18n.Noop("Every 6 hours")},
	{24 * 3600, i18n.Noop("Every day")},
	{0, i18n.Noop("Only when I ask")},
}

// Intervals lists the combo row's choices and which one the profile has.
// An interval set elsewhere (the settings file, keepsakectl) gets its own
// entry, so opening the window does not change it.
func Intervals(current uint64) ([]Interval, int) {
	out := append([]Interval(nil), standardIntervals...)
	for i := range out {
		out[i].Label = i18n.T(out[i].Label)
	}
	for i, iv := range out {
		if iv.Seconds == current {
			return out, i
		}
	}
	label := humanize.Interval(time.Duration(current) * time.Second)
	out = append(out, Interval{current, upperFirst(label)})
	return out, len(out) - 1
}

// Retention is the retention setting taken apart.
type Retention struct {
	TimeMachine bool
	// Counts per tier; 0 keeps none by that tier. KeepLast and Yearly have
	// no control in the window but survive a change of the others.
	KeepLast, Hourly, Daily, Weekly, Monthly, Yearly int
}

// DefaultCustom are the counts offered when switching away from the Time
// Machine schedule: close to what it keeps, plus a year of monthlies.
var DefaultCustom = Retention{Hourly: 24, Daily: 30, Weekly: 52, Monthly: 12}

// ParseRetention reads the profile's Retention property ("time-machine",
// "" or "hourly=24 daily=30 ..."). ok is false for a text it cannot read,
// which is then shown as the Time Machine schedule.
func ParseRetention(s string) (r Retention, ok bool) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' })
	if len(fields) == 0 || len(fields) == 1 && fields[0] == "time-machine" {
		return Retention{TimeMachine: true}, true
	}
	for _, f := range fields {
		k, v, found := strings.Cut(f, "=")
		n, err := strconv.Atoi(v)
		if !found || err != nil || n < 1 {
			return Retention{TimeMachine: true}, false
		}
		switch k {
		case "keep-last":
			r.KeepLast = n
		case "hourly":
			r.Hourly = n
		case "daily":
			r.Daily = n
		case "weekly":
			r.Weekly = n
		case "monthly":
			r.Monthly = n
		case "yearly":
			r.Yearly = n
		default:
			return Retention{TimeMachine: true}, false
		}
	}
	return r, true
}

// String is the setting for Configure. Custom counts that are all zero
// keep nothing by any tier, which the service reads as the Time Machine
// schedule: say so rather than send an empty text.
func (r Retention) String() string {
	if r.TimeMachine {
		return "time-machine"
	}
	var parts []string
	for _, t := range []struct {
		key string
		n   int
	}{{"keep-last", r.KeepLast}, {"hourly", r.Hourly}, {"daily", r.Daily}, {"weekly", r.Weekly}, {"monthly", r.Monthly}, {"yearly", r.Yearly}} {
		if t.n > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", t.key, t.n))
		}
	}
	if len(parts) == 0 {
		return "time-machine"
	}
	return strings.Join(parts, " ")
}

// Counts is r's counts, or DefaultCustom's for the Time Machine schedule
// (what the spin buttons show, dimmed, until Custom is chosen).
func (r Retention) Counts() Retention {
	if r.TimeMachine {
		return DefaultCustom
	}
	return r
}

// MinFree turns what the user typed into the min-free setting, read with
// the one grammar of sizes every front end uses (shared/grammar): "2%" as
// it is, a size ("20 GB" as GNOME shows sizes, "20 GiB", "20G") as a
// number of bytes. problem is a sentence when the text is not understood.
func MinFree(text string) (setting, problem string) {
	// TRANSLATORS: keep 2% and 20 GB as written: Keepsake reads sizes
	// in this form whatever the language.
	unclear := i18n.T("Write a percentage of the drive, such as 2%, or a size, such as 20 GB.")
	if strings.TrimSpace(text) == "" {
		return "", unclear
	}
	z, err := grammar.ParseSize(text)
	switch {
	case err != nil && strings.Contains(text, "%"):
		return "", i18n.T("A percentage must be from 0% to 100%.")
	case err != nil:
		return "", unclear
	case !z.IsPct && z.Bytes > 1<<60:
		return "", i18n.T("That is more space than any drive has.")
	case z.IsPct:
		return z.String(), ""
	}
	return strconv.FormatInt(z.Bytes, 10), ""
}

// AddPattern adds an exclusion pattern; problem is a sentence when it
// cannot be added (the service checks the pattern's syntax itself).
func AddPattern(list []string, pattern string) (out []string, problem string) {
	p := strings.TrimSpace(pattern)
	switch {
	case p == "":
		return list, i18n.T("Write a pattern first, such as *.iso or ~/Videos/.")
	case strings.HasPrefix(p, "#"):
		// The service would read it as a comment and skip nothing.
		return list, i18n.T("A pattern cannot start with #. Write \\# for a name that starts with #.")
	}
	for _, l := range list {
		if l == p {
			// TRANSLATORS: %s is an exclusion pattern (*.iso, ~/Videos/).
			return list, fmt.Sprintf(i18n.T("%s is already skipped."), p)
		}
	}
	return append(append([]string{}, list...), p), ""
}

// RemovePattern removes one exclusion pattern.
func RemovePattern(list []string, pattern string) []string {
	out := []string{}
	for _, l := range list {
		if l != pattern {
			out = append(out, l)
		}
	}
	return out
}

// OfflineSubtitle describes the offline copy, with its size once known,
// so the user knows the cost before switching it on.
func OfflineSubtitle(size uint64, known bool, problem string) string {
	switch {
	case problem != "":
		// TRANSLATORS: %s is why the size could not be worked out.
		return fmt.Sprintf(i18n.T("Reinstall apps without an internet connection. Its size is not known: %s"), problem)
	case !known:
		return i18n.T("Reinstall apps without an internet connection. Working out its size…")
	case size == 0:
		return i18n.T("Reinstall apps without an internet connection. No apps are installed yet, so there is nothing to copy.")
	}
	// TRANSLATORS: %s is a size ("1.2 GB").
	return fmt.Sprintf(i18n.T("Reinstall apps without an internet connection. Takes about %s on the drive."), humanize.Size(int64(size)))
}

// View is what the window shows of a profile and the drives, computed
// without GTK; the window redraws only the parts that differ.
type View struct {
	DriveTitle, DriveSubtitle, DriveState string
	HasDrive                              bool
	// DriveIcon is the drive row's icon: a lock for an encrypted drive.
	DriveIcon string
	// Encrypted offers Change Passphrase…; KeyRemembered offers Forget
	// Remembered Key; DriveUUID is the drive they act on.
	Encrypted, KeyRemembered        bool
	DriveUUID                       string
	Others                          []setup.DriveChoice
	Sources, Excludes               []string
	Intervals                       []Interval
	Interval                        int
	OnChange, OnPlug, SkipOnBattery bool
	Retention                       Retention
	Flatpak, FlatpakOffline         bool
	// Mounts are the rows of "Other Drives to Include"; MountsShown is
	// false for another computer's profile, whose mounts are its own.
	Mounts      []MountRow
	MountsShown bool
}

// MakeView computes the window's view of a profile.
func MakeView(prof client.Profile, drives []client.Drive) View {
	v := View{
		Sources:        append([]string{}, prof.Sources...),
		Excludes:       append([]string{}, prof.Excludes...),
		OnChange:       prof.OnChange,
		OnPlug:         prof.OnPlug,
		SkipOnBattery:  prof.SkipOnBattery,
		Flatpak:        prof.Flatpak,
		FlatpakOffline: prof.FlatpakOffline,
	}
	v.Mounts, v.MountsShown = MountRows(prof.IncludeMounts, prof.SkippedMounts), !computers.IsRemote(prof)
	v.Intervals, v.Interval = Intervals(prof.Interval)
	v.Retention, _ = ParseRetention(prof.Retention)
	v.DriveTitle, v.DriveSubtitle, v.DriveState, v.HasDrive = CurrentDrive(prof, drives)
	v.DriveIcon, v.DriveUUID = DriveIcon(false), prof.DriveUUID
	for _, d := range drives {
		if d.UUID == prof.DriveUUID && prof.DriveUUID != "" {
			v.Encrypted, v.KeyRemembered = d.Encrypted, d.Encrypted && d.KeyRemembered
			v.DriveIcon = DriveIcon(d.Encrypted)
		}
	}
	v.Others = []setup.DriveChoice{}
	for _, d := range drives {
		if d.UUID != prof.DriveUUID {
			v.Others = append(v.Others, OtherDrive(d))
		}
	}
	return v
}

// OtherDrive describes a drive the profile could use instead. Use This
// Drive offers encryption for a drive new to Keepsake; one whose
// filesystem cannot be encrypted (Btrfs, XFS) is enrolled as it is, so
// its row says so before it is chosen.
func OtherDrive(d client.Drive) setup.DriveChoice {
	c := setup.Choice(d)
	if c.Selectable() && !c.Enrolled && c.Encryptable == api.EncryptableFilesystem {
		c.Subtitle += "\n" + i18n.T(CannotEncrypt)
	}
	return c
}

// CannotEncrypt is what the row of such a drive adds (in English:
// OtherDrive translates it).
var CannotEncrypt = i18n.Noop("Backups on it cannot be encrypted: only an ext4 drive can hold encrypted backups.")

// CurrentDrive describes the profile's backup drive.
func CurrentDrive(prof client.Profile, drives []client.Drive) (title, subtitle, state string, ok bool) {
	if prof.DriveUUID == "" {
		return i18n.T("No Drive Chosen"), i18n.T("Choose one of the drives below to back up to."), "", false
	}
	var d client.Drive
	found := false
	for _, x := range drives {
		if x.UUID == prof.DriveUUID {
			d, found = x, true
		}
	}
	if !found {
		// TRANSLATORS: a drive without a label or a known size; %s is its UUID.
		return fmt.Sprintf(i18n.T("Drive %s"), prof.DriveUUID), i18n.T("Not connected. Plug it in to back up to it."), i18n.T("Not Connected"), true
	}
	var parts []string
	if d.Encrypted {
		parts = append(parts, i18n.T("Encrypted"))
	}
	if d.Size > 0 {
		parts = append(parts, humanize.Size(int64(d.Size)))
	}
	free := d.Free
	if free < 0 || !d.Present {
		free = prof.TargetFree
	}
	if free >= 0 {
		// TRANSLATORS: free space on a drive ("120 GB free"), among its details.
		s := fmt.Sprintf(i18n.T("%s free"), humanize.Size(free))
		if !d.Present {
			// TRANSLATORS: free space on a drive that is not connected.
			s = fmt.Sprintf(i18n.T("%s free when last seen"), humanize.Size(free))
		}
		parts = append(parts, s)
	}
	if d.Filesystem != "" {
		parts = append(parts, d.Filesystem)
	}
	subtitle = strings.Join(parts, " · ")
	if d.Warning != "" {
		subtitle = strings.TrimSpace(subtitle + "\n" + upperFirst(d.Warning))
	}
	state = i18n.T("Connected")
	switch {
	case !d.Present:
		state = i18n.T("Not Connected")
	case d.Encrypted && d.Locked:
		// TRANSLATORS: the state of an encrypted drive, beside Connected and Not Connected.
		state = i18n.T("Locked")
	}
	return setup.DriveName(d), subtitle, state, true
}

// DriveIcon is a drive row's icon: a lock for an encrypted drive.
func DriveIcon(encrypted bool) string {
	if encrypted {
		return "channel-secure-symbolic"
	}
	return "drive-harddisk-symbolic"
}

// MountRow is one row of "Other Drives to Include": a mount point inside
// the folders whose filesystem (a NAS share, a USB stick) the backups take
// too, with a remove button, or one the last backup left out, offered to
// add.
type MountRow struct {
	// Path is the mount point as the service has it.
	Path     string
	Included bool
	// Note is the row's subtitle: what happens to it.
	Note string
}

// MountRows lists the included mount points, then those the last backup
// left out that are not included.
func MountRows(include, skipped []string) []MountRow {
	wasSkipped := map[string]bool{}
	for _, m := range skipped {
		wasSkipped[m] = true
	}
	rows := []MountRow{}
	seen := map[string]bool{}
	for _, m := range include {
		note := i18n.T("Backed up with your folders")
		if wasSkipped[m] {
			note = i18n.T("Included from the next backup")
		}
		rows = append(rows, MountRow{Path: m, Included: true, Note: note})
		seen[m] = true
	}
	for _, m := range skipped {
		if !seen[m] {
			rows = append(rows, MountRow{Path: m, Note: i18n.T("Not backed up: only its empty folder is kept")})
			seen[m] = true
		}
	}
	return rows
}

// AddMount adds a mount point to the included ones (home is shown as ~ in
// the problem); problem is a sentence when it cannot be added. sources
// are the folders backed up, which must hold it: a mount point elsewhere
// is not backed up at all.
func AddMount(list, sources []string, path, home string) (out []string, problem string) {
	if path == "" || !filepath.IsAbs(path) {
		return list, i18n.T("Choose a folder on this computer.")
	}
	path = filepath.Clean(path)
	shown := humanize.Folder(path, home)
	for _, l := range list {
		if l == path {
			// TRANSLATORS: here and below, %s is a folder (~/Music/NAS).
			return list, fmt.Sprintf(i18n.T("%s is already included."), shown)
		}
	}
	inside := false
	for _, s := range sources {
		if s == path {
			return list, fmt.Sprintf(i18n.T("%s is a backed-up folder itself: everything in it is backed up already."), shown)
		}
		if s == "/" || strings.HasPrefix(path, strings.TrimSuffix(s, "/")+"/") {
			inside = true
		}
	}
	if !inside {
		return list, fmt.Sprintf(i18n.T("%s is not inside a folder that is backed up. Add it as a folder instead."), shown)
	}
	return append(append([]string{}, list...), path), ""
}

// RemoveMount removes a mount point from the included ones.
func RemoveMount(list []string, path string) []string {
	out := []string{}
	for _, l := range list {
		if l != path {
			out = append(out, l)
		}
	}
	return out
}

// MountSetting is the include-mounts setting for Configure.
func MountSetting(list []string) *[]api.Path {
	out := make([]api.Path, len(list))
	for i, m := range list {
		out[i] = api.Path(m)
	}
	return &out
}

// Configurer is the part of the service that changes a profile's settings
// (a *client.Client).
type Configurer interface {
	Profile(ctx context.Context, name string) (client.Profile, error)
	Configure(ctx context.Context, name string, settings api.Settings, opts api.Auth) error
}

// IncludeMount adds path to the profile's included mount points, from the
// list the service has now (read just before, so a change made meanwhile
// elsewhere is kept). problem is a sentence when it cannot be added (it
// was included meanwhile, or its folder is no longer backed up); nothing
// is changed then. It waits for the service: never call it on the main
// loop.
func IncludeMount(ctx context.Context, svc Configurer, name, path, home string) (problem string, err error) {
	prof, err := svc.Profile(ctx, name)
	if err != nil {
		return "", err
	}
	list, problem := AddMount(prof.IncludeMounts, prof.Sources, path, home)
	if problem != "" {
		return problem, nil
	}
	return "", svc.Configure(ctx, name, api.Settings{IncludeMounts: MountSetting(list)}, api.Auth{})
}

// ForgotText is the toast once the remembered key is deleted.
func ForgotText(drive string) string {
	// TRANSLATORS: %s is the drive's name.
	return fmt.Sprintf(i18n.T("This computer no longer remembers the key of “%s”: type its passphrase when Keepsake asks"), drive)
}

// upperFirst capitalizes a text's first letter, by rune: a translated
// word may start with a letter of several bytes.
func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 || r == utf8.RuneError {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}
