package search

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// BenchmarkTypeAhead types each of the comma-separated names in
// KEEPSAKE_BENCH_TYPE one key at a time, as a person does in the search
// entry, and times the search each keystroke starts (Query: the Search
// call on the bus, with the page's Limit, and the grouping). It prints
// one line "search-json {...}" (the limit, and per keystroke the text,
// the seconds and the files found) for build-aux/bench-app.sh, which
// compares it with keepsakectl on the drive directly, asking for as many
// hits. Needs a running keepsaked (KEEPSAKE_BENCH_BUS, as for
// BenchmarkQuery).
func BenchmarkTypeAhead(b *testing.B) {
	bus := os.Getenv("KEEPSAKE_BENCH_BUS")
	names := os.Getenv("KEEPSAKE_BENCH_TYPE")
	if bus == "" || names == "" {
		b.Skip("needs a running keepsaked and text to type: set KEEPSAKE_BENCH_BUS and KEEPSAKE_BENCH_TYPE (build-aux/bench-app.sh does)")
	}
	c := benchClient(b, bus)
	profile := os.Getenv("KEEPSAKE_BENCH_PROFILE")
	var keys []string
	var seconds []float64
	var results []int
	for i := 0; i < b.N; i++ {
		keys, seconds, results = keys[:0], seconds[:0], results[:0]
		for _, text := range strings.Split(names, ",") {
			for n := 1; n <= len(text); n++ {
				start := time.Now()
				gs, err := Query(context.Background(), c, profile, text[:n])
				if err != nil {
					b.Fatalf("Query(%q): %v", text[:n], err)
				}
				seconds = append(seconds, time.Since(start).Seconds())
				keys = append(keys, text[:n])
				results = append(results, len(gs))
			}
		}
	}
	out, _ := json.Marshal(map[string]any{"limit": Limit, "keys": keys, "seconds": seconds, "results": results})
	fmt.Println("search-json", string(out))
}
