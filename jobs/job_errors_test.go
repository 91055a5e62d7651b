package jobs_test

import (
	"context"
	"github.com/gatekey/gatekey/internal/syncbuf"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/gatekey/gatekey/internal/app"
	"github.com/gatekey/gatekey/internal/apptest"
	"github.com/gatekey/gatekey/jobs"
	"github.com/gatekey/gatekey/telegram/telegramtest"
)

// A job that fails is logged at warning, at Gatekey's default level, with
// its kind and error; the retry that then succeeds logs nothing more.
func TestAFailedJobIsLoggedAtWarning(t *testing.T) {
	var out syncbuf.Buffer
	w := newWorld(t, apptest.Options{Configure: func(c *app.Config) {
		c.Log = slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}})
	u := w.Fake.AddUser("Lou", "lou")
	if _, err := w.Fake.Start(w.demo.Bot.TelegramID, u.ID, ""); err != nil {
		t.Fatal(err)
	}
	w.Idle(t)
	const failed = `gatekey_job_runs_total{kind="telegram.send_message",outcome="failed"}`
	failedBefore := metric(t, w.URL, failed)
	w.Fake.Fail("sendMessage", 1, telegramtest.Fail5xx())
	if _, err := w.App.River.Insert(context.Background(), jobs.SendMessageArgs{TenantID: w.demo.TenantID, BotID: w.demo.Bot.ID, ChatID: u.ID, Text: "Hello"}, nil); err != nil {
		t.Fatal(err)
	}
	w.Wait(t, "the retried message", func() bool { return lastText(w, t, u) == "Hello" })
	if n := metric(t, w.URL, failed) - failedBefore; n < 1 { // other tests may fail such runs meanwhile
		t.Errorf("/metrics counted %v failed runs of telegram.send_message, want at least 1", n)
	}
	got := out.String()
	if !strings.Contains(got, "level=WARN") || !strings.Contains(got, "job failed; it will run again") || !strings.Contains(got, "kind=telegram.send_message") {
		t.Errorf("the failed run was not logged at warning with its kind:\n%s", got)
	}
}

// metric reads one series' value from the app's /metrics (0 if absent).
func metric(t *testing.T, baseURL, series string) float64 {
	t.Helper()
	res, err := http.Get(baseURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	return 0
}
