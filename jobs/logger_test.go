package jobs

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// River's info lines reach the log only when Gatekey logs at debug; its
// warnings always do, with the attributes a With added.
func TestRiverLoggerKeepsInfoForDebug(t *testing.T) {
	for _, c := range []struct {
		level    slog.Level
		wantInfo bool
	}{{slog.LevelInfo, false}, {slog.LevelWarn, false}, {slog.LevelDebug, true}} {
		var out bytes.Buffer
		log := riverLogger(slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: c.level}))).With("component", "river")
		log.Info("producer: Producer job counts")
		log.Warn("jobexecutor: job errored")
		got := out.String()
		if strings.Contains(got, "Producer job counts") != c.wantInfo {
			t.Errorf("at %v: River's info line logged = %v, want %v", c.level, !c.wantInfo, c.wantInfo)
		}
		if !strings.Contains(got, "job errored") || !strings.Contains(got, "component=river") {
			t.Errorf("at %v: River's warning was not logged with its attributes: %q", c.level, got)
		}
	}
}
