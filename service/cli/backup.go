package cli

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/keepsake/keepsake/service/usecase"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/grammar"
	"github.com/keepsake/keepsake/shared/i18n"
	"github.com/keepsake/keepsake/shared/kerr"
	"github.com/spf13/cobra"
)

// backupCommand writes a snapshot to a drive without the service.
func backupCommand(env *Env) *cobra.Command {
	var excludes, includeMounts []string
	var excludeFrom, changedDirs, changedNames, minFree string
	var dryRun, noDefaults, rehash bool
	c := &cobra.Command{
		Use:   "backup SOURCE...",
		Short: i18n.T("Write a snapshot of the SOURCE folders to the drive"),
		// TRANSLATORS: the text of --help; break lines before 80 characters;
		// flags, commands, setting keys and values stay as they are.
		Long: i18n.T("Write a snapshot of the SOURCE folders to the drive, as this computer (or\n--host NAME). Unchanged files are hardlinks to the previous snapshot; moved,\nrenamed and duplicated files are found by content and cost no space.\n\nA SOURCE written ssh://[user@]host[:port]/path[,/path2...] is another\ncomputer: its folders are pulled with rsync over ssh, with your own ssh keys\nand known_hosts, into that computer's folder on the drive (--host NAME, by\ndefault the address's host name). Files already on the drive, from any\ncomputer, are linked instead of stored again."),
		RunE: run(func(c *cobra.Command, a []string) error {
			if len(a) == 0 {
				return usage(i18n.T("backup: give at least one SOURCE folder"))
			}
			r, remote, err := grammar.RemoteSources(a)
			if err != nil {
				return kerr.Wrap(kerr.InvalidArgs, err, "backup")
			}
			q := usecase.BackupRequest{Host: env.Host, DryRun: dryRun, NoDefaultExcludes: noDefaults, Rehash: rehash,
				Plan: env.Verbose, Actor: usecase.CurrentActor(), Excludes: excludes}
			if remote {
				if dryRun || rehash || changedDirs != "" || changedNames != "" || len(excludes) > 0 || excludeFrom != "" || len(includeMounts) > 0 {
					return usage(i18n.T("backup: --dry-run, --rehash, --changed-dirs, --changed, --include-mount and exclusions are for folders of this computer"))
				}
				q = usecase.PullRequest(q, r, usecase.UserFetch(r))
				if q.Host == "" {
					q.Host = r.DefaultName()
				}
			} else {
				q.Sources = env.absAll(a)
				q.IncludeMounts = env.absAll(includeMounts)
			}
			if q.Host == "" {
				q.Host = env.ThisHost
			}
			if excludeFrom != "" {
				lines, err := readLines(env, excludeFrom)
				if err != nil {
					return err
				}
				q.Excludes = append(q.Excludes, lines...)
			}
			if changedDirs != "" {
				if q.ChangedDirs, err = readPaths(env, "--changed-dirs", changedDirs); err != nil {
					return err
				}
			}
			if changedNames != "" {
				if q.ChangedNames, err = readPaths(env, "--changed", changedNames); err != nil {
					return err
				}
				if q.ChangedDirs == nil {
					q.ChangedDirs = []string{}
				}
			}
			d, err := usecase.OpenDrive(env.Repo)
			if err != nil {
				return err
			}
			if q.MinFree, err = d.MinFreeBytes(minFree); err != nil {
				return usagef("backup --min-free: %v", err)
			}
			bar := newProgressBar(env)
			q.Warn = bar.warn
			if env.Terminal || env.JSON {
				// Only then: with a listener the engine also counts the
				// sources for the bar's totals.
				q.Progress = bar.engine
			}
			sum, res, err := d.Backup(env.ctx, q)
			bar.done()
			if err != nil {
				return err
			}
			env.printResult(res, func() {
				printBackup(env.Stdout, res, env.Verbose || res.DryRun)
				printLeftOut(env.Stdout, sum)
			})
			return nil
		}),
	}
	f := c.Flags()
	f.BoolVar(&dryRun, "dry-run", false, i18n.T("say what would change, write nothing"))
	// TRANSLATORS: keep the backquotes around the placeholder.
	f.StringArrayVar(&excludes, "exclude", nil, i18n.T("leave out paths matching `PATTERN` (gitignore style; ~/ is every home)"))
	// TRANSLATORS: keep the backquotes around the placeholder.
	f.StringVar(&excludeFrom, "exclude-from", "", i18n.T("read exclusion patterns from `FILE` (- for standard input)"))
	f.BoolVar(&noDefaults, "no-default-excludes", false, i18n.T("also back up caches and the trash"))
	// TRANSLATORS: keep the backquotes around the placeholder.
	f.StringArrayVar(&includeMounts, "include-mount", nil, i18n.T("also back up the other filesystem mounted at `DIR` inside a SOURCE (others are left out)"))
	// TRANSLATORS: keep the backquotes around the placeholder.
	f.StringVar(&changedDirs, "changed-dirs", "", i18n.T("read only the folders listed in `FILE`; take the rest from the previous snapshot"))
	// TRANSLATORS: keep the backquotes around the placeholder.
	f.StringVar(&changedNames, "changed", "", i18n.T("look only at the entries listed in `FILE` (made, written, removed or renamed) and their folders; take the rest from the previous snapshot"))
	f.BoolVar(&rehash, "rehash", false, i18n.T("read and hash every file instead of trusting size and times"))
	// TRANSLATORS: keep the backquotes around the placeholder.
	f.StringVar(&minFree, "min-free", "2%", i18n.T("first thin the oldest snapshots until `SIZE` or PERCENT of the drive is free"))
	return c
}

// readPaths reads a list of absolute paths, one a line, for flag.
func readPaths(env *Env, flag, file string) ([]string, error) {
	lines, err := readLines(env, file)
	if err != nil {
		return nil, err
	}
	paths := []string{}
	for _, l := range lines {
		if !filepath.IsAbs(l) {
			return nil, kerr.New(kerr.InvalidArgs, env.t(i18n.Noop("%s: %q is not an absolute path")), flag, l)
		}
		paths = append(paths, l)
	}
	return paths, nil
}

// files and folders are "3 files", "1 folder" as a backup's summary
// counts them.
func files(n int64) string { return fmt.Sprintf(i18n.N("%d file", "%d files", int(n)), n) }
func folders(n int64) string {
	return fmt.Sprintf(i18n.N("%d folder", "%d folders", int(n)), n)
}

func printBackup(w io.Writer, res *usecase.BackupDetails, paths bool) {
	if res.DryRun {
		// TRANSLATORS: Dry run: snapshot NAME of COMPUTER would hold 3
		// files and 2 folders (SIZE).
		fmt.Fprintf(w, i18n.T("Dry run: snapshot %s of %s would hold %s and %s (%s)")+"\n", res.Snapshot, res.Host,
			files(res.Files), folders(res.Dirs), humanBytes(res.Bytes))
	} else {
		// TRANSLATORS: Snapshot NAME of COMPUTER: 3 files and 2 folders
		// (SIZE) in 1.5s (seconds).
		fmt.Fprintf(w, i18n.T("Snapshot %s of %s: %s and %s (%s) in %.1fs")+"\n", res.Snapshot, res.Host,
			files(res.Files), folders(res.Dirs), humanBytes(res.Bytes), res.Duration)
		// TRANSLATORS: copied 3 files (SIZE), linked N (files that were
		// unchanged, hardlinked to the previous snapshot).
		fmt.Fprintf(w, "  "+i18n.T("copied %s (%s), linked %d")+"\n", files(res.Copied), humanBytes(res.CopiedBytes), res.Linked)
		if res.ReceivedBytes > 0 {
			// TRANSLATORS: %s is a size pulled from another computer.
			fmt.Fprintf(w, "  "+i18n.T("received %s over ssh")+"\n", humanBytes(res.ReceivedBytes))
		}
	}
	// TRANSLATORS: how many files and folders a backup found new,
	// modified, with only their metadata changed, moved, duplicate,
	// deleted, unchanged and skipped.
	fmt.Fprintf(w, "  "+i18n.T("new %d, modified %d, metadata %d, moved %d, duplicate %d, deleted %d, unchanged %d, skipped %d")+"\n",
		res.New, res.Modified, res.MetaOnly, res.Moved, res.Duplicate, res.Deleted, res.Unchanged, res.Skipped)
	if paths {
		// The kinds (new, deleted…) stay as the --json plan writes them.
		for _, p := range res.Plan {
			if p.From != "" {
				// TRANSLATORS: PATH (from WHERE IT WAS BEFORE): a moved file.
				fmt.Fprintf(w, "  %-9s %s\n", p.Kind, fmt.Sprintf(i18n.T("%s (from %s)"), p.Path, p.From))
			} else {
				fmt.Fprintf(w, "  %-9s %s\n", p.Kind, p.Path)
			}
		}
	}
}

// printLeftOut says what a completed backup left out: the entries it could
// not take (a partial backup) and the other filesystems it did not enter.
func printLeftOut(w io.Writer, res api.BackupResult) {
	if n := int64(res.ProblemCount); n > 0 {
		fmt.Fprintf(w, i18n.N("Partial: %d file or folder could not be backed up (the previous version stays where there is one):",
			"Partial: %d files or folders could not be backed up (the previous version stays where there is one):", int(n))+"\n", n)
		for _, p := range res.Problems {
			fmt.Fprintf(w, "  %s\n", p)
		}
		if int64(len(res.Problems)) < n {
			more := n - int64(len(res.Problems))
			// TRANSLATORS: after a list of files that could not be backed up.
			fmt.Fprintf(w, "  "+i18n.N("… and %d more", "… and %d more", int(more))+"\n", more)
		}
	}
	if n := len(res.SkippedMounts); n > 0 {
		mounts := make([]string, n)
		for i, m := range res.SkippedMounts {
			mounts[i] = string(m)
		}
		// TRANSLATORS: %s is a list of mount points (folders where another
		// drive or filesystem is mounted).
		fmt.Fprintf(w, i18n.N("%d other drive inside your folders was not backed up: %s",
			"%d other drives inside your folders were not backed up: %s", n)+"\n", n, strings.Join(mounts, ", "))
		// TRANSLATORS: --include-mount DIR and include-mounts are an option
		// and a setting's name: keep them as they are.
		fmt.Fprintln(w, "  "+i18n.T("(include one with --include-mount DIR, or the profile's include-mounts setting)"))
	}
}
