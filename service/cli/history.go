package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/repo"
	"github.com/keepsake/keepsake/shared/kerr"
)

// parseTime reads the times users type: 2026-11-22, 2026-11-22T10:00,
// RFC 3339, a snapshot name, or an age like 36h or 7d (that long ago).
func parseTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if n, err := strconv.Atoi(strings.TrimSuffix(s, "d")); err == nil && strings.HasSuffix(s, "d") {
		return now.Add(-time.Duration(n) * 24 * time.Hour), nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	if t, err := repo.ParseSnapshotName(s); err == nil {
		return t, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, kerr.New(kerr.InvalidArgs, "cannot read the time %q (try 2026-11-22, 2026-11-22T10:00, 36h or 7d)", s)
}

func absArg(p string) (string, error) {
	if !filepath.IsAbs(p) {
		a, err := filepath.Abs(p)
		if err != nil {
			return "", kerr.Wrap(kerr.InvalidArgs, err, "path %q", p)
		}
		p = a
	}
	return filepath.Clean(p), nil
}

// dirArg is a command's optional folder argument, "/" when absent.
func dirArg(pos []string) (string, error) {
	if len(pos) == 0 {
		return "/", nil
	}
	return absArg(pos[0])
}

func runVersions(env *Env, args []string) error {
	fs := flag.NewFlagSet("versions", flag.ContinueOnError)
	pos, err := positional(fs, args, 1, 1, "versions PATH")
	if err != nil {
		return err
	}
	p, err := absArg(pos[0])
	if err != nil {
		return err
	}
	_, c, err := openCatalog(env)
	if err != nil {
		return err
	}
	defer c.Close()
	vs, err := c.Versions(env.Host, p)
	if err != nil {
		return err
	}
	if len(vs) == 0 {
		return kerr.New(kerr.PathNotFound, "no snapshot of %s holds %s", env.Host, p)
	}
	if env.JSON {
		type versionJSON struct {
			SHA256 string `json:"sha256"`
			catalog.ContentVersion
		}
		out := make([]versionJSON, len(vs))
		for i, v := range vs {
			out[i] = versionJSON{hex.EncodeToString(v.SHA256), v}
		}
		env.emit(out)
		return nil
	}
	for i, v := range vs {
		fmt.Fprintf(env.Stdout, "version %d: %s, modified %s, sha256 %s…\n", len(vs)-i, humanBytes(v.Size),
			v.Mtime.Local().Format("2006-01-02 15:04"), hex.EncodeToString(v.SHA256)[:12])
		printPlaces(env.Stdout, v.Places)
	}
	return nil
}

func printPlaces(w io.Writer, places []catalog.Place) {
	for _, pl := range places {
		n := len(pl.Snapshots)
		span := pl.Snapshots[0]
		if n > 1 {
			span = fmt.Sprintf("%s … %s (%d snapshots)", pl.Snapshots[0], pl.Snapshots[n-1], n)
		}
		now := ""
		if pl.Latest {
			now = " (in the latest snapshot)"
		}
		fmt.Fprintf(w, "  %s  %s  %s%s\n", pl.Host, pl.Path, span, now)
	}
}

func runWhere(env *Env, args []string) error {
	fs := flag.NewFlagSet("where", flag.ContinueOnError)
	pos, err := positional(fs, args, 1, 1, "where SHA256|FILE")
	if err != nil {
		return err
	}
	sum, err := hex.DecodeString(pos[0])
	if err != nil || len(sum) != sha256.Size {
		// Not a hash: a file whose content to look for.
		f, err := os.Open(pos[0])
		if err != nil {
			return kerr.Wrap(kerr.InvalidArgs, err, "%q is neither a SHA-256 nor a readable file", pos[0])
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return kerr.Wrap(kerr.InvalidArgs, err, "read %s", pos[0])
		}
		sum = h.Sum(nil)
	}
	_, c, err := openCatalog(env)
	if err != nil {
		return err
	}
	defer c.Close()
	places, err := c.Where(sum)
	if err != nil {
		return err
	}
	if env.JSON {
		if places == nil {
			places = []catalog.Place{}
		}
		env.emit(map[string]any{"sha256": hex.EncodeToString(sum), "places": places})
		return nil
	}
	if len(places) == 0 {
		return kerr.New(kerr.PathNotFound, "no snapshot holds content %s", hex.EncodeToString(sum))
	}
	fmt.Fprintf(env.Stdout, "content %s\n", hex.EncodeToString(sum))
	printPlaces(env.Stdout, places)
	return nil
}

func runDeleted(env *Env, args []string) error {
	fs := flag.NewFlagSet("deleted", flag.ContinueOnError)
	since := fs.String("since", "", "")
	pos, err := positional(fs, args, 0, 1, "deleted [DIR] [--since TIME]")
	if err != nil {
		return err
	}
	dir, err := dirArg(pos)
	if err != nil {
		return err
	}
	t, err := parseTime(*since, time.Now())
	if err != nil {
		return err
	}
	_, c, err := openCatalog(env)
	if err != nil {
		return err
	}
	defer c.Close()
	gone, err := c.Deleted(env.Host, dir, t)
	if err != nil {
		return err
	}
	if env.JSON {
		out := make([]map[string]any, 0, len(gone))
		for _, g := range gone {
			j := toJSON(g.Version)
			out = append(out, map[string]any{"path": j.Path, "type": j.Type, "size": j.Size, "mtime": j.Mtime,
				"sha256": j.SHA256, "last_snapshot": g.LastSnapshot, "last_time": g.LastTime})
		}
		env.emit(out)
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "PATH\tSIZE\tLAST IN")
	for _, g := range gone {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", g.Path(), humanBytes(g.Meta.Size), g.LastSnapshot)
	}
	return tw.Flush()
}

func runDuplicates(env *Env, args []string) error {
	fs := flag.NewFlagSet("duplicates", flag.ContinueOnError)
	pos, err := positional(fs, args, 0, 1, "duplicates [DIR]")
	if err != nil {
		return err
	}
	dir, err := dirArg(pos)
	if err != nil {
		return err
	}
	_, c, err := openCatalog(env)
	if err != nil {
		return err
	}
	defer c.Close()
	groups, err := c.Duplicates(env.Host, dir)
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
			catalog.DuplicateGroup
		}
		out := make([]groupJSON, len(groups))
		for i, g := range groups {
			out[i] = groupJSON{hex.EncodeToString(g.SHA256), g}
		}
		env.emit(map[string]any{"groups": out, "wasted": wasted})
		return nil
	}
	for _, g := range groups {
		fmt.Fprintf(env.Stdout, "%d copies of %s (%s wasted):\n", len(g.Paths), humanBytes(g.Size), humanBytes(g.Wasted))
		for _, p := range g.Paths {
			fmt.Fprintf(env.Stdout, "  %s\n", p)
		}
	}
	fmt.Fprintf(env.Stdout, "%d groups, %s wasted in the source (the backup stores each content once)\n", len(groups), humanBytes(wasted))
	return nil
}

func runDiff(env *Env, args []string) error {
	fs := flag.NewFlagSet("diff", flag.ContinueOnError)
	pos, err := positional(fs, args, 2, 2, "diff SNAPSHOT1 SNAPSHOT2")
	if err != nil {
		return err
	}
	_, c, err := openCatalog(env)
	if err != nil {
		return err
	}
	defer c.Close()
	a, err := c.Snapshot(env.Host, pos[0])
	if err != nil {
		return err
	}
	b, err := c.Snapshot(env.Host, pos[1])
	if err != nil {
		return err
	}
	changes, err := c.Diff(a, b)
	if err != nil {
		return err
	}
	if env.JSON {
		if changes == nil {
			changes = []catalog.Change{}
		}
		env.emit(changes)
		return nil
	}
	counts := map[string]int64{}
	for _, ch := range changes {
		counts[ch.Kind]++
		if ch.From != "" {
			fmt.Fprintf(env.Stdout, "%-9s %s (from %s)\n", ch.Kind, ch.Path, ch.From)
		} else {
			fmt.Fprintf(env.Stdout, "%-9s %s\n", ch.Kind, ch.Path)
		}
	}
	var parts []string
	for _, k := range sortedKeys(counts) {
		parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
	}
	if len(parts) == 0 {
		parts = []string{"no differences"}
	}
	fmt.Fprintln(env.Stdout, strings.Join(parts, ", "))
	return nil
}

func runDu(env *Env, args []string) error {
	fs := flag.NewFlagSet("du", flag.ContinueOnError)
	pos, err := positional(fs, args, 1, 1, "du SNAPSHOT")
	if err != nil {
		return err
	}
	_, c, err := openCatalog(env)
	if err != nil {
		return err
	}
	defer c.Close()
	s, err := c.Snapshot(env.Host, pos[0])
	if err != nil {
		return err
	}
	u, err := c.Du(s)
	if err != nil {
		return err
	}
	if env.JSON {
		env.emit(u)
		return nil
	}
	fmt.Fprintf(env.Stdout, "snapshot %s: %d files, %s\n  only here: %s (what deleting it frees)\n  shared with other snapshots: %s\n",
		u.Snapshot, u.Files, humanBytes(u.Bytes), humanBytes(u.Unique), humanBytes(u.Shared))
	return nil
}
