package search

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/keepsake/keepsake/app/humanize"
	"github.com/keepsake/keepsake/shared/api"
	"github.com/keepsake/keepsake/shared/client"
	"github.com/keepsake/keepsake/shared/i18n"
)

// Limit is how many hits (versions, not files) one search asks for: a
// short name can match a great many, and a person narrows the search
// rather than scrolls through thousands. The service's answer grows with
// the hits (build-aux/bench-app.sh: ~0.2 ms each on 20 000 files), so
// 200 keeps every keystroke's search near 50 ms.
const Limit = 200

// Hit is one row of Search: one version of one path (raw bytes; see
// humanize.Display for labels).
type Hit struct {
	Path, Type                  string
	Size                        int64
	Mtime, First, Last          time.Time
	FirstSnapshot, LastSnapshot string
}

// HitOf reads a Search result.
func HitOf(d api.SearchHit) Hit {
	h := Hit{
		Path: string(d.Path), Type: d.Type, Size: int64(d.Size),
		Mtime: d.Mtime, First: d.First, Last: d.Last,
	}
	if s := d.Snapshots; len(s) > 0 {
		h.FirstSnapshot, h.LastSnapshot = s[0], s[len(s)-1]
	}
	return h
}

// Group is one file of the results: every version found at its path.
// Path, Name and Dir are raw bytes.
type Group struct {
	Path, Name, Dir, Type string
	Versions              int
	// Size and Mtime are the newest version's.
	Size  int64
	Mtime time.Time
	// First and Last are the oldest and newest backups holding the path.
	First, Last  time.Time
	LastSnapshot string
}

// GroupHits turns one row per version into one group per path, the most
// recently seen first. Folders are left out: their history is their
// files', which a search finds by their own names.
func GroupHits(hits []Hit) []Group {
	byPath := map[string]*Group{}
	var order []*Group
	for _, h := range hits {
		if h.Type == "dir" || h.Path == "" {
			continue
		}
		g, ok := byPath[h.Path]
		if !ok {
			dir, name := path.Split(h.Path)
			if dir != "/" {
				dir = strings.TrimSuffix(dir, "/")
			}
			g = &Group{Path: h.Path, Name: name, Dir: dir, Type: h.Type, First: h.First}
			byPath[h.Path] = g
			order = append(order, g)
		}
		g.Versions++
		if g.First.IsZero() || !h.First.IsZero() && h.First.Before(g.First) {
			g.First = h.First
		}
		if g.Versions == 1 || h.Last.After(g.Last) {
			g.Last, g.LastSnapshot = h.Last, h.LastSnapshot
			g.Size, g.Mtime, g.Type = h.Size, h.Mtime, h.Type
		}
	}
	out := make([]Group, len(order))
	for i, g := range order {
		out[i] = *g
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Last.Equal(out[j].Last) {
			return out[i].Last.After(out[j].Last)
		}
		return out[i].Path < out[j].Path
	})
	return out
}

// Pattern is what a person typed as the service's pattern: blank means no
// search at all, and spaces around a name are never meant.
func Pattern(text string) string { return strings.TrimSpace(text) }

// Query searches every backup of profile for text and groups the hits by
// file: the whole of one search-as-you-type step, off the main loop.
func Query(ctx context.Context, c *client.Client, profile, text string) ([]Group, error) {
	gs, _, err := query(ctx, c, profile, text, "")
	return gs, err
}

// query is Query restricted to a folder ("" = everywhere); truncated says
// the service stopped at Limit hits.
func query(ctx context.Context, c *client.Client, profile, text, folder string) (groups []Group, truncated bool, err error) {
	pattern := Pattern(text)
	if pattern == "" {
		return nil, false, nil
	}
	opts := api.SearchOptions{Limit: Limit, In: api.Path(folder)}
	ds, err := c.Search(ctx, profile, pattern, opts)
	if err != nil {
		return nil, false, fmt.Errorf("search backups of %s for %q: %w", profile, pattern, err)
	}
	hits := make([]Hit, len(ds))
	for i, d := range ds {
		hits[i] = HitOf(d)
	}
	return GroupHits(hits), len(ds) >= Limit, nil
}

// VersionsText counts a file's versions.
func VersionsText(n int) string {
	// TRANSLATORS: beside a search result; %s is the number of versions.
	return fmt.Sprintf(i18n.N("%s version", "%s versions", n), humanize.Count(n))
}

// SeenText says when a file was last backed up: a file the newest backup
// holds is simply there; any other was deleted or renamed since.
func SeenText(g Group, latestSnapshot string, now time.Time) string {
	if latestSnapshot != "" && g.LastSnapshot == latestSnapshot {
		return i18n.T("In latest backup")
	}
	if g.Last.IsZero() {
		return ""
	}
	// TRANSLATORS: beside a search result; %s is when, as in "5 minutes ago",
	// "yesterday at 14:05".
	return fmt.Sprintf(i18n.T("Last seen %s"), humanize.When(g.Last, now))
}

// Summary is the line above the results.
func Summary(groups []Group, truncated bool, folder, home string) string {
	n := len(groups)
	switch {
	case truncated:
		return fmt.Sprintf(i18n.N("The first %s file found. Type more of the name to find fewer.",
			"The first %s files found. Type more of the name to find fewer.", n), humanize.Count(n))
	case folder != "":
		// TRANSLATORS: %[1]s is the number of files, %[2]s a folder ("~/Documents").
		return fmt.Sprintf(i18n.N("%[1]s file found in %[2]s", "%[1]s files found in %[2]s", n),
			humanize.Count(n), humanize.Folder(folder, home))
	}
	return fmt.Sprintf(i18n.N("%s file found", "%s files found", n), humanize.Count(n))
}

// NoResultsText explains an empty result and what to try.
func NoResultsText(pattern, folder, home string) string {
	var s string
	if folder != "" {
		// TRANSLATORS: %[1]s is what was searched for, %[2]s a folder ("~/Documents").
		s = fmt.Sprintf(i18n.T("No backed-up file has “%[1]s” in its name in %[2]s."), pattern, humanize.Folder(folder, home))
	} else {
		// TRANSLATORS: %s is what was searched for.
		s = fmt.Sprintf(i18n.T("No backed-up file has “%s” in its name."), pattern)
	}
	if !strings.ContainsAny(pattern, "*?[") {
		s += " " + i18n.T("Try part of the name, or a pattern like *.odt.")
	}
	return s
}

// Icon is the symbolic icon of an entry type.
func Icon(typ string) string {
	if typ == "symlink" {
		return "emblem-symbolic-link-symbolic"
	}
	return "text-x-generic-symbolic"
}
