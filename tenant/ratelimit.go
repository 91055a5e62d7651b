package tenant

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// Allow counts one request against key's limit per window (a fixed
// window, shared by all processes through PostgreSQL). When the limit is
// passed it returns ok false and how long until the window ends.
func (db *DB) Allow(ctx context.Context, key string, limit int, window time.Duration) (ok bool, retryAfter time.Duration, err error) {
	var n int
	err = db.pool.QueryRow(ctx, `INSERT INTO request_counts AS r (key, window_start, n)
		VALUES ($1, date_bin($2::interval, now(), 'epoch'), 1)
		ON CONFLICT (key, window_start) DO UPDATE SET n = r.n + 1
		RETURNING n, r.window_start + $2::interval - now()`, key, window).Scan(&n, &retryAfter)
	if err != nil {
		return false, 0, fmt.Errorf("tenant: rate limit: %w", err)
	}
	if rand.IntN(1000) == 0 { // now and then, forget windows long past
		_, _ = db.pool.Exec(ctx, "DELETE FROM request_counts WHERE window_start < now() - interval '1 day'")
	}
	return n <= limit, max(retryAfter, time.Second), nil
}
