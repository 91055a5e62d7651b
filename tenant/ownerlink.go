package tenant

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// An owner link makes a Telegram user an admin of the tenant in one of its
// bots: the console (or `gatekey owner link`) makes a one-time token, the
// owner opens t.me/<bot>?start=owner-<token>, and the bot redeems it for
// whoever opened it. Only the token's SHA-256 is stored, so the table
// opens nothing to someone who reads it; 192 random bits need no slower
// hash.

// OwnerLinkTTL is how long an owner link works.
const OwnerLinkTTL = 15 * time.Minute

// OwnerLinkPrefix starts the /start payload of an owner link, which tells
// it apart from an access code (codes never contain a dash after the
// normalisation, and never start with letters followed by one).
const OwnerLinkPrefix = "owner-"

// ErrOwnerLinkInvalid is returned for a token that is unknown, used or
// expired; the three are not told apart.
var ErrOwnerLinkInvalid = errors.New("this admin link has expired or has already been used")

// NewOwnerLinkToken makes a one-time token that links whoever opens the
// bot with it as an admin, and says until when it works. Build the link
// with OwnerLink.
func NewOwnerLinkToken(ctx context.Context, tx pgx.Tx, botID int64) (token string, expires time.Time, err error) {
	token, expires, _, err = NewOwnerLinkTokenOnce(ctx, tx, botID, "")
	return token, expires, err
}

// NewOwnerLinkTokenOnce is NewOwnerLinkToken for a request with a key (the
// console form's; "" for none). Sent again with the same key, it makes no
// second link: it returns the first one's end, with repeated set and no
// token, since only the token's hash is kept.
func NewOwnerLinkTokenOnce(ctx context.Context, tx pgx.Tx, botID int64, requestKey string) (token string, expires time.Time, repeated bool, err error) {
	if _, err := GetBot(ctx, tx, botID); err != nil {
		return "", expires, false, err
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return "", expires, false, fmt.Errorf("tenant: owner link token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(raw) // 32 characters of [A-Za-z0-9_-], as /start payloads allow
	// Expired tokens of the bot are swept as new ones are made.
	if _, err := tx.Exec(ctx, "DELETE FROM owner_link_tokens WHERE bot_id = $1 AND expires_at < now() - interval '1 day'", botID); err != nil {
		return "", expires, false, fmt.Errorf("tenant: owner link token: %w", err)
	}
	err = tx.QueryRow(ctx, `INSERT INTO owner_link_tokens (tenant_id, bot_id, token_hash, expires_at, request_key)
		VALUES (gatekey_tenant(), $1, $2, now() + $3::interval, nullif($4, ''))
		ON CONFLICT (tenant_id, request_key) WHERE request_key IS NOT NULL DO NOTHING RETURNING expires_at`,
		botID, hashOwnerToken(token), OwnerLinkTTL, requestKey).Scan(&expires)
	if errors.Is(err, pgx.ErrNoRows) {
		err = tx.QueryRow(ctx, "SELECT expires_at FROM owner_link_tokens WHERE request_key = $1", requestKey).Scan(&expires)
		if err != nil {
			return "", expires, false, fmt.Errorf("tenant: owner link token: the one made already: %w", err)
		}
		return "", expires, true, nil
	}
	if err != nil {
		return "", expires, false, fmt.Errorf("tenant: owner link token: %w", err)
	}
	return token, expires, false, nil
}

// OwnerLink is the link that opens the bot with an owner token.
func OwnerLink(botUsername, token string) string {
	return "https://t.me/" + botUsername + "?start=" + OwnerLinkPrefix + token
}

// RedeemOwnerLinkToken uses up a token (without the "owner-" prefix) and
// makes telegramUserID an admin of the bot. It returns ErrOwnerLinkInvalid
// if the token is not a live one of this bot. Two people racing with the
// same link cannot both win: the UPDATE takes the row once.
func RedeemOwnerLinkToken(ctx context.Context, tx pgx.Tx, botID int64, token string, telegramUserID int64) error {
	if token == "" || len(token) > 64 {
		return ErrOwnerLinkInvalid
	}
	var id int64
	err := tx.QueryRow(ctx, `UPDATE owner_link_tokens SET used_at = now(), used_by = $3
		WHERE bot_id = $1 AND token_hash = $2 AND used_at IS NULL AND expires_at > now() RETURNING id`,
		botID, hashOwnerToken(token), telegramUserID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrOwnerLinkInvalid
	}
	if err != nil {
		return fmt.Errorf("tenant: redeem owner link: %w", err)
	}
	if err := AddBotAdmin(ctx, tx, botID, telegramUserID); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO audit_log (tenant_id, actor, action, subject, details)
		VALUES (gatekey_tenant(), $1, 'bot_admin.linked', $2, jsonb_build_object('owner_link_token', $3::bigint))`,
		"telegram:"+strconv.FormatInt(telegramUserID, 10), "bot:"+strconv.FormatInt(botID, 10), id)
	if err != nil {
		return fmt.Errorf("tenant: redeem owner link: %w", err)
	}
	return nil
}

// LookupBotAdmin reads one admin of a bot, or returns ErrNotFound when the
// Telegram user is not one. The bot asks it before every admin action.
func LookupBotAdmin(ctx context.Context, tx pgx.Tx, botID, telegramUserID int64) (Admin, error) {
	a := Admin{BotID: botID, TelegramUserID: telegramUserID}
	err := tx.QueryRow(ctx, "SELECT notify FROM bot_admins WHERE bot_id = $1 AND telegram_user_id = $2",
		botID, telegramUserID).Scan(&a.Notify)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, ErrNotFound
	}
	if err != nil {
		return a, fmt.Errorf("tenant: look up bot admin: %w", err)
	}
	return a, nil
}

func hashOwnerToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
