package faults_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mymmrac/telego"
	"github.com/riverqueue/river/rivertype"

	"github.com/gatekey/gatekey/internal/app"
	"github.com/gatekey/gatekey/internal/apptest"
	"github.com/gatekey/gatekey/internal/pgtest"
	"github.com/gatekey/gatekey/telegram/telegramtest"
)

// quickRetry retries a failed job after its attempt number in seconds, at
// most 5 s apart, so an outage of a minute is retried a dozen times.
type quickRetry struct{}

func (quickRetry) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().Add(min(time.Duration(job.Attempt)*time.Second, 5*time.Second))
}

func start(t *testing.T, dbURL string) (*apptest.Env, app.Demo) {
	env := apptest.Start(t, apptest.Options{Work: true, DatabaseURL: dbURL,
		Configure: func(c *app.Config) { c.JobRetryPolicy = quickRetry{} }})
	return env, env.Demo(t)
}

func startUpdate(id int, userID int64) telego.Update {
	return telego.Update{UpdateID: id, Message: &telego.Message{
		MessageID: id, Date: time.Now().Unix(), Text: "/start",
		Chat: telego.Chat{ID: userID, Type: telego.ChatTypePrivate},
		From: &telego.User{ID: userID, FirstName: "U"},
	}}
}

// deliver delivers u until the webhook answers 200, as Telegram does.
func deliver(fake *telegramtest.Server, botID int64, u telego.Update, deadline time.Time) (attempts int, err error) {
	for time.Now().Before(deadline) {
		attempts++
		status, err := fake.Deliver(botID, u)
		if err == nil && status == 200 {
			return attempts, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return attempts, fmt.Errorf("update %d never acknowledged", u.UpdateID)
}

func TestDatabaseRestartWhileUpdatesStreamIn(t *testing.T) {
	cluster := pgtest.StartCluster(t)
	env, demo := start(t, cluster.NewDatabase("gatekey"))
	const users, perUser = 20, 20
	ids := make([]int64, users)
	for i := range ids {
		ids[i] = env.Fake.AddUser(fmt.Sprint("U", i), "").ID
		env.Fake.SetStarted(demo.Bot.TelegramID, ids[i])
	}
	var delivered, retried atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(2 * time.Minute)
	for i, uid := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range perUser {
				n, err := deliver(env.Fake, demo.Bot.TelegramID, startUpdate(1_000_000+i*1000+k, uid), deadline)
				if err != nil {
					t.Error(err)
					return
				}
				delivered.Add(1)
				retried.Add(int64(n - 1))
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	// Restart PostgreSQL abruptly while the stream is on.
	for delivered.Load() < users*perUser/4 {
		time.Sleep(10 * time.Millisecond)
	}
	cluster.Restart()
	wg.Wait()
	t.Logf("%d updates acknowledged, %d deliveries answered with an error and repeated", delivered.Load(), retried.Load())
	if retried.Load() == 0 {
		t.Error("no delivery failed: the restart did not happen under load")
	}

	waitCtx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	err := env.Fake.WaitFor(waitCtx, func() bool { return len(env.Fake.CallsTo("sendMessage")) >= users*perUser })
	if err != nil {
		t.Fatalf("%d of %d replies sent: %v", len(env.Fake.CallsTo("sendMessage")), users*perUser, err)
	}
	env.Idle(t)
	if n := env.Count(t, "SELECT count(*) FROM processed_updates WHERE update_id >= 1000000"); n != users*perUser {
		t.Errorf("%d updates recorded, want %d", n, users*perUser)
	}
	for _, uid := range ids {
		if n := len(env.Fake.Messages(demo.Bot.TelegramID, uid)); n != perUser {
			t.Errorf("user %d got %d replies for %d updates", uid, n, perUser)
		}
	}
}

var outage = time.Minute

func TestTelegramDownForAMinuteDelaysButLosesNothing(t *testing.T) {
	cluster := pgtest.StartCluster(t)
	env, demo := start(t, cluster.NewDatabase("gatekey"))
	env.Fake.Fail("", -1, telegramtest.Fail5xx())
	down := time.Now()
	var ids []int64
	for i := range 10 {
		id := env.Fake.AddUser(fmt.Sprint("D", i), "").ID
		env.Fake.SetStarted(demo.Bot.TelegramID, id)
		if _, err := deliver(env.Fake, demo.Bot.TelegramID, startUpdate(500+i, id), time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	time.Sleep(outage - time.Since(down))
	failed := len(env.Fake.CallsTo("sendMessage"))
	env.Fake.ClearFailures()
	for _, id := range ids {
		env.Messages(t, demo.Bot.TelegramID, id, 1)
	}
	env.Idle(t)
	for _, id := range ids {
		if msgs := env.Fake.Messages(demo.Bot.TelegramID, id); len(msgs) != 1 || !strings.Contains(msgs[0].Text, "Welcome") {
			t.Errorf("user %d got %d messages after the outage, want the one welcome", id, len(msgs))
		}
	}
	if failed < 20 {
		t.Errorf("only %d calls during the outage: the jobs were not retried", failed)
	}
	t.Logf("%d failed sendMessage calls during the minute; all 10 welcomes delivered %s after the outage began",
		failed, time.Since(down).Round(time.Second))
}
