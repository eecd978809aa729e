package catalog

import (
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keepsake/keepsake/service/fsmeta"
	"github.com/keepsake/keepsake/shared/kerr"
)

func openTemp(t *testing.T) *Catalog {
	t.Helper()
	c, err := Open(filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// beginInS begins snapshot name of host h (rolled back at the end of the
// test) and returns it with the id of its folder /s.
func beginInS(t *testing.T, c *Catalog, name string, sources []string) (*Txn, int64) {
	t.Helper()
	tx, err := c.BeginSnapshot("h", name, time.Now(), sources, CurrentActor())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tx.Rollback)
	dir, err := tx.DirID("/s")
	if err != nil {
		t.Fatal(err)
	}
	return tx, dir
}

// snapshot writes one committed snapshot holding files (name -> size).
func snapshot(t *testing.T, c *Catalog, name string, files map[string]int64) {
	t.Helper()
	tx, err := c.BeginSnapshot("h", name, time.Now(), []string{"/s"}, CurrentActor())
	if err != nil {
		t.Fatal(err)
	}
	dir, err := tx.DirID("/s")
	if err != nil {
		t.Fatal(err)
	}
	prev, err := tx.Children("/s", dir)
	if err != nil {
		t.Fatal(err)
	}
	for n, v := range prev {
		if size, ok := files[n]; !ok || size != v.Meta.Size {
			if err := tx.End(v.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	for n, size := range files {
		if v, ok := prev[n]; ok && v.Meta.Size == size {
			continue
		}
		sum := make([]byte, 32)
		sum[0] = byte(size)
		if _, err := tx.InsertBatch(dir, []NewVersion{{Name: n, Meta: fsmeta.Meta{Type: fsmeta.File, Mode: 0o644, Size: size}, SHA256: sum, NewName: true}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Visit(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.EndUnvisited(); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(Totals{Files: int64(len(files))}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := c.MarkComplete(tx.ID()); err != nil {
		t.Fatal(err)
	}
}

func TestSearchGlobAndSubstring(t *testing.T) {
	c := openTemp(t)
	snapshot(t, c, "2026-01-01T000000Z", map[string]int64{"Report.odt": 1, "100%_done.txt": 2, "notes.md": 3})
	snapshot(t, c, "2026-01-02T000000Z", map[string]int64{"Report.odt": 5, "100%_done.txt": 2})
	tests := []struct {
		name    string
		pattern string
		want    map[string][]string // path@size -> snapshots
	}{
		{"substring is case-insensitive", "report", map[string][]string{
			"/s/Report.odt@1": {"2026-01-01T000000Z"}, "/s/Report.odt@5": {"2026-01-02T000000Z"}}},
		{"percent and underscore are literal", "%_d", map[string][]string{
			"/s/100%_done.txt@2": {"2026-01-01T000000Z", "2026-01-02T000000Z"}}},
		{"glob", "*.md", map[string][]string{"/s/notes.md@3": {"2026-01-01T000000Z"}}},
		{"no match", "zzz", map[string][]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hits, err := c.Search(SearchOptions{Pattern: tt.pattern})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			for _, h := range hits {
				got[h.Path()+"@"+itoa(h.Meta.Size)] = h.Snapshots
			}
			if len(got) != len(tt.want) {
				t.Fatalf("hits %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if g := got[k]; len(g) != len(v) || (len(v) > 0 && g[0] != v[0]) || (len(v) > 1 && g[1] != v[1]) {
					t.Errorf("%s: %v, want %v", k, g, v)
				}
			}
		})
	}
}

// A glob that starts with literal bytes searches that range of the names
// index only (globRange): it must still find every name the glob matches,
// whatever bytes the start holds, and nothing else.
func TestSearchGlobByItsStart(t *testing.T) {
	c := openTemp(t)
	names := []string{"IMG_2001.jpg", "IMG_2999.jpg", "IMG_3000.jpg", "IMG_.jpg", "img_2001.jpg", "IMG", "caf\xc3\xa9.txt",
		"caf\xc3\xa9s.txt", "cafe.txt", "a\xff\xffb", "a\xff", "b", "it's.odt", "latin\xe9.txt", "latin\xe9", "[x].txt"}
	files := map[string]int64{}
	for i, n := range names {
		files[n] = int64(i)
	}
	snapshot(t, c, "2026-01-01T000000Z", files)
	tests := []struct {
		glob, rangeSQL string
		want           []string
	}{
		{"IMG_2*", " AND name >= CAST(X'494d475f32' AS TEXT) AND name < CAST(X'494d475f33' AS TEXT)",
			[]string{"IMG_2001.jpg", "IMG_2999.jpg"}},
		{"IMG_?*.jpg", " AND name >= CAST(X'494d475f' AS TEXT) AND name < CAST(X'494d4760' AS TEXT)",
			[]string{"IMG_2001.jpg", "IMG_2999.jpg", "IMG_3000.jpg"}},
		{"caf\xc3\xa9*", " AND name >= CAST(X'636166c3a9' AS TEXT) AND name < CAST(X'636166c3aa' AS TEXT)",
			[]string{"caf\xc3\xa9.txt", "caf\xc3\xa9s.txt"}},
		{"a\xff\xff*", " AND name >= CAST(X'61ffff' AS TEXT) AND name < CAST(X'62' AS TEXT)", []string{"a\xff\xffb"}},
		{"a\xff*", " AND name >= CAST(X'61ff' AS TEXT) AND name < CAST(X'62' AS TEXT)", []string{"a\xff\xffb", "a\xff"}},
		{"\xff*", " AND name >= CAST(X'ff' AS TEXT)", nil},
		{"it's*", " AND name >= CAST(X'69742773' AS TEXT) AND name < CAST(X'69742774' AS TEXT)", []string{"it's.odt"}},
		{"latin\xe9*", " AND name >= CAST(X'6c6174696ee9' AS TEXT) AND name < CAST(X'6c6174696eea' AS TEXT)",
			[]string{"latin\xe9.txt", "latin\xe9"}},
		{"*.jpg", "", []string{"IMG_2001.jpg", "IMG_2999.jpg", "IMG_3000.jpg", "IMG_.jpg", "img_2001.jpg"}},
		{"[[]x]*", "", []string{"[x].txt"}},
	}
	for _, tt := range tests {
		t.Run(tt.glob, func(t *testing.T) {
			if got := globRange(tt.glob); got != tt.rangeSQL {
				t.Errorf("range %q, want %q", got, tt.rangeSQL)
			}
			hits, err := c.Search(SearchOptions{Pattern: tt.glob})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, h := range hits {
				got = append(got, h.Name)
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(got, want) {
				t.Errorf("found %q, want %q", got, want)
			}
		})
	}
}

// A search in a folder finds what was below it, at the paths it had
// then: a moved folder's files at its old path in the snapshots before
// the move and at its new one after, and nothing of a sibling whose name
// starts with the folder's. A folder holding a small part of the catalog
// is searched by its versions, a big one by the names (narrowFolder):
// every case runs both ways.
func TestSearchInFolder(t *testing.T) {
	c := openTemp(t)
	const s1, s2 = "2026-01-01T000000Z", "2026-01-02T000000Z"
	file := func(tx *Txn, dir int64, name string, size int64) {
		t.Helper()
		sum := make([]byte, 32)
		sum[0] = byte(size)
		if _, err := tx.InsertBatch(dir, []NewVersion{{Name: name, Meta: fsmeta.Meta{Type: fsmeta.File, Mode: 0o644, Size: size}, SHA256: sum, NewName: true}}); err != nil {
			t.Fatal(err)
		}
	}
	dirs := func(tx *Txn, paths ...string) []int64 {
		t.Helper()
		var ids []int64
		for _, p := range paths {
			id, err := tx.DirID(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := tx.Visit(id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		return ids
	}
	commit := func(tx *Txn) {
		t.Helper()
		if _, err := tx.EndUnvisited(); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(Totals{}, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := c.MarkComplete(tx.ID()); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := c.BeginSnapshot("h", s1, time.Now(), []string{"/s"}, CurrentActor())
	if err != nil {
		t.Fatal(err)
	}
	ids := dirs(tx, "/s", "/s/a", "/s/a/deep", "/s/ab")
	file(tx, ids[0], "x4.txt", 4)
	file(tx, ids[1], "x1.txt", 1)
	file(tx, ids[2], "x2.txt", 2)
	file(tx, ids[3], "x3.txt", 3)
	commit(tx)
	// /s/a moves to /s/m, with its folder deep.
	tx, err = c.BeginSnapshot("h", s2, time.Now(), []string{"/s"}, CurrentActor())
	if err != nil {
		t.Fatal(err)
	}
	dirs(tx, "/s", "/s/ab", "/s/m", "/s/m/deep")
	for _, mv := range []struct {
		listing int64
		to      string
	}{{ids[1], "/s/m"}, {ids[2], "/s/m/deep"}} {
		if err := tx.Place(mv.listing, mv.to); err != nil {
			t.Fatal(err)
		}
		if err := tx.Visit(mv.listing); err != nil {
			t.Fatal(err)
		}
	}
	commit(tx)

	tests := []struct {
		name, in string
		want     []string // path@snapshots
	}{
		{"the folder before its move", "/s/a", []string{"/s/a/deep/x2.txt@" + s1, "/s/a/x1.txt@" + s1}},
		{"with a closing slash", "/s/a/", []string{"/s/a/deep/x2.txt@" + s1, "/s/a/x1.txt@" + s1}},
		{"the folder after its move", "/s/m", []string{"/s/m/deep/x2.txt@" + s2, "/s/m/x1.txt@" + s2}},
		{"a folder moved with its parent", "/s/m/deep", []string{"/s/m/deep/x2.txt@" + s2}},
		{"a sibling sharing the start of the name", "/s/ab", []string{"/s/ab/x3.txt@" + s1 + "," + s2}},
		{"everything", "/s", []string{"/s/a/deep/x2.txt@" + s1, "/s/a/x1.txt@" + s1, "/s/ab/x3.txt@" + s1 + "," + s2,
			"/s/m/deep/x2.txt@" + s2, "/s/m/x1.txt@" + s2, "/s/x4.txt@" + s1 + "," + s2}},
		{"a folder never backed up", "/s/zz", nil},
	}
	defer func(share int64) { narrowShare = share }(narrowShare)
	for _, way := range []struct {
		name  string
		share int64
	}{{"by the folder's versions", 1}, {"by the names", 1 << 40}} {
		narrowShare = way.share
		for _, tt := range tests {
			for _, pattern := range []string{"X", "x?.txt"} {
				t.Run(way.name+"/"+tt.name+"/"+pattern, func(t *testing.T) {
					wantFound(t, c, SearchOptions{Pattern: pattern, In: tt.in}, tt.want)
				})
			}
		}
	}
}

// A search within a time window tries the first names that match and
// reads every one of them only when those gave too few hits: a name that
// matches late still turns up when only it is in the window, and a
// window with nothing in it says so.
func TestSearchInTimeWindow(t *testing.T) {
	c := openTemp(t)
	const s1, s2, s3 = "2026-01-01T000000Z", "2026-01-02T000000Z", "2026-01-03T000000Z"
	old := map[string]int64{"a1.txt": 1, "a2.txt": 2, "a3.txt": 3, "a4.txt": 4, "a5.txt": 5, "b.txt": 6}
	snapshot(t, c, s1, old)
	snapshot(t, c, s2, map[string]int64{"a9.txt": 7, "b.txt": 6})
	snapshot(t, c, s3, map[string]int64{"a9.txt": 7})
	at := func(name string) time.Time {
		s, err := c.Snapshot("h", name)
		if err != nil {
			t.Fatal(err)
		}
		return s.Time
	}
	tests := []struct {
		name string
		o    SearchOptions
		want []string
	}{
		// six names match "a", more than the four tried first for one hit
		{"a late name after the first ones gave nothing", SearchOptions{Pattern: "a", Since: at(s2), Limit: 1},
			[]string{"/s/a9.txt@" + s2 + "," + s3}},
		{"a glob the same way", SearchOptions{Pattern: "a?.txt", Since: at(s2), Limit: 1},
			[]string{"/s/a9.txt@" + s2 + "," + s3}},
		{"few names, looked up by name", SearchOptions{Pattern: "b.t", Since: at(s2)}, []string{"/s/b.txt@" + s2}},
		{"until", SearchOptions{Pattern: "b", Until: at(s1)}, []string{"/s/b.txt@" + s1}},
		{"nothing in the window", SearchOptions{Pattern: "a1", Since: at(s2)}, nil},
		{"no name matches", SearchOptions{Pattern: "zz", Since: at(s1)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantFound(t, c, tt.o, tt.want)
		})
	}
}

// wantFound checks that a search finds want: path@snapshot,snapshot...,
// in any order.
func wantFound(t *testing.T, c *Catalog, o SearchOptions, want []string) {
	t.Helper()
	hits, err := c.Search(o)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range hits {
		got = append(got, h.Path()+"@"+strings.Join(h.Snapshots, ","))
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("found %q, want %q", got, want)
	}
}

func itoa(n int64) string { return string(rune('0' + n)) }

func TestSnapshotLookupAndIntegrity(t *testing.T) {
	c := openTemp(t)
	if _, err := c.Snapshot("h", "latest"); !kerr.Is(err, kerr.SnapshotNotFound) {
		t.Fatalf("empty catalog latest: %v", err)
	}
	snapshot(t, c, "2026-01-01T000000Z", map[string]int64{"a": 1})
	s, err := c.Snapshot("h", "latest")
	if err != nil || s.Name != "2026-01-01T000000Z" || s.Files != 1 || len(s.Sources) != 1 {
		t.Fatalf("latest %+v %v", s, err)
	}
	if _, err := c.Lookup(s, "/s/missing"); !kerr.Is(err, kerr.PathNotFound) {
		t.Errorf("missing path: %v", err)
	}
	if bad, err := c.IntegrityCheck(); err != nil || len(bad) != 0 {
		t.Errorf("integrity %v %v", bad, err)
	}
}

// TestSchemaVersions opens catalogs of each layout: one from before
// placements is brought up to date, one of a newer Keepsake is refused
// (read-write and read-only) and left as it was.
func TestSchemaVersions(t *testing.T) {
	cases := []struct {
		name    string
		stored  string // meta's schema before opening
		want    string // after
		refused bool
	}{
		{"from before placements", "1", "2", false},
		{"from before placements, read-only", "1", "1", false},
		{"current", "2", "2", false},
		{"newer", "3", "3", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "catalog.db")
			c, err := Open(p)
			if err != nil {
				t.Fatal(err)
			}
			snapshot(t, c, "s1", map[string]int64{"a": 1})
			if _, err := c.DB().Exec(`UPDATE meta SET value = ? WHERE key = 'schema'`, tc.stored); err != nil {
				t.Fatal(err)
			}
			opens := []func(string) (*Catalog, error){Open, OpenReadOnly}
			if strings.HasSuffix(tc.name, "read-only") {
				// As Keepsake left it before placements, read by a user
				// who may not write the drive.
				if _, err := c.DB().Exec(`DROP TABLE placements; DROP INDEX versions_dir_ino`); err != nil {
					t.Fatal(err)
				}
				opens = opens[1:]
			}
			c.Close()
			for _, open := range opens {
				c, err := open(p)
				if tc.refused {
					if kerr.NameOf(err) != kerr.CatalogCorrupt {
						t.Errorf("opened a catalog of layout %s: %v, want CatalogCorrupt", tc.stored, err)
					}
					if c != nil {
						c.Close()
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				s, err := c.Snapshot("h", "s1")
				if err != nil {
					t.Fatal(err)
				}
				if vs, err := c.List(s, "/s"); err != nil || len(vs) != 1 || vs[0].Name != "a" {
					t.Errorf("list: %+v, %v; want a", vs, err)
				}
				c.Close()
			}
			db, err := sql.Open("sqlite3", p)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var got string
			if err := db.QueryRow(`SELECT value FROM meta WHERE key = 'schema'`).Scan(&got); err != nil || got != tc.want {
				t.Errorf("layout after opening: %q (%v), want %q", got, err, tc.want)
			}
		})
	}
}

// A search while a backup runs opens the catalog beside the backup's
// transaction, which lasts the whole run: opening must not wait for it
// (it would fail as "database is locked" after the busy timeout).
func TestOpenWhileSnapshotWrites(t *testing.T) {
	p := filepath.Join(t.TempDir(), "catalog.db")
	c, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	snapshot(t, c, "s1", map[string]int64{"report.txt": 1})
	tx, err := c.BeginSnapshot("h", "s2", time.Now(), []string{"/s"}, CurrentActor())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	q, err := Open(p)
	if err != nil {
		t.Fatalf("open while a snapshot is being written: %v", err)
	}
	defer q.Close()
	hits, err := q.Search(SearchOptions{Pattern: "report", Limit: 10})
	if err != nil || len(hits) != 1 || hits[0].Version.Name != "report.txt" {
		t.Errorf("search while a snapshot is being written: %+v, %v; want report.txt", hits, err)
	}
}

// A catalog missing a part of the layout (an index added since it was
// written) gets it when opened.
func TestOpenCompletesLayout(t *testing.T) {
	p := filepath.Join(t.TempDir(), "catalog.db")
	c, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	snapshot(t, c, "s1", map[string]int64{"a": 1})
	if _, err := c.DB().Exec(`DROP INDEX versions_links; DELETE FROM meta WHERE key = 'names'; DELETE FROM names`); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if c, err = Open(p); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var indexes, names int
	if err := c.DB().QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'versions_links'`).Scan(&indexes); err != nil || indexes != 1 {
		t.Errorf("index versions_links after opening: %d (%v), want 1", indexes, err)
	}
	if err := c.DB().QueryRow(`SELECT count(*) FROM names WHERE name = 'a'`).Scan(&names); err != nil || names != 1 {
		t.Errorf("name table after opening: %d rows for a (%v), want 1", names, err)
	}
}

// LinkableStored reads the committed catalog beside a snapshot's
// transaction: what earlier snapshots stored, never the transaction's
// own rows (its caller tracks those), which Linkable sees.
func TestLinkableStoredBesideTheTransaction(t *testing.T) {
	c := openTemp(t)
	snapshot(t, c, "s1", map[string]int64{"a": 1})
	tx, dir := beginInS(t, c, "s2", []string{"/s"})
	fresh := make([]byte, 32)
	fresh[0] = 2
	meta := fsmeta.Meta{Type: fsmeta.File, Mode: 0o644, Size: 2}
	if _, err := tx.InsertBatch(dir, []NewVersion{{Name: "b", Meta: meta, SHA256: fresh, NewName: true}}); err != nil {
		t.Fatal(err)
	}
	stored := make([]byte, 32)
	stored[0] = 1
	cases := []struct {
		name string
		find func([]byte, fsmeta.Meta, int) ([]Stored, error)
		sum  []byte
		want string // "snapshot:path", "" for none
	}{
		{"stored content, committed view", tx.LinkableStored, stored, "s1:/s/a"},
		{"this run's content, committed view", tx.LinkableStored, fresh, ""},
		{"this run's content, the transaction's view", tx.Linkable, fresh, "s2:/s/b"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := meta
			m.Size = int64(tc.sum[0])
			got, err := tc.find(tc.sum, m, 4)
			if err != nil {
				t.Fatal(err)
			}
			have := ""
			if len(got) > 0 {
				have = got[0].Snapshot + ":" + got[0].Path
			}
			if len(got) > 1 || have != tc.want {
				t.Errorf("found %+v, want %q", got, tc.want)
			}
		})
	}
}
