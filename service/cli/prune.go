package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/engine"
	"github.com/keepsake/keepsake/service/retention"
	"github.com/keepsake/keepsake/shared/kerr"
	"golang.org/x/sys/unix"
)

// parseSpace reads "500M", "2G", "1.5T", "1048576" or "10%" (of the
// drive holding dir) into bytes.
func parseSpace(s, dir string) (int64, error) {
	bad := kerr.New(kerr.InvalidArgs, "cannot read the size %q (try 500M, 2G or 10%%)", s)
	if pct, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(pct, 64)
		if err != nil || f < 0 || f > 100 {
			return 0, bad
		}
		var st unix.Statfs_t
		if err := unix.Statfs(dir, &st); err != nil {
			return 0, fmt.Errorf("size of %s: %w", dir, err)
		}
		return int64(f / 100 * float64(st.Blocks) * float64(st.Bsize)), nil
	}
	mult := 1.0
	// "2GiB", "2Gi", "2GB" and "2G" all mean 2 GiB, as df and du print them.
	s = strings.TrimSuffix(strings.TrimSuffix(s, "B"), "i")
	if n := len(s); n > 0 {
		if i := strings.IndexByte("KMGT", s[n-1]&^0x20); i >= 0 {
			mult = float64(int64(1) << (10 * (i + 1)))
			s = s[:n-1]
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0, bad
	}
	return int64(f * mult), nil
}

func runPolicy(env *Env, args []string) error {
	fs := flag.NewFlagSet("policy", flag.ContinueOnError)
	var p retention.Policy
	fs.IntVar(&p.KeepLast, "keep-last", 0, "")
	fs.IntVar(&p.Hourly, "hourly", 0, "")
	fs.IntVar(&p.Daily, "daily", 0, "")
	fs.IntVar(&p.Weekly, "weekly", 0, "")
	fs.IntVar(&p.Monthly, "monthly", 0, "")
	fs.IntVar(&p.Yearly, "yearly", 0, "")
	tm := fs.Bool("time-machine", false, "")
	_, err := positional(fs, args, 0, 0, "policy takes no arguments, only options")
	if err != nil {
		return err
	}
	_, c, err := openCatalog(env)
	if err != nil {
		return err
	}
	defer c.Close()
	set := false
	fs.Visit(func(*flag.Flag) { set = true })
	if set {
		if *tm {
			p = retention.Policy{}
		}
		if err := c.SetPolicy(p, catalog.CurrentActor()); err != nil {
			return err
		}
	}
	if p, err = c.Policy(); err != nil {
		return err
	}
	if env.JSON {
		env.emit(map[string]any{"policy": p, "time_machine": p.TimeMachine(), "description": p.String()})
		return nil
	}
	fmt.Fprintln(env.Stdout, p.String())
	return nil
}

func runPrune(env *Env, args []string) error {
	fs := flag.NewFlagSet("prune", flag.ContinueOnError)
	dryRun := fs.Bool("dry-run", false, "")
	free := fs.String("free", "", "")
	allHosts := fs.Bool("all-hosts", false, "")
	_, err := positional(fs, args, 0, 0, "prune [--dry-run] [--free SIZE|PERCENT] [--all-hosts]")
	if err != nil {
		return err
	}
	r, err := openRepo(env)
	if err != nil {
		return err
	}
	opts := engine.PruneOptions{Host: env.Host, DryRun: *dryRun, Actor: catalog.CurrentActor()}
	if *allHosts {
		opts.Host = ""
	}
	if *free != "" {
		if opts.Free, err = parseSpace(*free, r.Root); err != nil {
			return err
		}
	}
	bar := newProgressBar(env)
	opts.Progress = bar.update
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := engine.Prune(ctx, r, opts)
	bar.done()
	if err != nil {
		return err
	}
	if env.JSON {
		if res.Removed == nil {
			res.Removed = []engine.PrunedSnapshot{}
		}
		env.emit(struct {
			Event string `json:"event"`
			*engine.PruneResult
		}{"result", res})
		return nil
	}
	verb := "removed"
	if res.DryRun {
		verb = "would remove"
	}
	fmt.Fprintf(env.Stdout, "policy: %s\n", res.Policy)
	for _, s := range res.Removed {
		if res.DryRun {
			fmt.Fprintf(env.Stdout, "%s %s %s (%s only there; %s)\n", verb, s.Host, s.Name, humanBytes(s.Freed), s.Reason)
		} else {
			fmt.Fprintf(env.Stdout, "%s %s %s (%s)\n", verb, s.Host, s.Name, s.Reason)
		}
	}
	fmt.Fprintf(env.Stdout, "%d snapshots %s, %d kept, %s freed, %s free now\n", len(res.Removed), verb, res.Kept,
		humanBytes(res.Freed), humanBytes(res.FreeAfter))
	return nil
}

func runPin(env *Env, args []string) error   { return pin(env, "pin", args, true) }
func runUnpin(env *Env, args []string) error { return pin(env, "unpin", args, false) }

func pin(env *Env, name string, args []string, pinned bool) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	pos, err := positional(fs, args, 1, 1, fmt.Sprintf("%s SNAPSHOT", name))
	if err != nil {
		return err
	}
	r, err := openRepo(env)
	if err != nil {
		return err
	}
	c, err := catalog.Open(r.CatalogPath())
	if err != nil {
		return err
	}
	defer c.Close()
	s, err := c.Snapshot(env.Host, pos[0])
	if err != nil {
		return err
	}
	if err := c.SetPinned(s, pinned, catalog.CurrentActor()); err != nil {
		return err
	}
	if env.JSON {
		env.emit(map[string]any{"event": "result", "snapshot": s.Name, "pinned": pinned})
		return nil
	}
	fmt.Fprintf(env.Stdout, "%sned %s\n", name, s.Name)
	return nil
}
