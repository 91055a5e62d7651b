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

	"github.com/gatekey/gatekey/internal/apptest"
	"github.com/gatekey/gatekey/telegram/telegramtest"
)

// BenchmarkNoisyBot measures what one flooding bot does to the others
// (issue 8): 50 quiet bots send 100 updates/s in all, first alone, then
// while one bot is flooded by 64 senders as fast as it answers. It reports
// the quiet bots' p99 latency in both phases and their ratio, and how the
// flood was answered (200s, and 429s from the per-bot intake limit).
// Run: make bench-noisy (about 30 s).
func BenchmarkNoisyBot(b *testing.B) {
	ctx := context.Background()
	env := apptest.Start(b, apptest.Options{Work: true, RealTelegramLimits: true})
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
	b.ResetTimer()
	for range b.N {
		calm := quietPhase(5 * time.Second)
		var flood sync.WaitGroup
		var stop atomic.Bool
		var ok200, ok429 atomic.Int64
		for s := range 64 {
			flood.Add(1)
			go func() {
				defer flood.Done()
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
		time.Sleep(500 * time.Millisecond) // let the flood build up
		stormy := quietPhase(5 * time.Second)
		stop.Store(true)
		flood.Wait()
		calmP99, stormyP99 := percentile(calm, 0.99), percentile(stormy, 0.99)
		b.ReportMetric(ms(percentile(calm, 0.50)), "quiet-p50-ms")
		b.ReportMetric(ms(calmP99), "quiet-p99-ms")
		b.ReportMetric(ms(percentile(stormy, 0.50)), "flood-p50-ms")
		b.ReportMetric(ms(stormyP99), "flood-p99-ms")
		b.ReportMetric(float64(stormyP99)/float64(calmP99), "p99-ratio")
		b.ReportMetric(float64(ok200.Load())/5.5, "noisy-200/s")
		b.ReportMetric(float64(ok429.Load())/5.5, "noisy-429/s")
	}
}
