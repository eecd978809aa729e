package catalog

import (
	"bytes"
	"fmt"
	"sort"
)

// Change is one difference between two snapshots.
type Change struct {
	Kind string   `json:"kind"` // added, removed, modified, moved, metadata
	Path string   `json:"path"`
	From string   `json:"from,omitempty"` // for moved
	Old  *Version `json:"-"`
	New  *Version `json:"-"`
}

// Diff compares two snapshots of one host. Only versions that are in one
// snapshot and not the other are read, so the work grows with the changes,
// not with the size of the snapshots.
func (c *Catalog) Diff(a, b Snapshot) ([]Change, error) {
	if a.Host != b.Host {
		return nil, fmt.Errorf("diff: snapshots of different hosts (%s, %s)", a.Host, b.Host)
	}
	if a.ID > b.ID {
		a, b = b, a
	}
	// In a, ended before b: removed or replaced, or left with a folder
	// that moved (its pieces at the old path).
	olds, err := c.versions(`WHERE v.host = ?1 AND v.first_snap <= ?2 AND v.last_snap IS NOT NULL AND v.last_snap >= ?2 AND v.last_snap < ?3
		AND (v.row_last >= ?2 AND v.row_last < ?3 OR v.listing IN (SELECT listing_id FROM placements
			WHERE host = ?1 AND last_snap >= ?2 AND last_snap < ?3))`,
		a.Host, a.ID, b.ID)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	// In b, started after a: added or replacing, or come with a folder
	// that moved.
	news, err := c.versions(`WHERE v.host = ?1 AND v.first_snap > ?2 AND v.first_snap <= ?3 AND (v.last_snap IS NULL OR v.last_snap >= ?3)
		AND (v.row_first > ?2 AND v.row_first <= ?3 OR v.listing IN (SELECT listing_id FROM placements
			WHERE host = ?1 AND first_snap > ?2 AND first_snap <= ?3))`,
		b.Host, a.ID, b.ID)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	// A version in both went along with a folder that moved: moved, or
	// nothing when the folder came back.
	oldByID := map[int64]*Version{}
	for i := range olds {
		oldByID[olds[i].ID] = &olds[i]
	}
	var out []Change
	moved := map[int64]bool{}
	for i := range news {
		n := &news[i]
		if o, ok := oldByID[n.ID]; ok {
			moved[n.ID] = true
			if o.Path() != n.Path() && n.Meta.Type != 2 {
				out = append(out, Change{Kind: "moved", Path: n.Path(), From: o.Path(), Old: o, New: n})
			}
		}
	}
	oldBy := map[string]*Version{}
	for i := range olds {
		if !moved[olds[i].ID] {
			oldBy[olds[i].Path()] = &olds[i]
		}
	}
	var added []*Version
	for i := range news {
		n := &news[i]
		if moved[n.ID] {
			continue
		}
		o, ok := oldBy[n.Path()]
		if !ok {
			added = append(added, n)
			continue
		}
		delete(oldBy, n.Path())
		kind := "modified"
		if o.Meta.Type == n.Meta.Type && (n.Meta.Type != 1 || bytes.Equal(o.SHA256, n.SHA256)) && o.Meta.LinkTarget == n.Meta.LinkTarget {
			kind = "metadata"
		}
		if n.Meta.Type == 2 && kind == "metadata" {
			continue // a folder's mtime moves with its entries: not news
		}
		out = append(out, Change{Kind: kind, Path: n.Path(), Old: o, New: n})
	}
	// A removed file whose content appears at an added path moved there.
	removedBySum := map[string][]*Version{}
	for _, o := range oldBy {
		if o.Meta.Type == 1 && o.SHA256 != nil && o.Meta.Size > 0 {
			removedBySum[string(o.SHA256)] = append(removedBySum[string(o.SHA256)], o)
		}
	}
	for _, list := range removedBySum {
		sort.Slice(list, func(i, j int) bool { return list[i].Path() < list[j].Path() })
	}
	sort.Slice(added, func(i, j int) bool { return added[i].Path() < added[j].Path() })
	for _, n := range added {
		if n.Meta.Type == 1 && n.SHA256 != nil {
			if list := removedBySum[string(n.SHA256)]; len(list) > 0 {
				o := list[0]
				removedBySum[string(n.SHA256)] = list[1:]
				delete(oldBy, o.Path())
				out = append(out, Change{Kind: "moved", Path: n.Path(), From: o.Path(), Old: o, New: n})
				continue
			}
		}
		out = append(out, Change{Kind: "added", Path: n.Path(), New: n})
	}
	for _, o := range oldBy {
		out = append(out, Change{Kind: "removed", Path: o.Path(), Old: o})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Kind < out[j].Kind
	})
	return out, nil
}

// Usage is what a snapshot holds on the drive.
type Usage struct {
	Snapshot string `json:"snapshot"`
	Files    int64  `json:"files"`
	Bytes    int64  `json:"bytes"`  // size of all its files
	Unique   int64  `json:"unique"` // content no other snapshot holds: what deleting it frees
	Shared   int64  `json:"shared"` // content other snapshots hold too
}

// Du tells what a snapshot holds alone and what it shares, from the
// catalog. Content is counted once per snapshot however many paths hold
// it, as the hardlinks store it.
func (c *Catalog) Du(s Snapshot) (Usage, error) {
	u := Usage{Snapshot: s.Name}
	err := c.db.QueryRow(`SELECT count(*), coalesce(sum(v.size), 0) FROM versions v
		WHERE v.host = ? AND v.type = 1 AND`+inSnapshot, s.Host, s.ID, s.ID).Scan(&u.Files, &u.Bytes)
	if err != nil {
		return u, fmt.Errorf("du %s: %w", s.Name, err)
	}
	var total int64
	err = c.db.QueryRow(`WITH held AS (SELECT DISTINCT v.content_id AS id FROM versions v
			WHERE v.host = ? AND v.type = 1 AND v.content_id IS NOT NULL AND`+inSnapshot+`)
		SELECT coalesce(sum(c.size), 0),
			coalesce(sum(CASE WHEN EXISTS (SELECT 1 FROM versions o JOIN snapshots s2 ON s2.host = o.host
				AND s2.id >= o.first_snap AND (o.last_snap IS NULL OR s2.id <= o.last_snap)
				WHERE o.content_id = c.id AND s2.id != ? AND s2.complete = 1) THEN 0 ELSE c.size END), 0)
		FROM held JOIN contents c ON c.id = held.id`, s.Host, s.ID, s.ID, s.ID).Scan(&total, &u.Unique)
	if err != nil {
		return u, fmt.Errorf("du %s: %w", s.Name, err)
	}
	u.Shared = total - u.Unique
	return u, nil
}
