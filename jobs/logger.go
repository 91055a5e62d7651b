package jobs

import (
	"context"
	"log/slog"
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
