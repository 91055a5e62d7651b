// Package jobs owns everything Gatekey does later or elsewhere than in a
// request: the River client, the job kinds (their args are the contract
// between who inserts a job and who works it), the workers, and the
// periodic jobs. Jobs are inserted in the same transaction as the data
// that causes them; workers are idempotent, so running one twice is safe.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/gatekey/gatekey/billing"
	"github.com/gatekey/gatekey/telegram"
	"github.com/gatekey/gatekey/tenant"
)

// Queue names. Telegram calls have a queue of their own so that a slow or
// rate-limited Bot API never holds up the database-only jobs.
const (
	QueueTelegram = "telegram"
	QueueDefault  = river.QueueDefault
)

// PriorityBulk is the priority of what Gatekey does for many members at
// once when their time comes (removals and the message that goes with
// them, reminders). It yields to conversations, which keep River's default
// priority (1): a member who presses a button while a sweep has queued a
// thousand removals is answered first, not after them.
const PriorityBulk = 2

// Deps are what the workers need.
type Deps struct {
	DB       *tenant.DB
	Telegram *telegram.Clients
	Limiter  *telegram.Limiter // nil: no rate limits (tests of other things)
	Log      *slog.Logger
	Billing  *billing.Service // Stripe checkouts and owners' invoices; nil: no Stripe
}

// limit waits for the send slot of a job (turn) from botID to chatID. When the
// slot is far off, the job is snoozed instead, freeing the worker. Jobs
// that wait together are let go in job order, so one chat's messages are
// sent in the order they were queued (telegram.Limiter.WaitTurn).
func (d Deps) limit(ctx context.Context, turn telegram.Turn, botID, chatID int64) error {
	err := d.Limiter.WaitTurn(ctx, turn, botID, chatID)
	var soon *telegram.TooSoonError
	if errors.As(err, &soon) {
		return river.JobSnooze(soon.Wait - telegram.MaxWait/2)
	}
	return err
}

// Config chooses whether this process works jobs, and how hard.
type Config struct {
	// Work runs workers in this process; without it the client only inserts.
	Work bool
	// TelegramWorkers is how many Telegram jobs run at once.
	TelegramWorkers int
	// FetchPollInterval bounds how long a new job waits when LISTEN/NOTIFY
	// is not enough (tests shorten it).
	FetchPollInterval time.Duration
	// ReconcileInterval is how often overdue expiries and reminders are
	// swept up; SweepInterval how often unused codes are auto-deleted.
	ReconcileInterval time.Duration
	SweepInterval     time.Duration
	// InvoiceInterval is how often ended billing periods are invoiced.
	InvoiceInterval time.Duration
	// RetryPolicy spaces a failed job's attempts; nil is River's default
	// (attempt⁴ seconds), which outlasts a day-long Telegram outage.
	RetryPolicy river.ClientRetryPolicy
	// JobTimeout bounds one run of a job (0: 1 minute). RescueAfter is
	// how long a job may be running before it is taken to be stuck — its
	// process died — and run again (0: 1 hour); it must exceed JobTimeout
	// and every worker's own timeout.
	JobTimeout  time.Duration
	RescueAfter time.Duration
}

// fetchCooldown is the shortest time between two fetches of one queue.
const fetchCooldown = 20 * time.Millisecond

// Client is River's client over the application's pool.
type Client = river.Client[pgx.Tx]

// NewClient makes the River client. With cfg.Work it also registers the
// workers and queues, and Start will work jobs.
func NewClient(deps Deps, cfg Config) (*Client, error) {
	rc := &river.Config{Logger: riverLogger(deps.Log), ReindexerIndexNames: ReindexedIndexes()}
	if deps.Log != nil {
		rc.ErrorHandler = jobErrors{deps.Log}
	}
	if cfg.Work {
		workers := river.NewWorkers()
		river.AddWorker(workers, &SendMessageWorker{deps: deps})
		river.AddWorker(workers, &SendAccessWorker{deps: deps})
		river.AddWorker(workers, &AnswerCallbackWorker{deps: deps})
		river.AddWorker(workers, &RemoveMemberWorker{deps: deps})
		river.AddWorker(workers, &RemoveMembersWorker{deps: deps})
		river.AddWorker(workers, &RemoveFromChatWorker{deps: deps})
		river.AddWorker(workers, &RevokeLinkWorker{deps: deps})
		river.AddWorker(workers, &RemindMembershipWorker{deps: deps})
		river.AddWorker(workers, &ExpireMembershipWorker{deps: deps})
		river.AddWorker(workers, &RollbackCodeWorker{deps: deps})
		river.AddWorker(workers, &SendCodesCSVWorker{deps: deps})
		river.AddWorker(workers, &EditMessageWorker{deps: deps})
		river.AddWorker(workers, &SetCommandsWorker{deps: deps})
		river.AddWorker(workers, &ReconcileWorker{deps: deps})
		river.AddWorker(workers, &SweepWorker{deps: deps})
		if cfg.TelegramWorkers <= 0 {
			cfg.TelegramWorkers = 256
		}
		if cfg.ReconcileInterval <= 0 {
			cfg.ReconcileInterval = time.Minute
		}
		if cfg.SweepInterval <= 0 {
			cfg.SweepInterval = 15 * time.Minute
		}
		rc.RetryPolicy = cfg.RetryPolicy
		rc.JobTimeout = cfg.JobTimeout
		rc.RescueStuckJobsAfter = cfg.RescueAfter
		rc.Workers = workers
		rc.Middleware = []rivertype.Middleware{river.WorkerMiddlewareFunc(growTelegramStack), river.WorkerMiddlewareFunc(countRuns)}
		rc.PeriodicJobs = periodicJobs(cfg)
		rc.PeriodicJobs = append(rc.PeriodicJobs, addBilling(workers, deps, cfg)...)
		rc.Queues = map[string]river.QueueConfig{
			QueueDefault:  {MaxWorkers: 16},
			QueueTelegram: {MaxWorkers: cfg.TelegramWorkers},
		}
		rc.FetchPollInterval = cfg.FetchPollInterval
		// A new job wakes the workers at once (LISTEN/NOTIFY), but River
		// fetches at most once per cooldown, 100 ms by default: most of
		// the wait for an activation's confirmation at 200 a second.
		rc.FetchCooldown = fetchCooldown
		if rc.FetchPollInterval > 0 && rc.FetchPollInterval < fetchCooldown {
			rc.FetchCooldown = rc.FetchPollInterval
		}
	}
	client, err := river.NewClient(riverpgxv5.New(deps.DB.Pool()), rc)
	if err != nil {
		return nil, fmt.Errorf("jobs: river client: %w", err)
	}
	return client, nil
}

// ReindexedIndexes are the indexes River's nightly reindexer rebuilds:
// River's default list without the GIN indexes on args and metadata,
// which migrations/river_tuning.sql drops (River would warn each night
// that they are missing).
func ReindexedIndexes() []string {
	return slices.DeleteFunc(river.ReindexerIndexNamesDefault(), func(name string) bool {
		return name == "river_job_args_index" || name == "river_job_metadata_index"
	})
}

// growTelegramStack gives a Telegram job's goroutine, before anything
// else, the stack its Bot API calls will need. River works each job on a
// new goroutine, whose stack starts small; telego encodes requests with
// go-json, whose interpreter takes a 9 KB frame (twice over, nested, for a
// chat id), so the stack grew twice in every job, each time copying all
// the frames below (River's, the worker's, telego's): some 6% of the CPU
// of expiring memberships. Grown once here, near the bottom, it costs a
// fraction of that.
func growTelegramStack(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	if job.Queue == QueueTelegram {
		growStack()
	}
	return doInner(ctx)
}

// growStack takes 24 KB of stack, which grows it to 32 KB in one step.
//
//go:noinline
func growStack() byte {
	var pad [24 << 10]byte
	return touch(pad[:])
}

// touch keeps the compiler from doing without growStack's pad.
//
//go:noinline
func touch(b []byte) byte { return b[len(b)-1] }

// Insert queues jobs in tx, so they exist exactly when tx commits.
func Insert(ctx context.Context, client *Client, tx pgx.Tx, params []river.InsertManyParams) error {
	if len(params) == 0 {
		return nil
	}
	if _, err := client.InsertManyTx(ctx, tx, params); err != nil {
		return fmt.Errorf("jobs: insert: %w", err)
	}
	return nil
}
