package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/keepsake/keepsake/service/internal/atomicfile"
)

const header = `# Keepsake configuration.
# Edit it, then reload the service: systemctl reload keepsake (SIGHUP).
# The service rewrites this file when profiles change through the app or
# keepsakectl; it keeps every setting, but not comments added here.
#
# [keepsake]
#   missing-drive-days  warn when an enrolled drive has not been seen for
#                       this many days (0 = never)
#   on-failure          command run by /bin/sh when a backup fails, with
#                       KEEPSAKE_PROFILE, KEEPSAKE_ERROR, KEEPSAKE_MESSAGE,
#                       KEEPSAKE_LAST_SUCCESS and KEEPSAKE_DRIVE set
#
# [profile "NAME"]      NAME: letters, digits, - and _
#   owner               uid that created the profile (0 = administrator)
#   source              a folder to back up; repeat the line for more
#   exclude             gitignore-style pattern to skip, ~/ = every home;
#                       repeatable
#   include-mount       a mount point inside a source whose filesystem is
#                       backed up too (other drives, shares and tmpfs
#                       mounted inside a source are left out); repeatable
#   drive               filesystem UUID of the backup drive (lsblk -f);
#                       empty = none yet
#   interval            off, or time between backups: 30m, 1h, 1d, 7d
#   on-change           yes/no: back up after changes, once quiet for "quiet"
#   quiet               e.g. 5m
#   on-plug             yes/no: back up when the drive is plugged in and a
#                       backup is due
#   skip-on-battery     yes/no: wait for mains power
#   flatpak             yes/no: record the installed Flatpak apps with each
#                       snapshot (their data in ~/.var/app is backed up
#                       with the home)
#   flatpak-offline     yes/no: also keep an offline copy of the apps on the
#                       drive (costs their size)
#   retention           time-machine, or any of keep-last=N hourly=N daily=N
#                       weekly=N monthly=N yearly=N
#   min-free            space to leave free on the drive: 2% or a size (20GiB)
#   overdue-days        warn when the last backup is older than this many
#                       days (0 = never)
#
# Another computer: its sources are ssh://[user@]host[:port]/path addresses
# (one computer per profile; /a,/b for several paths), pulled with rsync
# over ssh by the service's own key (keepsakectl remote-key).
#   host                its folder on the drive (default: the address's host)
#   viewer              a local user (uid or name) who may browse and restore
#                       its files besides administrators; repeatable
#   restore-to          ssh://user@host/dir: the folder there that restores
#                       may be sent back to (keepsakectl remote-key
#                       --write-dir DIR gives that account's key line)
#
# A # after a space starts a comment; write a value in double quotes (Go
# escapes) to keep a # or blanks at its ends.
`

// Marshal writes c as a configuration file: a header documenting every key,
// then [keepsake] and the profiles in order, every key written. The output
// depends only on c and parses back to an equal Config when c is valid and
// its Retention is canonical (as Parse leaves it).
func (c *Config) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString(header)
	kv := func(k, v string) {
		if v == "" {
			fmt.Fprintf(&b, "%s =\n", k)
		} else {
			fmt.Fprintf(&b, "%s = %s\n", k, quote(v))
		}
	}
	b.WriteString("\n[keepsake]\n")
	kv("missing-drive-days", strconv.Itoa(c.MissingDriveDays))
	kv("on-failure", c.OnFailure)
	for _, p := range c.Profiles {
		fmt.Fprintf(&b, "\n[profile %q]\n", p.Name)
		kv("owner", strconv.FormatUint(uint64(p.Owner), 10))
		for _, s := range p.Sources {
			kv("source", s)
		}
		for _, e := range p.Excludes {
			kv("exclude", e)
		}
		for _, m := range p.IncludeMounts {
			kv("include-mount", m)
		}
		kv("drive", p.Drive)
		kv("interval", formatInterval(p.Interval))
		kv("on-change", formatBool(p.OnChange))
		kv("quiet", formatDuration(p.Quiet))
		kv("on-plug", formatBool(p.OnPlug))
		kv("skip-on-battery", formatBool(p.SkipOnBattery))
		kv("flatpak", formatBool(p.Flatpak))
		kv("flatpak-offline", formatBool(p.FlatpakOffline))
		ret := p.Retention
		if pol, err := parseRetention(ret); err == nil {
			ret = RetentionText(pol)
		}
		kv("retention", ret)
		kv("min-free", p.MinFree)
		kv("host", p.Host)
		kv("overdue-days", strconv.Itoa(p.OverdueDays))
		kv("restore-to", p.RestoreTo)
		for _, v := range p.Viewers {
			kv("viewer", strconv.FormatUint(uint64(v), 10))
		}
	}
	return b.Bytes()
}

// quote returns v as written after "key = ": as it is when parseValue
// reads it back unchanged, else as a Go string.
func quote(v string) string {
	plain := utf8.ValidString(v) && v[0] != '"' && v[0] != '#' &&
		strings.TrimSpace(v) == v && !strings.Contains(v, " #") && !strings.Contains(v, "\t#")
	for _, r := range v {
		if !unicode.IsPrint(r) && r != ' ' {
			plain = false
		}
	}
	if plain {
		return v
	}
	return strconv.Quote(v)
}

// Save writes c to path atomically: a reader (or a crash) sees the old file
// or the new one, never a mix. It refuses a Config that fails Validate, so
// the file always loads. The directory is created (0755) if missing; the
// file is 0644, since it holds no secrets and tools may read it.
func Save(path string, c *Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("save configuration: %w", err)
	}
	if err := atomicfile.Write(path, c.Marshal(), 0o644); err != nil {
		return fmt.Errorf("save configuration: %w", err)
	}
	return nil
}
