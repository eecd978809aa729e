package daemon

import (
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/usecase"
)

// jobFigures gives the Job the engine's fraction, the totals worth
// showing and an expected end counted from now.
func TestJobFigures(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	const mib = 1 << 20
	cases := []struct {
		name string
		p    usecase.Progress
		want figures
	}{
		{
			name: "first backup before the count",
			p:    usecase.Progress{Files: 40, Bytes: 2 * mib, Elapsed: 2 * time.Second},
			want: figures{progress: -1, filesDone: 40, bytesDone: 2 * mib, rate: mib},
		},
		{
			name: "first backup counted",
			p: usecase.Progress{Files: 5000, Bytes: 100 * mib, TotalFiles: 20000, TotalBytes: 400 * mib,
				TotalsCounted: true, Elapsed: 10 * time.Second},
			want: figures{progress: 0.25, filesDone: 5000, filesTotal: 20000, bytesDone: 100 * mib, bytesTotal: 400 * mib,
				rate: 10 * mib, expectedEnd: now.Add(30 * time.Second).UnixMicro()},
		},
		{
			name: "copied bytes count as done",
			p: usecase.Progress{Files: 1, Bytes: mib, CopiedBytes: 8 * mib, TotalFiles: 4, TotalBytes: 32 * mib,
				TotalsCounted: true, Elapsed: 4 * time.Second},
			want: figures{progress: 0.25, filesDone: 1, filesTotal: 4, bytesDone: 8 * mib, bytesTotal: 32 * mib,
				rate: 2 * mib, expectedEnd: now.Add(12 * time.Second).UnixMicro()},
		},
		{
			name: "files grew past the count: below 1, totals kept",
			p: usecase.Progress{Files: 110, Bytes: 11 * mib, TotalFiles: 100, TotalBytes: 10 * mib,
				TotalsCounted: true, Elapsed: 99 * time.Second},
			want: figures{progress: 0.99, filesDone: 110, filesTotal: 100, bytesDone: 11 * mib, bytesTotal: 10 * mib,
				rate: 11 * mib / 99, expectedEnd: now.Add(time.Second).UnixMicro()},
		},
		{
			name: "estimate followed",
			p:    usecase.Progress{Files: 50, Bytes: 5 * mib, TotalFiles: 100, TotalBytes: 10 * mib, Elapsed: 20 * time.Second},
			want: figures{progress: 0.5, filesDone: 50, filesTotal: 100, bytesDone: 5 * mib, bytesTotal: 10 * mib,
				rate: mib / 4, expectedEnd: now.Add(20 * time.Second).UnixMicro()},
		},
		{
			name: "estimate outgrown: unknown, no byte total",
			p:    usecase.Progress{Files: 50, Bytes: 11 * mib, TotalFiles: 100, TotalBytes: 10 * mib, Elapsed: 20 * time.Second},
			want: figures{progress: -1, filesDone: 50, filesTotal: 100, bytesDone: 11 * mib, rate: 11 * mib / 20},
		},
		{
			name: "too early for an end",
			p: usecase.Progress{Files: 100, Bytes: 10 * mib, TotalFiles: 400, TotalBytes: 40 * mib,
				TotalsCounted: true, Elapsed: 400 * time.Millisecond},
			want: figures{progress: 0.25, filesDone: 100, filesTotal: 400, bytesDone: 10 * mib, bytesTotal: 40 * mib},
		},
		{
			name: "prune: snapshots counted, no bytes",
			p:    usecase.Progress{Phase: "pruning", Files: 3, TotalFiles: 4, TotalsCounted: true, Elapsed: 6 * time.Second},
			want: figures{progress: 0.75, filesDone: 3, filesTotal: 4, expectedEnd: now.Add(2 * time.Second).UnixMicro()},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := jobFigures(tc.p, now)
			if d := got.progress - tc.want.progress; d > 1e-9 || d < -1e-9 {
				t.Errorf("progress %.6f, want %.6f", got.progress, tc.want.progress)
			}
			if d := got.expectedEnd - tc.want.expectedEnd; d > 1000 || d < -1000 {
				t.Errorf("expected end %v, want %v", time.UnixMicro(got.expectedEnd).UTC(), time.UnixMicro(tc.want.expectedEnd).UTC())
			}
			got.progress, got.expectedEnd = tc.want.progress, tc.want.expectedEnd
			if got != tc.want {
				t.Errorf("figures\n%+v, want\n%+v", got, tc.want)
			}
		})
	}
}
