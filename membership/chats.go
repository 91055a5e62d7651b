package membership

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Chat is a channel or group that one of the tenant's bots administers.
type Chat struct {
	ID             int64
	BotID          int64
	TelegramChatID int64
	Kind           string // channel, supergroup or group
	Title          string
	BotStatus      string // administrator, member, left, kicked
	CanInvite      bool
	CanRestrict    bool
}

// Ready reports whether the bot can let members in and take them out.
func (c Chat) Ready() bool {
	return c.BotStatus == "administrator" && c.CanInvite && c.CanRestrict
}

// CanRemove reports whether the bot can take members out of the chat.
func (c Chat) CanRemove() bool {
	return c.BotStatus == "administrator" && c.CanRestrict
}

// UpsertChat records what Telegram says about the bot's place in a chat.
func UpsertChat(ctx context.Context, tx pgx.Tx, c Chat) (Chat, error) {
	err := tx.QueryRow(ctx, `
		INSERT INTO chats (tenant_id, bot_id, telegram_chat_id, kind, title, bot_status, can_invite_users, can_restrict)
		VALUES (gatekey_tenant(), $1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (tenant_id, bot_id, telegram_chat_id) DO UPDATE
		SET kind = excluded.kind, title = excluded.title, bot_status = excluded.bot_status,
		    can_invite_users = excluded.can_invite_users, can_restrict = excluded.can_restrict, updated_at = now()
		RETURNING id`,
		c.BotID, c.TelegramChatID, c.Kind, c.Title, c.BotStatus, c.CanInvite, c.CanRestrict).Scan(&c.ID)
	if err != nil {
		return c, fmt.Errorf("membership: upsert chat: %w", err)
	}
	return c, nil
}

// ListChats returns the bot's chats.
func ListChats(ctx context.Context, tx pgx.Tx, botID int64) ([]Chat, error) {
	rows, err := tx.Query(ctx, `SELECT id, bot_id, telegram_chat_id, kind, title, bot_status, can_invite_users, can_restrict
		FROM chats WHERE bot_id = $1 ORDER BY id`, botID)
	if err != nil {
		return nil, fmt.Errorf("membership: list chats: %w", err)
	}
	chats, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Chat, error) {
		var c Chat
		err := r.Scan(&c.ID, &c.BotID, &c.TelegramChatID, &c.Kind, &c.Title, &c.BotStatus, &c.CanInvite, &c.CanRestrict)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("membership: list chats: %w", err)
	}
	return chats, nil
}
