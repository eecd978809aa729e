package grammar

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SnapshotLayout is how snapshot folders are named (UTC).
const SnapshotLayout = "2006-01-02T150405Z"

// ParseTime reads the times people type, relative to now in now's zone:
// "now", "today" (its start), "yesterday" (its start), an age ("36h",
// "90m", "7d", "2w": that long ago), a date ("2026-12-01": its start), a
// date and time ("2026-12-01T10:30", "2026-12-01 10:30:15"), RFC 3339, or a
// snapshot name ("2026-12-01T103000Z").
func ParseTime(s string, now time.Time) (time.Time, error) {
	t := strings.TrimSpace(s)
	day := func(off int) time.Time {
		y, m, d := now.Date()
		return time.Date(y, m, d+off, 0, 0, 0, 0, now.Location())
	}
	switch strings.ToLower(t) {
	case "now":
		return now, nil
	case "today":
		return day(0), nil
	case "yesterday":
		return day(-1), nil
	}
	if n := len(t); n > 1 {
		if k, err := strconv.ParseUint(t[:n-1], 10, 16); err == nil {
			switch t[n-1] {
			case 'd':
				return now.AddDate(0, 0, -int(k)), nil
			case 'w':
				return now.AddDate(0, 0, -7*int(k)), nil
			}
		}
	}
	if d, err := time.ParseDuration(t); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if ts, err := time.Parse(SnapshotLayout, t); err == nil {
		return ts, nil
	}
	if ts, err := time.Parse(time.RFC3339Nano, t); err == nil {
		return ts, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if ts, err := time.ParseInLocation(layout, t, now.Location()); err == nil {
			return ts, nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot read the time %q (try 2026-11-22, 2026-11-22T10:00, yesterday, 36h or 7d)", s)
}

// ParseDuration reads a Go duration ("90s", "1h30m") or whole days with an
// optional Go duration after them ("1d", "7d", "1d12h"): people think of
// daily and weekly backups in days, which Go durations lack.
func ParseDuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("cannot read %q as a duration (use 30m, 1h, 1d)", s)
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.ParseUint(s[:i], 10, 16)
		if err != nil {
			return 0, bad
		}
		days, s = time.Duration(n)*24*time.Hour, s[i+1:]
		if s == "" {
			return days, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, bad
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	if days+d < days {
		return 0, bad // overflow: hundreds of years
	}
	return days + d, nil
}

// FormatDuration is the inverse of ParseDuration, in the shortest plain
// form: 1d, 36h becomes 1d12h, 90m becomes 1h30m.
func FormatDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	if d%time.Second != 0 {
		return d.String() // sub-second: rare, and Go's form parses back
	}
	var b strings.Builder
	for _, u := range []struct {
		d    time.Duration
		unit string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := d / u.d; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.unit)
			d -= n * u.d
		}
	}
	return b.String()
}

// Plural picks the singular or plural form: Plural(1, "file", "files").
func Plural(n int64, one, many string) string {
	if n == 1 || n == -1 {
		return one
	}
	return many
}

// Count writes "1 file", "2 files".
func Count(n int64, one, many string) string {
	return strconv.FormatInt(n, 10) + " " + Plural(n, one, many)
}
