package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/keepsake/keepsake/service/exclude"
	"github.com/keepsake/keepsake/service/retention"
	"github.com/keepsake/keepsake/shared/grammar"
	"github.com/keepsake/keepsake/shared/kerr"
)

// The values below are checked by small functions that return the problem
// alone ("is not an absolute path"); Parse puts the file, line and key in
// front of it and Validate the profile and field, so both read naturally.

// parseDuration and formatDuration are the one grammar of durations.
func parseDuration(s string) (time.Duration, error) { return grammar.ParseDuration(s) }

func formatDuration(d time.Duration) string { return grammar.FormatDuration(d) }

func parseInterval(s string) (time.Duration, error) {
	if strings.EqualFold(s, "off") {
		return 0, nil
	}
	d, err := parseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("cannot read %q as an interval (use off, 30m, 1h, 1d)", s)
	}
	return d, checkInterval(d)
}

func formatInterval(d time.Duration) string {
	if d == 0 {
		return "off"
	}
	return formatDuration(d)
}

// MinInterval is the shortest interval between timed backups. Shorter ones
// would make a backup run most of the time; on-change covers quick saves.
const MinInterval = time.Minute

func checkInterval(d time.Duration) error {
	switch {
	case d < 0:
		return errors.New("is negative")
	case d > 0 && d < MinInterval:
		return fmt.Errorf("%s is shorter than %s (use off to disable timed backups)", formatDuration(d), formatDuration(MinInterval))
	}
	return nil
}

func checkQuiet(d time.Duration) error {
	if d < 0 {
		return errors.New("is negative")
	}
	return nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "yes", "true", "on":
		return true, nil
	case "no", "false", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not yes or no", s)
}

func formatBool(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func checkSource(s string) error {
	if grammar.IsRemote(s) {
		_, err := grammar.ParseRemote(s)
		return err
	}
	switch {
	case s == "":
		return errors.New("is empty")
	case strings.IndexByte(s, 0) >= 0:
		return fmt.Errorf("%q contains a NUL byte", s)
	case !filepath.IsAbs(s):
		return fmt.Errorf("%q is not an absolute path", s)
	}
	for _, c := range strings.Split(s, "/") {
		if c == ".." {
			return fmt.Errorf("%q contains \"..\"", s)
		}
	}
	if c := filepath.Clean(s); c != s {
		return fmt.Errorf("%q is not a clean path (write %q)", s, c)
	}
	return nil
}

// checkIncludeMount checks a mount point to include, given those listed
// before it: a local absolute clean path, listed once.
func checkIncludeMount(s string, before []string) error {
	if grammar.IsRemote(s) {
		return fmt.Errorf("%q is an address: a mount point to include is a folder on this computer", s)
	}
	if err := checkSource(s); err != nil {
		return err
	}
	if s == "/" {
		return errors.New(`"/" is never a mount point inside a source`)
	}
	for _, b := range before {
		if b == s {
			return fmt.Errorf("%q is listed twice", s)
		}
	}
	return nil
}

func checkExclude(s string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return errors.New("is empty")
	case strings.IndexByte(s, 0) >= 0:
		return fmt.Errorf("%q contains a NUL byte", s)
	case s[0] == '#':
		// The exclude package reads a leading # as a comment, so the
		// pattern would silently do nothing.
		return fmt.Errorf("%q starts with # (write \\# for a name that starts with #)", s)
	}
	if _, err := exclude.New([]string{s}, nil); err != nil {
		return err
	}
	return nil
}

// checkDrive accepts what blkid prints as a UUID: RFC 4122 UUIDs on ext4,
// btrfs and xfs, "1234-ABCD" on FAT and 16 hex digits on NTFS.
func checkDrive(s string) error {
	if len(s) > 64 {
		return fmt.Errorf("%q is too long for a filesystem UUID", s)
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-') {
			return fmt.Errorf("%q is not a filesystem UUID (lsblk -f shows them)", s)
		}
	}
	return nil
}

// TimeMachine is the retention text of the default policy.
const TimeMachine = "time-machine"

var tiers = []struct {
	key string
	ptr func(*retention.Policy) *int
}{
	{"keep-last", func(p *retention.Policy) *int { return &p.KeepLast }},
	{"hourly", func(p *retention.Policy) *int { return &p.Hourly }},
	{"daily", func(p *retention.Policy) *int { return &p.Daily }},
	{"weekly", func(p *retention.Policy) *int { return &p.Weekly }},
	{"monthly", func(p *retention.Policy) *int { return &p.Monthly }},
	{"yearly", func(p *retention.Policy) *int { return &p.Yearly }},
}

func parseRetention(s string) (retention.Policy, error) {
	var p retention.Policy
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' })
	if len(fields) == 0 || len(fields) == 1 && fields[0] == TimeMachine {
		return p, nil
	}
	seen := map[string]bool{}
	for _, f := range fields {
		if f == TimeMachine {
			return p, fmt.Errorf("%s cannot be combined with other tiers", TimeMachine)
		}
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return p, fmt.Errorf("%q is not tier=count (e.g. daily=30)", f)
		}
		var n *int
		for _, t := range tiers {
			if t.key == k {
				n = t.ptr(&p)
			}
		}
		if n == nil {
			return p, fmt.Errorf("unknown tier %q (use %s, or keep-last, hourly, daily, weekly, monthly, yearly)", k, TimeMachine)
		}
		if seen[k] {
			return p, fmt.Errorf("%s is given twice", k)
		}
		seen[k] = true
		c, err := strconv.Atoi(v)
		if err != nil || c < 1 {
			return p, fmt.Errorf("%s=%s: the count must be a whole number of at least 1", k, v)
		}
		*n = c
	}
	return p, nil
}

// RetentionPolicy reads retention text: "time-machine" (or empty) for the
// default, or any of keep-last=N hourly=N daily=N weekly=N monthly=N
// yearly=N separated by spaces or commas. A bad text is a kerr.InvalidArgs
// error.
func RetentionPolicy(s string) (retention.Policy, error) {
	p, err := parseRetention(s)
	if err != nil {
		return p, kerr.New(kerr.InvalidArgs, "retention %q: %v", s, err)
	}
	return p, nil
}

// RetentionText is the canonical text of p, which RetentionPolicy reads
// back: "time-machine" or the set tiers in a fixed order.
func RetentionText(p retention.Policy) string {
	if p.TimeMachine() {
		return TimeMachine
	}
	var parts []string
	for _, t := range tiers {
		if n := *t.ptr(&p); n != 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", t.key, n))
		}
	}
	return strings.Join(parts, " ")
}

// parseSize reads "2%" (pct true) or a size such as "500M", "20G", "20GiB",
// "1.5T" or "1048576"; K, M, G, T and P are powers of 1024 with or without
// "iB"/"B", as df and du print them.
func parseSize(s string) (n float64, pct bool, err error) {
	z, err := grammar.ParseSize(s)
	if z.IsPct {
		return z.Percent, true, err
	}
	return float64(z.Bytes), false, err
}

func checkMinFree(s string) error {
	if s == "" {
		return nil
	}
	_, _, err := parseSize(s)
	return err
}

// MinFreeBytes is the number of bytes min-free text s leaves free on a
// drive of capacity bytes: a percentage of capacity or a fixed size. Empty
// leaves nothing free. A bad text is a kerr.InvalidArgs error.
func MinFreeBytes(s string, capacity int64) (int64, error) {
	if s == "" {
		return 0, nil
	}
	f, pct, err := parseSize(s)
	if err != nil {
		return 0, kerr.New(kerr.InvalidArgs, "min-free: %v", err)
	}
	if pct {
		return int64(f / 100 * float64(capacity)), nil
	}
	return int64(f), nil
}
