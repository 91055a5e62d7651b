package jobs_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/gatekey/gatekey/internal/app"
	"github.com/gatekey/gatekey/internal/apptest"
	"github.com/gatekey/gatekey/jobs"
	"github.com/gatekey/gatekey/telegram/telegramtest"
)

// syncBuffer is a log destination that River's goroutines and the test may
// use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A job that fails is logged at warning, at Gatekey's default level, with
// its kind and error; the retry that then succeeds logs nothing more.
func TestAFailedJobIsLoggedAtWarning(t *testing.T) {
	var out syncBuffer
	w := newWorld(t, apptest.Options{Configure: func(c *app.Config) {
		c.Log = slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}})
	u := w.Fake.AddUser("Lou", "lou")
	if _, err := w.Fake.Start(w.demo.Bot.TelegramID, u.ID, ""); err != nil {
		t.Fatal(err)
	}
	w.Idle(t)
	w.Fake.Fail("sendMessage", 1, telegramtest.Fail5xx())
	if _, err := w.App.River.Insert(context.Background(), jobs.SendMessageArgs{TenantID: w.demo.TenantID, BotID: w.demo.Bot.ID, ChatID: u.ID, Text: "Hello"}, nil); err != nil {
		t.Fatal(err)
	}
	w.Wait(t, "the retried message", func() bool { return lastText(w, t, u) == "Hello" })
	got := out.String()
	if !strings.Contains(got, "level=WARN") || !strings.Contains(got, "job failed; it will run again") || !strings.Contains(got, "kind=telegram.send_message") {
		t.Errorf("the failed run was not logged at warning with its kind:\n%s", got)
	}
}
