//go:build unix

package webhooks_test

// Throughput and latency of the Telegram webhook (issue 2, performance):
// a `/start` that lists the bot's plans, across many bots and users, with
// the workers on as in production (every reply is a River job that the
// workers send to the fake Telegram).
//
//	go test ./webhooks/ -run '^$' -bench '^BenchmarkWebhookStart$' -benchtime 20s
//	go test ./webhooks/ -run '^$' -bench '^BenchmarkWebhookStartRate$' -benchtime 1x -webhook.rate 1000
//
// scripts/bench-webhook.sh (make bench-webhook) runs both beside pgbench.
// Both benchmarks run only when asked for with -bench; `go test` alone
// skips them.

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatekey/gatekey/internal/apptest"
	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/telegram/telegramtest"
	"github.com/gatekey/gatekey/tenant"
)

var (
	benchTenants  = flag.Int("webhook.tenants", 10, "tenants in the webhook benchmarks")
	benchBots     = flag.Int("webhook.bots", 100, "bots in the webhook benchmarks, shared out among the tenants")
	benchUsers    = flag.Int("webhook.users", 10000, "Telegram users in the webhook benchmarks, shared out among the bots")
	benchSenders  = flag.Int("webhook.senders", 64, "concurrent senders of BenchmarkWebhookStart (closed loop)")
	benchRate     = flag.Float64("webhook.rate", 0, "offered rate (updates/s) of BenchmarkWebhookStartRate (open loop); 0 skips it")
	benchDuration = flag.Duration("webhook.duration", 20*time.Second, "how long BenchmarkWebhookStartRate offers its rate")
	benchWork     = flag.Bool("webhook.work", true, "run the workers, which send the replies (false: the webhook alone, replies left queued)")
)

// BenchmarkWebhookStart is the closed loop: -webhook.senders goroutines each
// POST a /start, wait for the answer, and POST the next. One op is one
// update; updates/s counts every update from the first to the last answer.
func BenchmarkWebhookStart(b *testing.B) {
	w := newBenchWorld(b)
	senders := *benchSenders
	work := make(chan struct{})
	lat := make([][]time.Duration, senders)
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				if firstErr.Load() != nil {
					continue
				}
				t0 := time.Now()
				if err := w.sendNext(); err != nil {
					firstErr.CompareAndSwap(nil, &err)
					continue
				}
				lat[s] = append(lat[s], time.Since(t0))
			}
		}()
	}
	w.mark()
	start := time.Now()
	for b.Loop() {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(start)
	if err := firstErr.Load(); err != nil {
		b.Fatal(*err)
	}
	all := slices.Concat(lat...)
	w.report(b, all, elapsed)
	w.drain(b)
	w.reportCPU(b, len(all))
}

// BenchmarkWebhookStartRate is the open loop: updates are offered at
// -webhook.rate per second for -webhook.duration, whether or not earlier
// ones were answered, and each latency runs from the moment its update was
// due (so a stall counts against every update it delays). Run it with
// -benchtime 1x; it is skipped without -webhook.rate.
func BenchmarkWebhookStartRate(b *testing.B) {
	rate := *benchRate
	if rate <= 0 {
		b.Skip("set -webhook.rate=N (updates per second) to run the open-loop benchmark")
	}
	w := newBenchWorld(b)
	n := max(1, int(rate*benchDuration.Seconds()))
	for b.Loop() {
		// Enough goroutines that a sender is free whenever an update is due,
		// unless the server is falling behind: then updates queue here, and
		// their wait counts in their latency.
		workers := min(n, max(64, int(rate/10)))
		due := make(chan time.Time, n)
		lat := make([][]time.Duration, workers)
		var firstErr atomic.Pointer[error]
		var wg sync.WaitGroup
		for s := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for t := range due {
					if firstErr.Load() != nil {
						continue
					}
					if err := w.sendNext(); err != nil {
						firstErr.CompareAndSwap(nil, &err)
						continue
					}
					lat[s] = append(lat[s], time.Since(t))
				}
			}()
		}
		w.mark()
		start := time.Now()
		for i := range n {
			t := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
			if d := time.Until(t); d > 0 {
				time.Sleep(d)
			}
			due <- t
		}
		close(due)
		wg.Wait()
		elapsed := time.Since(start)
		if err := firstErr.Load(); err != nil {
			b.Fatal(*err)
		}
		all := slices.Concat(lat...)
		b.ReportMetric(rate, "offered/s")
		w.report(b, all, elapsed)
		w.drain(b)
		w.reportCPU(b, len(all))
	}
}

// benchWorld is a running Gatekey with tenants, bots with plans, and
// users who have each started one bot (so the bot may write to them).
type benchWorld struct {
	env    *apptest.Env
	owner  *pgxpool.Pool // owner role, to watch River's table
	client *http.Client
	pairs  []benchPair // one per user: the user and the bot they talk to
	next   atomic.Int64
	update atomic.Int64 // update ids, fresh for every request

	sentBefore int // sendMessage calls when the timed part began
	cpuBefore  cpuUse
}

type benchPair struct {
	url, secret string
	user        telegramtest.User
	userJSON    []byte // the "from" object of the update
}

func newBenchWorld(b *testing.B) *benchWorld {
	b.Helper()
	ctx := context.Background()
	nTenants, nBots, nUsers := *benchTenants, *benchBots, *benchUsers
	if nTenants < 1 || nBots < nTenants || nUsers < nBots {
		b.Fatalf("need 1 <= tenants (%d) <= bots (%d) <= users (%d)", nTenants, nBots, nUsers)
	}
	env := apptest.Start(b, apptest.Options{Work: *benchWork})
	owner, err := pgxpool.New(ctx, env.DatabaseURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(owner.Close)
	w := &benchWorld{env: env, owner: owner, client: &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConnsPerHost: 1024,
			DisableCompression:  true,
			IdleConnTimeout:     time.Minute,
		},
	}}
	b.Cleanup(w.client.CloseIdleConnections)
	w.update.Store(1_000_000_000) // clear of the ids the fake gives the warm-up

	tenants := make([]int64, nTenants)
	for i := range tenants {
		if tenants[i], err = env.App.DB.SignUp(ctx, fmt.Sprintf("bench%d@example.com", i), "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
	bots := make([]tenant.Bot, nBots)
	for i := range bots {
		if bots[i], err = seedBenchBot(ctx, env, tenants[i%nTenants], i); err != nil {
			b.Fatal(err)
		}
	}
	w.pairs = make([]benchPair, nUsers)
	for i := range w.pairs {
		u := env.Fake.AddUser(fmt.Sprintf("User %d", i), fmt.Sprintf("user%d", i))
		bot := bots[i%nBots]
		_, secret, _, _ := env.Fake.Webhook(bot.TelegramID)
		w.pairs[i] = benchPair{
			url: env.App.WebhookURL(bot.ID), secret: secret, user: u,
			userJSON: fmt.Appendf(nil, `{"id":%d,"is_bot":false,"first_name":%q,"username":%q,"language_code":"en"}`, u.ID, u.FirstName, u.Username),
		}
	}

	// Warm-up: every user presses Start once through the fake, which opens
	// the private chat (so replies are accepted) and makes them a member.
	var wg sync.WaitGroup
	var firstErr atomic.Pointer[error]
	var idx atomic.Int64
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := idx.Add(1) - 1; i < int64(nUsers); i = idx.Add(1) - 1 {
				bot := bots[int(i)%nBots]
				status, err := env.Fake.Start(bot.TelegramID, w.pairs[i].user.ID, "")
				if err == nil && status != http.StatusOK {
					err = fmt.Errorf("warm-up /start: status %d", status)
				}
				if err != nil {
					firstErr.CompareAndSwap(nil, &err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := firstErr.Load(); err != nil {
		b.Fatal(*err)
	}
	w.drain(b)
	return w
}

// seedBenchBot connects a bot to the tenant, makes it administrator of a
// channel, and gives it two plans that open the channel.
func seedBenchBot(ctx context.Context, env *apptest.Env, tenantID int64, i int) (tenant.Bot, error) {
	bot, err := env.App.ConnectFakeBot(ctx, env.Fake, tenantID, fmt.Sprintf("bench_%03d_bot", i))
	if err != nil {
		return bot, err
	}
	chat, err := env.App.AddFakeChat(ctx, env.Fake, bot, "channel", fmt.Sprintf("Bench Channel %d", i))
	if err != nil {
		return bot, err
	}
	err = env.App.DB.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		for _, p := range []membership.NewPlan{
			{Name: "Monthly", PeriodDays: 30, Price: membership.Money{Minor: 999, Currency: "USD"}},
			{Name: "Lifetime", PeriodDays: 0, Price: membership.Money{Minor: 4999, Currency: "USD"}},
		} {
			p.BotID, p.ChatIDs = bot.ID, []int64{chat.ID}
			if _, err := membership.CreatePlan(ctx, tx, p); err != nil {
				return err
			}
		}
		return nil
	})
	return bot, err
}

// sendNext POSTs a /start from the next user to their bot, as Telegram
// would, and wants 200.
func (w *benchWorld) sendNext() error {
	p := &w.pairs[int(w.next.Add(1)-1)%len(w.pairs)]
	id := w.update.Add(1)
	body := make([]byte, 0, 512)
	body = append(body, `{"update_id":`...)
	body = strconv.AppendInt(body, id, 10)
	body = append(body, `,"message":{"message_id":`...)
	body = strconv.AppendInt(body, id, 10)
	body = append(body, `,"from":`...)
	body = append(body, p.userJSON...)
	body = append(body, `,"chat":{"id":`...)
	body = strconv.AppendInt(body, p.user.ID, 10)
	body = append(body, `,"type":"private"},"date":`...)
	body = strconv.AppendInt(body, time.Now().Unix(), 10)
	body = append(body, `,"text":"/start","entities":[{"offset":0,"length":6,"type":"bot_command"}]}}`...)

	req, err := http.NewRequest(http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(telegramtest.SecretHeader, p.secret)
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("update %d to %s: status %d, want 200", id, p.url, resp.StatusCode)
	}
	return nil
}

// mark notes where the timed part begins.
func (w *benchWorld) mark() {
	w.sentBefore = len(w.env.Fake.CallsTo("sendMessage"))
	w.cpuBefore = w.cpu()
}

// cpuUse is CPU time used so far: by this process (Gatekey, its workers,
// the fake Telegram and the senders, all in one), and by the PostgreSQL
// backends serving the test's database, per backend (when the server runs
// on this machine, so that /proc shows them).
type cpuUse struct {
	at       time.Time
	self     time.Duration
	backends map[int]time.Duration
	machine  time.Duration // busy time of the whole machine, all CPUs
}

func (w *benchWorld) cpu() cpuUse {
	u := cpuUse{at: time.Now(), backends: map[int]time.Duration{}, machine: machineBusy()}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		u.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	rows, err := w.owner.Query(context.Background(), "SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
	if err != nil {
		return u
	}
	pids, _ := pgx.CollectRows(rows, pgx.RowTo[int])
	for _, pid := range pids {
		if d, ok := procCPU(pid); ok {
			u.backends[pid] = d
		}
	}
	return u
}

// procCPU reads a postgres process's CPU time from /proc.
func procCPU(pid int) (time.Duration, bool) {
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil || !strings.HasPrefix(string(comm), "postgres") {
		return 0, false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	_, rest, ok := strings.Cut(string(stat), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, true
}

// machineBusy reads the machine's busy CPU time from /proc/stat (0 where
// there is none).
func machineBusy() time.Duration {
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(stat), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, v := range f[1:8] { // user nice system idle iowait irq softirq
		n, _ := strconv.ParseInt(v, 10, 64)
		if i != 3 && i != 4 {
			busy += n
		}
	}
	return time.Duration(busy) * time.Second / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on Linux.
const clockTicks = 100

// report gives the rate and latency of the timed part, and how far the
// workers kept up with it: replies sent per second while it ran, and the
// replies still waiting when it ended.
func (w *benchWorld) report(b *testing.B, lat []time.Duration, elapsed time.Duration) {
	b.Helper()
	sent := len(w.env.Fake.CallsTo("sendMessage")) - w.sentBefore
	var backlog int
	if err := w.owner.QueryRow(context.Background(),
		"SELECT count(*) FROM river_job WHERE state NOT IN ('completed', 'cancelled', 'discarded')").Scan(&backlog); err != nil {
		b.Fatal(err)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "updates/s")
	b.ReportMetric(ms(percentile(lat, 0.50)), "p50-ms")
	b.ReportMetric(ms(percentile(lat, 0.99)), "p99-ms")
	b.ReportMetric(ms(percentile(lat, 1)), "max-ms")
	b.ReportMetric(float64(sent)/elapsed.Seconds(), "replies/s")
	b.ReportMetric(float64(backlog), "backlog-jobs")
}

// reportCPU gives the CPU time that n updates cost, from mark until now
// (call it once the workers have drained, so that sending every reply is
// counted): in this process, and in the database's backends.
func (w *benchWorld) reportCPU(b *testing.B, n int) {
	now := w.cpu()
	var pg time.Duration
	for pid, d := range now.backends {
		pg += d - w.cpuBefore.backends[pid]
	}
	if n == 0 {
		return
	}
	self := now.self - w.cpuBefore.self
	b.ReportMetric(float64(self.Microseconds())/float64(n), "app-cpu-us/update")
	if len(now.backends) > 0 {
		b.ReportMetric(float64(pg.Microseconds())/float64(n), "pg-cpu-us/update")
	}
	// What else kept the machine busy meanwhile (other programs, and
	// PostgreSQL's own background processes), as a share of all its CPUs:
	// anything much above zero makes the figures above noisy.
	if now.machine > 0 && len(now.backends) > 0 {
		wall := now.at.Sub(w.cpuBefore.at) * time.Duration(runtime.NumCPU())
		other := now.machine - w.cpuBefore.machine - self - pg
		b.ReportMetric(max(0, 100*float64(other)/float64(wall)), "other-cpu-%")
	}
}

// drain waits for the workers to finish every job, and wants every reply
// delivered (none cancelled or discarded).
func (w *benchWorld) drain(b *testing.B) {
	b.Helper()
	if !*benchWork {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for {
		var pending, failed int
		err := w.owner.QueryRow(ctx, `SELECT
			count(*) FILTER (WHERE state NOT IN ('completed', 'cancelled', 'discarded')),
			count(*) FILTER (WHERE state IN ('cancelled', 'discarded'))
			FROM river_job`).Scan(&pending, &failed)
		if err != nil {
			b.Fatalf("waiting for the workers: %v", err)
		}
		if failed > 0 {
			var why string
			_ = w.owner.QueryRow(ctx, `SELECT coalesce(errors[array_length(errors, 1)]->>'error', '') FROM river_job
				WHERE state IN ('cancelled', 'discarded') LIMIT 1`).Scan(&why)
			b.Fatalf("%d reply jobs failed, e.g.: %s", failed, why)
		}
		if pending == 0 {
			return
		}
		select {
		case <-ctx.Done():
			b.Fatalf("the workers did not finish: %d jobs left", pending)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
