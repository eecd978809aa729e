package catalog

import (
	"testing"

	"github.com/keepsake/keepsake/service/fsmeta"
)

func TestInsertBatchKnownContent(t *testing.T) {
	c := openTemp(t)
	snapshot(t, c, "2026-01-01T000000Z", map[string]int64{"old": 7}) // content sum[0] = 7
	tx, dir := beginInS(t, c, "2026-01-02T000000Z", nil)
	sum := func(b byte) []byte { s := make([]byte, 32); s[0] = b; return s }
	file := fsmeta.Meta{Type: fsmeta.File, Mode: 0o644, Size: 1}
	rows := []NewVersion{
		{Name: "copy-of-old", Meta: file, SHA256: sum(7), NewName: true}, // stored before
		{Name: "fresh", Meta: file, SHA256: sum(9), NewName: true},       // new
		{Name: "fresh-again", Meta: file, SHA256: sum(9), NewName: true}, // same as the row before
		{Name: "sub", Meta: fsmeta.Meta{Type: fsmeta.Dir, Mode: 0o755}, NewName: true},
		{Name: "link", Meta: fsmeta.Meta{Type: fsmeta.Symlink, LinkTarget: "fresh"}, NewName: true},
	}
	known, err := tx.InsertBatch(dir, rows)
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{true, false, true, false, false}; len(known) != len(want) || known[0] != want[0] || known[1] != want[1] || known[2] != want[2] || known[3] || known[4] {
		t.Fatalf("known = %v, want %v", known, want)
	}
	var contents, names int
	if err := tx.tx.QueryRow(`SELECT (SELECT count(*) FROM contents), (SELECT count(*) FROM names)`).Scan(&contents, &names); err != nil {
		t.Fatal(err)
	}
	if contents != 2 || names != 6 {
		t.Errorf("contents=%d names=%d, want 2 (7 and 9) and 6", contents, names)
	}
}
