package search

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"
)

// BenchmarkTypeAhead types KEEPSAKE_BENCH_TYPE one key at a time, as a
// person does in the search entry, and times the search each keystroke
// starts (Query: the Search call on the bus and the grouping). It prints
// one line "search-json {...}" for build-aux/bench-app.sh, which compares
// it with keepsakectl on the drive directly. Needs a running keepsaked
// (KEEPSAKE_BENCH_BUS, as for BenchmarkQuery).
func BenchmarkTypeAhead(b *testing.B) {
	bus := os.Getenv("KEEPSAKE_BENCH_BUS")
	text := os.Getenv("KEEPSAKE_BENCH_TYPE")
	if bus == "" || text == "" {
		b.Skip("needs a running keepsaked and text to type: set KEEPSAKE_BENCH_BUS and KEEPSAKE_BENCH_TYPE (build-aux/bench-app.sh does)")
	}
	c := benchClient(b, bus)
	profile := os.Getenv("KEEPSAKE_BENCH_PROFILE")
	var seconds []float64
	var results []int
	for i := 0; i < b.N; i++ {
		seconds, results = seconds[:0], results[:0]
		for n := 1; n <= len(text); n++ {
			start := time.Now()
			gs, err := Query(context.Background(), c, profile, text[:n])
			if err != nil {
				b.Fatalf("Query(%q): %v", text[:n], err)
			}
			seconds = append(seconds, time.Since(start).Seconds())
			results = append(results, len(gs))
		}
	}
	out, _ := json.Marshal(map[string]any{"seconds": seconds, "results": results})
	fmt.Println("search-json", string(out))
}
