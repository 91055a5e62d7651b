package webhooks

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/mymmrac/telego"
	"github.com/riverqueue/river"

	"github.com/gatekey/gatekey/jobs"
	"github.com/gatekey/gatekey/tenant"
)

// What a suspended tenant's bot says. Members are not told why: the
// suspension is between Gatekey and the owner, and usually brief.
const (
	unavailableText      = "This bot is temporarily unavailable. Please try again later."
	unavailableAdminText = "This bot is paused because its Gatekey account is suspended: members are told it is " +
		"temporarily unavailable, and nothing has been deleted. Please contact Gatekey support."
)

// whileSuspended answers an update for a suspended tenant's bot: a
// private message gets a short "temporarily unavailable" (the bot's
// admins are told why), a button press gets the same as a notice, and
// nothing else happens: no member is recorded, no code is tried, no
// conversation moves on. Updates about chats (the bot's rights, people
// joining and leaving) are not from members, and are handled as usual
// (handled is false), so that Gatekey's view of the chats is still true
// when the tenant is resumed.
func whileSuspended(ctx context.Context, tx pgx.Tx, b tenant.Bot, u telego.Update, status string) (out []river.InsertManyParams, handled bool, err error) {
	if status != tenant.StatusSuspended {
		return nil, false, nil
	}
	switch {
	case u.Message != nil && u.Message.Chat.Type == telego.ChatTypePrivate && u.Message.From != nil:
		text := unavailableText
		admins, err := tenant.BotAdmins(ctx, tx, b.ID)
		if err != nil {
			return nil, true, err
		}
		for _, a := range admins {
			if a.TelegramUserID == u.Message.From.ID {
				text = unavailableAdminText
			}
		}
		return []river.InsertManyParams{jobs.SendMessage(jobs.SendMessageArgs{
			TenantID: b.TenantID, BotID: b.ID, ChatID: u.Message.From.ID, Text: text,
		})}, true, nil
	case u.CallbackQuery != nil:
		return []river.InsertManyParams{{Args: jobs.AnswerCallbackArgs{
			TenantID: b.TenantID, BotID: b.ID, CallbackQueryID: u.CallbackQuery.ID, Text: unavailableText,
		}}}, true, nil
	case u.ChatMember != nil || u.MyChatMember != nil:
		return nil, false, nil
	}
	return nil, true, nil // anything else, from anyone: nothing to do
}
