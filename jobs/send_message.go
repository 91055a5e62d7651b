package jobs

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/mymmrac/telego"
	"github.com/riverqueue/river"

	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/telegram"
)

// Button is an inline keyboard button: a link (URL) or a callback (Data).
type Button struct {
	Text string `json:"text"`
	URL  string `json:"url,omitempty"`
	Data string `json:"data,omitempty"`
}

// SendMessageArgs sends a text message from a bot to a chat.
type SendMessageArgs struct {
	TenantID int64      `json:"tenant_id"`
	BotID    int64      `json:"bot_id"`
	ChatID   int64      `json:"chat_id"` // Telegram's chat id; a user's private chat id is their user id
	Text     string     `json:"text"`
	Buttons  [][]Button `json:"buttons,omitempty"`
}

func (SendMessageArgs) Kind() string { return "telegram.send_message" }

func (SendMessageArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueTelegram, MaxAttempts: 20}
}

// SendMessage is the insert for one message.
func SendMessage(a SendMessageArgs) river.InsertManyParams {
	return river.InsertManyParams{Args: a}
}

// SendMessageWorker sends queued messages through the bot's client.
type SendMessageWorker struct {
	river.WorkerDefaults[SendMessageArgs]
	deps Deps
}

func (w *SendMessageWorker) Work(ctx context.Context, job *river.Job[SendMessageArgs]) error {
	a := job.Args
	bot, err := w.deps.Telegram.Bot(ctx, a.TenantID, a.BotID)
	if err != nil {
		return err
	}
	if err := w.deps.limit(ctx, telegram.Turn{Job: job.ID, Priority: job.Priority}, a.BotID, a.ChatID); err != nil {
		return err
	}
	_, err = bot.SendMessage(ctx, textMessage(a.ChatID, a.Text, a.Buttons))
	return w.deps.outcome(ctx, a.TenantID, a.BotID, a.ChatID, err)
}

// textMessage is how Gatekey sends text: without link previews, with an
// inline keyboard only when there are buttons (a nil keyboard in the
// interface field would go out as "reply_markup": null).
func textMessage(chatID int64, text string, buttons [][]Button) *telego.SendMessageParams {
	params := &telego.SendMessageParams{
		ChatID:             telego.ChatID{ID: chatID},
		Text:               text,
		LinkPreviewOptions: &telego.LinkPreviewOptions{IsDisabled: true},
	}
	if len(buttons) > 0 {
		params.ReplyMarkup = keyboard(buttons)
	}
	return params
}

func keyboard(rows [][]Button) *telego.InlineKeyboardMarkup {
	m := &telego.InlineKeyboardMarkup{InlineKeyboard: make([][]telego.InlineKeyboardButton, len(rows))}
	for i, row := range rows {
		for _, b := range row {
			m.InlineKeyboard[i] = append(m.InlineKeyboard[i], telego.InlineKeyboardButton{Text: b.Text, URL: b.URL, CallbackData: b.Data})
		}
	}
	return m
}

// outcome turns a Bot API result into what River should do with the job.
func (d Deps) outcome(ctx context.Context, tenantID, botID, chatID int64, err error) error {
	if err == nil {
		return nil
	}
	f := telegram.Classify(err)
	switch f.Verdict {
	case telegram.Wait:
		return river.JobSnooze(f.RetryAfter)
	case telegram.Blocked:
		if chatID > 0 {
			if err := d.DB.Tx(ctx, tenantID, func(tx pgx.Tx) error {
				return membership.MarkUnreachable(ctx, tx, botID, chatID)
			}); err != nil {
				return err
			}
		}
		return river.JobCancel(fmt.Errorf("telegram refused for good (%d %s)", f.Code, f.Description))
	case telegram.Final:
		return river.JobCancel(fmt.Errorf("telegram refused (%d %s)", f.Code, f.Description))
	default:
		return err
	}
}

// AnswerCallbackArgs answers a button press, so the person's client stops
// showing a spinner; Text, if any, shows as a short notice.
type AnswerCallbackArgs struct {
	TenantID        int64  `json:"tenant_id"`
	BotID           int64  `json:"bot_id"`
	CallbackQueryID string `json:"callback_query_id"`
	Text            string `json:"text,omitempty"`
}

func (AnswerCallbackArgs) Kind() string { return "telegram.answer_callback" }

func (AnswerCallbackArgs) InsertOpts() river.InsertOpts {
	// A callback answered late is useless; Telegram drops it after a while.
	return river.InsertOpts{Queue: QueueTelegram, MaxAttempts: 3}
}

// AnswerCallbackWorker works AnswerCallbackArgs.
type AnswerCallbackWorker struct {
	river.WorkerDefaults[AnswerCallbackArgs]
	deps Deps
}

func (w *AnswerCallbackWorker) Work(ctx context.Context, job *river.Job[AnswerCallbackArgs]) error {
	a := job.Args
	bot, err := w.deps.Telegram.Bot(ctx, a.TenantID, a.BotID)
	if err != nil {
		return err
	}
	err = bot.AnswerCallbackQuery(ctx, &telego.AnswerCallbackQueryParams{CallbackQueryID: a.CallbackQueryID, Text: a.Text})
	return w.deps.outcome(ctx, a.TenantID, a.BotID, 0, err)
}
