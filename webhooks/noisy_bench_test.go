package webhooks_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatekey/gatekey/internal/app"
	"github.com/gatekey/gatekey/internal/apptest"
	"github.com/gatekey/gatekey/internal/benchtest"
	"github.com/gatekey/gatekey/telegram/telegramtest"
)

// BenchmarkNoisyBot measures what one flooding bot does to the others
// (issue 8): 50 quiet bots send 100 updates/s in all, first alone, then
// while one bot is flooded by 64 senders as fast as it answers. It reports
// the quiet bots' p99 latency in both phases and their ratio, and how the
// flood was answered (200s, and 429s from the per-bot intake limit).
// Run: make bench-noisy (about 2 minutes).
func BenchmarkNoisyBot(b *testing.B) {
	ctx := context.Background()
	app.TuneGC() // as serve sets it
	env := apptest.Start(b, apptest.Options{Work: true, RealTelegramLimits: true})
	env.Fake.Record(false) // as in newBenchWorld: measure Gatekey, not the fake's record
	env.Fake.KeepMessages(1)
	type target struct {
		url, secret string
		user        int64
	}
	var quiet []target
	var noisy []target
	for i := range 51 {
		tid, err := env.App.DB.SignUp(ctx, fmt.Sprintf("noisy%d@example.com", i), "correct horse battery staple")
		if err != nil {
			b.Fatal(err)
		}
		bot, err := seedBenchBot(ctx, env, tid, i)
		if err != nil {
			b.Fatal(err)
		}
		_, secret, _, _ := env.Fake.Webhook(bot.TelegramID)
		for u := range 8 {
			user := env.Fake.AddUser(fmt.Sprintf("N%d-%d", i, u), "")
			env.Fake.SetStarted(bot.TelegramID, user.ID)
			t := target{env.App.WebhookURL(bot.ID), secret, user.ID}
			if i == 0 {
				noisy = append(noisy, t)
			} else {
				quiet = append(quiet, t)
			}
		}
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	var updateID atomic.Int64
	updateID.Store(2_000_000_000)
	post := func(t target) (int, time.Duration) {
		id := updateID.Add(1)
		body := fmt.Appendf(nil, `{"update_id":%d,"message":{"message_id":%d,"date":%d,"chat":{"id":%d,"type":"private"},"from":{"id":%d,"is_bot":false,"first_name":"N"},"text":"/start"}}`,
			id, id, time.Now().Unix(), t.user, t.user)
		req, _ := http.NewRequest(http.MethodPost, t.url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(telegramtest.SecretHeader, t.secret)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, time.Since(start)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, time.Since(start)
	}
	// quietPhase sends 100 updates/s across the quiet bots for d.
	quietPhase := func(d time.Duration) []time.Duration {
		var mu sync.Mutex
		var lat []time.Duration
		var wg sync.WaitGroup
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for i, end := 0, time.Now().Add(d); time.Now().Before(end); i++ {
			<-tick.C
			wg.Add(1)
			go func() {
				defer wg.Done()
				status, l := post(quiet[i%len(quiet)])
				if status != http.StatusOK {
					b.Errorf("a quiet bot's update was answered %d", status)
				}
				mu.Lock()
				lat = append(lat, l)
				mu.Unlock()
			}()
		}
		wg.Wait()
		slices.Sort(lat)
		return lat
	}
	// flood sends the noisy bot's updates from 64 senders until stop.
	var ok200, ok429 atomic.Int64
	flood := func(stop *atomic.Bool, wg *sync.WaitGroup) {
		for s := range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := s; !stop.Load(); i += 64 {
					switch status, _ := post(noisy[i%len(noisy)]); status {
					case http.StatusOK:
						ok200.Add(1)
					case http.StatusTooManyRequests:
						ok429.Add(1)
						time.Sleep(time.Second) // Telegram backs off before it delivers again
					}
				}
			}()
		}
	}
	// Calm and flooded phases alternate, so that whatever else the
	// machine does weighs on both alike; each phase's p99 comes from
	// 1,000 samples, and the ratio is of the pooled samples.
	const rounds, phase = 2, 10 * time.Second
	b.ResetTimer()
	for range b.N {
		var calm, stormy []time.Duration
		var flooded time.Duration
		for range rounds {
			calm = append(calm, quietPhase(phase)...)
			var stop atomic.Bool
			var wg sync.WaitGroup
			start := time.Now()
			flood(&stop, &wg)
			time.Sleep(500 * time.Millisecond) // let the flood build up
			stormy = append(stormy, quietPhase(phase)...)
			stop.Store(true)
			wg.Wait()
			flooded += time.Since(start)
			drain(b, env) // the flood's replies go out before the next calm phase
		}
		slices.Sort(calm)
		slices.Sort(stormy)
		calmP99, stormyP99 := benchtest.Percentile(calm, 0.99), benchtest.Percentile(stormy, 0.99)
		b.ReportMetric(benchtest.Ms(benchtest.Percentile(calm, 0.50)), "quiet-p50-ms")
		b.ReportMetric(benchtest.Ms(calmP99), "quiet-p99-ms")
		b.ReportMetric(benchtest.Ms(benchtest.Percentile(stormy, 0.50)), "flood-p50-ms")
		b.ReportMetric(benchtest.Ms(stormyP99), "flood-p99-ms")
		b.ReportMetric(float64(stormyP99)/float64(calmP99), "p99-ratio")
		b.ReportMetric(float64(ok200.Load())/flooded.Seconds(), "noisy-200/s")
		b.ReportMetric(float64(ok429.Load())/flooded.Seconds(), "noisy-429/s")
	}
}

// drain waits, without a deadline, until no job is left to run now: the
// flooded bot's replies leave at its 25 messages a second.
func drain(b *testing.B, env *apptest.Env) {
	// Snoozed replies wait as scheduled jobs, due within seconds.
	for env.Count(b, `SELECT count(*) FROM river_job WHERE state IN ('available', 'running', 'retryable', 'scheduled')
		AND scheduled_at < now() + interval '1 minute'`) > 0 {
		time.Sleep(200 * time.Millisecond)
	}
}
