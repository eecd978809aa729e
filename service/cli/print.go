package cli

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/grammar"
)

// when is a time for people, in the local zone ("never" for none).
func when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func table(env *Env) *tabwriter.Writer { return tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0) }

func printSnapshots(env *Env, snaps []api.Snapshot) {
	if len(snaps) == 0 {
		fmt.Fprintln(env.Stdout, "no snapshots yet")
		return
	}
	tw := table(env)
	fmt.Fprintln(tw, "SNAPSHOT\tLOCAL TIME\tFILES\tSIZE\tPINNED\tHOST")
	for _, s := range snaps {
		pin := ""
		if s.Pinned {
			pin = "yes"
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
		return fmt.Sprintf("%s … %s (%s)", snaps[0], snaps[n-1], grammar.Count(int64(n), "snapshot", "snapshots"))
	}
}

func printHits(env *Env, hits []api.SearchHit) {
	if len(hits) == 0 {
		fmt.Fprintln(env.Stdout, "nothing found")
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
		fmt.Fprintln(env.Stdout, "no deleted files")
		return
	}
	tw := table(env)
	for _, g := range gone {
		fmt.Fprintf(tw, "%s\t%s\t%s\tlast in %s\n", g.Path, humanBytes(int64(g.Size)), when(g.Mtime), g.LastSnapshot)
	}
	tw.Flush()
}

// count is "1 file", "2 files" (for the nouns that take an s).
func count(n int64, noun string) string { return grammar.Count(n, noun, noun+"s") }

// printRestore says where each restored path went, and what came back.
func (env *Env) printRestore(res api.RestoreResult) {
	env.printResult(res, func() {
		for i := range res.Paths {
			fmt.Fprintf(env.Stdout, "restored %s -> %s\n", res.Paths[i], res.Restored[i])
		}
		fmt.Fprintln(env.Stdout, res.Summary())
	})
}
