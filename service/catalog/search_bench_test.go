package catalog

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// searchTarget is the latency a name search must keep to at the 95th
// percentile over one million file versions.
const searchTarget = 50 * time.Millisecond

// BenchmarkSearch1M measures name search over a generated catalog of one
// million file versions (200 000 files, five versions each, 50 snapshots).
// No query repeats: each has its own term (substrings, globs, a folder, a
// time window, a limit, names that match nothing). The catalog is closed
// and opened again 50 times, as the service does when a drive's catalog
// has sat unused; the first query after each opening counts as cold, nine
// more as warm. It reports p50, p95 and p99 of those 500 queries and of
// the 50 cold ones, and fails when p95 is above 50 ms. Apart from those,
// and not held to the target, 10 more openings each follow dropping the
// catalog's pages from the page cache, as after the drive was mounted
// again: the first search of a session then reads the catalog from the
// disk ("disk-cold" metrics).
//
//	go test -run '^$' -bench Search1M -benchtime 1x ./service/catalog/
func BenchmarkSearch1M(b *testing.B) {
	dbPath := generate1M(b)

	const rounds, perRound, diskRounds = 50, 10, 10
	queries := searchMix(rand.New(rand.NewSource(1)), rounds*perRound+diskRounds)
	var all, cold, disk []time.Duration
	var resident []float64
	type timed struct {
		q SearchOptions
		d time.Duration
	}
	var each []timed
	// search opens the catalog, runs qs and closes it again.
	search := func(qs []SearchOptions, log bool) []time.Duration {
		c, err := Open(dbPath)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		var ds []time.Duration
		for _, q := range qs {
			t0 := time.Now()
			hits, err := c.Search(q)
			d := time.Since(t0)
			if err != nil {
				b.Fatalf("search %+v: %v", q, err)
			}
			ds = append(ds, d)
			each = append(each, timed{q, d})
			if log {
				b.Logf("%q in=%q since=%v limit=%d: %d hits in %v", q.Pattern, q.In, !q.Since.IsZero(), q.Limit, len(hits), d)
			}
		}
		return ds
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		all, cold, disk, resident, each = all[:0], cold[:0], disk[:0], resident[:0], each[:0]
		for r := 0; r < rounds; r++ {
			ds := search(queries[r*perRound:(r+1)*perRound], r == 0)
			all, cold = append(all, ds...), append(cold, ds[0])
		}
		for r := 0; r < diskRounds; r++ {
			b.StopTimer()
			resident = append(resident, evict(b, dbPath))
			b.StartTimer()
			disk = append(disk, search(queries[rounds*perRound+r:rounds*perRound+r+1], false)...)
		}
	}
	b.StopTimer()
	// The disk-cold queries are cold only if the eviction landed.
	sort.Float64s(resident)
	if worst := resident[len(resident)-1]; worst > 0.05 {
		b.Fatalf("the catalog was still %.0f%% in the page cache before a disk-cold query", worst*100)
	}
	sort.Slice(each, func(i, j int) bool { return each[i].d > each[j].d })
	for _, t := range each[:5] {
		b.Logf("slow: %q in=%q since=%v limit=%d: %v", t.q.Pattern, t.q.In, !t.q.Since.IsZero(), t.q.Limit, t.d)
	}
	p := func(v []time.Duration, q int) time.Duration {
		s := append([]time.Duration(nil), v...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return s[min(len(s)-1, len(s)*q/100)]
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(p(all, 50)), "p50-ms")
	b.ReportMetric(ms(p(all, 95)), "p95-ms")
	b.ReportMetric(ms(p(all, 99)), "p99-ms")
	b.ReportMetric(ms(p(cold, 50)), "cold-p50-ms")
	b.ReportMetric(ms(p(cold, 95)), "cold-p95-ms")
	b.ReportMetric(ms(p(disk, 50)), "disk-cold-p50-ms")
	b.ReportMetric(ms(p(disk, 100)), "disk-cold-max-ms")
	fmt.Printf("search over 1M versions: p50 %v, p95 %v, p99 %v, max %v (%d queries, %d distinct in all); "+
		"cold (first after opening, %d): p50 %v, p95 %v; disk-cold (page cache dropped, %d, at most %.1f%% of the catalog left cached): p50 %v, max %v\n",
		p(all, 50), p(all, 95), p(all, 99), p(all, 100), len(all), distinct(queries), len(cold), p(cold, 50), p(cold, 95),
		len(disk), resident[len(resident)-1]*100, p(disk, 50), p(disk, 100))
	if p95 := p(all, 95); p95 > searchTarget {
		b.Fatalf("p95 %v is above the %v target", p95, searchTarget)
	}
}

// searchMix makes n different queries of the kinds people type, over the
// names BenchmarkSearch1M generates (prefix + file number + extension),
// each asking for at most 200 hits as the app and keepsakectl do (one kind
// asks for 20).
func searchMix(rng *rand.Rand, n int) []SearchOptions {
	prefixes := []string{"Report-", "photo_", "notes ", "invoice-", "IMG_", "draft.", "data-"}
	exts := []string{".odt", ".jpg", ".txt", ".pdf"}
	seen := map[SearchOptions]bool{}
	var out []SearchOptions
	for len(out) < n {
		file := rng.Intn(200000)
		num := fmt.Sprint(file)
		q := SearchOptions{Limit: 200}
		switch rng.Intn(10) {
		case 0: // a whole name, lower case
			q.Pattern = fmt.Sprintf("%s%d%s", prefixes[file%7], file, exts[file%4])
		case 1: // the start of a name: many hits
			q.Pattern = prefixes[rng.Intn(7)] + num[:1+rng.Intn(len(num))]
		case 2: // digits only, anywhere in the name
			q.Pattern = num[:min(len(num), 2+rng.Intn(4))]
		case 3: // the end of a name
			q.Pattern = num[max(0, len(num)-3):] + exts[rng.Intn(4)]
		case 4: // a glob
			q.Pattern = prefixes[rng.Intn(7)] + num[:min(len(num), 1+rng.Intn(4))] + "*"
		case 5: // a glob with one unknown character
			q.Pattern = fmt.Sprintf("%s%s?%s", prefixes[file%7], num[:len(num)-1], exts[file%4])
		case 6: // nothing matches
			q.Pattern = fmt.Sprintf("zq%dx", file)
		case 7: // in one folder
			q.Pattern, q.In = num[:min(len(num), 1+rng.Intn(3))], fmt.Sprintf("/home/ann/dir%d", 1+rng.Intn(5000))
		case 8: // since a day
			q.Pattern, q.Since = prefixes[rng.Intn(7)]+num[:min(len(num), 2)], time.Unix(1700000000+int64(1+rng.Intn(50))*86400, 0)
		default: // a short limit
			q.Pattern, q.Limit = num[:min(len(num), 3)], 20
		}
		if !seen[q] {
			seen[q] = true
			out = append(out, q)
		}
	}
	return out
}

func distinct(qs []SearchOptions) int {
	m := map[SearchOptions]bool{}
	for _, q := range qs {
		m[q] = true
	}
	return len(m)
}

// evict drops the catalog's files from the page cache (written back
// first: only clean pages go) and returns the share of the main file's
// pages still cached afterwards.
func evict(b *testing.B, dbPath string) float64 {
	b.Helper()
	for _, p := range []string{dbPath, dbPath + "-wal", dbPath + "-shm"} {
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
	f, err := os.Open(dbPath)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		b.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Munmap(m)
	page := os.Getpagesize()
	vec := make([]byte, (len(m)+page-1)/page)
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		b.Fatal(e)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return float64(n) / float64(len(vec))
}

// generate1M writes the catalog both benchmarks search: one million
// file versions (200 000 files, five versions each, 50 snapshots).
func generate1M(b *testing.B) string {
	return generate1MAt(b, filepath.Join(b.TempDir(), "catalog.db"))
}

func generate1MAt(b testing.TB, dbPath string) string {
	b.Helper()
	c, err := Open(dbPath)
	if err != nil {
		b.Fatal(err)
	}
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
	if err := c.Close(); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated 1M versions in %v", time.Since(start))

	return dbPath
}

// shellTarget is the latency from a keystroke in GNOME Shell's overview
// to its results that the search provider (app/searchprovider) must keep.
const shellTarget = 100 * time.Millisecond

// BenchmarkShellSearch1M measures what GNOME Shell's overview waits for
// through Keepsake's search provider (app/searchprovider) over the same
// one million versions: a person types file names a letter at a time
// ("r", "re", "rep", …), 1000 keystrokes in all. As the provider does, a
// keystroke asks the service for a substring of names in every folder,
// at most 60 versions (20 files are shown), unless the answer to the
// keystroke before was complete (under 60 versions, at most 20 files):
// then the longer name narrows it without asking, here timed as the same
// filtering of the earlier hits. The catalog stays open, as in the
// service while a drive is in use. It reports p50, p95, p99 and the
// slowest keystroke, the same of the keystrokes that asked the catalog,
// and fails when the keystrokes' p95 is above 100 ms. The provider's own
// share (the session bus, grouping, metas: about 2 ms) is
// BenchmarkOverTheSessionBus in app/searchprovider.
//
//	go test -run '^$' -bench ShellSearch1M -benchtime 1x ./service/catalog/
func BenchmarkShellSearch1M(b *testing.B) {
	dbPath := generate1M(b)
	c, err := Open(dbPath)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	rng := rand.New(rand.NewSource(2))
	prefixes := []string{"report-", "photo_", "notes ", "invoice-", "img_", "draft.", "data-"}
	exts := []string{".odt", ".jpg", ".txt", ".pdf"}
	var typed []string
	for len(typed) < 1000 {
		file := rng.Intn(200000)
		name := fmt.Sprintf("%s%d%s", prefixes[file%7], file, exts[file%4])
		for i := 1; i <= len(name) && len(typed) < 1000; i++ {
			typed = append(typed, name[:i])
		}
	}
	var all, asked []time.Duration
	type timed struct {
		q string
		n int
		d time.Duration
	}
	var each []timed
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		all, asked, each = all[:0], asked[:0], each[:0]
		var prev []Hit
		complete := false
		for _, q := range typed {
			if len(q) == 1 {
				prev, complete = nil, false // a new name is a new search
			}
			t0 := time.Now()
			if complete {
				var kept []Hit
				for _, h := range prev {
					if strings.Contains(strings.ToLower(h.Name), q) {
						kept = append(kept, h)
					}
				}
				prev = kept
				all = append(all, time.Since(t0))
				continue
			}
			hits, err := c.Search(SearchOptions{Pattern: q, Limit: 60})
			d := time.Since(t0)
			if err != nil {
				b.Fatalf("search %q: %v", q, err)
			}
			files := map[string]bool{}
			for _, h := range hits {
				files[h.Dir+"/"+h.Name] = true
			}
			prev, complete = hits, len(hits) < 60 && len(files) <= 20
			all, asked = append(all, d), append(asked, d)
			each = append(each, timed{q, len(hits), d})
		}
	}
	b.StopTimer()
	sort.Slice(each, func(i, j int) bool { return each[i].d > each[j].d })
	for _, t := range each[:5] {
		b.Logf("slow: %q (%d hits): %v", t.q, t.n, t.d)
	}
	p := func(v []time.Duration, q int) time.Duration {
		v = append([]time.Duration(nil), v...)
		sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
		return v[min(len(v)-1, len(v)*q/100)]
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(p(all, 50)), "p50-ms")
	b.ReportMetric(ms(p(all, 95)), "p95-ms")
	b.ReportMetric(ms(p(all, 99)), "p99-ms")
	b.ReportMetric(ms(p(all, 100)), "max-ms")
	b.ReportMetric(ms(p(asked, 95)), "asked-p95-ms")
	fmt.Printf("overview keystrokes over 1M versions: p50 %v, p95 %v, p99 %v, max %v (%d keystrokes); "+
		"the %d that asked the catalog: p50 %v, p95 %v, p99 %v\n",
		p(all, 50), p(all, 95), p(all, 99), p(all, 100), len(all), len(asked), p(asked, 50), p(asked, 95), p(asked, 99))
	if p95 := p(all, 95); p95 > shellTarget {
		b.Fatalf("p95 %v is above the %v target", p95, shellTarget)
	}
}
