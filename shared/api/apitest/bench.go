package apitest

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/partnercloud/azure/shared/api"
)

// Bench runs handler (through api.Handle, as the function's main does) b.N
// times with the request next(i) returns, checks each status is want, and
// reports the p50 and p99 latency ("p50-ns", "p99-ns") next to ns/op.
// `make bench` compares them with BenchmarkConstant (a handler that returns a
// constant) in this package.
func Bench(b *testing.B, handler func(context.Context, api.Request) (api.Response, error), want int, next func(i int) api.Request) {
	b.Helper()
	h := api.Handle(handler)
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := next(i)
		start := time.Now()
		resp, err := h(ctx, req)
		lat = append(lat, time.Since(start))
		if err != nil || resp.StatusCode != want {
			b.Fatalf("iteration %d: status %d (want %d), err %v: %.300s", i, resp.StatusCode, want, err, resp.Body)
		}
	}
	b.StopTimer()
	ReportPercentiles(b, lat)
}

// ReportPercentiles reports the p50 and p99 of lat as "p50-ns" and "p99-ns".
func ReportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		i := int(p*float64(len(lat))+0.5) - 1
		i = max(0, min(i, len(lat)-1))
		return float64(lat[i].Nanoseconds())
	}
	b.ReportMetric(pct(0.50), "p50-ns")
	b.ReportMetric(pct(0.99), "p99-ns")
}
