package retention

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Policy is a repository's retention policy. With no tier set it follows
// Time Machine: every snapshot of the last 24 hours, one a day for the
// last 30 days, one a week before that.
type Policy struct {
	KeepLast int `json:"keep_last,omitempty"`
	Hourly   int `json:"hourly,omitempty"`
	Daily    int `json:"daily,omitempty"`
	Weekly   int `json:"weekly,omitempty"`
	Monthly  int `json:"monthly,omitempty"`
	Yearly   int `json:"yearly,omitempty"`
}

// TimeMachine reports whether p uses the Time Machine schedule.
func (p Policy) TimeMachine() bool { return p == Policy{} }

func (p Policy) String() string {
	if p.TimeMachine() {
		return "Time Machine: every snapshot for 24 hours, one a day for 30 days, one a week before that"
	}
	var parts []string
	for _, t := range []struct {
		n    int
		what string
	}{{p.KeepLast, "last"}, {p.Hourly, "hourly"}, {p.Daily, "daily"}, {p.Weekly, "weekly"}, {p.Monthly, "monthly"}, {p.Yearly, "yearly"}} {
		if t.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", t.n, t.what))
		}
	}
	return "keep " + strings.Join(parts, ", ")
}

// Validate refuses negative counts.
func (p Policy) Validate() error {
	for _, n := range []int{p.KeepLast, p.Hourly, p.Daily, p.Weekly, p.Monthly, p.Yearly} {
		if n < 0 {
			return fmt.Errorf("retention counts cannot be negative")
		}
	}
	return nil
}

// Snapshot is what a policy looks at.
type Snapshot struct {
	ID     int64
	Time   time.Time
	Pinned bool
}

// Decision is the verdict on one snapshot.
type Decision struct {
	Snapshot
	Keep    bool
	Reasons []string // why it is kept
}

// Apply decides for the snapshots of one host. The newest snapshot and
// pinned ones are always kept. Buckets (hours, days, weeks, ...) are taken
// in the local time zone, as a user counts days.
func (p Policy) Apply(snaps []Snapshot, now time.Time) []Decision {
	ds := make([]Decision, len(snaps))
	for i, s := range snaps {
		ds[i] = Decision{Snapshot: s}
	}
	// Newest first.
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].Time.After(ds[j].Time) })
	keep := func(d *Decision, why string) {
		d.Keep = true
		d.Reasons = append(d.Reasons, why)
	}
	for i := range ds {
		if i == 0 {
			keep(&ds[i], "newest")
		}
		if ds[i].Pinned {
			keep(&ds[i], "pinned")
		}
	}
	if p.TimeMachine() {
		lastDay, lastWeek := "", ""
		for i := range ds {
			age := now.Sub(ds[i].Time)
			switch {
			case age < 24*time.Hour:
				keep(&ds[i], "last 24 hours")
			case age < 30*24*time.Hour:
				if k := dayKey(ds[i].Time); k != lastDay {
					lastDay = k
					keep(&ds[i], "daily for 30 days")
				}
			default:
				if k := weekKey(ds[i].Time); k != lastWeek {
					lastWeek = k
					keep(&ds[i], "weekly")
				}
			}
		}
		return oldestFirst(ds)
	}
	for i := 0; i < len(ds) && i < p.KeepLast; i++ {
		keep(&ds[i], "last")
	}
	for _, tier := range []struct {
		n    int
		name string
		key  func(time.Time) string
	}{
		{p.Hourly, "hourly", func(t time.Time) string { return t.Local().Format("2006-01-02 15") }},
		{p.Daily, "daily", dayKey},
		{p.Weekly, "weekly", weekKey},
		{p.Monthly, "monthly", func(t time.Time) string { return t.Local().Format("2006-01") }},
		{p.Yearly, "yearly", func(t time.Time) string { return t.Local().Format("2006") }},
	} {
		left, last := tier.n, ""
		for i := range ds {
			if left == 0 {
				break
			}
			if k := tier.key(ds[i].Time); k != last {
				last = k
				left--
				keep(&ds[i], tier.name)
			}
		}
	}
	return oldestFirst(ds)
}

func dayKey(t time.Time) string { return t.Local().Format("2006-01-02") }

func weekKey(t time.Time) string {
	y, w := t.Local().ISOWeek()
	return fmt.Sprintf("%d-W%02d", y, w)
}

func oldestFirst(ds []Decision) []Decision {
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].Time.Before(ds[j].Time) })
	return ds
}
