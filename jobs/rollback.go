package jobs

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/tenant"
)

// RollbackChunkSize is how many activations one transaction of a rollback
// undoes: small enough to keep locks short, large enough to be quick.
const RollbackChunkSize = 200

// RollbackCodeArgs works through a code's rollback (membership.StartRollback)
// chunk by chunk. Each chunk commits with the removals it causes, so a
// worker that dies midway resumes where the last chunk ended.
type RollbackCodeArgs struct {
	TenantID   int64 `json:"tenant_id"`
	BotID      int64 `json:"bot_id"`
	RollbackID int64 `json:"rollback_id"`
	// BatchID is set when the code's whole batch is being rolled back: the
	// owner is then told once, when the batch's last rollback finishes,
	// rather than once a code.
	BatchID int64 `json:"batch_id,omitempty"`
}

func (RollbackCodeArgs) Kind() string { return "membership.rollback_code" }

func (RollbackCodeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 50, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// RollbackCode is the insert that starts working a rollback.
func RollbackCode(tenantID, botID, rollbackID int64) river.InsertManyParams {
	return river.InsertManyParams{Args: RollbackCodeArgs{TenantID: tenantID, BotID: botID, RollbackID: rollbackID}}
}

// RollbackBatch is the inserts that work the rollbacks
// membership.StartBatchRollback started for a batch.
func RollbackBatch(tenantID int64, b membership.BatchRollback) []river.InsertManyParams {
	out := make([]river.InsertManyParams, len(b.Running))
	for i, r := range b.Running {
		out[i] = river.InsertManyParams{Args: RollbackCodeArgs{TenantID: tenantID, BotID: b.Batch.BotID, RollbackID: r.ID, BatchID: b.Batch.ID}}
	}
	return out
}

// RollbackCodeWorker works RollbackCodeArgs.
type RollbackCodeWorker struct {
	river.WorkerDefaults[RollbackCodeArgs]
	deps Deps
}

func (w *RollbackCodeWorker) Work(ctx context.Context, job *river.Job[RollbackCodeArgs]) error {
	pace := newPacer(time.Now())
	for {
		done, err := w.chunk(ctx, job.Args, pace)
		if err != nil || done {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err() // stopping: the next attempt resumes here
		}
	}
}

// chunk undoes one chunk in one transaction, with its follow-up jobs: the
// removals in batches, paced as the reconciler paces its own.
func (w *RollbackCodeWorker) chunk(ctx context.Context, a RollbackCodeArgs, pace *pacer) (done bool, err error) {
	err = w.deps.DB.Tx(ctx, a.TenantID, func(tx pgx.Tx) error {
		step, err := membership.RollbackChunk(ctx, tx, a.RollbackID, RollbackChunkSize)
		if err != nil {
			return err
		}
		out := pace.removals(removalBatches(a.TenantID, step.Ended, withdrawnText))
		for _, sh := range step.Shortened {
			out = append(out, ScheduleMembership(a.TenantID, a.BotID, sh.Membership)...)
			out = append(out, SendMessage(SendMessageArgs{TenantID: a.TenantID, BotID: a.BotID, ChatID: sh.TelegramUserID,
				Text: shortenedText(sh)}))
		}
		done = step.Rollback.Status == "done"
		if step.Finished {
			notes, err := w.summary(ctx, tx, a, step.Rollback)
			if err != nil {
				return err
			}
			out = append(out, notes...)
		}
		return insertTx(ctx, tx, out...)
	})
	return done, err
}

// shortenedText tells a member that a rollback took some of their time
// back, and until when their access now lasts.
func shortenedText(sh membership.Shortening) string {
	return fmt.Sprintf("A code that added time to your access to %s was cancelled by its owner, so that time is taken back. Your access now lasts until %s.",
		sh.PlanName, membership.FormatDate(*sh.Membership.EndsAt))
}

func withdrawnText(e membership.Ending) string {
	return fmt.Sprintf("Your access to %s was withdrawn by its owner, because the code that granted it was cancelled.", e.Plan.Name) + removalNote(e)
}

// summary tells the owner what the rollback did, in the console and in
// Telegram.
func (w *RollbackCodeWorker) summary(ctx context.Context, tx pgx.Tx, a RollbackCodeArgs, r membership.Rollback) ([]river.InsertManyParams, error) {
	var what string
	if a.BatchID != 0 {
		sum, codes, finished, err := membership.BatchRollbackSummary(ctx, tx, a.BatchID, r)
		if err != nil || !finished {
			return nil, err // another of the batch's rollbacks is still running: the last one tells
		}
		r.Undone, r.Removed, r.Shortened = sum.Undone, sum.Removed, sum.Shortened
		what = fmt.Sprintf("batch #%d (%s)", a.BatchID, membership.Plural(codes, "code", "codes"))
	} else {
		code, err := membership.GetCode(ctx, tx, r.CodeID)
		if err != nil {
			return nil, err
		}
		what = "code " + membership.FormatCode(code.Code)
	}
	text := fmt.Sprintf("Rollback of %s finished: %s.", what, r.Outcome("; "))
	admins, err := tenant.Notify(ctx, tx, a.BotID, "code_rolled_back", text)
	if err != nil {
		return nil, err
	}
	var out []river.InsertManyParams
	for _, ad := range admins {
		out = append(out, SendMessage(SendMessageArgs{TenantID: a.TenantID, BotID: a.BotID, ChatID: ad.TelegramUserID, Text: text}))
	}
	// An admin who asked from the bot hears the result even with their
	// notifications off (the bot records them as "telegram:<user id>").
	if rest, ok := strings.CutPrefix(r.RequestedBy, "telegram:"); ok {
		id, err := strconv.ParseInt(rest, 10, 64)
		if err == nil && !slices.ContainsFunc(admins, func(ad tenant.Admin) bool { return ad.TelegramUserID == id }) {
			out = append(out, SendMessage(SendMessageArgs{TenantID: a.TenantID, BotID: a.BotID, ChatID: id, Text: text}))
		}
	}
	return out, nil
}
