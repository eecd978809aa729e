package search

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"
	"github.com/keepsake/keepsake/shared/client"
)

// BenchmarkQuery measures one search-as-you-type step (the Search call and
// the grouping) against a running keepsaked:
//
//	KEEPSAKE_BENCH_BUS=system go test -run '^$' -bench Query ./app/pages/search
//
// KEEPSAKE_BENCH_BUS is "system" (the system bus, or DBUS_SYSTEM_BUS_ADDRESS)
// or a bus address; KEEPSAKE_BENCH_PROFILE picks the profile (default: the
// first); KEEPSAKE_BENCH_QUERIES is a comma-separated list of what to type
// (default: a short, a longer and a glob pattern).
func BenchmarkQuery(b *testing.B) {
	bus := os.Getenv("KEEPSAKE_BENCH_BUS")
	if bus == "" {
		b.Skip("needs a running keepsaked: set KEEPSAKE_BENCH_BUS to \"system\" or a D-Bus address")
	}
	c := benchClient(b, bus)
	profile := os.Getenv("KEEPSAKE_BENCH_PROFILE")
	if profile == "" {
		ps, err := c.Profiles(context.Background())
		if err != nil {
			b.Fatalf("list profiles: %v", err)
		}
		if len(ps) == 0 {
			b.Skip("the service has no profile to search")
		}
		profile = ps[0].Name
	}
	queries := []string{"a", "report", "*.txt"}
	if q := os.Getenv("KEEPSAKE_BENCH_QUERIES"); q != "" {
		queries = strings.Split(q, ",")
	}
	for _, q := range queries {
		b.Run(q, func(b *testing.B) {
			files := 0
			for i := 0; i < b.N; i++ {
				gs, err := Query(context.Background(), c, profile, q)
				if err != nil {
					b.Fatalf("Query(%q): %v", q, err)
				}
				files = len(gs)
			}
			b.ReportMetric(float64(files), "files")
		})
	}
}

func benchClient(b *testing.B, bus string) *client.Client {
	if bus == "system" || bus == "1" {
		c, err := client.Connect()
		if err != nil {
			b.Fatalf("connect to the system bus: %v", err)
		}
		b.Cleanup(func() { c.Close() })
		return c
	}
	conn, err := dbus.Connect(bus)
	if err != nil {
		b.Fatalf("connect to %s: %v", bus, err)
	}
	b.Cleanup(func() { conn.Close() })
	return client.New(conn)
}
