package setup

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/app/humanize"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/dbusapi"
	"github.com/keepsake/keepsake/shared/i18n"
	"github.com/keepsake/keepsake/shared/kerr"
)

// This file holds the setup's decisions, apart from GTK so that go test
// checks them without a display.

// Schedule is how often backups run by themselves.
type Schedule int

const (
	Hourly Schedule = iota
	Daily
	Manual
)

// Seconds is the profile's interval setting (0 = only when asked).
func (s Schedule) Seconds() uint64 {
	switch s {
	case Hourly:
		return 3600
	case Daily:
		return 24 * 3600
	}
	return 0
}

func (s Schedule) String() string {
	switch s {
	case Hourly:
		return i18n.T("Every hour")
	case Daily:
		return i18n.T("Every day")
	}
	return i18n.T("Only when you ask")
}

// DriveChoice is a drive as the drive step lists it.
type DriveChoice struct {
	UUID     string
	Title    string
	Subtitle string
	// Reason is why it cannot be chosen ("" when it can).
	Reason   string
	Enrolled bool
	Present  bool
	// Erase is the device "Erase and use for backups…" starts from (""
	// when the row does not offer it: see EraseDevice).
	Erase string
	// Encrypted: it holds encrypted backups already. Encryptable is the
	// service's word on making encrypted backups on it ("" = it can).
	Encrypted   bool
	Encryptable string
	// Device is the drive's block device (the encryption's Erase… starts
	// from it).
	Device string
}

// Selectable reports whether the drive can be chosen.
func (d DriveChoice) Selectable() bool { return d.Reason == "" }

// DriveName is how a drive is called: its label, else its size.
func DriveName(d client.Drive) string {
	if d.Label != "" {
		return d.Label
	}
	if d.Size > 0 {
		// TRANSLATORS: a drive without a label, called by its size ("2.0 TB Drive").
		return fmt.Sprintf(i18n.T("%s Drive"), humanize.Size(int64(d.Size)))
	}
	// TRANSLATORS: a drive without a label or a known size; %s is its UUID.
	return fmt.Sprintf(i18n.T("Drive %s"), d.UUID)
}

// NotConnected is the reason a drive never set up cannot be chosen while
// it is unplugged: writing the repository needs the drive (in English:
// Choice translates it).
var NotConnected = i18n.Noop("Not connected. Plug it in to set it up.")

// Choice describes one drive for a person and decides whether it can hold
// the backups.
func Choice(d client.Drive) DriveChoice {
	c := DriveChoice{UUID: d.UUID, Title: DriveName(d), Enrolled: d.Enrolled, Present: d.Present, Erase: EraseDevice(d),
		Encrypted: d.Encrypted, Encryptable: d.Encryptable, Device: d.Device}
	switch {
	case d.Unusable != "":
		c.Reason = upperFirst(d.Unusable)
	case !d.Present && !d.Enrolled:
		c.Reason = i18n.T(NotConnected)
	}
	if c.Reason != "" {
		c.Subtitle = c.Reason
		return c
	}
	var parts []string
	switch {
	case d.Enrolled && d.Encrypted:
		parts = append(parts, i18n.T("Holds encrypted Keepsake backups"))
	case d.Enrolled:
		parts = append(parts, i18n.T("Holds Keepsake backups"))
	}
	if d.Size > 0 {
		parts = append(parts, humanize.Size(int64(d.Size)))
	}
	if d.Free >= 0 && d.Present {
		// TRANSLATORS: free space on a drive ("120 GB free"), among its details.
		parts = append(parts, fmt.Sprintf(i18n.T("%s free"), humanize.Size(d.Free)))
	}
	if d.Filesystem != "" {
		parts = append(parts, d.Filesystem)
	}
	if !d.Present {
		// TRANSLATORS: last of a drive's details ("2.0 TB · ext4 · not connected").
		parts = append(parts, i18n.T("not connected"))
	}
	c.Subtitle = upperFirst(strings.Join(parts, " · "))
	if d.Warning != "" {
		c.Subtitle += "\n" + upperFirst(d.Warning)
	}
	return c
}

// DriveChoices lists the drives in the service's order.
func DriveChoices(drives []client.Drive) []DriveChoice {
	out := make([]DriveChoice, 0, len(drives))
	for _, d := range drives {
		out = append(out, Choice(d))
	}
	return out
}

// PickDrive keeps the current choice while it stays selectable; without
// one, a lone selectable drive is chosen for the user, since asking to
// pick from one is a wasted click.
func PickDrive(choices []DriveChoice, current string) string {
	var only []string
	for _, c := range choices {
		if !c.Selectable() {
			continue
		}
		if c.UUID == current {
			return current
		}
		only = append(only, c.UUID)
	}
	if len(only) == 1 {
		return only[0]
	}
	return ""
}

// maxName is the service's limit on profile names.
const maxName = 64

// ProfileName derives a profile name from the login name: the service
// takes [A-Za-z0-9_-]; anything else becomes '-'. A name already taken
// gets a number, so a second user of the machine is not refused.
func ProfileName(login string, taken []string) string {
	var b strings.Builder
	for _, r := range login {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	name := strings.Trim(b.String(), "-")
	for strings.Contains(name, "--") {
		name = strings.ReplaceAll(name, "--", "-")
	}
	if name == "" {
		name = "home"
	}
	if len(name) > maxName-4 {
		name = name[:maxName-4]
	}
	used := map[string]bool{}
	for _, t := range taken {
		used[t] = true
	}
	base := name
	for i := 2; used[name]; i++ {
		name = fmt.Sprintf("%s-%d", base, i)
	}
	return name
}

// inside reports whether path is dir or below it.
func inside(path, dir string) bool {
	if dir == "/" {
		return true
	}
	return path == dir || strings.HasPrefix(path, dir+"/")
}

// AddFolder adds a folder to the list. A folder inside one already listed
// is covered by it and not added; folders inside the new one are replaced
// by it. note tells the user when the list did not change as they asked.
func AddFolder(folders []string, path string) (out []string, note string) {
	if !filepath.IsAbs(path) {
		return folders, i18n.T("Only folders on this computer can be backed up.")
	}
	path = filepath.Clean(path)
	// The document portal hands sandboxed apps stand-in paths that the
	// service, outside the sandbox, cannot read.
	if strings.HasPrefix(path, "/run/user/") && strings.Contains(path, "/doc/") {
		return folders, i18n.T("Keepsake cannot back up a folder shared through the file chooser’s portal. Allow Keepsake to see your files, then add it again.")
	}
	for _, f := range folders {
		if inside(path, f) {
			if path == f {
				// TRANSLATORS: %s is a folder's name.
				return folders, fmt.Sprintf(i18n.T("%s is already backed up."), FolderTitle(path, ""))
			}
			// TRANSLATORS: %[1]s is a folder's name, %[2]s the full path of a folder holding it.
			return folders, fmt.Sprintf(i18n.T("%[1]s is already backed up as part of %[2]s."), FolderTitle(path, ""), f)
		}
	}
	for _, f := range folders {
		if !inside(f, path) {
			out = append(out, f)
		}
	}
	return append(out, path), ""
}

// RemoveFolder removes one folder from the list.
func RemoveFolder(folders []string, path string) []string {
	var out []string
	for _, f := range folders {
		if f != path {
			out = append(out, f)
		}
	}
	return out
}

// FolderTitle is a folder's row title: the home folder by that name, any
// other by its base name (the full path is the subtitle).
func FolderTitle(path, home string) string {
	if path == home {
		return i18n.T("Home Folder")
	}
	if path == "/" {
		return i18n.T("Whole Computer")
	}
	return filepath.Base(path)
}

// OfferSkip reports whether skipping dir (the Downloads folder) is worth
// offering: only when it is a real folder of its own inside a folder that
// is backed up.
func OfferSkip(dir, home string, folders []string) bool {
	if dir == "" || dir == home || dir == "/" || !filepath.IsAbs(dir) {
		return false
	}
	for _, f := range folders {
		if inside(dir, f) && dir != f {
			return true
		}
	}
	return false
}

// FolderPattern is the exclusion pattern that skips exactly one folder:
// anchored at the root, directories only, with the pattern characters of
// the path escaped.
func FolderPattern(dir string) string {
	var b strings.Builder
	for _, r := range filepath.Clean(dir) {
		if strings.ContainsRune(`\*?[]!#`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String() + "/"
}

// Choices is everything the user picked.
type Choices struct {
	Drive DriveChoice
	// Encryption is the encryption asked for a drive that is set up now,
	// or for one that holds unencrypted backups, which are then set aside
	// (see OfferSetAside); a drive that holds encrypted backups keeps
	// what it is.
	Encryption Encryption
	Folders    []string
	// Skip lists folders not to back up (the Downloads switch).
	Skip     []string
	Schedule Schedule
	OnChange bool
	OnPlug   bool
}

// Settings are the profile's settings (Profile.Configure keys) for the
// choices. The drive is left out on purpose: a profile created without
// one, of folders in the caller's home, only needs the user's own right
// and belongs to them; the drive follows with Enroll, which needs an
// administrator anyway.
func Settings(c Choices) api.Settings {
	sources := make([]api.Path, len(c.Folders))
	for i, f := range c.Folders {
		sources[i] = api.Path(f)
	}
	excludes := []string{}
	for _, s := range c.Skip {
		excludes = append(excludes, FolderPattern(s))
	}
	interval, onChange, onPlug := c.Schedule.Seconds(), c.OnChange, c.OnPlug
	return api.Settings{
		Sources:  &sources,
		Excludes: &excludes,
		Interval: &interval,
		OnChange: &onChange,
		OnPlug:   &onPlug,
	}
}

// Step is one call the setup makes.
type Step int

const (
	// StepCreate creates the profile.
	StepCreate Step = iota + 1
	// StepUpdate saves changed choices into the profile an earlier,
	// failed attempt created.
	StepUpdate
	// StepEnroll writes the repository to the drive and makes it the
	// profile's drive.
	StepEnroll
	// StepSetDrive makes a drive that already holds backups the profile's.
	StepSetDrive
	// StepBackup starts the first backup.
	StepBackup
	// StepEnrollEncrypted writes an encrypted repository to the drive,
	// makes it the profile's drive and gets its recovery key.
	StepEnrollEncrypted
)

// Doing is what the page says while a step runs.
func (s Step) Doing() string {
	switch s {
	case StepCreate, StepUpdate:
		return i18n.T("Saving your choices…")
	case StepEnroll:
		return i18n.T("Preparing the drive for backups…")
	case StepEnrollEncrypted:
		return i18n.T("Preparing the drive for encrypted backups…")
	case StepSetDrive:
		return i18n.T("Choosing the drive…")
	case StepBackup:
		return i18n.T("Starting the first backup…")
	}
	return ""
}

// Progress is what earlier attempts of the setup already did, so that a
// retry after a failure continues instead of failing on a profile that
// exists.
type Progress struct {
	// Name is the profile's name once created ("" = not yet).
	Name string
	// Saved are the settings the profile was last given.
	Saved api.Settings
	// Drive is the UUID the profile was given as its drive.
	Drive string
	// Started is the first backup's job.
	Started dbus.ObjectPath
	// RecoveryKey is the encrypted drive's recovery key, which the
	// service gives once: the setup shows it before it ends.
	RecoveryKey string
}

// Plan lists the calls still to make for the choices.
func Plan(c Choices, prog Progress) []Step {
	var steps []Step
	switch {
	case prog.Name == "":
		steps = append(steps, StepCreate)
	case !reflect.DeepEqual(prog.Saved, Settings(c)): // the values, not the pointers
		steps = append(steps, StepUpdate)
	}
	if prog.Drive != c.Drive.UUID {
		switch {
		case c.SetAside():
			steps = append(steps, StepEnrollEncrypted)
		case c.Drive.Enrolled:
			steps = append(steps, StepSetDrive)
		case c.Encryption.On:
			steps = append(steps, StepEnrollEncrypted)
		default:
			steps = append(steps, StepEnroll)
		}
	}
	// An absent drive that holds backups can be chosen; its first backup
	// starts when it is plugged in, so starting one now would only fail.
	if prog.Started == "" && c.Drive.Present {
		steps = append(steps, StepBackup)
	}
	return steps
}

// Service is the part of the client the setup calls.
type Service interface {
	CreateProfile(ctx context.Context, name string, settings api.Settings, opts api.Auth) (dbus.ObjectPath, error)
	Configure(ctx context.Context, profile string, settings api.Settings, opts api.Auth) error
	Enroll(ctx context.Context, uuid string, opts client.EnrollOptions) error
	EnrollEncrypted(ctx context.Context, uuid string, opts api.EnrollEncryptedOptions) (string, error)
	BackupNow(ctx context.Context, profile string, opts api.BackupOptions) (dbus.ObjectPath, error)
}

// Run makes the calls of the plan in order, reporting each step before it
// starts. It returns what was done and, on failure, the step that failed.
// No options carry auth.no_user_interaction: polkit asks for an
// administrator's password by itself where one is needed.
func Run(ctx context.Context, svc Service, name string, c Choices, prog Progress, doing func(Step)) (Progress, Step, error) {
	settings := Settings(c)
	for _, step := range Plan(c, prog) {
		if doing != nil {
			doing(step)
		}
		var err error
		switch step {
		case StepCreate:
			if _, err = svc.CreateProfile(ctx, name, settings, api.Auth{}); err == nil {
				prog.Name, prog.Saved = name, settings
			}
			err = wrap(err, "create profile %s", name)
		case StepUpdate:
			if err = svc.Configure(ctx, prog.Name, settings, api.Auth{}); err == nil {
				prog.Saved = settings
			}
			err = wrap(err, "configure profile %s", prog.Name)
		case StepEnroll:
			opts := client.EnrollOptions{Profile: prog.Name}
			if err = svc.Enroll(ctx, c.Drive.UUID, opts); err == nil {
				prog.Drive = c.Drive.UUID
			}
			err = wrap(err, "enroll drive %s", c.Drive.UUID)
		case StepEnrollEncrypted:
			var key string
			key, err = svc.EnrollEncrypted(ctx, c.Drive.UUID, EncryptOptions(c, prog.Name))
			if err == nil {
				prog.Drive, prog.RecoveryKey = c.Drive.UUID, key
			}
			err = wrap(err, "enroll drive %s encrypted", c.Drive.UUID)
		case StepSetDrive:
			drive := c.Drive.UUID
			if err = svc.Configure(ctx, prog.Name, api.Settings{Drive: &drive}, api.Auth{}); err == nil {
				prog.Drive = c.Drive.UUID
			}
			err = wrap(err, "set drive %s", c.Drive.UUID)
		case StepBackup:
			var job dbus.ObjectPath
			job, err = svc.BackupNow(ctx, prog.Name, api.BackupOptions{})
			if kerr.Is(dbusapi.FromDBus(err), kerr.Busy) {
				// The scheduler saw a profile never backed up and got there
				// first: the first backup runs, which is all we wanted.
				job, err = dbus.ObjectPath("/"), nil
			}
			if err == nil {
				prog.Started = job
			}
			err = wrap(err, "start first backup of %s", prog.Name)
		}
		if err != nil {
			return prog, step, err
		}
	}
	return prog, 0, nil
}

func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// Failure says what went wrong at a step and what is already saved, so a
// half-done setup is never silent.
func Failure(step Step, prog Progress, err error) string {
	why := humanize.Error(err)
	switch step {
	case StepCreate:
		// TRANSLATORS: here and in the three sentences below, %s is what
		// went wrong, one or more sentences of their own.
		return fmt.Sprintf(i18n.T("Nothing was saved yet. %s"), why)
	case StepUpdate:
		return fmt.Sprintf(i18n.T("Your earlier choices are saved, but these changes are not. %s"), why)
	case StepEnroll, StepEnrollEncrypted, StepSetDrive:
		return fmt.Sprintf(i18n.T("Your folders and schedule are saved, but the drive is not set up for backups yet. %s Try again, or go back and choose another drive."), why)
	case StepBackup:
		return fmt.Sprintf(i18n.T("Backups are set up, but the first backup could not start. %s"), why)
	}
	return why
}

// Finished is the message once the setup is done.
func Finished(c Choices, prog Progress) string {
	if prog.Started != "" {
		return i18n.T("Your first backup has started.")
	}
	// TRANSLATORS: %s is the drive's name.
	return fmt.Sprintf(i18n.T("Backups are set up. They start when you plug in %s."), c.Drive.Title)
}

// Summary describes the folders for the last step.
func Summary(folders []string, home string) string {
	names := make([]string, len(folders))
	for i, f := range folders {
		names[i] = FolderTitle(f, home)
	}
	switch len(names) {
	case 0:
		// TRANSLATORS: no folders chosen, in the setup's summary.
		return i18n.T("None")
	case 1, 2, 3:
		return strings.Join(names, ", ")
	}
	more := len(names) - 2
	// TRANSLATORS: %[1]s is two folder names, %[2]d how many more are chosen (at least 2).
	return fmt.Sprintf(i18n.N("%[1]s and %[2]d more", "%[1]s and %[2]d more", more), strings.Join(names[:2], ", "), more)
}

// ScheduleSummary describes the schedule for the last step.
func ScheduleSummary(c Choices) string {
	s := c.Schedule.String()
	if c.OnChange {
		// TRANSLATORS: %s is how often backups run ("Every hour"), in the
		// setup's summary; "when the drive is plugged in" may follow.
		s = fmt.Sprintf(i18n.T("%s, after changes"), s)
	}
	if c.OnPlug {
		// TRANSLATORS: %s is how often backups run, maybe with ", after changes".
		s = fmt.Sprintf(i18n.T("%s, when the drive is plugged in"), s)
	}
	return s
}

func upperFirst(s string) string {
	// By rune: a translated word may start with a letter of several bytes.
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 || r == utf8.RuneError {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}
