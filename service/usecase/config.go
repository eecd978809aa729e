package usecase

import (
	"time"

	"github.com/keepsake/keepsake/service/config"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/grammar"
	"github.com/keepsake/keepsake/shared/kerr"
)

// maxSeconds bounds the durations a setting takes (a year and a day).
const maxSeconds = 366 * 24 * 3600

// ApplySettings changes a profile's configuration by the settings given
// (nil fields stay as they are). Paths must be absolute and clean; a
// retention policy is normalised to its canonical text. The caller
// validates and saves the configuration.
func ApplySettings(pc *config.Profile, s api.Settings) error {
	if s.Sources != nil {
		srcs := make([]string, 0, len(*s.Sources))
		for _, p := range *s.Sources {
			if grammar.IsRemote(string(p)) {
				// Another computer's address: checked by its own grammar.
				if _, err := grammar.ParseRemote(string(p)); err != nil {
					return err
				}
			} else if err := CheckPath(string(p)); err != nil {
				return err
			}
			srcs = append(srcs, string(p))
		}
		pc.Sources = srcs
	}
	if s.Excludes != nil {
		pc.Excludes = append([]string(nil), *s.Excludes...)
	}
	if s.IncludeMounts != nil {
		var ms []string
		for _, m := range *s.IncludeMounts {
			if err := CheckPath(string(m)); err != nil {
				return err
			}
			ms = append(ms, string(m))
		}
		pc.IncludeMounts = ms
	}
	for _, d := range []struct {
		key string
		v   *uint64
		dst *time.Duration
	}{{"interval", s.Interval, &pc.Interval}, {"quiet", s.Quiet, &pc.Quiet}} {
		if d.v == nil {
			continue
		}
		if *d.v > maxSeconds {
			return kerr.New(kerr.InvalidArgs, "setting %q: %d seconds is out of range", d.key, *d.v)
		}
		*d.dst = time.Duration(*d.v) * time.Second
	}
	for _, str := range []struct {
		v   *string
		dst *string
	}{{s.Drive, &pc.Drive}, {s.Retention, &pc.Retention}, {s.MinFree, &pc.MinFree}, {s.RestoreTo, &pc.RestoreTo}} {
		if str.v != nil {
			*str.dst = *str.v
		}
	}
	for _, b := range []struct {
		v   *bool
		dst *bool
	}{{s.OnChange, &pc.OnChange}, {s.OnPlug, &pc.OnPlug}, {s.SkipOnBattery, &pc.SkipOnBattery},
		{s.Flatpak, &pc.Flatpak}, {s.FlatpakOffline, &pc.FlatpakOffline}} {
		if b.v != nil {
			*b.dst = *b.v
		}
	}
	if s.Host != nil {
		pc.Host = *s.Host
	}
	if s.OverdueDays != nil {
		pc.OverdueDays = int(*s.OverdueDays)
	}
	if s.Viewers != nil {
		pc.Viewers = append([]uint32(nil), *s.Viewers...)
	}
	if pc.Retention != "" {
		pol, err := config.RetentionPolicy(pc.Retention)
		if err != nil {
			return err
		}
		pc.Retention = config.RetentionText(pol)
	}
	return nil
}

// EditSource adds (or removes) one folder of a profile.
func EditSource(pc *config.Profile, path string, add bool) error {
	if err := CheckPath(path); err != nil {
		return err
	}
	has := false
	for _, s := range pc.Sources {
		has = has || s == path
	}
	switch {
	case add && has:
		return kerr.New(kerr.InvalidArgs, "%s is already backed up by profile %s", path, pc.Name)
	case !add && !has:
		return kerr.New(kerr.PathNotFound, "%s is not a folder of profile %s", path, pc.Name)
	case add:
		pc.Sources = append(pc.Sources, path)
	default:
		var keep []string
		for _, s := range pc.Sources {
			if s != path {
				keep = append(keep, s)
			}
		}
		pc.Sources = keep
	}
	return nil
}

// DeleteProfile forgets a profile; its snapshots stay on the drive.
func DeleteProfile(c *config.Config, name string) {
	var keep []config.Profile
	for _, pc := range c.Profiles {
		if pc.Name != name {
			keep = append(keep, pc)
		}
	}
	c.Profiles = keep
}
