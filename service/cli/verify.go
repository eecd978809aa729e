package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/keepsake/keepsake/service/engine"
	"github.com/keepsake/keepsake/shared/kerr"
)

func verifyArgs(env *Env, name string, args []string, sample bool) (engine.VerifyOptions, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	pct := 0
	if sample {
		fs.IntVar(&pct, "sample", 0, "")
	}
	pos, err := positional(fs, args, 0, 1, fmt.Sprintf("%s [SNAPSHOT]", name))
	if err != nil {
		return engine.VerifyOptions{}, err
	}
	if pct < 0 || pct > 100 {
		return engine.VerifyOptions{}, kerr.New(kerr.InvalidArgs, "--sample takes a percentage from 1 to 100")
	}
	opts := engine.VerifyOptions{Host: env.Host, SamplePercent: pct}
	if len(pos) == 1 {
		opts.Snapshot = pos[0]
	}
	return opts, nil
}

func runVerify(env *Env, args []string) error {
	opts, err := verifyArgs(env, "verify", args, true)
	if err != nil {
		return err
	}
	r, err := openRepo(env)
	if err != nil {
		return err
	}
	bar := newProgressBar(env)
	opts.Progress = bar.update
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, verr := engine.Verify(ctx, r, opts)
	bar.done()
	if res == nil {
		return verr
	}
	if env.JSON {
		env.emit(struct {
			Event string `json:"event"`
			*engine.VerifyResult
		}{"result", res})
	} else {
		for _, d := range res.Damaged {
			fmt.Fprintf(env.Stdout, "DAMAGED %s %s: %s\n", d.Snapshot, d.Path, d.Problem)
		}
		for _, p := range res.CatalogProblems {
			fmt.Fprintf(env.Stdout, "CATALOG %s\n", p)
		}
		scope := "all content"
		if res.Of > 1 {
			scope = fmt.Sprintf("slice %d of %d", res.Slice+1, res.Of)
		}
		fmt.Fprintf(env.Stdout, "checked %d files in %d snapshots (%s, %s read): %d damaged, %d catalog problems\n",
			res.Files, len(res.Snapshots), scope, humanBytes(res.Bytes), len(res.Damaged), len(res.CatalogProblems))
	}
	if verr != nil && env.JSON {
		// The result already says what is wrong; the exit status tells.
		return quietError{verr}
	}
	return verr
}

func runRepair(env *Env, args []string) error {
	opts, err := verifyArgs(env, "repair", args, false)
	if err != nil {
		return err
	}
	r, err := openRepo(env)
	if err != nil {
		return err
	}
	res, rerr := engine.Repair(context.Background(), r, opts)
	if res == nil {
		return rerr
	}
	if env.JSON {
		env.emit(struct {
			Event string `json:"event"`
			*engine.RepairResult
		}{"result", res})
		if rerr != nil {
			return quietError{rerr}
		}
		return nil
	}
	for _, d := range res.Repaired {
		fmt.Fprintf(env.Stdout, "repaired %s %s (%s)\n", d.Snapshot, d.Path, d.Problem)
	}
	for _, d := range res.Unrepaired {
		fmt.Fprintf(env.Stdout, "NOT REPAIRED %s %s: %s\n", d.Snapshot, d.Path, d.Problem)
	}
	fmt.Fprintf(env.Stdout, "%d repaired, %d not repaired\n", len(res.Repaired), len(res.Unrepaired))
	return rerr
}

// quietError fails the command without printing again what the JSON
// result already says.
type quietError struct{ error }

func (q quietError) Unwrap() error { return q.error }
