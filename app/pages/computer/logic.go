package computer

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/app/computers"
	"github.com/keepsake/keepsake/app/humanize"
	"github.com/keepsake/keepsake/app/live"
	"github.com/keepsake/keepsake/app/pages/setup"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/dbusapi"
	"github.com/keepsake/keepsake/shared/grammar"
	"github.com/keepsake/keepsake/shared/i18n"
	"github.com/keepsake/keepsake/shared/kerr"
)

// This file holds the decisions of adding a computer and checking its
// key, apart from GTK so that go test checks them without a display.

// Schedule is how often the other computer is backed up.
type Schedule int

const (
	Hourly Schedule = iota
	Daily
	Weekly
)

// Seconds is the profile's interval.
func (s Schedule) Seconds() uint64 {
	switch s {
	case Daily:
		return 24 * 3600
	case Weekly:
		return 7 * 24 * 3600
	}
	return 3600
}

// OverdueDays is when a computer not backed up is worth a warning: a
// laptop away for a long weekend is not, one missing two weekly backups is.
func (s Schedule) OverdueDays() uint32 {
	if s == Weekly {
		return 15
	}
	return 4
}

func (s Schedule) String() string {
	switch s {
	case Daily:
		return "Every day"
	case Weekly:
		return "Every week"
	}
	return "Every hour"
}

// ExampleAddress is what the address field shows before anything is typed.
const ExampleAddress = "ann@laptop.local"

// ParseAddress reads the other computer's address as a person types it:
// user@computer, with :port when ssh listens on another port. An ssh://
// in front is accepted. The error says what to write instead.
func ParseAddress(text string) (grammar.Remote, error) {
	s := strings.TrimSpace(text)
	if grammar.IsRemote(s) {
		s = s[len("ssh://"):]
	}
	s = strings.TrimSuffix(s, "/")
	bad := func(msg string) (grammar.Remote, error) { return grammar.Remote{}, errors.New(msg) }
	switch {
	case s == "":
		// TRANSLATORS: %s is an example address, "ann@laptop.local".
		return bad(fmt.Sprintf(i18n.T("Type the other computer’s address, like %s."), ExampleAddress))
	case strings.ContainsAny(s, " \t"):
		// TRANSLATORS: %s is an example address, "ann@laptop.local".
		return bad(fmt.Sprintf(i18n.T("An address has no spaces. Write it like %s."), ExampleAddress))
	case strings.Contains(s, "/"):
		// TRANSLATORS: %s is an example address, "ann@laptop.local".
		return bad(fmt.Sprintf(i18n.T("Write only the user and the computer here, like %s; the folders go below."), ExampleAddress))
	case !strings.Contains(s, "@"):
		// TRANSLATORS: %s is the computer's name as typed: "ann@%s" is an
		// example address with a user name, ann.
		return bad(fmt.Sprintf(i18n.T("Write the user to log in as too, like ann@%s: Keepsake logs in as that user."), s))
	case strings.HasPrefix(s, "@"):
		return bad(i18n.T("The user name is missing before “@”."))
	case strings.HasSuffix(s, "@"):
		return bad(i18n.T("The computer’s name is missing after “@”."))
	}
	r, err := grammar.ParseRemote("ssh://" + s + "/")
	if err != nil {
		return bad(reason(err))
	}
	r.Paths = nil
	return r, nil
}

// reason is grammar's explanation without the repeated address.
func reason(err error) string {
	msg := err.Error()
	var ke *kerr.Error
	if errors.As(err, &ke) {
		msg = ke.Message
	}
	if i := strings.Index(msg, "\": "); i >= 0 && strings.HasPrefix(msg, "remote source") {
		msg = msg[i+3:]
	}
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return i18n.T("This is not an address Keepsake can use.")
	}
	// TRANSLATORS: %s is why, in English ("port out of range").
	return fmt.Sprintf(i18n.T("This is not an address Keepsake can use: %s."), msg)
}

// DefaultFolders is what the folders field starts with: every user's home.
const DefaultFolders = "/home"

// ParseFolders reads the folders on the other computer: absolute paths
// separated by commas, each kept once, in order.
func ParseFolders(text string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, f := range strings.Split(text, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.HasPrefix(f, "/") {
			// TRANSLATORS: %s is a folder as typed.
			return nil, fmt.Errorf(i18n.T("Folders on the other computer start with “/”, like /home, not “%s”."), f)
		}
		r, err := grammar.ParseRemote("ssh://h/" + encodeFolder(f))
		if err != nil || len(r.Paths) != 1 {
			// TRANSLATORS: %s is a folder as typed.
			return nil, fmt.Errorf(i18n.T("“%s” cannot be backed up: a folder’s path may not contain “..”."), f)
		}
		p := r.Paths[0]
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, errors.New(i18n.T("Name at least one folder on the other computer, like /home."))
	}
	return out, nil
}

// encodeFolder writes a folder the way an ssh:// source carries it
// (without the leading slash, which the caller adds).
func encodeFolder(f string) string {
	s := grammar.Remote{Host: "h", Paths: []string{f}}.String()
	return strings.TrimPrefix(s, "ssh://h/")
}

// Sources are the profile's sources: one ssh:// address per folder.
func Sources(r grammar.Remote, folders []string) []string {
	out := make([]string, 0, len(folders))
	for _, f := range folders {
		one := r
		one.Paths = []string{f}
		out = append(out, one.String())
	}
	return out
}

// CheckName checks the computer's name, which is also its folder on the
// backup drive ("" takes the address's name).
func CheckName(name string) error {
	switch {
	case name == "":
		return nil
	case name == "." || name == ".." || strings.HasPrefix(name, "."):
		return errors.New(i18n.T("A name cannot start with a dot."))
	case strings.ContainsAny(name, "/\\\x00"):
		return errors.New(i18n.T("A name cannot contain “/” or “\\”."))
	case len(name) > 64:
		return errors.New(i18n.T("A name is at most 64 characters long."))
	}
	return nil
}

// Choices is everything the person entered.
type Choices struct {
	Remote  grammar.Remote
	Folders []string
	// Name is the computer's name on the drive ("" = the address's).
	Name     string
	Schedule Schedule
	// Drive is the backup drive; UUID "" when there is none to use.
	Drive setup.DriveChoice
	// Viewer is the person adding the computer, who may then browse its
	// files without an administrator's password (0 = nobody extra).
	Viewer uint32
}

// HostName is the computer's name on the drive.
func (c Choices) HostName() string {
	if c.Name != "" {
		return c.Name
	}
	return c.Remote.DefaultName()
}

// Settings are the new profile's settings. The drive is in them when it
// holds backups already; a new drive is prepared (enrolled) after.
func Settings(c Choices) api.Settings {
	srcs := Sources(c.Remote, c.Folders)
	sources := make([]api.Path, len(srcs))
	for i, s := range srcs {
		sources[i] = api.Path(s)
	}
	host := c.HostName()
	interval, overdue := c.Schedule.Seconds(), c.Schedule.OverdueDays()
	onChange, onPlug := false, true // nothing watches another computer's files
	s := api.Settings{
		Sources:     &sources,
		Interval:    &interval,
		OnChange:    &onChange,
		OnPlug:      &onPlug,
		Host:        &host,
		OverdueDays: &overdue,
	}
	if c.Viewer != 0 {
		s.Viewers = &[]uint32{c.Viewer}
	}
	if c.Drive.UUID != "" && c.Drive.Enrolled {
		drive := c.Drive.UUID
		s.Drive = &drive
	}
	return s
}

// ProfileName is the new profile's name, from the computer's name.
func ProfileName(c Choices, taken []string) string {
	return setup.ProfileName(c.HostName(), taken)
}

// DriveFor is the drive a new computer is backed up to: the one the
// person's own profile uses, else the one any profile uses. ok is false
// when no profile has a drive: the person chooses one.
func DriveFor(st live.State, own string) (setup.DriveChoice, bool) {
	pick := func(p client.Profile) (setup.DriveChoice, bool) {
		if p.DriveUUID == "" {
			return setup.DriveChoice{}, false
		}
		for _, d := range st.Drives {
			if d.UUID == p.DriveUUID {
				c := setup.Choice(d)
				// The profile uses it, so it holds backups whatever its
				// state now.
				c.Enrolled, c.Reason = true, ""
				return c, true
			}
		}
		// TRANSLATORS: a drive not connected; %s is its UUID.
		return setup.DriveChoice{UUID: p.DriveUUID, Title: fmt.Sprintf(i18n.T("Drive %s"), p.DriveUUID), Enrolled: true}, true
	}
	if p, ok := st.Profile(own); ok {
		if c, ok := pick(p); ok {
			return c, true
		}
	}
	for _, p := range st.Profiles {
		if c, ok := pick(p); ok {
			return c, true
		}
	}
	return setup.DriveChoice{}, false
}

// Service is the part of the client adding a computer calls.
type Service interface {
	RemoteKey(ctx context.Context, opts api.RemoteKeyOptions) (string, error)
	CreateProfile(ctx context.Context, name string, settings api.Settings, opts api.Auth) (dbus.ObjectPath, error)
	Configure(ctx context.Context, profile string, settings api.Settings, opts api.Auth) error
	Enroll(ctx context.Context, uuid string, opts client.EnrollOptions) error
	ScanHostKeys(ctx context.Context, profile string, opts api.Auth) ([]api.HostKey, string, error)
	AcceptHostKey(ctx context.Context, profile, fingerprint string, opts api.Auth) error
	BackupNow(ctx context.Context, profile string, opts api.BackupOptions) (dbus.ObjectPath, error)
}

var _ Service = (*client.Client)(nil)

// Progress is what earlier attempts already did, so that checking
// again, or going back to fix the address, continues instead of failing
// on a profile that exists.
type Progress struct {
	// Name is the profile once created ("" = not yet).
	Name string
	// Saved are the settings it was last given.
	Saved api.Settings
	// Drive is the drive it was given (by its settings or by enrolling).
	Drive string
	// Accepted: its host key is accepted.
	Accepted bool
	// Started is its first backup's job.
	Started dbus.ObjectPath
}

// Stage is where saving the computer failed.
type Stage int

const (
	StageNone Stage = iota
	StageCreate
	StageUpdate
	StageDrive
	StageScan
	StageAccept
	StageBackup
)

// Save creates the profile, or updates the one an earlier attempt made,
// and prepares its drive when it is new. It returns what was done and,
// on failure, where.
func Save(ctx context.Context, svc Service, name string, c Choices, prog Progress) (Progress, Stage, error) {
	settings := Settings(c)
	switch {
	case prog.Name == "":
		if _, err := svc.CreateProfile(ctx, name, settings, api.Auth{}); err != nil {
			return prog, StageCreate, fmt.Errorf("create profile %s: %w", name, err)
		}
		prog.Name, prog.Saved = name, settings
		if settings.Drive != nil {
			prog.Drive = *settings.Drive
		}
	case !reflect.DeepEqual(prog.Saved, settings):
		if err := svc.Configure(ctx, prog.Name, settings, api.Auth{}); err != nil {
			return prog, StageUpdate, fmt.Errorf("configure profile %s: %w", prog.Name, err)
		}
		prog.Saved = settings
		if settings.Drive != nil {
			prog.Drive = *settings.Drive
		}
	}
	if c.Drive.UUID != "" && prog.Drive != c.Drive.UUID {
		if err := svc.Enroll(ctx, c.Drive.UUID, client.EnrollOptions{Profile: prog.Name}); err != nil {
			return prog, StageDrive, fmt.Errorf("enroll drive %s: %w", c.Drive.UUID, err)
		}
		prog.Drive = c.Drive.UUID
	}
	return prog, StageNone, nil
}

// StartBackup starts the first backup; a backup the scheduler started
// first (the computer answered and its key was just accepted) is as good.
func StartBackup(ctx context.Context, svc Service, name string) (dbus.ObjectPath, error) {
	job, err := svc.BackupNow(ctx, name, api.BackupOptions{})
	if kerr.Is(dbusapi.FromDBus(err), kerr.Busy) {
		return "/", nil
	}
	if err != nil {
		return "", fmt.Errorf("start first backup of %s: %w", name, err)
	}
	return job, nil
}

// Failure says what went wrong and what is saved already.
func Failure(stage Stage, err error) string {
	why := humanize.Error(err)
	switch stage {
	case StageCreate:
		// TRANSLATORS: %s is what went wrong, a sentence or two.
		return fmt.Sprintf(i18n.T("Nothing was saved yet. %s"), why)
	case StageUpdate:
		return fmt.Sprintf(i18n.T("The computer is saved as it was before, but not these changes. %s"), why)
	case StageDrive:
		return fmt.Sprintf(i18n.T("The computer is saved, but the backup drive is not ready for it yet. %s"), why)
	case StageScan:
		return fmt.Sprintf(i18n.T("The computer is saved, but Keepsake could not ask it who it is. %s"), why)
	case StageAccept:
		return fmt.Sprintf(i18n.T("The key is not accepted. %s"), why)
	case StageBackup:
		return fmt.Sprintf(i18n.T("The computer is set up, but its first backup could not start. %s"), why)
	}
	return why
}

// KeyRow is one host key as the check lists it.
type KeyRow struct {
	Title, Fingerprint string
}

// KeyModel is what the key check shows after asking the computer.
type KeyModel struct {
	Rows []KeyRow
	// Fingerprint is the key to accept: the first, the strongest (the
	// service lists Ed25519 first).
	Fingerprint string
	Headline    string
	// Instruction says where to compare, Command what to run there,
	// Caution what a mismatch means.
	Instruction, Command, Caution string
	// Warning is said when the key changed.
	Warning string
	// CanAccept: there is a key to accept and accepting changes something.
	CanAccept bool
	// Accept is the accept button's label.
	Accept string
}

// KeyTitle names a key type for people.
func KeyTitle(typ string) string {
	switch {
	case typ == "ssh-ed25519":
		return i18n.T("Ed25519 key")
	case strings.HasPrefix(typ, "ecdsa-"):
		return i18n.T("ECDSA key")
	case typ == "ssh-rsa":
		return i18n.T("RSA key")
	}
	// TRANSLATORS: %s is an ssh key type ("ssh-dss").
	return fmt.Sprintf(i18n.T("%s key"), typ)
}

// KeyFile is where the computer keeps its public host key of that type.
func KeyFile(typ string) string {
	short := "ed25519"
	switch {
	case strings.HasPrefix(typ, "ecdsa-"):
		short = "ecdsa"
	case typ == "ssh-rsa":
		short = "rsa"
	case strings.HasPrefix(typ, "ssh-") && typ != "ssh-ed25519":
		short = strings.TrimPrefix(typ, "ssh-")
	}
	return "/etc/ssh/ssh_host_" + short + "_key.pub"
}

// KeyView describes the keys a computer offered (ScanHostKeys), with
// what to compare them with on the computer itself.
func KeyView(keys []api.HostKey, state, computer string) KeyModel {
	m := KeyModel{Accept: i18n.T("_Accept")}
	for _, k := range keys {
		m.Rows = append(m.Rows, KeyRow{Title: KeyTitle(k.Type), Fingerprint: k.Fingerprint})
	}
	if len(keys) == 0 {
		m.Headline = i18n.T("The Computer Offered No Key")
		// TRANSLATORS: %s is the other computer's name.
		m.Instruction = fmt.Sprintf(i18n.T("Check that the ssh server runs on %s, then check again."), computer)
		return m
	}
	first := keys[0]
	m.Fingerprint = first.Fingerprint
	// TRANSLATORS: %s is the other computer's name; a command follows.
	m.Instruction = fmt.Sprintf(i18n.T("On %s, open a terminal and run:"), computer)
	m.Command = "ssh-keygen -lf " + KeyFile(first.Type)
	m.Caution = i18n.T("It must show the same fingerprint as the first key here. If it shows another one, do not accept: another machine may be answering in its place.")
	switch state {
	case computers.KeyAccepted:
		m.Headline = i18n.T("Keepsake Knows This Computer")
		m.Instruction, m.Command, m.Caution = i18n.T("Its key was checked and accepted before."), "", ""
	case computers.KeyChanged:
		m.Headline = i18n.T("Its Key Has Changed")
		// TRANSLATORS: %s is the other computer's name.
		m.Warning = fmt.Sprintf(i18n.T("%s now shows another key than the one accepted before. That happens when it was reinstalled, or when another machine poses as it. Accept the new key only if the fingerprints match and you know why it changed."), computer)
		m.CanAccept, m.Accept = true, i18n.T("_Accept New Key")
	default:
		m.Headline = i18n.T("Compare the Fingerprint")
		m.CanAccept = true
	}
	return m
}
