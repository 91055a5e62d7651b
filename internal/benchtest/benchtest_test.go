package benchtest_test

import (
	"fmt"
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
