package tenant

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ListBots lists the tenant's bots, oldest first.
func ListBots(ctx context.Context, tx pgx.Tx) ([]Bot, error) {
	rows, err := tx.Query(ctx, "SELECT "+BotColumns+" FROM bots ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("tenant: list bots: %w", err)
	}
	bots, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Bot, error) {
		var b Bot
		return b, r.Scan(b.Fields()...)
	})
	if err != nil {
		return nil, fmt.Errorf("tenant: list bots: %w", err)
	}
	return bots, nil
}

// SetBotToken stores a new token for a bot (the owner revoked the old one
// in BotFather), with a fresh webhook secret and the username Telegram
// reports now, and marks the bot connected. It returns the bot.
func SetBotToken(ctx context.Context, tx pgx.Tx, keys *Keyring, botID int64, username, token string) (Bot, error) {
	sealed, keyID := keys.Seal([]byte(token), tokenContext(botID))
	tag, err := tx.Exec(ctx, `UPDATE bots SET token_ciphertext = $2, token_key_id = $3, webhook_secret = $4,
		username = $5, status = 'connected' WHERE id = $1`, botID, sealed, keyID, newSecret(), username)
	if err != nil {
		return Bot{}, fmt.Errorf("tenant: set bot token: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return Bot{}, ErrNotFound
	}
	return GetBot(ctx, tx, botID)
}

// SetBotStatus marks a bot connected or disconnected. A disconnected bot
// keeps its plans, codes and members, and can be connected again.
func SetBotStatus(ctx context.Context, tx pgx.Tx, botID int64, status string) error {
	tag, err := tx.Exec(ctx, "UPDATE bots SET status = $2 WHERE id = $1", botID, status)
	if err != nil {
		return fmt.Errorf("tenant: set bot status: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}
