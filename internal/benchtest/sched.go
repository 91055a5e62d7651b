package benchtest

import (
	"runtime/metrics"
	"testing"
	"time"
)

// Sched is the Go scheduler's count, so far, of how long goroutines waited
// runnable before a thread ran them. Between two readings it tells how much
// of a request's latency was queueing inside this process rather than in
// PostgreSQL or the network: a request wakes several times (its HTTP
// read, each answer from the database), and waits this long each time.
type Sched struct{ h *metrics.Float64Histogram }

const schedMetric = "/sched/latencies:seconds"

// ReadSched reads the scheduler's count so far.
func ReadSched() Sched {
	s := []metrics.Sample{{Name: schedMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return Sched{}
	}
	return Sched{s[0].Value.Float64Histogram()}
}

// Quantile is the q-quantile of the waits between before and s, rounded
// up to the upper bound of the runtime's bucket that holds it (the buckets
// are a few percent wide). It is 0 when nothing waited in between.
func (s Sched) Quantile(before Sched, q float64) time.Duration {
	if s.h == nil {
		return 0
	}
	counts := make([]uint64, len(s.h.Counts))
	var total uint64
	for i, c := range s.h.Counts {
		if before.h != nil && i < len(before.h.Counts) {
			c -= before.h.Counts[i]
		}
		counts[i] = c
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := max(1, uint64(q*float64(total)+0.5))
	var seen uint64
	for i, c := range counts {
		if seen += c; seen >= rank {
			return time.Duration(s.h.Buckets[i+1] * float64(time.Second))
		}
	}
	return time.Duration(s.h.Buckets[len(s.h.Buckets)-1] * float64(time.Second))
}

// ReportSched gives the waits between before and now as sched-p50-ms,
// sched-p99-ms and sched-p999-ms.
func ReportSched(b *testing.B, before, now Sched) {
	b.ReportMetric(Ms(now.Quantile(before, 0.50)), "sched-p50-ms")
	b.ReportMetric(Ms(now.Quantile(before, 0.99)), "sched-p99-ms")
	b.ReportMetric(Ms(now.Quantile(before, 0.999)), "sched-p999-ms")
}
