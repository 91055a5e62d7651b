package telegram

import "time"

// SetGather sets how long an idle limiter waits for a batch to gather.
// The order of a batch is what the tests check, not the timing of the
// machine: a longer wait keeps a busy test machine from splitting it.
func SetGather(l *Limiter, d time.Duration) { l.gather = d }
