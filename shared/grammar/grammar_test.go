package grammar

import (
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	cases := map[string]struct {
		in    string
		bytes int64 // of a 1000-byte drive for percentages
		bad   bool
	}{
		"plain bytes":    {in: "1048576", bytes: 1 << 20},
		"K":              {in: "500K", bytes: 500 << 10},
		"M":              {in: "500M", bytes: 500 << 20},
		"G is GiB":       {in: "2G", bytes: 2 << 30},
		"GiB":            {in: "2GiB", bytes: 2 << 30},
		"Gi":             {in: "2Gi", bytes: 2 << 30},
		"GB is decimal":  {in: "2GB", bytes: 2e9},
		"as GNOME shows": {in: "20 GB", bytes: 20e9},
		"decimal comma":  {in: "2,5 GB", bytes: 2.5e9},
		"MB":             {in: "500 MB", bytes: 500e6},
		"k":              {in: "1k", bytes: 1024},
		"bytes unit":     {in: "100B", bytes: 100},
		"lower case":     {in: "1.5t", bytes: 3 << 39},
		"P":              {in: "1P", bytes: 1 << 50},
		"percent":        {in: "2%", bytes: 20},
		"percent float":  {in: "12.5%", bytes: 125},
		"over 100%":      {in: "150%", bad: true},
		"negative":       {in: "-1G", bad: true},
		"word":           {in: "lots", bad: true},
		"empty":          {in: "", bad: true},
		"unknown unit":   {in: "3X", bad: true},
		"parsecs":        {in: "20 parsecs", bad: true},
		"too large":      {in: "99999999 PB", bad: true},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			z, err := ParseSize(c.in)
			if c.bad {
				if err == nil {
					t.Fatalf("ParseSize(%q) = %+v, want an error", c.in, z)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := z.Of(1000); got != c.bytes {
				t.Fatalf("ParseSize(%q).Of(1000) = %d, want %d", c.in, got, c.bytes)
			}
			back, err := ParseSize(z.String())
			if err != nil || back.IsPct != z.IsPct {
				t.Fatalf("%q printed as %q does not read back: %v", c.in, z.String(), err)
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	loc := time.FixedZone("here", 3600)
	now := time.Date(2026, 12, 2, 15, 4, 5, 0, loc)
	cases := map[string]struct {
		in   string
		want time.Time
		bad  bool
	}{
		"date":             {in: "2026-12-01", want: time.Date(2026, 12, 1, 0, 0, 0, 0, loc)},
		"date and minutes": {in: "2026-11-20T10:30", want: time.Date(2026, 11, 20, 10, 30, 0, 0, loc)},
		"date space time":  {in: "2026-11-20 10:30:15", want: time.Date(2026, 11, 20, 10, 30, 15, 0, loc)},
		"rfc3339":          {in: "2026-11-20T10:30:00Z", want: time.Date(2026, 11, 20, 10, 30, 0, 0, time.UTC)},
		"snapshot name":    {in: "2026-11-22T100000Z", want: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)},
		"yesterday":        {in: "yesterday", want: time.Date(2026, 12, 1, 0, 0, 0, 0, loc)},
		"today":            {in: "Today", want: time.Date(2026, 12, 2, 0, 0, 0, 0, loc)},
		"now":              {in: "now", want: now},
		"days ago":         {in: "3d", want: now.AddDate(0, 0, -3)},
		"weeks ago":        {in: "2w", want: now.AddDate(0, 0, -14)},
		"hours ago":        {in: "36h", want: now.Add(-36 * time.Hour)},
		"not a time":       {in: "notatime", bad: true},
		"empty":            {in: "", bad: true},
		"bad date":         {in: "2026-13-01", bad: true},
		"negative age":     {in: "-3h", bad: true},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParseTime(c.in, now)
			if c.bad {
				if err == nil {
					t.Fatalf("ParseTime(%q) = %v, want an error", c.in, got)
				}
				return
			}
			if err != nil || !got.Equal(c.want) {
				t.Fatalf("ParseTime(%q) = %v, %v; want %v", c.in, got, err, c.want)
			}
		})
	}
}

func TestDuration(t *testing.T) {
	cases := map[string]struct {
		in   string
		want time.Duration
		out  string
		bad  bool
	}{
		"minutes":       {in: "30m", want: 30 * time.Minute, out: "30m"},
		"day":           {in: "1d", want: 24 * time.Hour, out: "1d"},
		"day and hours": {in: "1d12h", want: 36 * time.Hour, out: "1d12h"},
		"hours":         {in: "36h", want: 36 * time.Hour, out: "1d12h"},
		"mixed":         {in: "90m", want: 90 * time.Minute, out: "1h30m"},
		"negative":      {in: "-1h", bad: true},
		"word":          {in: "hourly", bad: true},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			d, err := ParseDuration(c.in)
			if c.bad {
				if err == nil {
					t.Fatalf("ParseDuration(%q) = %v, want an error", c.in, d)
				}
				return
			}
			if err != nil || d != c.want || FormatDuration(d) != c.out {
				t.Fatalf("ParseDuration(%q) = %v, %v (prints %q); want %v, %q", c.in, d, err, FormatDuration(d), c.want, c.out)
			}
		})
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int64]string{0: "0 files", 1: "1 file", 2: "2 files"} {
		if got := Count(n, "file", "files"); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
}
