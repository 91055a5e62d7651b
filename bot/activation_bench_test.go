//go:build unix

package bot_test

// Activations through the webhook (issue 3, performance): members open
// activation links (`/start <code>`) of many bots, and each activation's
// confirmation, with its Join buttons, goes out through the workers to the
// fake Telegram. Target: at least 500 activations/s, and p99 under 250 ms
// from the webhook POST to the confirmation at 200 activations/s.
//
//	go test ./bot/ -run '^$' -bench '^BenchmarkActivation' -benchtime 1x
//
// `make bench-lifecycle` runs both, and the expiry benchmark of jobs.
//
// Telegram lets one bot send about 30 messages a second, so one bot could
// never confirm 500 activations a second: the load is spread over many
// bots, and the workers use apptest's fast limits (milliseconds apart),
// which measure Gatekey rather than Telegram's ceiling.

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/billing"
	"github.com/gatekey/gatekey/internal/app"
	"github.com/gatekey/gatekey/internal/apptest"
	"github.com/gatekey/gatekey/internal/benchtest"
	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/telegram/telegramtest"
	"github.com/gatekey/gatekey/tenant"
)

var (
	actTenants  = flag.Int("activation.tenants", 8, "tenants in the activation benchmarks")
	actBots     = flag.Int("activation.bots", 32, "bots, shared out among the tenants; each has a plan with a channel and a group")
	actUsers    = flag.Int("activation.users", 20000, "Telegram users, shared out among the bots")
	actCodes    = flag.Int("activation.codes", 50, "codes per bot, each good for many activations")
	actSenders  = flag.Int("activation.senders", 64, "concurrent senders of BenchmarkActivation (closed loop)")
	actTime     = flag.Duration("activation.time", 20*time.Second, "how long BenchmarkActivation sends")
	actRate     = flag.Float64("activation.rate", 200, "offered activations/s of BenchmarkActivationRate (open loop)")
	actDuration = flag.Duration("activation.duration", 10*time.Second, "how long BenchmarkActivationRate offers its rate")
	actWork     = flag.Bool("activation.work", true, "run the workers (false: the webhook alone; confirmations stay queued and are not waited for)")
	actPoll     = flag.Duration("activation.poll", 0, "River's fetch poll interval (0: apptest's 20 ms); new jobs also wake the workers through LISTEN/NOTIFY")
)

// BenchmarkActivation is the closed loop: -activation.senders goroutines
// each POST an activation, wait for the answer, and POST the next, for
// -activation.time. activations/s counts webhook answers; confirmations/s
// counts the confirmations reaching the fake Telegram, from the first POST
// to the last confirmation (so a backlog the workers leave counts against
// it). Run it with -benchtime 1x.
func BenchmarkActivation(b *testing.B) {
	w := newActivationWorld(b)
	for b.Loop() {
		w.mark(b)
		var firstErr atomic.Pointer[error]
		var wg sync.WaitGroup
		cpu := benchtest.ReadCPU(w.env.Owner(b))
		start := time.Now()
		for range *actSenders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Since(start) < *actTime && firstErr.Load() == nil {
					if err := w.activate(time.Now()); err != nil {
						firstErr.CompareAndSwap(nil, &err)
					}
				}
			}()
		}
		wg.Wait()
		answered := time.Since(start)
		if err := firstErr.Load(); err != nil {
			b.Fatal(*err)
		}
		w.report(b, start, answered)
		benchtest.Report(b, cpu, benchtest.ReadCPU(w.env.Owner(b)), len(w.answer), "op")
	}
}

// BenchmarkActivationRate is the open loop: activations are offered at
// -activation.rate per second for -activation.duration, whether or not
// earlier ones were answered, each from a member who has not activated
// before. Latency runs from the moment an activation was due (so a stall
// counts against every activation it delays) to its confirmation's arrival
// at the fake Telegram. Run it with -benchtime 1x.
func BenchmarkActivationRate(b *testing.B) {
	rate := *actRate
	if rate <= 0 {
		b.Fatal("-activation.rate must be positive")
	}
	n := max(1, int(rate*actDuration.Seconds()))
	if n+4*max(*actSenders, 64) > *actUsers { // the warm-up takes users too
		b.Fatalf("%d activations need as many users: raise -activation.users (%d)", n, *actUsers)
	}
	w := newActivationWorld(b)
	for b.Loop() {
		// Enough goroutines that a sender is free whenever an activation is
		// due, unless the server falls behind: then activations wait here,
		// and the wait counts in their latency.
		senders := min(n, max(64, int(rate/4)))
		due := make(chan time.Time, n)
		var firstErr atomic.Pointer[error]
		var wg sync.WaitGroup
		for range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for t := range due {
					if firstErr.Load() == nil {
						if err := w.activate(t); err != nil {
							firstErr.CompareAndSwap(nil, &err)
						}
					}
				}
			}()
		}
		w.mark(b)
		cpu := benchtest.ReadCPU(w.env.Owner(b))
		start := time.Now()
		for i := range n {
			t := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
			time.Sleep(time.Until(t))
			due <- t
		}
		close(due)
		wg.Wait()
		answered := time.Since(start)
		if err := firstErr.Load(); err != nil {
			b.Fatal(*err)
		}
		b.ReportMetric(rate, "offered/s")
		w.report(b, start, answered)
		benchtest.Report(b, cpu, benchtest.ReadCPU(w.env.Owner(b)), len(w.answer), "op")
	}
}

// activationWorld is a running Gatekey with bots, each with a plan that
// opens a channel and a group, codes for it, and users who may write to it.
type activationWorld struct {
	env    *apptest.Env
	client *http.Client
	bots   []activationBot
	next   atomic.Int64 // activations handed out
	// activated counts the activations before the timed part.
	activated int
	update    atomic.Int64 // update ids, fresh for every request

	mu     sync.Mutex
	posted map[int64][]time.Time      // user id → when each of their activations was due
	answer []time.Duration            // webhook latency of each activation
	sentAt func() []telegramtest.Call // the fake's sendMessage calls
}

type activationBot struct {
	url, secret string
	codes       []string
	users       []telegramtest.User
	from        [][]byte // each user's "from" object, as an update carries it
}

func newActivationWorld(b *testing.B) *activationWorld {
	b.Helper()
	ctx := context.Background()
	nTenants, nBots, nUsers, nCodes := *actTenants, *actBots, *actUsers, *actCodes
	if nTenants < 1 || nBots < nTenants || nUsers < nBots || nCodes < 1 || nCodes > 500 {
		b.Fatalf("need 1 <= tenants (%d) <= bots (%d) <= users (%d), and 1..500 codes (%d)", nTenants, nBots, nUsers, nCodes)
	}
	opts := apptest.Options{Work: *actWork}
	if *actPoll > 0 {
		opts.Configure = func(c *app.Config) { c.JobPollInterval = *actPoll }
	}
	env := apptest.Start(b, opts)
	w := &activationWorld{env: env, posted: map[int64][]time.Time{}, client: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 1024, DisableCompression: true},
	}}
	w.sentAt = func() []telegramtest.Call { return env.Fake.CallsTo("sendMessage") }
	b.Cleanup(w.client.CloseIdleConnections)
	w.update.Store(1_000_000_000)

	tenants := make([]int64, nTenants)
	for i := range tenants {
		var err error
		if tenants[i], err = env.App.DB.SignUp(ctx, fmt.Sprintf("activation%d@example.com", i), "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
	// Thousands of free activations are what the flat plan is for; on
	// pay-as-you-go, fair use would refuse the codes.
	if _, err := env.Owner(b).Exec(ctx, "UPDATE tenants SET billing_plan = $1", billing.PlanFlat); err != nil {
		b.Fatal(err)
	}
	w.bots = make([]activationBot, nBots)
	for i := range w.bots {
		bot, codes, err := seedActivationBot(ctx, env, tenants[i%nTenants], i, nCodes)
		if err != nil {
			b.Fatal(err)
		}
		_, secret, _, _ := env.Fake.Webhook(bot.TelegramID)
		w.bots[i] = activationBot{url: env.App.WebhookURL(bot.ID), secret: secret, codes: codes}
		for j := i; j < nUsers; j += nBots {
			u := env.Fake.AddUser(fmt.Sprintf("Member %d", j), fmt.Sprintf("member%d", j))
			env.Fake.SetStarted(bot.TelegramID, u.ID) // they pressed Start, so the bot may write to them
			w.bots[i].users = append(w.bots[i].users, u)
			w.bots[i].from = append(w.bots[i].from,
				fmt.Appendf(nil, `{"id":%d,"is_bot":false,"first_name":%q,"username":%q,"language_code":"en"}`, u.ID, u.FirstName, u.Username))
		}
	}
	if *actWork {
		env.Idle(b) // the set-up's own jobs (commands, chat messages) are done
	}
	w.warmUp(b)
	return w
}

// warmUp runs a few activations on every connection before the timed
// part, as a server that has been up a while would have: the first use of
// a statement on a connection prepares it, which costs tens of
// milliseconds and would land in the timed part's tail.
func (w *activationWorld) warmUp(b *testing.B) {
	b.Helper()
	n := 4 * max(*actSenders, 64)
	start := time.Now()
	var wg sync.WaitGroup
	var firstErr atomic.Pointer[error]
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n / 64 {
				if err := w.activate(time.Now()); err != nil {
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
	if *actWork {
		w.waitConfirmations(b, start, len(w.answer))
	}
	w.mark(b)
}

// mark starts a timed part: what came before does not count in it.
func (w *activationWorld) mark(b *testing.B) {
	w.answer, w.posted = nil, map[int64][]time.Time{}
	w.activated = w.env.Count(b, "SELECT count(*) FROM code_activations")
}

// seedActivationBot connects a bot, makes it administrator of a channel and
// a group, and gives it a 30-day plan opening both, with codes for it.
func seedActivationBot(ctx context.Context, env *apptest.Env, tenantID int64, i, nCodes int) (tenant.Bot, []string, error) {
	bot, err := env.App.ConnectFakeBot(ctx, env.Fake, tenantID, fmt.Sprintf("activation_%03d_bot", i))
	if err != nil {
		return bot, nil, err
	}
	var chatIDs []int64
	for _, kind := range []string{"channel", "supergroup"} {
		c, err := env.App.AddFakeChat(ctx, env.Fake, bot, kind, fmt.Sprintf("Activation %s %d", kind, i))
		if err != nil {
			return bot, nil, err
		}
		chatIDs = append(chatIDs, c.ID)
	}
	var codes []string
	err = env.App.DB.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		p, err := membership.CreatePlan(ctx, tx, membership.NewPlan{BotID: bot.ID, Name: fmt.Sprintf("Club %d", i), PeriodDays: 30,
			Price: membership.Money{Minor: 999, Currency: "USD"}, ChatIDs: chatIDs})
		if err != nil {
			return err
		}
		batch, err := billing.CreateCodes(ctx, tx, membership.CodeRequest{PlanID: p.ID, Count: nCodes, MaxActivations: 1_000_000, CreatedBy: "benchmark"})
		for _, c := range batch.Codes {
			codes = append(codes, c.Code)
		}
		return err
	})
	return bot, codes, err
}

// activate POSTs the next activation, due at t, as Telegram would, and
// wants 200. Activations go round the bots; a bot's users take its codes in
// turn, so concurrent activations rarely wait for one code's lock, and a
// user who comes round again takes another code (and extends).
func (w *activationWorld) activate(due time.Time) error {
	i := int(w.next.Add(1) - 1)
	bot := &w.bots[i%len(w.bots)]
	j := i / len(w.bots)
	user, round := j%len(bot.users), j/len(bot.users)
	if round >= len(bot.codes) {
		return fmt.Errorf("activation %d: every user of the bot has used every code: raise -activation.users", i)
	}
	u := bot.users[user]
	code := bot.codes[(user+round)%len(bot.codes)]
	text := "/start " + code
	id := w.update.Add(1)
	body := make([]byte, 0, 512)
	body = append(body, `{"update_id":`...)
	body = strconv.AppendInt(body, id, 10)
	body = append(body, `,"message":{"message_id":`...)
	body = strconv.AppendInt(body, id, 10)
	body = append(body, `,"from":`...)
	body = append(body, bot.from[user]...)
	body = append(body, `,"chat":{"id":`...)
	body = strconv.AppendInt(body, u.ID, 10)
	body = append(body, `,"type":"private"},"date":`...)
	body = strconv.AppendInt(body, time.Now().Unix(), 10)
	body = append(body, `,"text":"`...)
	body = append(body, text...)
	body = append(body, `","entities":[{"offset":0,"length":6,"type":"bot_command"}]}}`...)

	req, err := http.NewRequest(http.MethodPost, bot.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(telegramtest.SecretHeader, bot.secret)
	w.mu.Lock()
	w.posted[u.ID] = append(w.posted[u.ID], due)
	w.mu.Unlock()
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("activation %d to %s: status %d, want 200", i, bot.url, resp.StatusCode)
	}
	took := time.Since(due)
	w.mu.Lock()
	w.answer = append(w.answer, took)
	w.mu.Unlock()
	return nil
}

// report waits for every confirmation, checks that every POST became an
// activation, and reports rates and latencies.
func (w *activationWorld) report(b *testing.B, start time.Time, answered time.Duration) {
	b.Helper()
	n := len(w.answer)
	if got := w.env.Count(b, "SELECT count(*) FROM code_activations") - w.activated; got != n {
		b.Fatalf("%d activations recorded for %d answered updates", got, n)
	}
	slices.Sort(w.answer)
	b.ReportMetric(float64(n)/answered.Seconds(), "activations/s")
	b.ReportMetric(benchtest.Ms(benchtest.Percentile(w.answer, 0.50)), "webhook-p50-ms")
	b.ReportMetric(benchtest.Ms(benchtest.Percentile(w.answer, 0.99)), "webhook-p99-ms")
	if !*actWork {
		return
	}
	confirmed := w.waitConfirmations(b, start, n)
	// Match each user's confirmations, in order, with their activations.
	var e2e []time.Duration
	last := start
	for user, ats := range confirmed {
		posts := w.posted[user]
		if len(ats) != len(posts) {
			b.Fatalf("user %d: %d confirmations for %d activations", user, len(ats), len(posts))
		}
		slices.SortFunc(ats, func(x, y time.Time) int { return x.Compare(y) })
		for k, at := range ats {
			e2e = append(e2e, at.Sub(posts[k]))
			if at.After(last) {
				last = at
			}
		}
	}
	slices.Sort(e2e)
	b.ReportMetric(float64(n)/last.Sub(start).Seconds(), "confirmations/s")
	b.ReportMetric(benchtest.Ms(benchtest.Percentile(e2e, 0.50)), "e2e-p50-ms")
	b.ReportMetric(benchtest.Ms(benchtest.Percentile(e2e, 0.99)), "e2e-p99-ms")
	b.ReportMetric(benchtest.Ms(benchtest.Percentile(e2e, 1)), "e2e-max-ms")
}

// waitConfirmations waits until n confirmations have reached the fake
// since start, and returns when each arrived, by user.
func (w *activationWorld) waitConfirmations(b *testing.B, start time.Time, n int) map[int64][]time.Time {
	b.Helper()
	deadline := time.Now().Add(time.Minute + time.Duration(n)*10*time.Millisecond)
	for {
		byUser := map[int64][]time.Time{}
		count := 0
		for _, c := range w.sentAt() {
			text, _ := c.Params["text"].(string)
			if c.Status != http.StatusOK || c.At.Before(start) || !strings.HasPrefix(text, "Code accepted") {
				continue
			}
			user, _ := c.Params["chat_id"].(int64)
			byUser[user] = append(byUser[user], c.At)
			count++
		}
		if count >= n {
			return byUser
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d confirmations reached Telegram", count, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
