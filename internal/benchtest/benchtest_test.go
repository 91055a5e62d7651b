package benchtest_test

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gatekey/gatekey/internal/benchtest"
)

func ExamplePercentile() {
	var lat []time.Duration
	for i := 1; i <= 200; i++ {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	fmt.Println(benchtest.Percentile(lat, 0.50), benchtest.Percentile(lat, 0.99), benchtest.Percentile(lat, 1))
	fmt.Println(benchtest.Percentile(nil, 0.99), benchtest.Ms(1500*time.Microsecond))
	// Output:
	// 100ms 198ms 200ms
	// 0s 1.5
}

// Goroutines that queue for the one thread of GOMAXPROCS=1 show up in the
// scheduler's waits: a hundred that each keep it 250 µs leave the last
// waiting about 25 ms. The runtime times one goroutine in eight, at
// random, so a few of the last 75 are timed (all but surely: 1 - (7/8)^75).
func TestSchedCountsQueueing(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	before := benchtest.ReadSched()
	if q := before.Quantile(before, 0.99); q != 0 {
		t.Errorf("waits between a reading and itself: p99 %s, want 0", q)
	}
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			for end := time.Now().Add(250 * time.Microsecond); time.Now().Before(end); {
			}
		})
	}
	wg.Wait()
	if q := benchtest.ReadSched().Quantile(before, 0.99); q < 5*time.Millisecond {
		t.Errorf("a hundred goroutines queued for one thread: p99 wait %s, want at least 5ms", q)
	}
}
