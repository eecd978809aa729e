package cli

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/i18n"
)

// when is a time for people, in the local zone ("never" for none).
func when(t time.Time) string {
	if t.IsZero() {
		// TRANSLATORS: in place of a date and time: no backup yet, none planned.
		return i18n.T("never")
	}
	return whenC(t)
}

// whenC is when for the status lines scripts read: "never" in every
// language.
func whenC(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func table(env *Env) *tabwriter.Writer { return tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0) }

func printSnapshots(env *Env, snaps []api.Snapshot) {
	if len(snaps) == 0 {
		fmt.Fprintln(env.Stdout, i18n.T("no snapshots yet"))
		return
	}
	tw := table(env)
	// TRANSLATORS: the column headings of keepsakectl snapshots, in
	// capitals, separated by tabs: keep the six columns and the tabs.
	fmt.Fprintln(tw, i18n.T("SNAPSHOT\tLOCAL TIME\tFILES\tSIZE\tPINNED\tHOST"))
	for _, s := range snaps {
		pin := ""
		if s.Pinned {
			// TRANSLATORS: in the PINNED column of keepsakectl snapshots.
			pin = i18n.P("pinned column", "yes")
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", s.Name, when(s.Time), s.Files, humanBytes(int64(s.Bytes)), pin, s.Host)
	}
	tw.Flush()
}

// modeString is ls -l's mode column.
func modeString(e api.Entry) string {
	t := map[string]byte{"dir": 'd', "symlink": 'l', "fifo": 'p', "socket": 's', "chardev": 'c', "blockdev": 'b'}[e.Type]
	if t == 0 {
		t = '-'
	}
	return string(t) + os.FileMode(e.Mode & 0o777).String()[1:]
}

func owner(name string, id uint32) string {
	if name != "" {
		return name
	}
	return fmt.Sprint(id)
}

func entryName(e api.Entry) string {
	name := string(e.Name)
	switch e.Type {
	case api.TypeDir:
		name += "/"
	case api.TypeSymlink:
		name += " -> " + string(e.Target)
	}
	return name
}

func printEntries(env *Env, es []api.Entry) {
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 1, ' ', tabwriter.AlignRight)
	for _, e := range es {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t %s\t %s\n", modeString(e), owner(e.User, e.UID), owner(e.Group, e.GID), e.Size,
			e.Mtime.Local().Format("2006-01-02 15:04"), entryName(e))
	}
	tw.Flush()
}

// span says which snapshots hold something: one, or first … last (n).
func span(snaps []string) string {
	switch n := len(snaps); n {
	case 0:
		return ""
	case 1:
		return snaps[0]
	default:
		// TRANSLATORS: which snapshots hold a file: the first one's name …
		// the last one's name (how many).
		return fmt.Sprintf(i18n.N("%s … %s (%d snapshot)", "%s … %s (%d snapshots)", n), snaps[0], snaps[n-1], n)
	}
}

func printHits(env *Env, hits []api.SearchHit) {
	if len(hits) == 0 {
		fmt.Fprintln(env.Stdout, i18n.T("nothing found"))
		return
	}
	tw := table(env)
	for _, h := range hits {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", h.Path, humanBytes(int64(h.Size)), span(h.Snapshots))
	}
	tw.Flush()
}

func printVersions(env *Env, vs []api.Version) {
	tw := table(env)
	for _, v := range vs {
		paths := make([]string, len(v.Paths))
		for i, p := range v.Paths {
			paths[i] = string(p)
		}
		fmt.Fprintf(tw, "%.12s\t%s\t%s\t%s\t%s\n", v.SHA256, humanBytes(int64(v.Size)), when(v.Mtime), strings.Join(paths, ", "), span(v.Snapshots))
	}
	tw.Flush()
}

func printDeleted(env *Env, gone []api.DeletedFile) {
	if len(gone) == 0 {
		fmt.Fprintln(env.Stdout, i18n.T("no deleted files"))
		return
	}
	tw := table(env)
	for _, g := range gone {
		// TRANSLATORS: %s is the name of the last snapshot that held a deleted file.
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", g.Path, humanBytes(int64(g.Size)), when(g.Mtime), fmt.Sprintf(i18n.T("last in %s"), g.LastSnapshot))
	}
	tw.Flush()
}

// printRestore says where each restored path went, and what came back.
func (env *Env) printRestore(res api.RestoreResult) {
	env.printResult(res, func() {
		for i := range res.Paths {
			// TRANSLATORS: restored PATH -> WHERE IT WENT
			fmt.Fprintf(env.Stdout, i18n.T("restored %s -> %s")+"\n", res.Paths[i], res.Restored[i])
		}
		fmt.Fprintln(env.Stdout, res.Summary())
	})
}
