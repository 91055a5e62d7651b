package apptest

import (
	"log/slog"
	"sync/atomic"
	"testing"
)

// testLogger sends the server's logs to the test's output, shown only
// when the test fails (or with -v).
// Logs that arrive after the test ended are dropped (testing panics on them).
func testLogger(t testing.TB) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() { w.done.Store(true) })
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct {
	t    testing.TB
	done atomic.Bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	if !w.done.Load() {
		w.t.Log(string(p))
	}
	return len(p), nil
}
