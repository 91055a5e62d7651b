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
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/valyala/fasthttp"

	"github.com/gatekey/gatekey/internal/app"
	"github.com/gatekey/gatekey/internal/apptest"
	"github.com/gatekey/gatekey/internal/benchtest"
	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/telegram/telegramtest"
	"github.com/gatekey/gatekey/tenant"
)

var (
	benchTenants       = flag.Int("webhook.tenants", 10, "tenants in the webhook benchmarks")
	benchBots          = flag.Int("webhook.bots", 100, "bots in the webhook benchmarks, shared out among the tenants")
	benchUsers         = flag.Int("webhook.users", 10000, "Telegram users in the webhook benchmarks, shared out among the bots")
	benchSenders       = flag.Int("webhook.senders", 64, "concurrent senders of BenchmarkWebhookStart (closed loop)")
	benchRate          = flag.Float64("webhook.rate", 0, "offered rate (updates/s) of BenchmarkWebhookStartRate (open loop); 0 skips it")
	benchDuration      = flag.Duration("webhook.duration", 20*time.Second, "how long BenchmarkWebhookStartRate offers its rate")
	benchArrivals      = flag.String("webhook.arrivals", "poisson", "how BenchmarkWebhookStartRate spaces its updates: poisson (random, as Telegram's users send them and as pgbench --rate does) or uniform")
	benchWork          = flag.Bool("webhook.work", true, "run the workers, which send the replies (false: the webhook alone, replies left queued)")
	benchConns         = flag.Int("webhook.conns", 12, "connections in the application's pool (GATEKEY_DB_MAX_CONNS)")
	benchWorkerProcess = flag.String("webhook.worker-process", "", "a built gatekey binary: the replies are sent by `gatekey serve --worker-only` in a process of its own, "+
		"as fly.toml deploys the workers, with Telegram's real limits; this process is then the web tier alone (its CPU and the worker's count together)")
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
	benchtest.Report(b, w.cpuBefore, benchtest.ReadCPU(w.owner, w.workerPID...), len(all), "update")
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
	if _, err := arrivals(*benchArrivals, rate); err != nil {
		b.Fatal(err)
	}
	w := newBenchWorld(b)
	n := max(1, int(rate*benchDuration.Seconds()))
	for b.Loop() {
		// Enough goroutines that a sender is free whenever an update is due,
		// unless the server is falling behind: then updates queue here, and
		// their wait counts in their latency.
		workers := min(n, max(64, int(rate/10)))
		due := make(chan int, n)
		updates := make([]dueUpdate, n) // the schedule, and each update's latency
		var firstErr atomic.Pointer[error]
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for i := range due {
					if firstErr.Load() != nil {
						continue
					}
					updates[i].lag = time.Since(updates[i].at)
					if err := w.sendNext(); err != nil {
						firstErr.CompareAndSwap(nil, &err)
						continue
					}
					updates[i].took = time.Since(updates[i].at)
				}
			})
		}
		w.mark()
		start := time.Now()
		schedule, _ := arrivals(*benchArrivals, rate) // checked above
		for i := range updates {
			updates[i].at = start.Add(schedule())
			if d := time.Until(updates[i].at); d > 0 {
				time.Sleep(d)
			}
			due <- i
		}
		close(due)
		wg.Wait()
		elapsed := time.Since(start)
		if err := firstErr.Load(); err != nil {
			b.Fatal(*err)
		}
		all := make([]time.Duration, n)
		for i, u := range updates {
			all[i] = u.took
		}
		logSlowSeconds(b, updates, start)
		reportLag(b, updates)
		b.ReportMetric(rate, "offered/s")
		w.report(b, all, elapsed)
		w.drain(b)
		benchtest.Report(b, w.cpuBefore, benchtest.ReadCPU(w.owner, w.workerPID...), len(all), "update")
	}
}

// arrivals gives the open loop's schedule: each call, the time from the
// start at which the next update is due. Poisson arrivals (exponential
// gaps, from a fixed seed so runs compare) are what independent users
// produce, and what pgbench --rate offers PostgreSQL, so the two
// latencies compare; uniform spacing is kinder to both.
func arrivals(kind string, rate float64) (func() time.Duration, error) {
	var at float64 // seconds
	gap := func() float64 { return 1 / rate }
	switch kind {
	case "uniform":
	case "poisson":
		rng := rand.New(rand.NewPCG(2, 11))
		gap = func() float64 { return rng.ExpFloat64() / rate }
	default:
		return nil, fmt.Errorf("-webhook.arrivals=%q: want poisson or uniform", kind)
	}
	return func() time.Duration {
		due := at
		at += gap()
		return time.Duration(due * float64(time.Second))
	}, nil
}

// dueUpdate is one update of the open loop: when it was due, and how long
// it took from then to its answer.
type dueUpdate struct {
	at   time.Time
	took time.Duration
	lag  time.Duration // from due to a sender taking it up (part of took)
}

// reportLag gives how late the senders took up their updates
// (sender-lag-p50-ms, sender-lag-p99-ms). While the server keeps up, that
// is the load generator's own share of the latency (it runs on the same
// cores); once every sender is busy, it is the server falling behind.
func reportLag(b *testing.B, updates []dueUpdate) {
	lags := make([]time.Duration, len(updates))
	for i, u := range updates {
		lags[i] = u.lag
	}
	slices.Sort(lags)
	b.ReportMetric(benchtest.Ms(benchtest.Percentile(lags, 0.50)), "sender-lag-p50-ms")
	b.ReportMetric(benchtest.Ms(benchtest.Percentile(lags, 0.99)), "sender-lag-p99-ms")
}

// logSlowSeconds logs (with -v), for each second of the open loop, how
// many updates due in it took over 20 ms and the slowest, so a tail shows
// as steady queueing (slow updates in every second) or as stalls (a few
// bad seconds).
func logSlowSeconds(b *testing.B, updates []dueUpdate, start time.Time) {
	b.Helper()
	type second struct {
		all, slow int
		slowest   time.Duration
	}
	var secs []second
	for _, u := range updates {
		s := int(u.at.Sub(start) / time.Second)
		for len(secs) <= s {
			secs = append(secs, second{})
		}
		secs[s].all++
		if u.took > 20*time.Millisecond {
			secs[s].slow++
		}
		secs[s].slowest = max(secs[s].slowest, u.took)
	}
	for i, s := range secs {
		b.Logf("second %2d: %4d of %4d over 20 ms, slowest %6.1f ms", i, s.slow, s.all, benchtest.Ms(s.slowest))
	}
}

// benchWorld is a running Gatekey with tenants, bots with plans, and
// users who have each started one bot (so the bot may write to them).
type benchWorld struct {
	env    *apptest.Env
	owner  *pgxpool.Pool    // owner role, to watch River's table
	client *fasthttp.Client // the senders' (see newBenchWorld)
	pairs  []benchPair      // one per user: the user and the bot they talk to
	// workerPID is the worker process's (-webhook.worker-process), if any.
	workerPID []int
	next      atomic.Int64
	update    atomic.Int64 // update ids, fresh for every request

	sentBefore  int // sendMessage calls when the timed part began
	cpuBefore   benchtest.CPU
	poolBefore  *pgxpool.Stat
	schedBefore benchtest.Sched
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
	// The collector's target as serve sets it.
	app.TuneGC()
	// Workers poll as a deployed Gatekey's do (GATEKEY_JOB_POLL_INTERVAL's
	// default), not every 20 ms as in tests.
	env := apptest.Start(b, apptest.Options{Work: *benchWork && *benchWorkerProcess == "", Configure: func(c *app.Config) {
		c.JobPollInterval = time.Second
		c.DBMaxConns = int32(*benchConns)
	}})
	// The fake's record of every call, and every reply it was sent, would
	// become most of this process's heap, and the collector's marking of
	// it would slow the Gatekey being measured: a Gatekey in production
	// shares its process with no fake.
	env.Fake.Record(false)
	env.Fake.KeepMessages(1)
	owner, err := pgxpool.New(ctx, env.DatabaseURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(owner.Close)
	// The senders stand in for Telegram's servers, which in production
	// run elsewhere; here they share the two cores with Gatekey and
	// PostgreSQL. fasthttp's client takes them about 40% of the CPU that
	// net/http's did (0.87 s against 2.25 s in profiles of 30,000
	// updates), leaving the rest to what is measured, as pgbench's lean
	// client does for PostgreSQL.
	w := &benchWorld{env: env, owner: owner, workerPID: startWorkerProcess(b, env), client: &fasthttp.Client{
		MaxConnsPerHost:     1024,
		MaxIdleConnDuration: time.Minute,
		ReadTimeout:         30 * time.Second,
		WriteTimeout:        30 * time.Second,
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
	// The warm-up filled tables that were empty, so autovacuum would
	// analyse them in the timed part, and every connection would plan its
	// statements afresh at once. A running Gatekey's tables have their
	// statistics; the benchmark measures that state, once the connections
	// have planned their statements again.
	if _, err := owner.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		b.Fatal(err)
	}
	// PostgreSQL plans a prepared statement afresh for its first five
	// runs on a connection, then keeps a generic plan unless that looks
	// dearer than the fresh plans did on average. The warm-up made those
	// fresh plans while the tables were empty, so they looked cheap, and a
	// connection could go on planning the offer query at every /start
	// (~560 µs of PostgreSQL's CPU each, seen in pg_stat_statements) in
	// some runs and not in others. New connections, made once the tables
	// have their statistics, plan as a running Gatekey's do.
	env.App.DB.Pool().Reset()
	w.sendMany(b, 2000)
	w.drain(b)
	return w
}

// sendMany sends n updates from 64 senders, untimed.
func (w *benchWorld) sendMany(b *testing.B, n int) {
	b.Helper()
	var wg sync.WaitGroup
	var firstErr atomic.Pointer[error]
	var left atomic.Int64
	left.Store(int64(n))
	for range 64 {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				if err := w.sendNext(); err != nil {
					firstErr.CompareAndSwap(nil, &err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := firstErr.Load(); err != nil {
		b.Fatal(*err)
	}
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

	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(p.url)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.Header.Set(telegramtest.SecretHeader, p.secret)
	req.SetBodyRaw(body)
	if err := w.client.Do(req, resp); err != nil {
		return err
	}
	if resp.StatusCode() != fasthttp.StatusOK {
		return fmt.Errorf("update %d to %s: status %d, want 200", id, p.url, resp.StatusCode())
	}
	return nil
}

// mark notes where the timed part begins.
func (w *benchWorld) mark() {
	w.sentBefore = w.env.Fake.CallCount("sendMessage")
	w.cpuBefore = benchtest.ReadCPU(w.owner, w.workerPID...)
	w.poolBefore = w.env.App.DB.Pool().Stat()
	w.schedBefore = benchtest.ReadSched()
}

// report gives the rate and latency of the timed part, and how far the
// workers kept up with it: replies sent per second while it ran, and the
// replies still waiting when it ended.
func (w *benchWorld) report(b *testing.B, lat []time.Duration, elapsed time.Duration) {
	b.Helper()
	sent := w.env.Fake.CallCount("sendMessage") - w.sentBefore
	var backlog int
	if err := w.owner.QueryRow(context.Background(),
		"SELECT count(*) FROM river_job WHERE state NOT IN ('completed', 'cancelled', 'discarded')").Scan(&backlog); err != nil {
		b.Fatal(err)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "updates/s")
	b.ReportMetric(benchtest.Ms(benchtest.Percentile(lat, 0.50)), "p50-ms")
	b.ReportMetric(benchtest.Ms(benchtest.Percentile(lat, 0.99)), "p99-ms")
	b.ReportMetric(benchtest.Ms(benchtest.Percentile(lat, 1)), "max-ms")
	b.ReportMetric(float64(sent)/elapsed.Seconds(), "replies/s")
	b.ReportMetric(float64(backlog), "backlog-jobs")
	// How long the timed part's work waited for a free connection of the
	// application's pool (webhooks and workers share it), per update.
	pool := w.env.App.DB.Pool().Stat()
	waited := pool.EmptyAcquireWaitTime() - w.poolBefore.EmptyAcquireWaitTime()
	b.ReportMetric(float64(waited.Microseconds())/float64(len(lat)), "pool-wait-us/update")
	benchtest.ReportSched(b, w.schedBefore, benchtest.ReadSched())
}

// startWorkerProcess starts -webhook.worker-process as the workers of env,
// stopped when the benchmark ends, and returns its pid; none (and no
// process) without the flag.
func startWorkerProcess(b *testing.B, env *apptest.Env) []int {
	if *benchWorkerProcess == "" || !*benchWork {
		return nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a free port for its /healthz
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(*benchWorkerProcess, "serve", "--worker-only")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+env.DatabaseURL, "GATEKEY_SECRET_KEY="+apptest.SecretKey,
		"TELEGRAM_API_URL="+env.Fake.URL(), "GATEKEY_ADDR="+addr, fmt.Sprintf("GATEKEY_DB_MAX_CONNS=%d", *benchConns),
		"GATEKEY_LOG_LEVEL=warn")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatalf("worker process: %v", err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	return []int{cmd.Process.Pid}
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
