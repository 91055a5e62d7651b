package app

import (
	"os"
	"runtime/debug"
)

// GCPercent is the garbage collector's target (GOGC) that TuneGC sets.
//
// At Go's default of 100 the collector starts whenever the heap has
// doubled since the last collection, and what a request allocates dies
// with it, so under load it ran every 0.6 s in the webhook benchmark
// (GODEBUG=gctrace=1; ~54 MB live, most of it the fake Telegram's
// messages), and requests that met a collection paid part of it in
// assists. At 400 it ran every 2.4 s. On 2 cores, with the workers on,
// 400 gave a lower p99 at a quarter of pgbench's rate in each of six
// paired runs (21–37 ms against 35–85 ms), and the process took 1–13%
// less CPU per update in five of them (1% more in the sixth). The closed
// loop's rate showed no difference beyond the noise. The heap peaks at
// about five times what is live instead of twice; GOMEMLIMIT caps it.
const GCPercent = 400

// TuneGC sets the collector's target to GCPercent, unless the GOGC
// environment variable chose one. serve and dev call it; so do the
// webhook benchmarks, to measure Gatekey as it runs.
func TuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(GCPercent)
	}
}
