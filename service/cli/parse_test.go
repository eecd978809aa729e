package cli

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{in: "", want: time.Time{}},
		{in: "7d", want: now.Add(-7 * 24 * time.Hour)},
		{in: "36h", want: now.Add(-36 * time.Hour)},
		{in: "2026-11-20T100000Z", want: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)},
		{in: "2026-11-20", want: time.Date(2026, 11, 20, 0, 0, 0, 0, time.Local)},
		{in: "2026-11-20T10:30", want: time.Date(2026, 11, 20, 10, 30, 0, 0, time.Local)},
		{in: "2026-11-20T10:30:00+01:00", want: time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)},
		{in: "last tuesday", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseTime(tt.in, now)
			if tt.bad {
				if err == nil {
					t.Fatalf("parseTime(%q) accepted", tt.in)
				}
				return
			}
			if err != nil || !got.Equal(tt.want) {
				t.Fatalf("parseTime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseSpace(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		bad  bool
	}{
		{in: "1048576", want: 1 << 20},
		{in: "500M", want: 500 << 20},
		{in: "2G", want: 2 << 30},
		{in: "1.5T", want: 3 << 39},
		{in: "2Gi", want: 2 << 30},
		{in: "lots", bad: true},
		{in: "150%", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseSpace(tt.in, t.TempDir())
			if tt.bad != (err != nil) || (!tt.bad && got != tt.want) {
				t.Fatalf("parseSpace(%q) = %d, %v; want %d (bad=%v)", tt.in, got, err, tt.want, tt.bad)
			}
		})
	}
	half, err := parseSpace("50%", t.TempDir())
	if err != nil || half <= 0 {
		t.Errorf("50%% of the temp filesystem: %d %v", half, err)
	}
}

func TestParseSpaceUnits(t *testing.T) {
	for in, want := range map[string]int64{"2GiB": 2 << 30, "2GB": 2 << 30, "100B": 100, "1k": 1024} {
		if got, err := parseSpace(in, t.TempDir()); err != nil || got != want {
			t.Errorf("parseSpace(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}
