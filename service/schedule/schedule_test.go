package schedule

import (
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/config"
)

var now = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func profile(interval time.Duration) config.Profile {
	p := config.DefaultProfile("home")
	p.Interval = interval
	return p
}

func TestNextDue(t *testing.T) {
	tests := []struct {
		name        string
		interval    time.Duration
		lastSuccess time.Time
		want        time.Time
	}{
		{"hourly", time.Hour, now, now.Add(time.Hour)},
		{"daily", 24 * time.Hour, now.Add(-3 * time.Hour), now.Add(21 * time.Hour)},
		{"never succeeded is due at the epoch", time.Hour, time.Time{}, time.Unix(0, 0).UTC()},
		{"interval off", 0, now, time.Time{}},
		{"interval off, never succeeded", 0, time.Time{}, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NextDue(profile(tt.interval), tt.lastSuccess); !got.Equal(tt.want) {
				t.Fatalf("NextDue = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDue(t *testing.T) {
	tests := []struct {
		name        string
		interval    time.Duration
		lastSuccess time.Time
		want        Reason
	}{
		{"just backed up", time.Hour, now, NotDue},
		{"a minute short", time.Hour, now.Add(-59 * time.Minute), NotDue},
		{"exactly an interval ago", time.Hour, now.Add(-time.Hour), Interval},
		{"past the interval", time.Hour, now.Add(-90 * time.Minute), Interval},
		{"two intervals ago: a slot was missed", time.Hour, now.Add(-2 * time.Hour), Missed},
		{"a week away", 24 * time.Hour, now.Add(-7 * 24 * time.Hour), Missed},
		{"never succeeded", time.Hour, time.Time{}, Interval},
		{"interval off", 0, now.Add(-1000 * time.Hour), NotDue},
		{"interval off, never succeeded", 0, time.Time{}, NotDue},
		{"small clock skew is trusted", time.Hour, now.Add(4 * time.Minute), NotDue},
		{"clock moved back a year", time.Hour, now.AddDate(1, 0, 0), Interval},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := profile(tt.interval)
			if got := Why(p, tt.lastSuccess, now); got != tt.want {
				t.Fatalf("Why = %q, want %q", got, tt.want)
			}
			if got := Due(p, tt.lastSuccess, now); got != (tt.want != NotDue) {
				t.Fatalf("Due = %v, want %v", got, tt.want != NotDue)
			}
		})
	}
}

func TestRetry(t *testing.T) {
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{-1, 0}, {0, 0},
		{1, 5 * time.Minute},
		{2, 10 * time.Minute},
		{3, 20 * time.Minute},
		{4, 40 * time.Minute},
		{5, time.Hour},
		{6, time.Hour},
		{1000000, time.Hour},
	}
	for _, tt := range tests {
		if got := Retry(now, tt.failures).Sub(now); got != tt.want {
			t.Errorf("Retry after %d failures waits %v, want %v", tt.failures, got, tt.want)
		}
	}
}

func TestNextRun(t *testing.T) {
	tests := []struct {
		name                     string
		interval                 time.Duration
		lastSuccess, lastAttempt time.Time
		failures                 int
		want                     time.Time
	}{
		{"no failures follows the interval", time.Hour, now.Add(-10 * time.Minute), now.Add(-10 * time.Minute), 0, now.Add(50 * time.Minute)},
		{"backoff later than due", time.Hour, now.Add(-2 * time.Hour), now.Add(-time.Minute), 2, now.Add(9 * time.Minute)},
		{"due later than backoff", 24 * time.Hour, now.Add(-time.Hour), now.Add(-time.Minute), 1, now.Add(23 * time.Hour)},
		{"never succeeded, failed thrice", time.Hour, time.Time{}, now, 3, now.Add(20 * time.Minute)},
		{"interval off", 0, now.Add(-time.Hour), now, 3, time.Time{}},
		{"success in the future counts as now", time.Hour, now.AddDate(1, 0, 0), time.Time{}, 0, now},
		{"attempt in the future counts as now", time.Hour, time.Time{}, now.AddDate(1, 0, 0), 1, now.Add(5 * time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NextRun(profile(tt.interval), tt.lastSuccess, tt.lastAttempt, tt.failures, now)
			if !got.Equal(tt.want) {
				t.Fatalf("NextRun = %v, want %v", got, tt.want)
			}
		})
	}
}
