package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/telegram"
	"github.com/gatekey/gatekey/tenant"
)

// sweepBatch is how many memberships one transaction of a sweep handles.
const sweepBatch = 500

// ReconcileArgs is the periodic safety net behind the scheduled reminder
// and expiry jobs: it expires every membership past its end that is still
// active, and sends every reminder that is due and unsent, whatever
// happened to their own jobs (lost, late, a clock jump).
type ReconcileArgs struct{}

func (ReconcileArgs) Kind() string { return "membership.reconcile" }

func (ReconcileArgs) InsertOpts() river.InsertOpts {
	// Only River's elected leader inserts periodic jobs, so there is one
	// run per interval however many processes there are.
	return river.InsertOpts{MaxAttempts: 3}
}

// ReconcileWorker works ReconcileArgs.
type ReconcileWorker struct {
	river.WorkerDefaults[ReconcileArgs]
	deps Deps
}

func (w *ReconcileWorker) Timeout(*river.Job[ReconcileArgs]) time.Duration { return ReconcileTimeout }

// ReconcileTimeout bounds one reconciliation; GATEKEY_JOB_RESCUE_AFTER must
// be longer, or River would run a slow one again beside itself.
const ReconcileTimeout = 10 * time.Minute

func (w *ReconcileWorker) Work(ctx context.Context, _ *river.Job[ReconcileArgs]) error {
	tenants, err := w.deps.tenantsWith(ctx, "memberships past their end or due a reminder", `
		SELECT DISTINCT tenant_id FROM memberships
		WHERE status = 'active' AND ends_at <= now() + interval '1 day' AND (ends_at <= now() OR reminded_at IS NULL)
		ORDER BY tenant_id`)
	if err != nil {
		return err
	}
	pace := newPacer(time.Now())
	sweeps := make([]*tenantSweep, len(tenants))
	for i, t := range tenants {
		sweeps[i] = &tenantSweep{tenantID: t}
	}
	// One batch of each tenant in turn, so that a tenant with a hundred
	// thousand endings holds up no other: every tenant's first members are
	// on their way within the first round.
	for len(sweeps) > 0 {
		left := sweeps[:0]
		for _, sw := range sweeps {
			more, err := w.reconcileBatch(ctx, sw, pace)
			if err != nil {
				return err
			}
			if more {
				left = append(left, sw)
			}
		}
		sweeps = left
	}
	return nil
}

// tenantSweep is how far a reconciler run has gone through one tenant:
// the latest end among the memberships expired and among those reminded.
type tenantSweep struct {
	tenantID        int64
	ended, reminded time.Time
}

// reconcileBatch expires and reminds up to sweepBatch memberships each of
// sw's tenant, going on from where its last batch stopped, and reports
// whether there may be more.
func (w *ReconcileWorker) reconcileBatch(ctx context.Context, sw *tenantSweep, pace *pacer) (more bool, err error) {
	err = w.deps.DB.Tx(ctx, sw.tenantID, func(tx pgx.Tx) error {
		endings, err := membership.ExpireDue(ctx, tx, sw.ended, sweepBatch)
		if err != nil {
			return err
		}
		reminders, err := membership.DueReminders(ctx, tx, sw.reminded, sweepBatch)
		if err != nil {
			return err
		}
		// A short batch is the last: what it skipped as locked is being
		// expired or reminded by its own job.
		more = len(endings) == sweepBatch || len(reminders) == sweepBatch
		if len(endings) == 0 && len(reminders) == 0 {
			return nil
		}
		// Read once a batch, in its transaction: what members are told of
		// renewing depends on it (renewText).
		paused, err := tenant.IsSuspended(ctx, tx)
		if err != nil {
			return err
		}
		for _, e := range endings {
			sw.ended = membership.LatestEnd(sw.ended, e.Membership)
		}
		out := pace.removals(removalBatches(sw.tenantID, endings, func(e membership.Ending) string { return endedText(e, paused) }))
		for _, r := range reminders {
			sw.reminded = membership.LatestEnd(sw.reminded, r.Membership)
			out = append(out, pace.messages(r.Plan.BotID, []river.InsertManyParams{reminderMessage(sw.tenantID, r, paused)})...)
		}
		return insertTx(ctx, tx, out...)
	})
	return more, err
}

// removalBatches gathers what endings leave to do on Telegram into jobs of
// up to RemovalBatch members of one bot, in the order of the endings; each
// member is told text(their ending).
func removalBatches(tenantID int64, endings []membership.Ending, text func(membership.Ending) string) []RemoveMembersArgs {
	var batches []RemoveMembersArgs
	open := map[int64]int{} // bot id → index of its batch being filled
	for _, e := range endings {
		i, ok := open[e.Plan.BotID]
		if !ok || len(batches[i].Members) == RemovalBatch {
			i = len(batches)
			open[e.Plan.BotID] = i
			batches = append(batches, RemoveMembersArgs{TenantID: tenantID, BotID: e.Plan.BotID})
		}
		batches[i].Members = append(batches[i].Members, removalOf(e, text(e)))
	}
	return batches
}

// pacer spreads the messages of one run (of the reconciler, or of a
// rollback) over time, bot by bot, at the pace Telegram lets one bot send. Without it, a run that ends
// thousands of memberships queues their messages tenant by tenant, and the
// Telegram workers all wait on the few bots at the head of the queue (each
// reserving a send slot up to telegram.MaxWait ahead and sleeping on it)
// while every other bot's messages wait behind them. Paced, the queue,
// which River works in scheduled order, takes turns between the bots, and
// a job inserted meanwhile by other work (an activation's confirmation)
// waits behind the messages already due, not behind the whole run.
// Removals travel with their messages (RemoveMembersArgs), so they take
// the messages' turns too: when one run ends a thousand memberships of one
// bot, the last member is out some 40 s after the first, which also
// spreads the bot's removals rather than firing them all at once.
type pacer struct {
	start time.Time
	sent  map[int64]int // bot id → messages queued in this run
}

func newPacer(start time.Time) *pacer { return &pacer{start: start, sent: map[int64]int{}} }

// messages schedules each job among params, all of botID, for the bot's
// turn, and returns params: a job whose first message is the nth of the
// bot in this run at start + n × telegram.BotInterval, the first at once.
// River's scheduler makes scheduled jobs available some seconds ahead, and
// they are worked at their time, in time order, so the workers take turns
// between the bots. (Sending a bot's first fifty at once, as the limiter
// would allow, put them at the head of the queue bot after bot: the
// workers slept on the first bots' send slots while a hundred others
// waited.)
func (p *pacer) messages(botID int64, params []river.InsertManyParams) []river.InsertManyParams {
	for i := range params {
		count := messagesIn(params[i].Args)
		if count == 0 {
			continue
		}
		n := p.sent[botID]
		p.sent[botID] = n + count
		if n == 0 {
			continue
		}
		opts := river.InsertOpts{}
		if params[i].InsertOpts != nil {
			opts = *params[i].InsertOpts
		}
		opts.ScheduledAt = p.start.Add(time.Duration(n) * telegram.BotInterval)
		params[i].InsertOpts = &opts
	}
	return params
}

// removals is the jobs that carry out batches, each scheduled for its
// bot's turn.
func (p *pacer) removals(batches []RemoveMembersArgs) []river.InsertManyParams {
	out := make([]river.InsertManyParams, 0, len(batches))
	for _, b := range batches {
		out = append(out, p.messages(b.BotID, []river.InsertManyParams{{Args: b}})...)
	}
	return out
}

// messagesIn counts the messages a job sends, which the pacer spaces.
func messagesIn(args river.JobArgs) int {
	switch a := args.(type) {
	case SendMessageArgs:
		return 1
	case RemoveMembersArgs:
		n := 0
		for _, r := range a.Members {
			if r.Text != "" {
				n++
			}
		}
		return n
	}
	return 0
}

// SweepArgs is the periodic clean-up: unused codes past the tenant's
// auto-delete setting, and the record of Telegram updates old enough that
// Telegram can no longer redeliver them.
type SweepArgs struct{}

func (SweepArgs) Kind() string { return "maintenance.sweep" }

func (SweepArgs) InsertOpts() river.InsertOpts {
	// Only River's elected leader inserts periodic jobs, so there is one
	// run per interval however many processes there are.
	return river.InsertOpts{MaxAttempts: 3}
}

// UpdateRetention is how long an update id is remembered. Telegram gives
// up redelivering an update after 24 hours.
const UpdateRetention = "3 days"

// SweepWorker works SweepArgs.
type SweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	deps Deps
}

func (w *SweepWorker) Work(ctx context.Context, _ *river.Job[SweepArgs]) error {
	tenants, err := w.deps.tenantsWith(ctx, "auto-delete unused codes", `
		SELECT id FROM tenants WHERE code_autodelete_days IS NOT NULL
		UNION SELECT DISTINCT tenant_id FROM processed_updates WHERE received_at < now() - interval '`+UpdateRetention+`'`)
	if err != nil {
		return err
	}
	for _, t := range tenants {
		err := w.deps.DB.Tx(ctx, t, func(tx pgx.Tx) error {
			deleted, err := membership.AutoDeleteUnused(ctx, tx)
			if err != nil {
				return err
			}
			if err := autoDeleteNotes(ctx, tx, t, deleted); err != nil {
				return err
			}
			_, err = tx.Exec(ctx, "DELETE FROM processed_updates WHERE received_at < now() - interval '"+UpdateRetention+"'")
			return err
		})
		if err != nil {
			return fmt.Errorf("jobs: sweep tenant %d: %w", t, err)
		}
	}
	_, err = w.deps.Limiter.Forget(ctx, SendSlotRetention)
	return err
}

// autoDeleteNotes tells the owner, once a sweep and bot rather than once
// a code, that auto-delete deleted codes: in the console's recent events,
// and in Telegram to the bot's admins who take notifications, as a
// rollback's summary is told. Its messages commit with the deletion, so a
// sweep run again neither deletes nor tells twice.
func autoDeleteNotes(ctx context.Context, tx pgx.Tx, tenantID int64, deleted []membership.AutoDeletion) error {
	var out []river.InsertManyParams
	for _, d := range deleted {
		codes := membership.Plural(d.Codes, "unused code", "unused codes")
		if len(deleted) > 1 {
			// Each bot's admins hear of its own codes; the console lists
			// every bot's line, so each names its bot.
			bot, err := tenant.GetBot(ctx, tx, d.BotID)
			if err != nil {
				return err
			}
			codes += " of @" + bot.Username
		}
		text := fmt.Sprintf("Auto-delete removed %s (setting: %s).", codes, membership.Plural(d.Days, "day", "days"))
		admins, err := tenant.Notify(ctx, tx, d.BotID, "codes_auto_deleted", text)
		if err != nil {
			return err
		}
		for _, ad := range admins {
			out = append(out, SendMessage(SendMessageArgs{TenantID: tenantID, BotID: d.BotID, ChatID: ad.TelegramUserID, Text: text}))
		}
	}
	return insertTx(ctx, tx, out...)
}

// SendSlotRetention is how long the send limiter keeps a bot's or chat's
// slot after its last message: longer than from a reminder to the end it
// announces, so the end's message finds its row.
const SendSlotRetention = 48 * time.Hour

// tenantsWith runs a cross-tenant query returning tenant ids.
func (d Deps) tenantsWith(ctx context.Context, reason, query string) ([]int64, error) {
	var ids []int64
	err := d.DB.CrossTenant(ctx, reason, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, query)
		if err != nil {
			return err
		}
		ids, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: find tenants (%s): %w", reason, err)
	}
	return ids, nil
}

// periodicJobs are the jobs River's leader inserts on a timer.
func periodicJobs(cfg Config) []*river.PeriodicJob {
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(cfg.ReconcileInterval),
			func() (river.JobArgs, *river.InsertOpts) { return ReconcileArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(cfg.SweepInterval),
			func() (river.JobArgs, *river.InsertOpts) { return SweepArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}),
	}
}
