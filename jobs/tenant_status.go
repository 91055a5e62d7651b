package jobs

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/gatekey/gatekey/tenant"
)

// StatusNotices are the messages that tell the transaction's tenant's bot
// admins, in Telegram, that staff suspended its account (status is
// tenant.StatusSuspended) or resumed it: one from each connected bot to
// each of its admins. Queue them in the transaction that changes the
// status, so that they go out exactly when the change commits.
//
// They reach every admin, notifications on or off: that setting silences
// the announcements of activations, while a suspension stops the bot for
// every member and is the owner's to resolve, so an admin left untold
// would learn of it from members. A disconnected bot answers nobody and
// its token may no longer work, so nothing is sent through it.
func StatusNotices(ctx context.Context, tx pgx.Tx, tenantID int64, status string) ([]river.InsertManyParams, error) {
	bots, err := tenant.ListBots(ctx, tx)
	if err != nil {
		return nil, err
	}
	var out []river.InsertManyParams
	for _, b := range bots {
		if b.Status != "connected" {
			continue
		}
		admins, err := tenant.BotAdmins(ctx, tx, b.ID)
		if err != nil {
			return nil, err
		}
		text := statusNotice(b.Username, status)
		for _, a := range admins {
			out = append(out, SendMessage(SendMessageArgs{TenantID: tenantID, BotID: b.ID, ChatID: a.TelegramUserID, Text: text}))
		}
	}
	return out, nil
}

// statusNotice is what the admins of @bot are told of the account's new
// status. The reason staff gave stays in the audit log: it is written for
// staff, and support explains it to the owner.
func statusNotice(bot, status string) string {
	if status == tenant.StatusSuspended {
		return fmt.Sprintf("Your Gatekey account has been suspended, so @%s is paused. Members who write to it are told it is "+
			"temporarily unavailable, and nobody can activate a code or renew until the account is resumed. Memberships still "+
			"end on time, and nothing has been deleted.\n\nPlease contact Gatekey support to find out why and to have it resumed. "+
			"Your console shows the same notice, and is read-only for now.", bot)
	}
	return fmt.Sprintf("Your Gatekey account is active again, so @%s answers members as before: codes can be activated and "+
		"access renewed, and your console can make changes again.", bot)
}
