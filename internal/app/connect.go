package app

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/mymmrac/telego"

	"github.com/gatekey/gatekey/telegram"
	"github.com/gatekey/gatekey/tenant"
)

// ErrBadToken is returned when Telegram does not accept a bot token.
var ErrBadToken = errors.New("Telegram did not accept this token: copy it again from @BotFather")

// AllowedUpdates are the update kinds Gatekey asks Telegram for.
var AllowedUpdates = []string{"message", "callback_query", "chat_member", "my_chat_member", "chat_join_request"}

// WebhookMaxConnections bounds how many of one bot's updates Telegram
// delivers at once, so one busy bot cannot take all of the server.
const WebhookMaxConnections = 20

// ConnectBot checks a BotFather token with getMe, stores the bot for the
// tenant with its token encrypted, and points the bot's webhook here. If
// Telegram refuses the webhook, the bot is removed again.
func (a *App) ConnectBot(ctx context.Context, tenantID int64, token string) (tenant.Bot, error) {
	client, err := a.Telegram.New(token)
	if err != nil {
		return tenant.Bot{}, ErrBadToken
	}
	me, err := client.GetMe(ctx)
	if err != nil {
		if telegram.Classify(err).Code == 401 {
			return tenant.Bot{}, ErrBadToken
		}
		return tenant.Bot{}, fmt.Errorf("app: check the token with Telegram: %w", err)
	}
	var b tenant.Bot
	err = a.DB.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		b, err = tenant.AddBot(ctx, tx, a.Keys, me.ID, me.Username, token)
		return err
	})
	if err != nil {
		return b, err
	}
	err = client.SetWebhook(ctx, &telego.SetWebhookParams{
		URL:            a.WebhookURL(b.ID),
		SecretToken:    b.WebhookSecret,
		MaxConnections: WebhookMaxConnections,
		AllowedUpdates: AllowedUpdates,
	})
	if err != nil {
		_ = a.DB.Tx(ctx, tenantID, func(tx pgx.Tx) error { return tenant.RemoveBot(ctx, tx, b.ID) })
		return b, fmt.Errorf("app: set webhook for @%s: %w", me.Username, err)
	}
	a.Log.InfoContext(ctx, "bot connected", "tenant", tenantID, "bot", b.ID, "username", me.Username, "telegram_id", strconv.FormatInt(me.ID, 10))
	return b, nil
}
