package catalog

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/keepsake/keepsake/service/retention"
	"github.com/keepsake/keepsake/shared/kerr"
)

// Policy returns the repository's retention policy (Time Machine's until
// one is set).
func (c *Catalog) Policy() (retention.Policy, error) {
	var p retention.Policy
	var s string
	err := c.db.QueryRow(`SELECT value FROM meta WHERE key = 'retention'`).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return p, nil
	}
	if err != nil {
		return p, fmt.Errorf("read retention policy: %w", err)
	}
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return p, kerr.Wrap(kerr.CatalogCorrupt, err, "retention policy")
	}
	return p, nil
}

// SetPolicy stores the retention policy.
func (c *Catalog) SetPolicy(p retention.Policy, a Actor) error {
	if err := p.Validate(); err != nil {
		return kerr.Wrap(kerr.InvalidArgs, err, "retention policy")
	}
	b, _ := json.Marshal(p)
	tx, err := c.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`INSERT INTO meta(key, value) VALUES('retention', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, string(b)); err != nil {
		return fmt.Errorf("store retention policy: %w", err)
	}
	if err := audit(tx, a, "policy", "", "", "", p.String()); err != nil {
		return err
	}
	return tx.Commit()
}

// SetPinned pins or unpins a snapshot: a pinned snapshot is never pruned.
func (c *Catalog) SetPinned(s Snapshot, pinned bool, a Actor) error {
	tx, err := c.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`UPDATE snapshots SET pinned = ? WHERE id = ?`, pinned, s.ID); err != nil {
		return fmt.Errorf("pin %s: %w", s.Name, err)
	}
	action := "pinned"
	if !pinned {
		action = "unpinned"
	}
	if err := audit(tx, a, action, s.Host, s.Name, "", ""); err != nil {
		return err
	}
	return tx.Commit()
}

func idList(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprint(id)
	}
	return strings.Join(parts, ",")
}

// Freed estimates the bytes deleting these snapshots frees: content that no
// other snapshot holds.
func (c *Catalog) Freed(ids []int64) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	list := idList(ids)
	var n int64
	err := c.db.QueryRow(`WITH gone AS (SELECT id, host FROM snapshots WHERE id IN (` + list + `)),
		held AS (SELECT DISTINCT v.content_id AS id FROM versions v JOIN gone g ON g.host = v.host
			AND g.id >= v.first_snap AND (v.last_snap IS NULL OR g.id <= v.last_snap) WHERE v.content_id IS NOT NULL)
		SELECT coalesce(sum(c.size), 0) FROM held JOIN contents c ON c.id = held.id
		WHERE NOT EXISTS (SELECT 1 FROM versions o JOIN snapshots s2 ON s2.host = o.host AND s2.id >= o.first_snap
			AND (o.last_snap IS NULL OR s2.id <= o.last_snap)
			WHERE o.content_id = c.id AND s2.complete = 1 AND s2.id NOT IN (` + list + `))`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("estimate freed space: %w", err)
	}
	return n, nil
}

// PendingDeletes lists forgotten snapshots of host whose folders are still
// to be removed.
func (c *Catalog) PendingDeletes(host string) ([]string, error) {
	rows, err := c.db.Query(`SELECT name FROM pending_deletes WHERE host = ? ORDER BY name`, host)
	if err != nil {
		return nil, fmt.Errorf("pending deletions: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// DeleteDone records that a forgotten snapshot's folder is gone.
func (c *Catalog) DeleteDone(host, name string) error {
	if _, err := c.db.Exec(`DELETE FROM pending_deletes WHERE host = ? AND name = ?`, host, name); err != nil {
		return fmt.Errorf("pending deletions: %w", err)
	}
	return nil
}

// DeleteSnapshots forgets snapshots in one transaction: their rows, the
// versions no remaining snapshot holds, and content no version uses. Each
// deletion is in the audit log with detail (e.g. the policy's reason).
func (c *Catalog) DeleteSnapshots(snaps []Snapshot, a Actor, detail string) error {
	if len(snaps) == 0 {
		return nil
	}
	tx, err := c.db.Begin()
	if err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	defer tx.Rollback()
	ids := make([]int64, len(snaps))
	for i, s := range snaps {
		ids[i] = s.ID
		if err := audit(tx, a, "pruned", s.Host, s.Name, "", detail); err != nil {
			return err
		}
		if _, err := tx.Exec(`INSERT OR IGNORE INTO pending_deletes(host, name) VALUES(?, ?)`, s.Host, s.Name); err != nil {
			return fmt.Errorf("prune: %w", err)
		}
	}
	list := idList(ids)
	// Only a version that ended inside a pruned snapshot's gap (from it to
	// the next snapshot that stays) can be left without a snapshot: open
	// versions always have the newest, which is never pruned. So the work
	// grows with the pruned snapshots' changes, not with the catalog.
	if _, err := tx.Exec(`CREATE TEMP TABLE IF NOT EXISTS prune_candidates(id INTEGER PRIMARY KEY, content_id INTEGER);
		DELETE FROM prune_candidates`); err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	for _, s := range snaps {
		var next int64
		err := tx.QueryRow(`SELECT coalesce(min(id), ?) FROM snapshots WHERE host = ? AND id > ? AND id NOT IN (`+list+`)`,
			int64(1)<<62, s.Host, s.ID).Scan(&next)
		if err != nil {
			return fmt.Errorf("prune: %w", err)
		}
		if _, err := tx.Exec(`INSERT OR IGNORE INTO prune_candidates(id, content_id)
			SELECT id, content_id FROM versions WHERE last_snap IS NOT NULL AND last_snap >= ? AND last_snap < ?
			AND first_snap <= ? AND host = ?`, s.ID, next, s.ID, s.Host); err != nil {
			return fmt.Errorf("prune: %w", err)
		}
	}
	if _, err := tx.Exec(`DELETE FROM snapshot_files WHERE snapshot_id IN (` + list + `)`); err != nil {
		return fmt.Errorf("forget snapshot files: %w", err)
	}
	if _, err := tx.Exec(`DELETE FROM snapshots WHERE id IN (` + list + `)`); err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	if _, err := tx.Exec(`DELETE FROM versions WHERE id IN (SELECT id FROM prune_candidates) AND NOT EXISTS (
		SELECT 1 FROM snapshots s WHERE s.host = versions.host AND s.id >= versions.first_snap
		AND (versions.last_snap IS NULL OR s.id <= versions.last_snap))`); err != nil {
		return fmt.Errorf("prune versions: %w", err)
	}
	// Placements that ended and hold no snapshot left place nothing.
	// (A folder moves rarely: the table is small.)
	if _, err := tx.Exec(`DELETE FROM placements WHERE last_snap IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM snapshots s WHERE s.host = placements.host
			AND s.id >= placements.first_snap AND s.id <= placements.last_snap)`); err != nil {
		return fmt.Errorf("prune placements: %w", err)
	}
	if _, err := tx.Exec(`DELETE FROM contents WHERE id IN (SELECT content_id FROM prune_candidates WHERE content_id IS NOT NULL)
		AND NOT EXISTS (SELECT 1 FROM versions WHERE content_id = contents.id)`); err != nil {
		return fmt.Errorf("prune contents: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	return nil
}
