package catalog

import (
	"fmt"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

// BenchmarkSearch1M measures name search over a generated catalog of one
// million file versions (200 000 files, five versions each, 50 snapshots)
// and reports the 95th percentile latency of a mix of queries.
//
//	go test -run '^$' -bench Search1M -benchtime 1x ./service/catalog/
func BenchmarkSearch1M(b *testing.B) {
	c, err := Open(filepath.Join(b.TempDir(), "catalog.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_, err = c.DB().Exec(`BEGIN;
	WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 50)
	INSERT INTO snapshots(id, host, name, started, complete) SELECT x, 'h', strftime('%Y-%m-%dT%H%M%SZ', 1700000000 + x*86400, 'unixepoch'), (1700000000 + x*86400)*1000000, 1 FROM s;
	WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 5000)
	INSERT INTO dirs(id, path) SELECT x, '/home/ann/dir' || x FROM s;
	WITH RECURSIVE s(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM s WHERE x < 999999)
	INSERT INTO contents(id, sha256, size) SELECT x + 1, randomblob(32), x % 100000 FROM s;
	WITH RECURSIVE s(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM s WHERE x < 999999)
	INSERT INTO versions(host, dir_id, name, first_snap, last_snap, type, mode, uid, gid, size, mtime_ns, ctime_ns, content_id)
	SELECT 'h', (x / 5) % 5000 + 1,
		(CASE (x/5) % 7 WHEN 0 THEN 'Report-' WHEN 1 THEN 'photo_' WHEN 2 THEN 'notes ' WHEN 3 THEN 'invoice-' WHEN 4 THEN 'IMG_' WHEN 5 THEN 'draft.' ELSE 'data-' END)
			|| (x/5) || (CASE (x/5) % 4 WHEN 0 THEN '.odt' WHEN 1 THEN '.jpg' WHEN 2 THEN '.txt' ELSE '.pdf' END),
		(x % 5) * 10 + 1, CASE WHEN x % 5 = 4 THEN NULL ELSE (x % 5) * 10 + 10 END,
		1, 420, 1000, 1000, x % 100000, x, x, x + 1 FROM s;
	INSERT OR IGNORE INTO names(name) SELECT DISTINCT name FROM versions;
	COMMIT; ANALYZE`)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("generated 1M versions in %v", time.Since(start))
	queries := []SearchOptions{
		{Pattern: "invoice-12345"}, {Pattern: "report-1999"}, {Pattern: "99999.pdf"}, {Pattern: "IMG_5"},
		{Pattern: "draft.1234*"}, {Pattern: "photo_1000?.jpg"}, {Pattern: "zzz"}, {Pattern: "notes 42", In: "/home/ann/dir42"},
		{Pattern: "data-7", Since: time.Unix(1700000000+40*86400, 0)}, {Pattern: "Report-123", Limit: 20},
	}
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for round := 0; round < 10; round++ {
			for _, q := range queries {
				t0 := time.Now()
				if _, err := c.Search(q); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
				if round == 0 {
					b.Logf("%+v: %v", q, time.Since(t0))
				}
			}
		}
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p95 := lat[len(lat)*95/100]
	b.ReportMetric(float64(p95.Microseconds())/1000, "p95-ms")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	fmt.Printf("search over 1M versions: p50 %v, p95 %v, max %v (%d queries)\n", lat[len(lat)/2], p95, lat[len(lat)-1], len(lat))
}
