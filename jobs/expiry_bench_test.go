//go:build unix

package jobs_test

// Expiring memberships in bulk (issue 4, performance): 100,000 memberships
// of 100 bots whose end has passed, swept up by one reconciler run. Each
// ending takes the member out of their plan's chats (a channel and a
// supergroup: one unbanChatMember each) and tells them. Target: under 60 s
// on this machine, bounded by Telegram's limit per bot (30 messages/s)
// rather than by the database: 100 bots × ~27 messages/s ≈ 2,700
// messages/s.
//
//	go test ./jobs/ -run '^$' -bench '^BenchmarkExpiry' -benchtime 1x -timeout 30m
//
// BenchmarkExpiry keeps Telegram's real limits; BenchmarkExpiryFastLimits
// spaces messages by milliseconds, which shows what the database and the
// workers do when Telegram is not the bound. `make bench-lifecycle` runs
// both, and the activation benchmarks of bot. One iteration expires
// everything, so run them with -benchtime 1x (a second would find nothing
// left and fail).
//
// Telegram also tells the bot about each removal (chat_member updates,
// which Gatekey subscribes to in order to watch joins): two webhook
// updates per member with two chats. The fake delivers them before
// it answers the call; -expiry.updates adds that load, which the webhook
// carries rather than the expiry path.

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/mymmrac/telego"

	"github.com/gatekey/gatekey/internal/apptest"
	"github.com/gatekey/gatekey/internal/benchtest"
	"github.com/gatekey/gatekey/jobs"
	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/tenant"
)

var (
	expiryMembers = flag.Int("expiry.members", 100_000, "memberships past their end")
	expiryBots    = flag.Int("expiry.bots", 100, "bots, each with a plan; the members are shared out among them")
	expiryTenants = flag.Int("expiry.tenants", 10, "tenants; the bots are shared out among them")
	expiryChats   = flag.Int("expiry.chats", 2, "chats each plan opens (1 or 2)")
	expiryUpdates = flag.Bool("expiry.updates", false, "deliver to the webhook the chat_member updates Telegram sends the bot "+
		"for its own removals (default: the fake drops them, to time the expiry path alone)")
	expiryFresh = flag.Bool("expiry.freshchats", false, "the send limiter has never spaced a message to the members "+
		"(default: it has, as it would have for their reminder a day before the end)")
	expiryLimit   = flag.Duration("expiry.timeout", 10*time.Minute, "give up when the expiry has not finished by then")
	expiryProfile = flag.String("expiry.cpuprofile", "", "write a CPU profile of the expiry alone (not the set-up) to this file")
)

// BenchmarkExpiry expires the memberships under Telegram's real limits.
func BenchmarkExpiry(b *testing.B) { benchExpiry(b, true) }

// BenchmarkExpiryFastLimits expires them with messages milliseconds apart.
func BenchmarkExpiryFastLimits(b *testing.B) { benchExpiry(b, false) }

func benchExpiry(b *testing.B, realLimits bool) {
	nMembers, nBots, nTenants, nChats := *expiryMembers, *expiryBots, *expiryTenants, *expiryChats
	if nTenants < 1 || nBots < nTenants || nMembers < nBots || nChats < 1 || nChats > 2 {
		b.Fatalf("need 1 <= tenants (%d) <= bots (%d) <= members (%d), and 1 or 2 chats (%d)", nTenants, nBots, nMembers, nChats)
	}
	env := apptest.Start(b, apptest.Options{Work: true, RealTelegramLimits: realLimits})
	w := seedExpiry(b, env, nTenants, nBots, nMembers, nChats)
	for b.Loop() {
		if n := w.env.Count(b, "SELECT count(*) FROM memberships WHERE status = 'active'"); n != nMembers {
			b.Fatalf("%d memberships to expire, want %d: run with -benchtime 1x", n, nMembers)
		}
		ctx, cancel := context.WithTimeout(context.Background(), *expiryLimit)
		cpu := benchtest.ReadCPU(w.env.Owner(b))
		stopProfile := startProfile(b, *expiryProfile)
		start := time.Now()
		if _, err := env.App.River.Insert(ctx, jobs.ReconcileArgs{}, nil); err != nil {
			b.Fatal(err)
		}
		dbDone := w.waitDatabase(b, ctx, start)
		telegramDone := w.waitTelegram(b, ctx)
		stopProfile()
		cancel()
		w.check(b)
		w.report(b, start, dbDone, telegramDone)
		benchtest.Report(b, cpu, benchtest.ReadCPU(w.env.Owner(b)), w.members, "member")
	}
}

// startProfile starts a CPU profile into file, if one is wanted, and
// returns what stops it.
func startProfile(b *testing.B, file string) (stop func()) {
	if file == "" {
		return func() {}
	}
	f, err := os.Create(file)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// expiryWorld is a Gatekey whose members' memberships have all ended.
type expiryWorld struct {
	env     *apptest.Env
	members int
	chats   int
	users   map[int64][]int64 // Telegram chat id → its members' user ids
	chatsOf map[int64][]int64 // Telegram bot id → its chats
	plans   map[int64]int64   // Gatekey bot id → its plan
}

func seedExpiry(b *testing.B, env *apptest.Env, nTenants, nBots, nMembers, nChats int) *expiryWorld {
	b.Helper()
	ctx := context.Background()
	w := &expiryWorld{env: env, members: nMembers, chats: nChats, users: map[int64][]int64{},
		chatsOf: map[int64][]int64{}, plans: map[int64]int64{}}
	tenants := make([]int64, nTenants)
	for i := range tenants {
		var err error
		if tenants[i], err = env.App.DB.SignUp(ctx, fmt.Sprintf("expiry%d@example.com", i), "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
	bots := make([]tenant.Bot, nBots)
	for i := range bots {
		bot, err := env.App.ConnectFakeBot(ctx, env.Fake, tenants[i%nTenants], fmt.Sprintf("expiry_%03d_bot", i))
		if err != nil {
			b.Fatal(err)
		}
		bots[i] = bot
		if !*expiryUpdates {
			dropChatMemberUpdates(b, env, bot)
		}
		var chatIDs []int64
		for _, kind := range []string{"channel", "supergroup"}[:nChats] {
			c, err := env.App.AddFakeChat(ctx, env.Fake, bot, kind, fmt.Sprintf("Expiry %s %d", kind, i))
			if err != nil {
				b.Fatal(err)
			}
			chatIDs = append(chatIDs, c.ID)
			w.chatsOf[bot.TelegramID] = append(w.chatsOf[bot.TelegramID], c.TelegramChatID)
		}
		env.Tx(b, bot.TenantID, func(tx pgx.Tx) error {
			p, err := membership.CreatePlan(ctx, tx, membership.NewPlan{BotID: bot.ID, Name: fmt.Sprintf("Club %d", i), PeriodDays: 30,
				Price: membership.Money{Minor: 999, Currency: "USD"}, ChatIDs: chatIDs})
			w.plans[bot.ID] = p.ID
			return err
		})
	}
	// River's leader runs the reconciler once when it starts: let that run
	// happen before there is anything to expire.
	w.waitFor(b, "the reconciler's first run", "SELECT count(*) FROM river_job WHERE kind = 'membership.reconcile' AND state = 'completed'")
	w.idle(b)

	// The members: known to the fake, in their bot's chats, and with a
	// membership (set-based, one statement per bot) that ended within the
	// last day, as a day's worth of 30-day memberships would.
	for i, bot := range bots {
		var ids []int64
		for j := i; j < nMembers; j += nBots {
			u := env.Fake.AddUser(fmt.Sprintf("Member %d", j), "")
			env.Fake.SetStarted(bot.TelegramID, u.ID)
			for _, chat := range w.chatsOf[bot.TelegramID] {
				if err := env.Fake.SetMemberStatus(chat, u.ID, "member"); err != nil {
					b.Fatal(err)
				}
				w.users[chat] = append(w.users[chat], u.ID)
			}
			ids = append(ids, u.ID)
		}
		if !*expiryFresh {
			// Each was reminded a day before the end (reminded_at below)
			// through the send limiter, which keeps a row for every bot and
			// chat it has spaced messages to. The key is the limiter's
			// (telegram.Limiter.Wait); check wants it to make no new row.
			if _, err := env.Owner(b).Exec(ctx, `INSERT INTO telegram_rate (key, tat)
				SELECT 'c:' || $1::bigint || ':' || u, now() - interval '1 day' FROM unnest($2::bigint[]) u`, bot.ID, ids); err != nil {
				b.Fatal(err)
			}
		}
		env.Tx(b, bot.TenantID, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `WITH m AS (
				INSERT INTO members (tenant_id, bot_id, telegram_user_id, first_name)
				SELECT gatekey_tenant(), $1, u, 'Member' FROM unnest($2::bigint[]) u RETURNING id),
			ms AS (
				INSERT INTO memberships (tenant_id, member_id, plan_id, starts_at, ends_at, reminded_at)
				SELECT gatekey_tenant(), id, $3, e - interval '30 days', e, e - interval '1 day'
				FROM (SELECT id, now() - random() * interval '1 day' - interval '1 second' AS e FROM m) AS ended)
			INSERT INTO member_chats (tenant_id, member_id, chat_id, status)
			SELECT gatekey_tenant(), m.id, pc.chat_id, 'joined' FROM m, plan_chats pc WHERE pc.plan_id = $3`,
				bot.ID, ids, w.plans[bot.ID])
			return err
		})
	}
	if _, err := env.Owner(b).Exec(ctx, "ANALYZE members, memberships, member_chats"); err != nil {
		b.Fatal(err)
	}
	w.idle(b) // the set-up's own jobs are done
	return w
}

// dropChatMemberUpdates sets the bot's webhook again without chat_member
// in its allowed updates.
func dropChatMemberUpdates(b *testing.B, env *apptest.Env, bot tenant.Bot) {
	b.Helper()
	ctx := context.Background()
	client, err := env.App.Telegram.Bot(ctx, bot.TenantID, bot.ID)
	if err != nil {
		b.Fatal(err)
	}
	url, secret, maxConn, _ := env.Fake.Webhook(bot.TelegramID)
	err = client.SetWebhook(ctx, &telego.SetWebhookParams{URL: url, SecretToken: secret, MaxConnections: maxConn,
		AllowedUpdates: []string{"message", "callback_query", "my_chat_member"}})
	if err != nil {
		b.Fatal(err)
	}
}

// idle waits until River has no job left to run now (longer than
// env.Idle waits: the machine may be busy).
func (w *expiryWorld) idle(b *testing.B) {
	b.Helper()
	for deadline := time.Now().Add(2 * time.Minute); ; {
		var kinds []string
		rows, err := w.env.Owner(b).Query(context.Background(), `SELECT kind || ': ' || count(*) FROM river_job
			WHERE state IN ('available', 'running', 'retryable') AND scheduled_at <= now() GROUP BY kind`)
		if err == nil {
			kinds, err = pgx.CollectRows(rows, pgx.RowTo[string])
		}
		if err != nil {
			b.Fatal(err)
		}
		if len(kinds) == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("the set-up's jobs did not finish: %s", strings.Join(kinds, ", "))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitFor waits until query counts at least one row.
func (w *expiryWorld) waitFor(b *testing.B, what, query string) {
	b.Helper()
	for deadline := time.Now().Add(2 * time.Minute); w.env.Count(b, query) == 0; {
		if time.Now().After(deadline) {
			b.Fatalf("waiting for %s: timed out", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitDatabase waits until no membership is active, and returns when.
func (w *expiryWorld) waitDatabase(b *testing.B, ctx context.Context, start time.Time) time.Time {
	b.Helper()
	for {
		// By the partial index on active memberships: the poll must not
		// take the CPU it measures.
		var active bool
		if err := w.env.Owner(b).QueryRow(ctx, "SELECT EXISTS (SELECT FROM memberships WHERE status = 'active')").Scan(&active); err != nil {
			b.Fatalf("%s after the reconciler was queued, memberships not yet expired (%v)", time.Since(start).Round(time.Second), err)
		}
		if !active {
			return time.Now()
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitTelegram waits until every Telegram job is done (a job is done only
// once its calls succeeded), then wants every removal and every message
// at the fake, and returns when the last one arrived. It watches River's
// table rather than the fake, whose call log is large to copy.
func (w *expiryWorld) waitTelegram(b *testing.B, ctx context.Context) time.Time {
	b.Helper()
	for {
		// By River's fetch index (state, queue, ...): a count of the whole
		// table, which grows by the jobs done, would take a good part of
		// a core and slow down what it waits for.
		var left bool
		err := w.env.Owner(b).QueryRow(ctx, `SELECT EXISTS (SELECT FROM river_job
			WHERE state IN ('available', 'pending', 'retryable', 'running', 'scheduled') AND queue = $1)`, jobs.QueueTelegram).Scan(&left)
		if err != nil {
			b.Fatalf("waiting for the Telegram jobs: %v", err)
		}
		if !left {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The chats are a channel and a supergroup: one unbanChatMember each.
	want := map[string]int{"sendMessage": w.members, "unbanChatMember": w.members * w.chats}
	var last time.Time
	for method, n := range want {
		ok := 0
		for _, c := range w.env.Fake.CallsTo(method) {
			if c.Status == http.StatusOK {
				ok++
				if c.At.After(last) {
					last = c.At
				}
			}
		}
		if ok < n {
			b.Fatalf("%d of %d %s calls succeeded", ok, n, method)
		}
	}
	return last
}

// check wants every member out of every chat (free to come back), told
// once, and every job done.
func (w *expiryWorld) check(b *testing.B) {
	b.Helper()
	for chat, users := range w.users {
		for _, u := range users {
			if s := w.env.Fake.MemberStatus(chat, u); s != "left" {
				b.Fatalf("user %d is %q in chat %d, want left", u, s, chat)
			}
		}
	}
	told := map[int64]int{}
	for _, c := range w.env.Fake.CallsTo("sendMessage") {
		if text, _ := c.Params["text"].(string); c.Status == http.StatusOK && strings.Contains(text, "has ended") {
			told[c.Params["chat_id"].(int64)]++
		}
	}
	if len(told) != w.members {
		b.Fatalf("%d members told their access ended, want %d", len(told), w.members)
	}
	for u, n := range told {
		if n != 1 {
			b.Fatalf("user %d told %d times", u, n)
		}
	}
	if n := w.env.Count(b, "SELECT count(*) FROM river_job WHERE state IN ('cancelled', 'discarded')"); n > 0 {
		b.Fatalf("%d jobs failed for good", n)
	}
	if n := w.env.Count(b, "SELECT count(*) FROM telegram_rate WHERE key LIKE 'c:%'"); !*expiryFresh && n != w.members {
		b.Fatalf("the limiter keeps %d chats' rows, want the %d seeded: its keys are no longer those the seed makes", n, w.members)
	}
	var retried int
	var why string
	if err := w.env.Owner(b).QueryRow(context.Background(), `SELECT count(*), coalesce(max(errors[1]->>'error'), '')
		FROM river_job WHERE cardinality(errors) > 0`).Scan(&retried, &why); err != nil {
		b.Fatal(err)
	}
	if retried > 0 {
		b.Logf("%d jobs were retried, e.g. after: %s", retried, why)
	}
}

// report gives the times and the sending rates, overall and per bot.
func (w *expiryWorld) report(b *testing.B, start, dbDone, telegramDone time.Time) {
	byBot := map[int64][]time.Time{}
	for _, c := range w.env.Fake.CallsTo("sendMessage") {
		if c.Status == http.StatusOK && !c.At.Before(start) {
			byBot[c.Bot] = append(byBot[c.Bot], c.At)
		}
	}
	var per5s []int // messages in each 5 s since start
	for _, at := range byBot {
		for _, t := range at {
			i := int(t.Sub(start) / (5 * time.Second))
			for len(per5s) <= i {
				per5s = append(per5s, 0)
			}
			per5s[i]++
		}
	}
	b.Logf("messages in each 5 s from the start: %v", per5s)
	var rates []float64
	busiest := 0
	for _, at := range byBot {
		slices.SortFunc(at, func(x, y time.Time) int { return x.Compare(y) })
		if span := at[len(at)-1].Sub(start).Seconds(); span > 0 {
			rates = append(rates, float64(len(at))/span)
		}
		busiest = max(busiest, maxInWindow(at, time.Second))
	}
	if len(rates) == 0 {
		b.Fatal("no message went out after the reconciler was queued")
	}
	slices.Sort(rates)
	took := telegramDone.Sub(start).Seconds()
	calls := w.members * (1 + w.chats) // a message, and one unbanChatMember a chat
	b.ReportMetric(dbDone.Sub(start).Seconds(), "db-s")
	b.ReportMetric(took, "telegram-s")
	b.ReportMetric(float64(w.members)/took, "messages/s")
	b.ReportMetric(float64(calls)/took, "calls/s")
	b.ReportMetric(rates[0], "min-bot-msgs/s")
	b.ReportMetric(rates[len(rates)/2], "median-bot-msgs/s")
	b.ReportMetric(float64(busiest), "max-bot-msgs-in-1s")
	b.ReportMetric(float64(w.members)/dbDone.Sub(start).Seconds(), "expired/s")
}
