package jobs

import (
	"bytes"
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/mymmrac/telego"
	tu "github.com/mymmrac/telego/telegoutil"
	"github.com/riverqueue/river"

	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/telegram"
	"github.com/gatekey/gatekey/tenant"
)

// SendCodesCSVArgs sends a batch of access codes as a CSV document. The
// job carries the batch's id, not the file: the CSV is made from the
// database when the job runs, so job rows stay small whatever the batch's
// size, and the file shows the codes as they stand then.
type SendCodesCSVArgs struct {
	TenantID int64      `json:"tenant_id"`
	BotID    int64      `json:"bot_id"`
	ChatID   int64      `json:"chat_id"`
	BatchID  int64      `json:"batch_id"`
	Caption  string     `json:"caption,omitempty"` // up to 1024 characters
	Buttons  [][]Button `json:"buttons,omitempty"`
}

func (SendCodesCSVArgs) Kind() string { return "telegram.send_codes_csv" }

func (SendCodesCSVArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueTelegram, MaxAttempts: 20}
}

// SendCodesCSV is the insert for one batch's CSV.
func SendCodesCSV(a SendCodesCSVArgs) river.InsertManyParams {
	return river.InsertManyParams{Args: a}
}

// SendCodesCSVWorker works SendCodesCSVArgs.
type SendCodesCSVWorker struct {
	river.WorkerDefaults[SendCodesCSVArgs]
	deps Deps
}

func (w *SendCodesCSVWorker) Work(ctx context.Context, job *river.Job[SendCodesCSVArgs]) error {
	a := job.Args
	var csv bytes.Buffer
	err := w.deps.DB.Tx(ctx, a.TenantID, func(tx pgx.Tx) error {
		b, err := tenant.GetBot(ctx, tx, a.BotID)
		if err != nil {
			return err
		}
		f := membership.CodeFilter{BotID: a.BotID, BatchID: a.BatchID}
		first, err := membership.ListCodes(ctx, tx, membership.CodeFilter{BotID: a.BotID, BatchID: a.BatchID, Limit: 1})
		if err != nil {
			return err
		}
		if len(first) == 0 {
			return river.JobCancel(fmt.Errorf("no batch %d of bot %d", a.BatchID, a.BotID))
		}
		return membership.WriteCodesCSV(ctx, tx, &csv, b.Username, f)
	})
	if err != nil {
		return err
	}
	bot, err := w.deps.Telegram.Bot(ctx, a.TenantID, a.BotID)
	if err != nil {
		return err
	}
	params := &telego.SendDocumentParams{
		ChatID:   telego.ChatID{ID: a.ChatID},
		Document: tu.File(tu.NameReader(&csv, fmt.Sprintf("access-codes-batch-%d.csv", a.BatchID))),
		Caption:  a.Caption,
	}
	if len(a.Buttons) > 0 {
		params.ReplyMarkup = keyboard(a.Buttons)
	}
	if err := w.deps.limit(ctx, telegram.Turn{Job: job.ID, Priority: job.Priority}, a.BotID, a.ChatID); err != nil {
		return err
	}
	_, err = bot.SendDocument(ctx, params)
	return w.deps.outcome(ctx, a.TenantID, a.BotID, a.ChatID, err)
}
