package tenant

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// Admin is a Telegram user who administers the tenant through its bot.
type Admin struct {
	BotID          int64
	TelegramUserID int64
	Notify         bool // receives the owner notifications in Telegram
}

// AddBotAdmin makes a Telegram user an admin of the tenant in a bot.
func AddBotAdmin(ctx context.Context, tx pgx.Tx, botID, telegramUserID int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO bot_admins (tenant_id, bot_id, telegram_user_id)
		VALUES (gatekey_tenant(), $1, $2) ON CONFLICT DO NOTHING`, botID, telegramUserID)
	if err != nil {
		return fmt.Errorf("tenant: add bot admin: %w", err)
	}
	return nil
}

// RemoveBotAdmin takes a Telegram user's admin rights in a bot away, at
// once: the bot checks them before every admin action. actor says who did
// it, for the audit log. It returns ErrNotFound when they were not one.
func RemoveBotAdmin(ctx context.Context, tx pgx.Tx, botID, telegramUserID int64, actor string) error {
	tag, err := tx.Exec(ctx, "DELETE FROM bot_admins WHERE bot_id = $1 AND telegram_user_id = $2", botID, telegramUserID)
	if err != nil {
		return fmt.Errorf("tenant: remove bot admin: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	_, err = tx.Exec(ctx, `INSERT INTO audit_log (tenant_id, actor, action, subject, details)
		VALUES (gatekey_tenant(), $1, 'bot_admin.removed', $2, jsonb_build_object('telegram_user_id', $3::bigint))`,
		actor, "bot:"+strconv.FormatInt(botID, 10), telegramUserID)
	if err != nil {
		return fmt.Errorf("tenant: remove bot admin: %w", err)
	}
	return nil
}

// WasBotAdmin tells whether the Telegram user was once an admin of the bot
// and was removed, as the audit log records it.
func WasBotAdmin(ctx context.Context, tx pgx.Tx, botID, telegramUserID int64) (bool, error) {
	var was bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM audit_log WHERE action = 'bot_admin.removed'
		AND subject = $1 AND details->>'telegram_user_id' = $2)`,
		"bot:"+strconv.FormatInt(botID, 10), strconv.FormatInt(telegramUserID, 10)).Scan(&was)
	if err != nil {
		return false, fmt.Errorf("tenant: was bot admin: %w", err)
	}
	return was, nil
}

// BotAdmins lists a bot's admins.
func BotAdmins(ctx context.Context, tx pgx.Tx, botID int64) ([]Admin, error) {
	rows, err := tx.Query(ctx, "SELECT bot_id, telegram_user_id, notify FROM bot_admins WHERE bot_id = $1 ORDER BY linked_at", botID)
	if err != nil {
		return nil, fmt.Errorf("tenant: bot admins: %w", err)
	}
	admins, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Admin])
	if err != nil {
		return nil, fmt.Errorf("tenant: bot admins: %w", err)
	}
	return admins, nil
}

// Notify records something the owner should know, for the console, and
// returns the admins who want it in Telegram too.
func Notify(ctx context.Context, tx pgx.Tx, botID int64, kind, text string) ([]Admin, error) {
	if _, err := tx.Exec(ctx, `INSERT INTO notifications (tenant_id, bot_id, kind, text)
		VALUES (gatekey_tenant(), $1, $2, $3)`, botID, kind, text); err != nil {
		return nil, fmt.Errorf("tenant: notify: %w", err)
	}
	admins, err := BotAdmins(ctx, tx, botID)
	if err != nil {
		return nil, err
	}
	var want []Admin
	for _, a := range admins {
		if a.Notify {
			want = append(want, a)
		}
	}
	return want, nil
}
