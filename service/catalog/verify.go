package catalog

import (
	"fmt"
	"github.com/keepsake/keepsake/shared/kerr"
	"strconv"
)

// StoredFiles calls fn for every file version held by snapshot s (host's
// snapshot), in path order. slice/of, when of > 1, keep only contents with
// content_id % of == slice: a rolling sample that covers everything in of
// runs.
func (c *Catalog) StoredFiles(s Snapshot, slice, of int, fn func(Version) error) error {
	q := `WHERE v.host = ? AND v.type = 1 AND` + inSnapshot
	args := []any{s.Host, s.ID, s.ID}
	if of > 1 {
		q += ` AND v.content_id % ? = ?`
		args = append(args, of, slice)
	}
	rows, err := c.db.Query(`SELECT `+versionCols+versionFrom+q+` ORDER BY d.path, v.name`, args...)
	if err != nil {
		if isCorrupt(err) {
			return kerr.Wrap(kerr.CatalogCorrupt, err, "the catalog is damaged where it lists the files of %s", s.Name)
		}
		return fmt.Errorf("files of %s: %w", s.Name, err)
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return err
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	return rows.Err()
}

// NextSlice returns which slice of of a rolling verification should check
// next, and advances it.
func (c *Catalog) NextSlice(of int) (int, error) {
	var s string
	err := c.db.QueryRow(`SELECT value FROM meta WHERE key = 'verify_slice'`).Scan(&s)
	n, _ := strconv.Atoi(s)
	if err != nil {
		n = 0
	}
	slice := n % of
	_, err = c.db.Exec(`INSERT INTO meta(key, value) VALUES('verify_slice', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, strconv.Itoa(n+1))
	return slice, err
}

// Invariants checks what SQLite cannot: every version's snapshot range is
// sane, every file version has content, every content is used.
func (c *Catalog) Invariants() ([]string, error) {
	checks := []struct{ what, q string }{
		{"versions ending before they start", `SELECT count(*) FROM versions WHERE last_snap IS NOT NULL AND last_snap < first_snap`},
		{"file versions without content", `SELECT count(*) FROM versions WHERE type = 1 AND content_id IS NULL`},
		{"versions pointing at missing content", `SELECT count(*) FROM versions v WHERE v.content_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM contents c WHERE c.id = v.content_id)`},
		{"versions in missing folders", `SELECT count(*) FROM versions v WHERE NOT EXISTS (SELECT 1 FROM dirs d WHERE d.id = v.dir_id)`},
		{"content rows no version uses", `SELECT count(*) FROM contents c WHERE NOT EXISTS (SELECT 1 FROM versions v WHERE v.content_id = c.id)`},
		{"folders placed at two paths at once", `SELECT count(*) FROM placements a JOIN placements b ON b.host = a.host
			AND b.listing_id = a.listing_id AND b.first_snap > a.first_snap AND coalesce(a.last_snap, 9223372036854775807) >= b.first_snap`},
		{"content hashes of the wrong length", `SELECT count(*) FROM contents WHERE length(sha256) != 32`},
	}
	var out []string
	for _, ch := range checks {
		var n int64
		if err := c.db.QueryRow(ch.q).Scan(&n); err != nil {
			if isCorrupt(err) {
				// A damaged page is itself the finding: say it as one.
				out = append(out, fmt.Sprintf("cannot check %s: %v", ch.what, err))
				continue
			}
			return nil, fmt.Errorf("check %s: %w", ch.what, err)
		}
		if n > 0 {
			out = append(out, fmt.Sprintf("%d %s", n, ch.what))
		}
	}
	return out, nil
}
