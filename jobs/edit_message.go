package jobs

import (
	"context"

	"github.com/mymmrac/telego"
	"github.com/riverqueue/river"

	"github.com/gatekey/gatekey/telegram"
)

// EditMessageArgs replaces the text and inline keyboard of a message the
// bot sent, as a menu does when someone navigates it. No Buttons removes
// the keyboard.
type EditMessageArgs struct {
	TenantID  int64      `json:"tenant_id"`
	BotID     int64      `json:"bot_id"`
	ChatID    int64      `json:"chat_id"`
	MessageID int        `json:"message_id"`
	Text      string     `json:"text"`
	Buttons   [][]Button `json:"buttons,omitempty"`
}

func (EditMessageArgs) Kind() string { return "telegram.edit_message" }

func (EditMessageArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueTelegram, MaxAttempts: 10}
}

// EditMessage is the insert for one edit.
func EditMessage(a EditMessageArgs) river.InsertManyParams {
	return river.InsertManyParams{Args: a}
}

// EditMessageWorker works EditMessageArgs.
type EditMessageWorker struct {
	river.WorkerDefaults[EditMessageArgs]
	deps Deps
}

func (w *EditMessageWorker) Work(ctx context.Context, job *river.Job[EditMessageArgs]) error {
	a := job.Args
	bot, err := w.deps.Telegram.Bot(ctx, a.TenantID, a.BotID)
	if err != nil {
		return err
	}
	params := &telego.EditMessageTextParams{
		ChatID:             telego.ChatID{ID: a.ChatID},
		MessageID:          a.MessageID,
		Text:               a.Text,
		LinkPreviewOptions: &telego.LinkPreviewOptions{IsDisabled: true},
	}
	if len(a.Buttons) > 0 {
		params.ReplyMarkup = keyboard(a.Buttons)
	}
	if err := w.deps.limit(ctx, telegram.Turn{Job: job.ID, Priority: job.Priority}, a.BotID, a.ChatID); err != nil {
		return err
	}
	_, err = bot.EditMessageText(ctx, params)
	switch {
	case err == nil || telegram.IsNotModified(err):
		return nil // a retry of an edit that went through
	case telegram.Classify(err).Verdict == telegram.Final:
		// The message is gone or too old to edit: say it in a new one,
		// so the person still sees the answer to what they tapped.
		_, err = bot.SendMessage(ctx, textMessage(a.ChatID, a.Text, a.Buttons))
	}
	return w.deps.outcome(ctx, a.TenantID, a.BotID, a.ChatID, err)
}
