package jobs

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// riverLogger is the logger River gets: warnings and errors always, its
// info lines (a heartbeat of job counts every five seconds per queue,
// maintenance runs) only when Gatekey logs at debug. At info they were
// four lines in five of `gatekey dev`'s output, and scrolled its welcome
// away within a minute; River's failures come as warnings and errors.
func riverLogger(log *slog.Logger) *slog.Logger {
	if log == nil || log.Enabled(context.Background(), slog.LevelDebug) {
		return log
	}
	return slog.New(atLeast{log.Handler(), slog.LevelWarn})
}

// atLeast passes on the records of min and above to h.
type atLeast struct {
	h   slog.Handler
	min slog.Level
}

func (a atLeast) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= a.min && a.h.Enabled(ctx, l)
}

func (a atLeast) Handle(ctx context.Context, r slog.Record) error { return a.h.Handle(ctx, r) }

func (a atLeast) WithAttrs(attrs []slog.Attr) slog.Handler {
	return atLeast{a.h.WithAttrs(attrs), a.min}
}

func (a atLeast) WithGroup(name string) slog.Handler { return atLeast{a.h.WithGroup(name), a.min} }

// jobErrors logs every failed run of a job, at warning while River will
// run it again and at error when it gives up: River itself logs these at
// info, which riverLogger drops, and a worker failing every Telegram call
// would otherwise leave the logs clean. A job's error carries what the
// Bot API or the database said, never a token (the clients' logger is
// silent and their errors do not quote request URLs). Snoozes (waits for
// Telegram's limits) and cancellations (refused for good: blocked,
// removed) are normal, and River does not pass them here.
type jobErrors struct{ log *slog.Logger }

func (h jobErrors) HandleError(ctx context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	level, what := slog.LevelWarn, "job failed; it will run again"
	if job.Attempt >= job.MaxAttempts {
		level, what = slog.LevelError, "job failed for the last time; River discards it"
	}
	h.log.Log(ctx, level, "jobs: "+what, "job_id", job.ID, "kind", job.Kind, "attempt", job.Attempt, "max_attempts", job.MaxAttempts, "err", err)
	return nil
}

func (h jobErrors) HandlePanic(ctx context.Context, job *rivertype.JobRow, panicVal any, trace string) *river.ErrorHandlerResult {
	h.log.ErrorContext(ctx, "jobs: job panicked", "job_id", job.ID, "kind", job.Kind, "attempt", job.Attempt, "panic", fmt.Sprint(panicVal), "trace", trace)
	return nil
}
