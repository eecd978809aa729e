package cli

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/keepsake/keepsake/service/usecase"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/grammar"
	"github.com/keepsake/keepsake/shared/i18n"
	"github.com/keepsake/keepsake/shared/kerr"
	"github.com/spf13/cobra"
)

// parseTime reads a time flag; one that cannot be read is a usage error.
func (env *Env) parseTime(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := grammar.ParseTime(s, time.Now())
	if err != nil {
		return t, usagef("--%s: %v", flag, err)
	}
	return t, nil
}

// bothCommands work through the service and on a drive, with the same
// output.
func bothCommands(env *Env) []*cobra.Command {
	var allUsers bool
	addAll := func(c *cobra.Command) *cobra.Command {
		c.Flags().BoolVar(&allUsers, "all-users", false, i18n.T("every user's files, not only what you could read (administrators; on a drive: root)"))
		return c
	}

	var allHostSnaps bool
	snapshots := &cobra.Command{
		Use:   "snapshots",
		Short: i18n.T("List snapshots"),
		Args:  args(0, 0),
		RunE: run(func(c *cobra.Command, _ []string) error {
			if allHostSnaps && env.Repo == "" {
				return usage(i18n.T("snapshots --all-hosts works on a drive: add --repo DIR"))
			}
			b, err := env.open(readOnly)
			if err != nil {
				return err
			}
			var snaps []api.Snapshot
			if allHostSnaps {
				snaps, err = b.(*driveBackend).x.Snapshots(true)
			} else {
				snaps, err = b.Snapshots(env.ctx)
			}
			if err != nil {
				return err
			}
			printQuery(env, snaps, printSnapshots)
			return nil
		}),
	}

	snapshots.Flags().BoolVar(&allHostSnaps, "all-hosts", false, i18n.T("every computer's snapshots on the drive"))

	ls := addAll(&cobra.Command{
		Use:   "ls SNAPSHOT [PATH]",
		Short: i18n.T("List a folder of a snapshot (or show one file)"),
		Args:  args(1, 2),
		RunE: run(func(c *cobra.Command, a []string) error {
			q := usecase.ListRequest{Snapshot: a[0], Dir: "/"}
			if len(a) == 2 {
				q.Dir = env.abs(a[1])
			}
			return query(env, func(b Backend) ([]api.Entry, error) { return b.List(env.ctx, q, allUsers) }, printEntries)
		}),
	})

	var in, since, until string
	var limit int
	search := addAll(&cobra.Command{
		Use:   "search PATTERN",
		Short: i18n.T("Find files by name (glob or substring) in every snapshot"),
		Args:  args(1, 1),
		RunE: run(func(c *cobra.Command, a []string) error {
			q := usecase.SearchRequest{Pattern: api.DecodePath(a[0]), Limit: limit}
			if in != "" {
				q.In = env.abs(in)
			}
			var err error
			if q.Since, err = env.parseTime("since", since); err != nil {
				return err
			}
			if q.Until, err = env.parseTime("until", until); err != nil {
				return err
			}
			if _, err := q.Check(); err != nil {
				return usagef("search: %v", err)
			}
			return query(env, func(b Backend) ([]api.SearchHit, error) { return b.Search(env.ctx, q, allUsers) }, printHits)
		}),
	})
	// TRANSLATORS: keep the backquotes around the placeholder.
	search.Flags().StringVar(&in, "in", "", i18n.T("only below `DIR`"))
	// TRANSLATORS: keep the backquotes around the placeholder.
	search.Flags().StringVar(&since, "since", "", i18n.T("only versions a snapshot at or after `TIME` holds (2026-11-22, yesterday, 7d)"))
	// TRANSLATORS: keep the backquotes around the placeholder.
	search.Flags().StringVar(&until, "until", "", i18n.T("only versions a snapshot at or before `TIME` holds"))
	// TRANSLATORS: keep the backquotes around the placeholder.
	search.Flags().IntVar(&limit, "limit", 200, i18n.T("at most `N` results (1-10000)"))

	versions := addAll(&cobra.Command{
		Use:   "versions PATH",
		Short: i18n.T("The distinct versions of a file, following it across renames"),
		Args:  args(1, 1),
		RunE: run(func(c *cobra.Command, a []string) error {
			b, err := env.open(readOnly)
			if err != nil {
				return err
			}
			p := env.abs(a[0])
			vs, err := b.Versions(env.ctx, p, allUsers)
			if err != nil {
				return err
			}
			if len(vs) == 0 {
				return kerr.New(kerr.PathNotFound, env.t(i18n.Noop("no snapshot holds a version of %s that you may see")), p)
			}
			printQuery(env, vs, printVersions)
			return nil
		}),
	})

	var deletedSince string
	deleted := addAll(&cobra.Command{
		Use:   "deleted [DIR]",
		Short: i18n.T("Files earlier snapshots hold that are gone now"),
		Args:  args(0, 1),
		RunE: run(func(c *cobra.Command, a []string) error {
			dir := "/"
			if len(a) == 1 {
				dir = env.abs(a[0])
			}
			t, err := env.parseTime("since", deletedSince)
			if err != nil {
				return err
			}
			return query(env, func(b Backend) ([]api.DeletedFile, error) { return b.Deleted(env.ctx, dir, t, allUsers) }, printDeleted)
		}),
	})
	// TRANSLATORS: keep the backquotes around the placeholder.
	deleted.Flags().StringVar(&deletedSince, "since", "", i18n.T("only files gone since `TIME`"))

	var to string
	var overwrite, toComputer bool
	restore := addAll(&cobra.Command{
		Use:   "restore SNAPSHOT PATH...",
		Short: i18n.T("Restore files or folders from a snapshot (as yourself)"),
		// TRANSLATORS: the text of --help; break lines before 80 characters;
		// flags, commands, setting keys and values stay as they are.
		Long: i18n.T("Restore files or folders from a snapshot, read and written with your own\nrights. Without --to each goes back where it was; a newer file there is kept\nand the old one restored beside it as \"name (restored DATE).ext\", unless\n--overwrite. Another computer's files go to a folder here, or with\n--to-computer back to that computer, into the folder its profile's\nrestore-to names (as FOLDER/PATH there)."),
		Args: args(2, -1),
		RunE: run(func(c *cobra.Command, a []string) error {
			q := usecase.RestoreRequest{Snapshot: a[0], Paths: env.absAll(a[1:]), Overwrite: overwrite, ToComputer: toComputer}
			if to != "" {
				q.To = env.abs(to)
			}
			if err := usecase.CheckRestoreArgs(q); err != nil {
				return usagef("restore: %v", err)
			}
			b, err := env.open(readWrite)
			if err != nil {
				return err
			}
			res, err := b.Restore(env.ctx, q, allUsers, newProgressBar(env))
			if err != nil {
				return err
			}
			env.printRestore(res)
			return nil
		}),
	})
	// TRANSLATORS: keep the backquotes around the placeholder.
	restore.Flags().StringVar(&to, "to", "", i18n.T("restore into `DIR` instead of where they were"))
	restore.Flags().BoolVar(&overwrite, "overwrite", false, i18n.T("replace what is there"))
	restore.Flags().BoolVar(&toComputer, "to-computer", false, i18n.T("send another computer's files back to it (its profile's restore-to folder)"))

	var dry, allHosts bool
	var free string
	prune := &cobra.Command{
		Use:   "prune",
		Short: i18n.T("Remove the snapshots the retention policy does not keep, or thin until space is free"),
		Args:  args(0, 0),
		RunE: run(func(c *cobra.Command, _ []string) error {
			if free != "" {
				if _, err := usecase.ParseFree(free); err != nil {
					return usagef("prune --free: %v", err)
				}
			}
			if allHosts && env.Repo == "" {
				return usage(i18n.T("prune --all-hosts works on a drive: add --repo DIR"))
			}
			b, err := env.open(readWrite)
			if err != nil {
				return err
			}
			res, err := b.Prune(env.ctx, usecase.PruneRequest{DryRun: dry, Free: free, AllHosts: allHosts}, newProgressBar(env))
			if err != nil {
				return err
			}
			env.printResult(res, func() {
				for i, s := range res.Removed {
					if res.DryRun {
						// TRANSLATORS: would remove SNAPSHOT (SIZE only there;
						// WHY: the retention rule, in English).
						fmt.Fprintf(env.Stdout, i18n.T("would remove %s (%s only there; %s)")+"\n", s, humanBytes(int64(res.RemovedFreed[i])), res.RemovedWhy[i])
					} else {
						// TRANSLATORS: removed SNAPSHOT (WHY: the retention rule, in English).
						fmt.Fprintf(env.Stdout, i18n.T("removed %s (%s)")+"\n", s, res.RemovedWhy[i])
					}
				}
				fmt.Fprintln(env.Stdout, res.Summary())
			})
			return nil
		}),
	}
	prune.Flags().BoolVar(&dry, "dry-run", false, i18n.T("say what would be removed, remove nothing"))
	// TRANSLATORS: keep the backquotes around the placeholder.
	prune.Flags().StringVar(&free, "free", "", i18n.T("thin the oldest snapshots until `SIZE` (500M, 20G) or PERCENT (10%) is free"))
	prune.Flags().BoolVar(&allHosts, "all-hosts", false, i18n.T("every computer's snapshots on the drive"))

	var sample int
	verify := &cobra.Command{
		Use:   "verify [SNAPSHOT]",
		Short: i18n.T("Re-read stored files against the catalog and check the catalog"),
		Args:  args(0, 1),
		RunE: run(func(c *cobra.Command, a []string) error {
			if err := usecase.CheckSample(sample); err != nil {
				return usagef("verify --sample: %v", err)
			}
			q := usecase.VerifyRequest{Sample: sample}
			if len(a) == 1 {
				if env.Repo == "" {
					return usage(i18n.T("verify through the service checks every snapshot: leave out SNAPSHOT, or use --repo"))
				}
				q.Snapshot = a[0]
			}
			b, err := env.open(readWrite)
			if err != nil {
				return err
			}
			res, err := b.Verify(env.ctx, q, newProgressBar(env))
			if res.Files == 0 && err != nil {
				return err
			}
			env.printResult(res, func() {
				for _, d := range res.Damaged {
					// TRANSLATORS: damaged: WHICH FILE AND HOW
					fmt.Fprintf(env.Stdout, i18n.T("damaged: %s")+"\n", d)
				}
				for _, p := range res.CatalogProblems {
					// TRANSLATORS: catalog: A PROBLEM FOUND IN THE CATALOG
					fmt.Fprintf(env.Stdout, i18n.T("catalog: %s")+"\n", p)
				}
				fmt.Fprintln(env.Stdout, res.Summary())
			})
			if err != nil && env.JSON {
				return quietError{err}
			}
			return err
		}),
	}
	// TRANSLATORS: keep the backquotes around the placeholder.
	verify.Flags().IntVar(&sample, "sample", 0, i18n.T("check `PERCENT` of the content, a different slice each run (1-100)"))

	return []*cobra.Command{snapshots, ls, search, versions, deleted, restore, prune, verify}
}

// query runs a query on the drive or the service, read-only, and prints
// its result.
func query[T any](env *Env, fetch func(Backend) ([]T, error), human func(*Env, []T)) error {
	b, err := env.open(readOnly)
	if err != nil {
		return err
	}
	vs, err := fetch(b)
	if err != nil {
		return err
	}
	printQuery(env, vs, human)
	return nil
}

// printQuery prints a query's result: one JSON list, or the human lines.
func printQuery[T any](env *Env, vs []T, human func(*Env, []T)) {
	if env.JSON {
		if vs == nil {
			vs = []T{}
		}
		env.emit(vs)
		return
	}
	human(env, vs)
}

// printResult prints a job's result: one JSON event, or the human lines.
func (env *Env) printResult(v any, human func()) {
	if env.JSON {
		// The result's keys beside "event", as the progress events have
		// theirs: a script reads the last line.
		m := map[string]any{}
		b, _ := json.Marshal(v)
		json.Unmarshal(b, &m)
		m["event"] = "result"
		env.emit(m)
		return
	}
	human()
}
