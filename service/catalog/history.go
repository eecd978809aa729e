package catalog

import (
	"bytes"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"
)

// Place is where one version of a file lies: a path and the snapshots that
// hold it there.
type Place struct {
	Host      string   `json:"host"`
	Path      string   `json:"path"`
	Snapshots []string `json:"snapshots"`
	// Latest says the host's newest snapshot holds it: the content is
	// still there.
	Latest bool `json:"latest"`
}

// ContentVersion is one distinct content of a file over its history, with
// every place it was seen.
type ContentVersion struct {
	SHA256  []byte    `json:"-"`
	Size    int64     `json:"size"`
	Mtime   time.Time `json:"mtime"`
	First   time.Time `json:"first_seen"` // time of the first snapshot holding it
	Places  []Place   `json:"places"`
	Version Version   `json:"-"` // the newest version with this content
}

// snapshotIndex maps snapshot ids to rows for one catalog read.
type snapshotIndex struct {
	byHost map[string][]Snapshot // complete snapshots, oldest first
}

func (c *Catalog) snapshotIndex() (*snapshotIndex, error) {
	snaps, err := c.Snapshots("")
	if err != nil {
		return nil, err
	}
	ix := &snapshotIndex{byHost: map[string][]Snapshot{}}
	for _, s := range snaps {
		ix.byHost[s.Host] = append(ix.byHost[s.Host], s)
	}
	return ix, nil
}

// holding lists the complete snapshots that hold v, oldest first.
func (ix *snapshotIndex) holding(v Version) []Snapshot {
	var out []Snapshot
	for _, s := range ix.byHost[v.Host] {
		if s.ID >= v.First && (v.Last == 0 || s.ID <= v.Last) {
			out = append(out, s)
		}
	}
	return out
}

func (ix *snapshotIndex) latest(host string) (Snapshot, bool) {
	ss := ix.byHost[host]
	if len(ss) == 0 {
		return Snapshot{}, false
	}
	return ss[len(ss)-1], true
}

func names(ss []Snapshot) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Name
	}
	return out
}

// Versions returns the distinct contents a file had, newest first,
// following it across renames and moves: a content seen at the path is
// looked up at every other path too, and so on, up to maxPaths paths.
// Empty files are not followed: every empty file shares their content.
func (c *Catalog) Versions(host, p string) ([]ContentVersion, error) {
	const maxPaths = 64
	ix, err := c.snapshotIndex()
	if err != nil {
		return nil, err
	}
	paths := map[string]bool{p: true}
	queue := []string{p}
	seenContent := map[string]bool{}
	var all []Version
	seenVersion := map[[2]int64]bool{}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		// Every version of the name in a listing that was ever at the
		// folder, wherever the listing was at the time: a file's history
		// goes on across a move of its folder.
		vs, err := c.versions(`WHERE v.listing IN `+listingsEverAt+` AND v.name = ?3 AND v.host = ?2 AND v.type = 1`,
			path.Dir(cur), host, path.Base(cur))
		if err != nil {
			return nil, fmt.Errorf("versions of %s: %w", cur, err)
		}
		for _, v := range vs {
			// One version can have several pieces (one per place).
			key := [2]int64{v.ID, v.First}
			if seenVersion[key] {
				continue
			}
			seenVersion[key] = true
			all = append(all, v)
			if v.SHA256 == nil || v.Meta.Size == 0 || seenContent[string(v.SHA256)] {
				continue
			}
			seenContent[string(v.SHA256)] = true
			same, err := c.versions(`WHERE c.sha256 = ? AND v.host = ? AND v.type = 1`, v.SHA256, host)
			if err != nil {
				return nil, err
			}
			for _, o := range same {
				if op := o.Path(); !paths[op] && len(paths) < maxPaths {
					paths[op] = true
					queue = append(queue, op)
				}
			}
		}
	}
	if len(all) == 0 {
		return nil, nil
	}
	byContent := map[string]*ContentVersion{}
	var order []*ContentVersion
	latest, _ := ix.latest(host)
	for _, v := range all {
		held := ix.holding(v)
		if len(held) == 0 {
			continue // every snapshot holding it was pruned
		}
		cv := byContent[string(v.SHA256)]
		if cv == nil {
			cv = &ContentVersion{SHA256: v.SHA256, Size: v.Meta.Size, First: held[0].Time}
			byContent[string(v.SHA256)] = cv
			order = append(order, cv)
		}
		if held[0].Time.Before(cv.First) {
			cv.First = held[0].Time
		}
		if cv.Version.ID == 0 || v.ID > cv.Version.ID {
			cv.Version = v
			cv.Mtime = time.Unix(0, v.Meta.MtimeNs).UTC()
		}
		cv.Places = append(cv.Places, Place{Host: v.Host, Path: v.Path(), Snapshots: names(held),
			Latest: held[len(held)-1].ID == latest.ID})
	}
	out := make([]ContentVersion, 0, len(order))
	for _, cv := range order {
		sort.Slice(cv.Places, func(i, j int) bool { return cv.Places[i].Snapshots[0] < cv.Places[j].Snapshots[0] })
		out = append(out, *cv)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].First.After(out[j].First) })
	return out, nil
}

// Where returns every place a content lies, in every host's snapshots.
func (c *Catalog) Where(sum []byte) ([]Place, error) {
	ix, err := c.snapshotIndex()
	if err != nil {
		return nil, err
	}
	vs, err := c.versions(`WHERE c.sha256 = ? ORDER BY v.host, d.path, v.name, v.first_snap`, sum)
	if err != nil {
		return nil, fmt.Errorf("where: %w", err)
	}
	var out []Place
	for _, v := range vs {
		held := ix.holding(v)
		if len(held) == 0 {
			continue
		}
		latest, _ := ix.latest(v.Host)
		out = append(out, Place{Host: v.Host, Path: v.Path(), Snapshots: names(held), Latest: held[len(held)-1].ID == latest.ID})
	}
	return out, nil
}

// Gone is a file that existed in an earlier snapshot and is not in the
// newest one.
type Gone struct {
	Version
	LastSnapshot string    `json:"last_snapshot"` // the newest snapshot that holds it
	LastTime     time.Time `json:"last_time"`
}

// Deleted lists files below dir that earlier snapshots of host hold and the
// newest does not, each with the last snapshot holding it; since, if not
// zero, keeps only files last seen at or after it.
func (c *Catalog) Deleted(host, dir string, since time.Time) ([]Gone, error) {
	ix, err := c.snapshotIndex()
	if err != nil {
		return nil, err
	}
	latest, ok := ix.latest(host)
	if !ok {
		return nil, nil
	}
	prefix := strings.TrimSuffix(dir, "/") + "/"
	// Versions that ended (at the place of their last piece: a file
	// whose folder moved is not gone from the old path, it went along),
	// in listings where nothing of the name is open now.
	vs, err := c.versions(`WHERE v.host = ? AND v.row_last IS NOT NULL AND v.last_snap = v.row_last AND v.type != 2
		AND (d.path = ? OR substr(d.path, 1, ?) = ?)
		AND NOT EXISTS (SELECT 1 FROM versions o WHERE o.host = v.host AND o.dir_id = v.listing AND o.name = v.name AND o.last_snap IS NULL)
		ORDER BY d.path, v.name, v.last_snap DESC`, host, dir, len(prefix), prefix)
	if err != nil {
		return nil, fmt.Errorf("deleted files in %s: %w", dir, err)
	}
	var out []Gone
	last := ""
	for _, v := range vs {
		if v.Path() == last {
			continue // an older version of the same path
		}
		held := ix.holding(v)
		if len(held) == 0 || held[len(held)-1].ID == latest.ID {
			continue
		}
		h := held[len(held)-1]
		if !since.IsZero() && h.Time.Before(since) {
			continue
		}
		last = v.Path()
		// Another folder instance may hold the name there now (a folder
		// replaced by one moved in).
		if _, err := c.Lookup(latest, v.Path()); err == nil {
			continue
		}
		out = append(out, Gone{Version: v, LastSnapshot: h.Name, LastTime: h.Time})
	}
	return out, nil
}

// DuplicateGroup is a content present at several paths of the newest
// snapshot.
type DuplicateGroup struct {
	SHA256 []byte   `json:"-"`
	Size   int64    `json:"size"`
	Paths  []string `json:"paths"`
	Wasted int64    `json:"wasted"` // bytes the extra copies take in the source
}

// Duplicates lists groups of files below dir with identical content in the
// newest snapshot of host, most wasted space first.
func (c *Catalog) Duplicates(host, dir string) ([]DuplicateGroup, error) {
	prefix := strings.TrimSuffix(dir, "/") + "/"
	vs, err := c.versions(`WHERE v.host = ? AND v.last_snap IS NULL AND v.type = 1 AND v.size > 0
		AND (d.path = ? OR substr(d.path, 1, ?) = ?)
		AND v.content_id IN (SELECT content_id FROM versions WHERE host = ? AND last_snap IS NULL AND type = 1
			GROUP BY content_id HAVING count(*) > 1)
		ORDER BY v.content_id, d.path, v.name`, host, dir, len(prefix), prefix, host)
	if err != nil {
		return nil, fmt.Errorf("duplicates in %s: %w", dir, err)
	}
	var out []DuplicateGroup
	for _, v := range vs {
		if n := len(out); n > 0 && bytes.Equal(out[n-1].SHA256, v.SHA256) {
			out[n-1].Paths = append(out[n-1].Paths, v.Path())
			continue
		}
		out = append(out, DuplicateGroup{SHA256: v.SHA256, Size: v.Meta.Size, Paths: []string{v.Path()}})
	}
	kept := out[:0]
	for _, g := range out {
		if len(g.Paths) > 1 {
			g.Wasted = g.Size * int64(len(g.Paths)-1)
			kept = append(kept, g)
		}
	}
	sort.SliceStable(kept, func(i, j int) bool { return kept[i].Wasted > kept[j].Wasted })
	return kept, nil
}

// LinkedNames are the paths of host's files in its newest snapshot that
// had inode ino with other names (hardlinks). A file changed through one
// of its names changed at all of them: a backup told only that one name
// changed (the watcher's journal) must look at the others too. The
// caller checks each path is still that inode: an inode number is only
// unique on one filesystem, and may have been reused since.
func (c *Catalog) LinkedNames(host string, ino uint64) ([]string, error) {
	rows, err := c.db.Query(`SELECT d.path, v.name FROM `+located+` v JOIN dirs d ON d.id = v.dir_id
		WHERE v.ino = ? AND v.type = 1 AND v.nlink > 1 AND v.host = ? AND v.last_snap IS NULL`, int64(ino), host)
	if err != nil {
		return nil, fmt.Errorf("names of inode %d: %w", ino, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var dir, name string
		if err := rows.Scan(&dir, &name); err != nil {
			return nil, fmt.Errorf("names of inode %d: %w", ino, err)
		}
		out = append(out, path.Join(dir, name))
	}
	return out, rows.Err()
}
