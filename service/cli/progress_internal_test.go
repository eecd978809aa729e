package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/usecase"
)

// The bar on a drive shows the engine's fraction and time left, the same
// a Job publishes: from the counted totals, unknown when an estimate is
// outgrown.
func TestEngineStatus(t *testing.T) {
	const mib = 1 << 20
	cases := []struct {
		name string
		p    usecase.Progress
		want status
		// bar is in the line drawn on a terminal.
		bar string
	}{
		{
			name: "first backup still counting",
			p:    usecase.Progress{Phase: "copying", Files: 300, Bytes: 3 * mib, Elapsed: 2 * time.Second},
			want: status{Phase: "copying", Items: 300, Bytes: 3 * mib, Rate: 1.5 * mib, Fraction: -1},
			bar:  "300 files and folders, 3 MiB, 1.5 MiB/s",
		},
		{
			name: "counted: a quarter done",
			p: usecase.Progress{Phase: "copying", Files: 5000, Bytes: 100 * mib, CopiedBytes: 90 * mib,
				TotalFiles: 20000, TotalBytes: 400 * mib, TotalsCounted: true, Elapsed: 10 * time.Second},
			want: status{Phase: "copying", Items: 5000, TotalItems: 20000, Bytes: 100 * mib, TotalBytes: 400 * mib,
				Rate: 10 * mib, Fraction: 0.25, Left: 30 * time.Second},
			bar: "[######------------------]  25% 5000 files and folders, 100 MiB, 10 MiB/s, 30s left",
		},
		{
			name: "copied bytes ahead of recorded ones",
			p: usecase.Progress{Phase: "copying", Files: 1, Bytes: 2 * mib, CopiedBytes: 8 * mib,
				TotalFiles: 4, TotalBytes: 32 * mib, TotalsCounted: true, Elapsed: 4 * time.Second},
			want: status{Phase: "copying", Items: 1, TotalItems: 4, Bytes: 8 * mib, TotalBytes: 32 * mib,
				Rate: 2 * mib, Fraction: 0.25, Left: 12 * time.Second},
			bar: "25%",
		},
		{
			name: "counted total outgrown: the bar stays below 100%",
			p: usecase.Progress{Phase: "copying", Files: 110, Bytes: 11 * mib, TotalFiles: 100, TotalBytes: 10 * mib,
				TotalsCounted: true, Elapsed: 100 * time.Second},
			want: status{Phase: "copying", Items: 110, TotalItems: 100, Bytes: 11 * mib, TotalBytes: 10 * mib,
				Rate: 11 * mib / 100.0, Fraction: 0.99, Left: 100 * time.Second / 99},
			bar: "[#######################-]  99%",
		},
		{
			name: "estimate followed",
			p: usecase.Progress{Phase: "copying", Files: 50, Bytes: 5 * mib, TotalFiles: 100, TotalBytes: 10 * mib,
				Elapsed: 20 * time.Second},
			want: status{Phase: "copying", Items: 50, TotalItems: 100, Bytes: 5 * mib, TotalBytes: 10 * mib,
				Rate: 5 * mib / 20.0, Fraction: 0.5, Left: 20 * time.Second},
			bar: "50%",
		},
		{
			name: "estimate outgrown: no fraction, no byte total",
			p: usecase.Progress{Phase: "copying", Files: 50, Bytes: 11 * mib, TotalFiles: 100, TotalBytes: 10 * mib,
				Elapsed: 20 * time.Second},
			want: status{Phase: "copying", Items: 50, TotalItems: 100, Bytes: 11 * mib, Rate: 11 * mib / 20.0, Fraction: -1},
			bar:  "50 files and folders, 11 MiB",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := engineStatus(tc.p)
			if d := got.Left - tc.want.Left; d > time.Millisecond || d < -time.Millisecond {
				t.Errorf("time left %v, want %v", got.Left, tc.want.Left)
			}
			if d := got.Fraction - tc.want.Fraction; d > 1e-9 || d < -1e-9 {
				t.Errorf("fraction %.6f, want %.6f", got.Fraction, tc.want.Fraction)
			}
			got.Left, got.Fraction = tc.want.Left, tc.want.Fraction
			if got != tc.want {
				t.Errorf("status\n%+v, want\n%+v", got, tc.want)
			}
			var out bytes.Buffer
			newProgressBar(&Env{Stderr: &out, Terminal: true}).engine(tc.p)
			if !strings.Contains(out.String(), tc.bar) {
				t.Errorf("bar %q lacks %q", out.String(), tc.bar)
			}
		})
	}
}
