package cli

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/keepsake/keepsake/service/usecase"
	"github.com/keepsake/keepsake/shared/i18n"
	"github.com/keepsake/keepsake/shared/kerr"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// repo is the drive of a drive-only command, opened with the use cases.
func (env *Env) repo(a access) (*usecase.Repo, error) {
	if env.Repo == "" {
		return nil, usage(i18n.T("this command works on a drive: add --repo DIR (the backup drive or its Keepsake folder)"))
	}
	b, err := env.open(a)
	if err != nil {
		return nil, err
	}
	return b.(*driveBackend).x, nil
}

// driveCommands work on a drive only (--repo): setting one up, backing up
// without the service, and the questions the service does not answer.
func driveCommands(env *Env) []*cobra.Command {
	needRepo := func(c *cobra.Command, a []string) error {
		if env.Repo == "" {
			// TRANSLATORS: %s is a command's name (init, backup…).
			return usagef(i18n.T("%s works on a drive: add --repo DIR (the backup drive or its Keepsake folder)"), c.Name())
		}
		return nil
	}
	cmds := []*cobra.Command{
		initCommand(env),
		backupCommand(env),
		logCommand(env),
		{
			Use:   "where SHA256|FILE",
			Short: i18n.T("Where a content lies, in which snapshots"),
			Args:  args(1, 1),
			RunE: run(func(c *cobra.Command, a []string) error {
				x, err := env.repo(readOnly)
				if err != nil {
					return err
				}
				arg := a[0]
				if _, herr := hex.DecodeString(arg); herr != nil || len(arg) != 64 {
					arg = env.abs(arg)
				}
				res, err := x.Where(arg)
				if err != nil {
					return err
				}
				if env.JSON {
					env.emit(res)
					return nil
				}
				if len(res.Places) == 0 {
					// TRANSLATORS: %s is a SHA-256 checksum.
					return kerr.New(kerr.PathNotFound, env.t(i18n.Noop("no snapshot holds content %s")), res.SHA256)
				}
				// TRANSLATORS: %s is a SHA-256 checksum; the places that hold
				// it are listed below.
				fmt.Fprintf(env.Stdout, i18n.T("content %s")+"\n", res.SHA256)
				tw := table(env)
				for _, p := range res.Places {
					latest := ""
					if p.Latest {
						latest = i18n.T("(in the latest snapshot)")
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Host, p.Path, span(p.Snapshots), latest)
				}
				tw.Flush()
				return nil
			}),
		},
		{
			Use:   "duplicates [DIR]",
			Short: i18n.T("Groups of identical files in the latest snapshot"),
			Args:  args(0, 1),
			RunE: run(func(c *cobra.Command, a []string) error {
				dir := "/"
				if len(a) == 1 {
					dir = env.abs(a[0])
				}
				x, err := env.repo(readOnly)
				if err != nil {
					return err
				}
				groups, err := x.Duplicates(dir)
				if err != nil {
					return err
				}
				var wasted int64
				for _, g := range groups {
					wasted += g.Wasted
				}
				if env.JSON {
					type groupJSON struct {
						SHA256 string `json:"sha256"`
						usecase.DuplicateGroup
					}
					out := make([]groupJSON, len(groups))
					for i, g := range groups {
						out[i] = groupJSON{hex.EncodeToString(g.SHA256), g}
					}
					env.emit(map[string]any{"groups": out, "wasted": wasted})
					return nil
				}
				for _, g := range groups {
					// TRANSLATORS: N copies of SIZE (SIZE wasted): a group of
					// identical files, listed below.
					fmt.Fprintf(env.Stdout, i18n.N("%d copy of %s (%s wasted):", "%d copies of %s (%s wasted):", len(g.Paths))+"\n", len(g.Paths), humanBytes(g.Size), humanBytes(g.Wasted))
					for _, p := range g.Paths {
						fmt.Fprintf(env.Stdout, "  %s\n", p)
					}
				}
				// TRANSLATORS: N groups of identical files, SIZE wasted in
				// the backed-up folders.
				fmt.Fprintf(env.Stdout, i18n.N("%d group, %s wasted in the source (the backup stores each content once)",
					"%d groups, %s wasted in the source (the backup stores each content once)", len(groups))+"\n", len(groups), humanBytes(wasted))
				return nil
			}),
		},
		{
			Use:   "diff SNAPSHOT1 SNAPSHOT2",
			Short: i18n.T("What changed between two snapshots"),
			Args:  args(2, 2),
			RunE: run(func(c *cobra.Command, a []string) error {
				x, err := env.repo(readOnly)
				if err != nil {
					return err
				}
				changes, err := x.Diff(a[0], a[1])
				if err != nil {
					return err
				}
				if env.JSON {
					env.emit(changes)
					return nil
				}
				counts := map[string]int{}
				tw := table(env)
				for _, ch := range changes {
					counts[ch.Kind]++
					from := ""
					if ch.From != "" {
						// TRANSLATORS: where a moved file was before.
						from = fmt.Sprintf(i18n.T("(from %s)"), ch.From)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\n", ch.Kind, ch.Path, from)
				}
				tw.Flush()
				var kinds []string
				for k := range counts {
					kinds = append(kinds, k)
				}
				sort.Strings(kinds)
				var parts []string
				for _, k := range kinds {
					parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
				}
				// The kinds stay as the --json changes name them.
				if len(parts) == 0 {
					parts = []string{i18n.T("no differences")}
				}
				fmt.Fprintln(env.Stdout, strings.Join(parts, ", "))
				return nil
			}),
		},
		{
			Use:   "du SNAPSHOT",
			Short: i18n.T("What a snapshot holds alone and what it shares"),
			Args:  args(1, 1),
			RunE: run(func(c *cobra.Command, a []string) error {
				x, err := env.repo(readOnly)
				if err != nil {
					return err
				}
				u, err := x.Du(a[0])
				if err != nil {
					return err
				}
				if env.JSON {
					env.emit(u)
					return nil
				}
				// TRANSLATORS: snapshot NAME: N files, SIZE
				fmt.Fprintf(env.Stdout, i18n.N("snapshot %s: %d file, %s", "snapshot %s: %d files, %s", int(u.Files))+"\n", u.Snapshot, u.Files, humanBytes(u.Bytes))
				// TRANSLATORS: what only this snapshot holds (SIZE).
				fmt.Fprintf(env.Stdout, "  "+i18n.T("only here: %s (what deleting it frees)")+"\n", humanBytes(u.Unique))
				fmt.Fprintf(env.Stdout, "  "+i18n.T("shared with other snapshots: %s")+"\n", humanBytes(u.Shared))
				return nil
			}),
		},
		policyCommand(env),
		pinCommand(env, "pin", i18n.T("Keep a snapshot whatever the policy says"), true),
		pinCommand(env, "unpin", i18n.T("Let the policy decide about a snapshot again"), false),
		{
			Use:   "repair [SNAPSHOT]",
			Short: i18n.T("Mend damaged files from intact copies or the source"),
			Args:  args(0, 1),
			RunE: run(func(c *cobra.Command, a []string) error {
				x, err := env.repo(readWrite)
				if err != nil {
					return err
				}
				q := usecase.VerifyRequest{}
				if len(a) == 1 {
					q.Snapshot = a[0]
				}
				res, rerr := x.Repair(env.ctx, q)
				if res == nil {
					return rerr
				}
				if env.JSON {
					env.printResult(res, nil)
					if rerr != nil {
						return quietError{rerr}
					}
					return nil
				}
				for _, d := range res.Repaired {
					// TRANSLATORS: repaired SNAPSHOT PATH (WHAT WAS WRONG)
					fmt.Fprintf(env.Stdout, i18n.T("repaired %s %s (%s)")+"\n", d.Snapshot, d.Path, d.Problem)
				}
				for _, d := range res.Unrepaired {
					// TRANSLATORS: NOT REPAIRED SNAPSHOT PATH: WHAT IS WRONG
					fmt.Fprintf(env.Stdout, i18n.T("NOT REPAIRED %s %s: %s")+"\n", d.Snapshot, d.Path, d.Problem)
				}
				// TRANSLATORS: how many damaged files were repaired and how many not.
				fmt.Fprintf(env.Stdout, i18n.T("%d repaired, %d not repaired")+"\n", len(res.Repaired), len(res.Unrepaired))
				return rerr
			}),
		},
	}
	for _, c := range cmds {
		c.PreRunE = needRepo
	}
	// Encrypted drives: on a drive directly, or through the service.
	return append(cmds, encryptCommands(env)...)
}

func logCommand(env *Env) *cobra.Command {
	var limit int
	c := &cobra.Command{
		Use:   "log",
		Short: i18n.T("Show the audit log (who did what to the drive)"),
		Args:  args(0, 0),
		RunE: run(func(c *cobra.Command, _ []string) error {
			x, err := env.repo(readOnly)
			if err != nil {
				return err
			}
			entries, err := x.Log(limit)
			if err != nil {
				return err
			}
			if env.JSON {
				env.emit(entries)
				return nil
			}
			tw := table(env)
			// TRANSLATORS: the column headings of keepsakectl log, in
			// capitals, separated by tabs: keep the seven columns and the tabs.
			fmt.Fprintln(tw, i18n.T("TIME\tUSER\tACTION\tHOST\tSNAPSHOT\tPATH\tDETAIL"))
			for _, e := range entries {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", when(e.Time), owner(e.User, uint32(e.UID)), e.Action, e.Host, e.Snapshot, e.Path, e.Detail)
			}
			tw.Flush()
			return nil
		}),
	}
	// TRANSLATORS: keep the backquotes around the placeholder.
	c.Flags().IntVar(&limit, "limit", 100, i18n.T("the newest `N` entries"))
	return c
}

func policyCommand(env *Env) *cobra.Command {
	var p usecase.Policy
	var tm bool
	c := &cobra.Command{
		Use:   "policy",
		Short: i18n.T("Show or set the retention policy"),
		// TRANSLATORS: the text of --help; break lines before 80 characters;
		// flags, commands, setting keys and values stay as they are.
		Long: i18n.T("Show the retention policy stored on the drive, or set it: --time-machine\n(hourly for a day, daily for a month, weekly before that), or counts of\nsnapshots to keep (--keep-last, --hourly, --daily, --weekly, --monthly,\n--yearly)."),
		Args: args(0, 0),
		RunE: run(func(c *cobra.Command, _ []string) error {
			set := false // a policy flag given: --repo and --host do not count
			c.LocalFlags().VisitAll(func(f *pflag.Flag) { set = set || f.Changed })
			x, err := env.repo(map[bool]access{true: readWrite, false: readOnly}[set])
			if err != nil {
				return err
			}
			if set {
				if tm {
					p = usecase.Policy{}
				}
				if err := x.SetPolicy(p, usecase.CurrentActor()); err != nil {
					return err
				}
			}
			if p, err = x.Policy(); err != nil {
				return err
			}
			if env.JSON {
				env.emit(map[string]any{"policy": p, "time_machine": p.TimeMachine(), "description": p.String()})
				return nil
			}
			fmt.Fprintln(env.Stdout, p.String())
			return nil
		}),
	}
	f := c.Flags()
	// TRANSLATORS: keep the backquotes around the placeholder.
	f.IntVar(&p.KeepLast, "keep-last", 0, i18n.T("keep the newest `N` snapshots"))
	// TRANSLATORS: keep the backquotes around the placeholder.
	f.IntVar(&p.Hourly, "hourly", 0, i18n.T("keep the last snapshot of each of the last `N` hours"))
	// TRANSLATORS: keep the backquotes around the placeholder.
	f.IntVar(&p.Daily, "daily", 0, i18n.T("… of each of the last `N` days"))
	// TRANSLATORS: keep the backquotes around the placeholder.
	f.IntVar(&p.Weekly, "weekly", 0, i18n.T("… of each of the last `N` weeks"))
	// TRANSLATORS: keep the backquotes around the placeholder.
	f.IntVar(&p.Monthly, "monthly", 0, i18n.T("… of each of the last `N` months"))
	// TRANSLATORS: keep the backquotes around the placeholder.
	f.IntVar(&p.Yearly, "yearly", 0, i18n.T("… of each of the last `N` years"))
	f.BoolVar(&tm, "time-machine", false, i18n.T("hourly for a day, daily for a month, weekly before that"))
	return c
}

func pinCommand(env *Env, name, short string, pinned bool) *cobra.Command {
	return &cobra.Command{
		Use:   name + " SNAPSHOT",
		Short: short,
		Args:  args(1, 1),
		RunE: run(func(c *cobra.Command, a []string) error {
			x, err := env.repo(readWrite)
			if err != nil {
				return err
			}
			s, err := x.Pin(a[0], pinned, usecase.CurrentActor())
			if err != nil {
				return err
			}
			if env.JSON {
				env.emit(map[string]any{"event": "result", "snapshot": s, "pinned": pinned})
				return nil
			}
			if pinned {
				// TRANSLATORS: %s is a snapshot's name.
				fmt.Fprintf(env.Stdout, i18n.T("pinned %s")+"\n", s)
			} else {
				// TRANSLATORS: %s is a snapshot's name.
				fmt.Fprintf(env.Stdout, i18n.T("unpinned %s")+"\n", s)
			}
			return nil
		}),
	}
}

// readLines reads a list file ("-" is standard input), skipping blank lines.
func readLines(env *Env, name string) ([]string, error) {
	var r io.Reader = env.Stdin
	if name != "-" {
		f, err := os.Open(env.abs(name))
		if err != nil {
			// TRANSLATORS: read FILE (an error follows: why it could not be read).
			return nil, kerr.Wrap(kerr.InvalidArgs, err, env.t(i18n.Noop("read %s")), name)
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
