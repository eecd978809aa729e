package cli

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/engine"
	"github.com/keepsake/keepsake/shared/kerr"
)

func runBackup(env *Env, args []string) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	var excludes stringList
	var excludeFrom, changedDirs string
	dryRun := fs.Bool("dry-run", false, "")
	noDefaults := fs.Bool("no-default-excludes", false, "")
	rehash := fs.Bool("rehash", false, "")
	fs.Var(&excludes, "exclude", "")
	fs.StringVar(&excludeFrom, "exclude-from", "", "")
	fs.StringVar(&changedDirs, "changed-dirs", "", "")
	minFree := fs.String("min-free", "2%", "")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("backup: give at least one SOURCE folder")
	}
	opts := engine.BackupOptions{Host: env.Host, DryRun: *dryRun, NoDefaultExcludes: *noDefaults, Rehash: *rehash,
		Plan: env.Verbose, Actor: catalog.CurrentActor()}
	for _, p := range pos {
		abs, err := filepath.Abs(p)
		if err != nil {
			return kerr.Wrap(kerr.InvalidArgs, err, "source %q", p)
		}
		opts.Sources = append(opts.Sources, abs)
	}
	opts.Excludes = excludes
	if excludeFrom != "" {
		lines, err := readLines(env, excludeFrom)
		if err != nil {
			return err
		}
		opts.Excludes = append(opts.Excludes, lines...)
	}
	if changedDirs != "" {
		lines, err := readLines(env, changedDirs)
		if err != nil {
			return err
		}
		opts.ChangedDirs = []string{}
		for _, l := range lines {
			if !filepath.IsAbs(l) {
				return kerr.New(kerr.InvalidArgs, "--changed-dirs: %q is not an absolute path", l)
			}
			opts.ChangedDirs = append(opts.ChangedDirs, l)
		}
	}
	r, err := openRepo(env)
	if err != nil {
		return err
	}
	if opts.MinFree, err = parseSpace(*minFree, r.Root); err != nil {
		return err
	}
	bar := newProgressBar(env)
	opts.Progress = bar.update
	opts.Warn = func(w engine.Warning) {
		if env.JSON {
			env.emit(map[string]any{"event": "warning", "path": w.Path, "message": w.Message})
			return
		}
		bar.println(fmt.Sprintf("warning: %s: %s", w.Path, w.Message))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := engine.Backup(ctx, r, opts)
	bar.done()
	if err != nil {
		return err
	}
	if env.JSON {
		env.emit(struct {
			Event string `json:"event"`
			*engine.Result
		}{"result", res})
		return nil
	}
	printBackup(env.Stdout, res, env.Verbose || res.DryRun)
	return nil
}

func printBackup(w io.Writer, res *engine.Result, paths bool) {
	if res.DryRun {
		fmt.Fprintf(w, "Dry run: snapshot %s of %s would hold %d files and %d folders (%s)\n", res.Snapshot, res.Host, res.Files, res.Dirs, humanBytes(res.Bytes))
	} else {
		fmt.Fprintf(w, "Snapshot %s of %s: %d files and %d folders (%s) in %.1fs\n", res.Snapshot, res.Host, res.Files, res.Dirs, humanBytes(res.Bytes), res.Duration)
		fmt.Fprintf(w, "  copied %d files (%s), linked %d\n", res.Copied, humanBytes(res.CopiedBytes), res.Linked)
	}
	fmt.Fprintf(w, "  new %d, modified %d, metadata %d, moved %d, duplicate %d, deleted %d, unchanged %d, skipped %d\n",
		res.New, res.Modified, res.MetaOnly, res.Moved, res.Duplicate, res.Deleted, res.Unchanged, res.Skipped)
	if paths {
		for _, p := range res.Plan {
			if p.From != "" {
				fmt.Fprintf(w, "  %-9s %s (from %s)\n", p.Kind, p.Path, p.From)
			} else {
				fmt.Fprintf(w, "  %-9s %s\n", p.Kind, p.Path)
			}
		}
	}
}

// readLines reads a list file ("-" is standard input), skipping blank lines.
func readLines(env *Env, name string) ([]string, error) {
	var r io.Reader = env.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, kerr.Wrap(kerr.InvalidArgs, err, "read %s", name)
		}
		defer f.Close()
		r = f
	}
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if l := strings.TrimRight(sc.Text(), "\r"); strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out, sc.Err()
}

// progressBar draws one status line on a terminal, or JSON progress events
// with --json; otherwise it stays quiet.
type progressBar struct {
	env   *Env
	mu    sync.Mutex
	shown bool
}

func newProgressBar(env *Env) *progressBar { return &progressBar{env: env} }

func (b *progressBar) update(p engine.Progress) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.env.JSON {
		b.env.emit(struct {
			Event string `json:"event"`
			engine.Progress
		}{"progress", p})
		return
	}
	if !b.env.Terminal {
		return
	}
	secs := p.Elapsed.Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(p.Bytes) / secs
	}
	line := fmt.Sprintf("%d files, %s, %s/s", p.Files, humanBytes(p.Bytes), humanBytes(int64(rate)))
	if p.TotalFiles > 0 {
		frac := float64(p.Files) / float64(p.TotalFiles)
		if frac > 1 {
			frac = 0.99
		}
		const width = 24
		fill := int(frac * width)
		eta := "?"
		if frac > 0.01 {
			eta = (time.Duration(secs/frac-secs) * time.Second).Round(time.Second).String()
		}
		line = fmt.Sprintf("[%s%s] %3.0f%% %s, ETA %s", strings.Repeat("#", fill), strings.Repeat("-", width-fill), frac*100, line, eta)
	}
	fmt.Fprintf(b.env.Stderr, "\r\x1b[K%s", line)
	b.shown = true
}

func (b *progressBar) println(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.shown {
		fmt.Fprint(b.env.Stderr, "\r\x1b[K")
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

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
