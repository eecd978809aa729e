package cli

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/keepsake/keepsake/service/usecase"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/grammar"
	"github.com/keepsake/keepsake/shared/i18n"
)

// status is progress as both modes know it: the engine's callbacks on a
// drive, the Job's properties through the service.
type status struct {
	Event      string  `json:"event"`
	Phase      string  `json:"phase"`
	Items      int64   `json:"items"` // files and folders handled so far
	TotalItems int64   `json:"total_items,omitempty"`
	Bytes      int64   `json:"bytes"`
	TotalBytes int64   `json:"total_bytes,omitempty"`
	Rate       float64 `json:"rate"` // bytes a second
	// Fraction is 0..1, -1 when unknown.
	Fraction float64       `json:"fraction"`
	Left     time.Duration `json:"-"`
}

// progressBar draws one status line on a terminal, or JSON progress events
// with --json; otherwise it stays quiet.
type progressBar struct {
	env   *Env
	mu    sync.Mutex
	shown bool
}

func newProgressBar(env *Env) *progressBar { return &progressBar{env: env} }

// engine takes the engine's progress (on a drive).
func (b *progressBar) engine(p usecase.Progress) { b.show(engineStatus(p)) }

// engineStatus is an engine report as the bar shows it: the same fraction,
// time left and totals as a Job's properties.
func engineStatus(p usecase.Progress) status {
	files, bytes := p.Totals()
	s := status{Phase: p.Phase, Items: p.Files, TotalItems: files, Bytes: p.DoneBytes(), TotalBytes: bytes,
		Fraction: p.Fraction(), Left: p.Left()}
	if secs := p.Elapsed.Seconds(); secs > 0 {
		s.Rate = float64(s.Bytes) / secs
	}
	return s
}

// job takes a Job's properties (through the service).
func (b *progressBar) job(j client.Job) {
	if j.Finished {
		return
	}
	s := status{Phase: j.Phase, Items: int64(j.FilesDone), TotalItems: int64(j.FilesTotal), Bytes: int64(j.BytesDone),
		TotalBytes: int64(j.BytesTotal), Rate: float64(j.Rate), Fraction: j.Progress}
	if j.ExpectedEnd > 0 {
		s.Left = time.Until(client.Time(j.ExpectedEnd))
	}
	b.show(s)
}

func (b *progressBar) show(s status) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.env.JSON {
		s.Event = "progress"
		b.env.emit(s)
		return
	}
	if !b.env.Terminal {
		return
	}
	// TRANSLATORS: the progress line on a terminal: how many files and
	// folders so far, the bytes so far, the bytes a second (/s).
	line := fmt.Sprintf(i18n.N("%d file or folder, %s, %s/s", "%d files and folders, %s, %s/s", int(s.Items)),
		s.Items, humanBytes(s.Bytes), humanBytes(int64(s.Rate)))
	if s.Fraction >= 0 {
		const width = 24
		fill := int(s.Fraction * width)
		eta := "?"
		if s.Left > 0 {
			eta = s.Left.Round(time.Second).String()
		}
		// TRANSLATORS: after the progress bar: the progress line (files,
		// bytes, speed), then the time left (1m30s, or ? when unknown).
		left := fmt.Sprintf(i18n.T("%s, %s left"), line, eta)
		line = fmt.Sprintf("[%s%s] %3.0f%% %s", strings.Repeat("#", fill), strings.Repeat("-", width-fill), s.Fraction*100, left)
	}
	fmt.Fprintf(b.env.Stderr, "\r\x1b[K%s", line)
	b.shown = true
}

func (b *progressBar) warn(w usecase.Warning) {
	if b.env.JSON {
		b.mu.Lock()
		b.env.emit(map[string]any{"event": "warning", "path": w.Path, "message": w.Message})
		b.mu.Unlock()
		return
	}
	// TRANSLATORS: warning: PATH: WHAT WENT WRONG (a file a backup or
	// restore could not take; the message is the system's).
	b.println(fmt.Sprintf(i18n.T("warning: %s: %s"), w.Path, w.Message))
}

func (b *progressBar) println(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.shown {
		fmt.Fprint(b.env.Stderr, "\r\x1b[K")
		b.shown = false
	}
	fmt.Fprintln(b.env.Stderr, s)
}

func (b *progressBar) done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.shown {
		fmt.Fprint(b.env.Stderr, "\r\x1b[K")
		b.shown = false
	}
}

// humanBytes is a size for people: 512 B, 1.5 KiB, 20 GiB.
func humanBytes(n int64) string { return grammar.HumanSize(n) }
