package catalog

import (
	"database/sql"
	"fmt"
	"strings"

	"github.com/keepsake/keepsake/service/fsmeta"
)

// NewVersion is one row for InsertBatch.
type NewVersion struct {
	Name   string
	Meta   fsmeta.Meta
	SHA256 []byte // files only
	// NewName says the name may not be recorded yet (no previous version
	// at this path).
	NewName bool
}

// batchRows bounds the rows of one multi-row statement (20 variables a
// version row; SQLite allows 32766 variables).
const batchRows = 400

// InsertBatch adds versions that start in this snapshot, one folder's worth
// at a time: a few multi-row statements instead of three statements a file,
// which is what bounds a first backup of a large home. For each file it
// reports whether its content was known before that file (an earlier row
// of the same batch counts).
func (t *Txn) InsertBatch(dirID int64, vs []NewVersion) ([]bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	known := make([]bool, len(vs))
	contentIDs := make([]any, len(vs))
	// Contents: look up what exists, insert the rest once each.
	var sums []string
	seen := map[string]bool{}
	for _, v := range vs {
		if v.Meta.Type == fsmeta.File && v.SHA256 != nil && !seen[string(v.SHA256)] {
			seen[string(v.SHA256)] = true
			sums = append(sums, string(v.SHA256))
		}
	}
	ids := map[string]int64{}
	for start := 0; start < len(sums); start += batchRows {
		chunk := sums[start:min(start+batchRows, len(sums))]
		args := make([]any, len(chunk))
		for i, s := range chunk {
			args[i] = []byte(s)
		}
		rows, err := t.query(`SELECT id, sha256 FROM contents WHERE sha256 IN (`+marks(len(chunk))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("look up contents: %w", err)
		}
		for rows.Next() {
			var id int64
			var sum []byte
			if err := rows.Scan(&id, &sum); err != nil {
				rows.Close()
				return nil, err
			}
			ids[string(sum)] = id
		}
		rows.Close()
	}
	existed := make(map[string]bool, len(ids))
	for s := range ids {
		existed[s] = true
	}
	var fresh []int
	freshSeen := map[string]bool{}
	for i, v := range vs {
		if v.Meta.Type != fsmeta.File || v.SHA256 == nil {
			continue
		}
		s := string(v.SHA256)
		switch {
		case existed[s]:
			known[i] = true
		case freshSeen[s]:
			known[i] = true // a copy of an earlier file of this batch
		default:
			freshSeen[s] = true
			fresh = append(fresh, i)
		}
	}
	for start := 0; start < len(fresh); start += batchRows {
		chunk := fresh[start:min(start+batchRows, len(fresh))]
		args := make([]any, 0, 2*len(chunk))
		for _, i := range chunk {
			args = append(args, vs[i].SHA256, vs[i].Meta.Size)
		}
		rows, err := t.query(`INSERT INTO contents(sha256, size) VALUES `+placeholders(len(chunk), 2)+` RETURNING id, sha256`, args...)
		if err != nil {
			return nil, fmt.Errorf("record contents: %w", err)
		}
		for rows.Next() {
			var id int64
			var sum []byte
			if err := rows.Scan(&id, &sum); err != nil {
				rows.Close()
				return nil, err
			}
			ids[string(sum)] = id
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	for i, v := range vs {
		if v.Meta.Type == fsmeta.File && v.SHA256 != nil {
			contentIDs[i] = ids[string(v.SHA256)]
		}
	}
	// Versions.
	for start := 0; start < len(vs); start += batchRows {
		end := min(start+batchRows, len(vs))
		args := make([]any, 0, 20*(end-start))
		for i := start; i < end; i++ {
			m := vs[i].Meta
			var target any
			if m.Type == fsmeta.Symlink {
				target = m.LinkTarget
			}
			args = append(args, t.host, dirID, vs[i].Name, t.snap, uint8(m.Type), m.Mode, m.UID, m.GID, m.User, m.Group, m.Size,
				m.MtimeNs, m.CtimeNs, int64(m.Dev), int64(m.Ino), int64(m.Nlink), int64(m.Rdev), contentIDs[i], target, fsmeta.EncodeXattrs(m.Xattrs))
		}
		_, err := t.exec(`INSERT INTO versions(host, dir_id, name, first_snap, type, mode, uid, gid, user, grp, size,
			mtime_ns, ctime_ns, dev, ino, nlink, rdev, content_id, link_target, xattrs) VALUES `+placeholders(end-start, 20), args...)
		if err != nil {
			return nil, fmt.Errorf("record versions: %w", err)
		}
	}
	// Names.
	var names []any
	for _, v := range vs {
		if v.NewName {
			names = append(names, v.Name)
		}
	}
	for start := 0; start < len(names); start += batchRows {
		chunk := names[start:min(start+batchRows, len(names))]
		if _, err := t.exec(`INSERT OR IGNORE INTO names(name) VALUES `+placeholders(len(chunk), 1), chunk...); err != nil {
			return nil, fmt.Errorf("record names: %w", err)
		}
	}
	return known, nil
}

// marks returns "?,?,?" for n values.
func marks(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }

// placeholders returns "(?,?),(?,?)" for rows rows of cols values.
func placeholders(rows, cols int) string {
	return strings.TrimSuffix(strings.Repeat("("+marks(cols)+"),", rows), ",")
}

// exec and query run a statement prepared once per transaction: a batch
// of a folder's rows is one statement whose text depends only on its
// row count, and compiling it again for every folder cost more than
// running it.
func (t *Txn) exec(q string, args ...any) (sql.Result, error) {
	s, err := t.stmt(q)
	if err != nil {
		return nil, err
	}
	return s.Exec(args...)
}

func (t *Txn) query(q string, args ...any) (*sql.Rows, error) {
	s, err := t.stmt(q)
	if err != nil {
		return nil, err
	}
	return s.Query(args...)
}
