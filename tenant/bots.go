package tenant

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// ErrBotTaken is returned when a Telegram bot is already connected to a
// Gatekey account (this one or another).
var ErrBotTaken = errors.New("this bot is already connected to a Gatekey account")

// Bot is an owner's Telegram bot as Gatekey keeps it. The token is not
// here: it stays encrypted until BotToken decrypts it for a call.
type Bot struct {
	TenantID      int64
	ID            int64 // Gatekey's id, as in the webhook URL
	TelegramID    int64 // the bot's Telegram user id
	Username      string
	WebhookSecret string
	Status        string
}

// AddBot stores a bot whose token getMe has just accepted, with a fresh
// webhook secret, and returns it. The token is encrypted with keys.
func AddBot(ctx context.Context, tx pgx.Tx, keys *Keyring, telegramID int64, username, token string) (Bot, error) {
	b := Bot{TelegramID: telegramID, Username: username, WebhookSecret: newSecret(), Status: "connected"}
	err := tx.QueryRow(ctx, `INSERT INTO bots (tenant_id, telegram_id, username, token_ciphertext, token_key_id, webhook_secret)
		VALUES (gatekey_tenant(), $1, $2, '', '', $3) RETURNING tenant_id, id`,
		telegramID, username, b.WebhookSecret).Scan(&b.TenantID, &b.ID)
	if err != nil {
		return b, fmt.Errorf("tenant: add bot: %w", err)
	}
	sealed, keyID := keys.Seal([]byte(token), tokenContext(b.ID))
	if _, err := tx.Exec(ctx, "UPDATE bots SET token_ciphertext = $1, token_key_id = $2 WHERE id = $3", sealed, keyID, b.ID); err != nil {
		return b, fmt.Errorf("tenant: add bot: %w", err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO tenant_directory (kind, key, tenant_id)
		VALUES ('bot', $1, $3), ('telegram_bot', $2, $3)`,
		strconv.FormatInt(b.ID, 10), strconv.FormatInt(telegramID, 10), b.TenantID)
	if isUniqueViolation(err) {
		return b, ErrBotTaken
	}
	if err != nil {
		return b, fmt.Errorf("tenant: add bot: %w", err)
	}
	return b, nil
}

// BotColumns are the bots columns GetBot and ListBots read, in the order of
// Bot.Fields, for a query that reads a bot with more.
const BotColumns = "tenant_id, id, telegram_id, username, webhook_secret, status"

// Fields are b's fields in the order of BotColumns, to Scan into.
func (b *Bot) Fields() []any {
	return []any{&b.TenantID, &b.ID, &b.TelegramID, &b.Username, &b.WebhookSecret, &b.Status}
}

// GetBot reads one of the tenant's bots.
func GetBot(ctx context.Context, tx pgx.Tx, botID int64) (Bot, error) {
	var b Bot
	err := tx.QueryRow(ctx, "SELECT "+BotColumns+" FROM bots WHERE id = $1", botID).Scan(b.Fields()...)
	if errors.Is(err, pgx.ErrNoRows) {
		return b, ErrNotFound
	}
	if err != nil {
		return b, fmt.Errorf("tenant: get bot: %w", err)
	}
	return b, nil
}

// BotToken decrypts a bot's token for a call to Telegram.
func BotToken(ctx context.Context, tx pgx.Tx, keys *Keyring, botID int64) (string, error) {
	var sealed []byte
	var keyID string
	err := tx.QueryRow(ctx, "SELECT token_ciphertext, token_key_id FROM bots WHERE id = $1", botID).Scan(&sealed, &keyID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("tenant: bot token: %w", err)
	}
	token, err := keys.Open(sealed, keyID, tokenContext(botID))
	return string(token), err
}

func tokenContext(botID int64) []byte { return []byte("bot-token:" + strconv.FormatInt(botID, 10)) }

// newSecret makes a webhook secret_token: 32 random bytes in the
// characters Telegram allows (A-Z, a-z, 0-9, _ and -).
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// RemoveBot deletes a bot and everything that hangs on it.
func RemoveBot(ctx context.Context, tx pgx.Tx, botID int64) error {
	var telegramID int64
	err := tx.QueryRow(ctx, "DELETE FROM bots WHERE id = $1 RETURNING telegram_id", botID).Scan(&telegramID)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("tenant: remove bot: %w", err)
	}
	_, err = tx.Exec(ctx, `DELETE FROM tenant_directory WHERE tenant_id = gatekey_tenant()
		AND ((kind = 'bot' AND key = $1) OR (kind = 'telegram_bot' AND key = $2))`,
		strconv.FormatInt(botID, 10), strconv.FormatInt(telegramID, 10))
	if err != nil {
		return fmt.Errorf("tenant: remove bot: %w", err)
	}
	return nil
}
