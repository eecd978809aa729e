package cli

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/keepsake/keepsake/service/catalog"
	"github.com/keepsake/keepsake/service/engine"
	"github.com/keepsake/keepsake/service/fsmeta"
)

// entryJSON is how an entry looks in --json output.
type entryJSON struct {
	Path       string   `json:"path"`
	Name       string   `json:"name"`
	Type       string   `json:"type"`
	Mode       string   `json:"mode"`
	UID        uint32   `json:"uid"`
	GID        uint32   `json:"gid"`
	User       string   `json:"user"`
	Group      string   `json:"group"`
	Size       int64    `json:"size"`
	Mtime      string   `json:"mtime"`
	MtimeNs    int64    `json:"mtime_ns"`
	SHA256     string   `json:"sha256,omitempty"`
	LinkTarget string   `json:"link_target,omitempty"`
	Host       string   `json:"host"`
	Snapshots  []string `json:"snapshots,omitempty"`
}

func toJSON(v catalog.Version) entryJSON {
	m := v.Meta
	return entryJSON{Path: v.Path(), Name: v.Name, Type: m.Type.String(), Mode: fmt.Sprintf("%04o", m.Mode),
		UID: m.UID, GID: m.GID, User: m.User, Group: m.Group, Size: m.Size,
		Mtime: time.Unix(0, m.MtimeNs).UTC().Format(time.RFC3339Nano), MtimeNs: m.MtimeNs,
		SHA256: hex.EncodeToString(v.SHA256), LinkTarget: m.LinkTarget, Host: v.Host}
}

func noArgs(name string, args []string) (*flag.FlagSet, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	_, err := positional(fs, args, 0, 0, fmt.Sprintf("%s takes no arguments", name))
	if err != nil {
		return nil, err
	}
	return fs, nil
}

func runSnapshots(env *Env, args []string) error {
	if _, err := noArgs("snapshots", args); err != nil {
		return err
	}
	_, c, err := openCatalog(env)
	if err != nil {
		return err
	}
	defer c.Close()
	snaps, err := c.Snapshots("")
	if err != nil {
		return err
	}
	if env.JSON {
		if snaps == nil {
			snaps = []catalog.Snapshot{}
		}
		env.emit(snaps)
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tSNAPSHOT\tLOCAL TIME\tFILES\tSIZE\tNEW\tPINNED")
	for _, s := range snaps {
		pin := ""
		if s.Pinned {
			pin = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", s.Host, s.Name, s.Time.Local().Format("2006-01-02 15:04:05"),
			s.Files, humanBytes(s.Bytes), humanBytes(s.NewBytes), pin)
	}
	return tw.Flush()
}

func runLs(env *Env, args []string) error {
	fs := flag.NewFlagSet("ls", flag.ContinueOnError)
	pos, err := positional(fs, args, 1, 2, "ls SNAPSHOT [PATH]")
	if err != nil {
		return err
	}
	dir := "/"
	if len(pos) == 2 {
		dir = filepath.Clean(pos[1])
		if !filepath.IsAbs(dir) {
			return usagef("ls: PATH must be absolute, as backed up")
		}
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
	target, err := c.Lookup(s, dir)
	if err != nil {
		return err
	}
	entries := []catalog.Version{target}
	if target.Meta.Type == fsmeta.Dir {
		if entries, err = c.List(s, dir); err != nil {
			return err
		}
	}
	if env.JSON {
		out := make([]entryJSON, 0, len(entries))
		for _, v := range entries {
			out = append(out, toJSON(v))
		}
		env.emit(out)
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 2, 8, 1, ' ', 0)
	for _, v := range entries {
		name := v.Name
		if v.Meta.Type == fsmeta.Dir {
			name += "/"
		}
		if v.Meta.Type == fsmeta.Symlink {
			name += " -> " + v.Meta.LinkTarget
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", modeString(v.Meta), owner(v.Meta.User, v.Meta.UID), owner(v.Meta.Group, v.Meta.GID),
			v.Meta.Size, time.Unix(0, v.Meta.MtimeNs).Local().Format("2006-01-02 15:04"), name)
	}
	return tw.Flush()
}

func owner(name string, id uint32) string {
	if name != "" {
		return name
	}
	return fmt.Sprint(id)
}

func modeString(m fsmeta.Meta) string {
	t := map[fsmeta.Type]byte{fsmeta.Dir: 'd', fsmeta.Symlink: 'l', fsmeta.Fifo: 'p', fsmeta.Socket: 's', fsmeta.CharDev: 'c', fsmeta.BlockDev: 'b'}[m.Type]
	if t == 0 {
		t = '-'
	}
	return string(t) + os.FileMode(m.Mode & 0o777).String()[1:]
}

func runSearch(env *Env, args []string) error {
	fs := flag.NewFlagSet("search", flag.ContinueOnError)
	limit := fs.Int("limit", 1000, "")
	in := fs.String("in", "", "")
	since := fs.String("since", "", "")
	until := fs.String("until", "", "")
	pos, err := positional(fs, args, 1, 1, "search PATTERN [--in DIR] [--since TIME] [--until TIME] [--limit N]")
	if err != nil {
		return err
	}
	o := catalog.SearchOptions{Pattern: pos[0], Limit: *limit}
	if *in != "" {
		if o.In, err = absArg(*in); err != nil {
			return err
		}
	}
	now := time.Now()
	if o.Since, err = parseTime(*since, now); err != nil {
		return err
	}
	if o.Until, err = parseTime(*until, now); err != nil {
		return err
	}
	_, c, err := openCatalog(env)
	if err != nil {
		return err
	}
	defer c.Close()
	hits, err := c.Search(o)
	if err != nil {
		return err
	}
	if env.JSON {
		out := make([]entryJSON, 0, len(hits))
		for _, h := range hits {
			j := toJSON(h.Version)
			j.Snapshots = h.Snapshots
			out = append(out, j)
		}
		env.emit(out)
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 2, 8, 2, ' ', 0)
	for _, h := range hits {
		span := h.Snapshots[0]
		if n := len(h.Snapshots); n > 1 {
			span = fmt.Sprintf("%s … %s (%d snapshots)", h.Snapshots[0], h.Snapshots[n-1], n)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", h.Path(), humanBytes(h.Meta.Size), h.Host, span)
	}
	return tw.Flush()
}

func runLog(env *Env, args []string) error {
	fs := flag.NewFlagSet("log", flag.ContinueOnError)
	limit := fs.Int("limit", 100, "")
	_, err := positional(fs, args, 0, 0, "log takes no arguments")
	if err != nil {
		return err
	}
	_, c, err := openCatalog(env)
	if err != nil {
		return err
	}
	defer c.Close()
	entries, err := c.Log(*limit)
	if err != nil {
		return err
	}
	if env.JSON {
		if entries == nil {
			entries = []catalog.AuditEntry{}
		}
		env.emit(entries)
		return nil
	}
	for _, e := range entries {
		fmt.Fprintf(env.Stdout, "%s  %-8s %-9s %s %s %s %s\n", e.Time.Local().Format("2006-01-02 15:04:05"), owner(e.User, uint32(e.UID)),
			e.Action, e.Host, e.Snapshot, e.Path, e.Detail)
	}
	return nil
}

func runRestore(env *Env, args []string) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	to := fs.String("to", "", "")
	overwrite := fs.Bool("overwrite", false, "")
	pos, err := positional(fs, args, 2, -1, "restore SNAPSHOT PATH... [--to DIR] [--overwrite]")
	if err != nil {
		return err
	}
	r, err := openRepo(env)
	if err != nil {
		return err
	}
	bar := newProgressBar(env)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := engine.Restore(ctx, r, engine.RestoreOptions{Host: env.Host, Snapshot: pos[0], Paths: pos[1:], To: *to,
		Overwrite: *overwrite, Actor: catalog.CurrentActor(), Progress: bar.update,
		Warn: func(w engine.Warning) { bar.println("warning: " + w.Path + ": " + w.Message) }})
	bar.done()
	if err != nil {
		return err
	}
	if env.JSON {
		env.emit(struct {
			Event string `json:"event"`
			*engine.RestoreResult
		}{"result", res})
		return nil
	}
	for _, it := range res.Items {
		fmt.Fprintf(env.Stdout, "restored %s -> %s\n", it.Path, it.To)
	}
	fmt.Fprintf(env.Stdout, "%d files, %d folders, %s from snapshot %s\n", res.Files, res.Dirs, humanBytes(res.Bytes), res.Snapshot)
	return nil
}
