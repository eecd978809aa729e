package config

import (
	"fmt"

	"github.com/keepsake/keepsake/shared/kerr"
)

// MaxNameLen is the longest profile name.
const MaxNameLen = 64

// ValidName checks a profile name: 1 to 64 ASCII letters, digits, '-' or
// '_'. Names become D-Bus object path elements (escaped, see
// dbusapi.ProfilePath) and file names. A bad name is a kerr.InvalidArgs
// error.
func ValidName(name string) error {
	if err := checkName(name); err != nil {
		return kerr.New(kerr.InvalidArgs, "profile name %q: %v", name, err)
	}
	return nil
}

func checkName(name string) error {
	if name == "" || len(name) > MaxNameLen {
		return fmt.Errorf("must be 1 to %d characters long", MaxNameLen)
	}
	for _, r := range name {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_') {
			return fmt.Errorf("may only hold letters, digits, '-' and '_'")
		}
	}
	return nil
}

// Validate checks every field of p, as Parse checks them in a file. The
// first problem is a kerr.InvalidArgs error naming the profile and field:
// `profile "home": source: "home/alice" is not an absolute path`.
func (p Profile) Validate() error {
	if err := ValidName(p.Name); err != nil {
		return err
	}
	bad := func(field string, err error) error {
		return kerr.New(kerr.InvalidArgs, "profile %q: %s: %v", p.Name, field, err)
	}
	seen := map[string]bool{}
	for _, s := range p.Sources {
		if err := checkSource(s); err != nil {
			return bad("source", err)
		}
		if seen[s] {
			return bad("source", fmt.Errorf("%q is listed twice", s))
		}
		seen[s] = true
	}
	for _, e := range p.Excludes {
		if err := checkExclude(e); err != nil {
			return bad("exclude", err)
		}
	}
	for i, m := range p.IncludeMounts {
		if err := checkIncludeMount(m, p.IncludeMounts[:i]); err != nil {
			return bad("include-mount", err)
		}
	}
	if err := checkDrive(p.Drive); err != nil {
		return bad("drive", err)
	}
	if err := checkInterval(p.Interval); err != nil {
		return bad("interval", err)
	}
	if err := checkQuiet(p.Quiet); err != nil {
		return bad("quiet", err)
	}
	if _, err := parseRetention(p.Retention); err != nil {
		return bad("retention", err)
	}
	if err := checkMinFree(p.MinFree); err != nil {
		return bad("min-free", err)
	}
	if err := checkHost(p.Host); err != nil {
		return bad("host", err)
	}
	_, remote, err := p.Remote()
	if err != nil {
		return bad("source", err)
	}
	if p.Host != "" && !remote {
		return bad("host", fmt.Errorf("names another computer on the drive; this profile backs up folders here"))
	}
	if p.OverdueDays < 0 {
		return bad("overdue-days", fmt.Errorf("%d is negative (0 never warns)", p.OverdueDays))
	}
	if _, err := parseRestoreTo(p.RestoreTo); err != nil {
		return bad("restore-to", err)
	}
	if p.RestoreTo != "" && !remote {
		return bad("restore-to", fmt.Errorf("is for another computer's profile; this profile backs up folders here"))
	}
	return nil
}

// Validate checks the global settings and every profile, and that profile
// names are unique; Save refuses a Config that fails it, so the service
// never writes a file it cannot read back.
func (c *Config) Validate() error {
	if c.MissingDriveDays < 0 {
		return kerr.New(kerr.InvalidArgs, "missing-drive-days: %d is negative", c.MissingDriveDays)
	}
	for _, r := range c.OnFailure {
		if r == 0 {
			return kerr.New(kerr.InvalidArgs, "on-failure: the command contains a NUL byte")
		}
	}
	seen, hosts := map[string]bool{}, map[string]string{}
	for _, p := range c.Profiles {
		if err := p.Validate(); err != nil {
			return err
		}
		if seen[p.Name] {
			return kerr.New(kerr.InvalidArgs, "profile %q: the name is used twice", p.Name)
		}
		seen[p.Name] = true
		// Two profiles writing one computer's folder on one drive would
		// mix two computers' snapshots.
		if h := p.HostName(); h != "" {
			key := p.Drive + "\x00" + h
			if other, dup := hosts[key]; dup {
				return kerr.New(kerr.InvalidArgs, "profile %q: host %q: profile %q already backs up a computer by that name to this drive (set host = another name)", p.Name, h, other)
			}
			hosts[key] = p.Name
		}
	}
	return nil
}
