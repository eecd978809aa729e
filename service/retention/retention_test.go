package retention

import (
	"testing"
	"time"
)

func at(now time.Time, ago time.Duration) time.Time { return now.Add(-ago) }

func kept(ds []Decision) map[int64]bool {
	out := map[int64]bool{}
	for _, d := range ds {
		if d.Keep {
			out[d.ID] = true
		}
	}
	return out
}

func TestTimeMachineDefault(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.Local)
	var snaps []Snapshot
	// Hourly snapshots for 60 days.
	for h := 0; h < 60*24; h++ {
		snaps = append(snaps, Snapshot{ID: int64(60*24 - h), Time: at(now, time.Duration(h)*time.Hour)})
	}
	ds := Policy{}.Apply(snaps, now)
	k := kept(ds)
	var last24, days, weeks int
	for _, d := range ds {
		if !d.Keep {
			continue
		}
		switch age := now.Sub(d.Time); {
		case age < 24*time.Hour:
			last24++
		case age < 30*24*time.Hour:
			days++
		default:
			weeks++
		}
	}
	if last24 != 24 {
		t.Errorf("kept %d of the last 24 hours' snapshots, want 24", last24)
	}
	if days < 29 || days > 30 {
		t.Errorf("kept %d daily snapshots in days 1-30, want 29 or 30", days)
	}
	if weeks < 4 || weeks > 6 {
		t.Errorf("kept %d weekly snapshots for days 30-60, want about 5", weeks)
	}
	if !k[int64(60*24)] {
		t.Error("newest not kept")
	}
}

func TestTiers(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.Local)
	var snaps []Snapshot
	for d := 0; d < 100; d++ { // one snapshot a day, id 100 newest
		snaps = append(snaps, Snapshot{ID: int64(100 - d), Time: at(now, time.Duration(d)*24*time.Hour)})
	}
	tests := []struct {
		name   string
		policy Policy
		pin    int64
		want   int
	}{
		{"keep last 3", Policy{KeepLast: 3}, 0, 3},
		{"10 daily", Policy{Daily: 10}, 0, 10},
		{"10 daily + 8 weekly", Policy{Daily: 10, Weekly: 8}, 0, 10 + 8 - 2}, // the two newest weeks' picks are daily ones too
		{"pinned survives", Policy{KeepLast: 1}, 5, 2},
		{"monthly 2", Policy{Monthly: 2}, 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]Snapshot(nil), snaps...)
			for i := range in {
				in[i].Pinned = in[i].ID == tt.pin
			}
			ds := tt.policy.Apply(in, now)
			k := kept(ds)
			if len(k) != tt.want {
				t.Errorf("kept %d, want %d", len(k), tt.want)
			}
			if !k[100] {
				t.Error("newest removed")
			}
			if tt.pin != 0 && !k[tt.pin] {
				t.Error("pinned removed")
			}
			for i := 1; i < len(ds); i++ {
				if ds[i].Time.Before(ds[i-1].Time) {
					t.Fatal("decisions not oldest first")
				}
			}
		})
	}
}

func TestValidateAndString(t *testing.T) {
	if err := (Policy{Daily: -1}).Validate(); err == nil {
		t.Error("negative count accepted")
	}
	if s := (Policy{Daily: 10, Weekly: 8}).String(); s != "keep 10 daily, 8 weekly" {
		t.Errorf("String = %q", s)
	}
}
