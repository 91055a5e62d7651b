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
	if errors.Is(err, tenant.ErrBotTaken) {
		if owner, lerr := a.DB.Lookup(ctx, "telegram_bot", strconv.FormatInt(me.ID, 10)); lerr == nil && owner == tenantID {
			return b, ErrBotYours
		}
	}
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

// ErrBotYours is returned for a bot the account has connected already.
var ErrBotYours = errors.New("this bot is connected to your account already: to give it a new token, or to reconnect it, use its card under Bots")

// ErrOtherBot is returned when a replacement token belongs to another bot.
var ErrOtherBot = errors.New("this token belongs to a different bot: use the token of the bot you are replacing, or connect it as a new bot")

// DisconnectBot stops a bot's updates (deleteWebhook) and marks it
// disconnected; its plans, codes and members stay for when it comes back.
// A token Telegram no longer accepts is disconnected all the same.
func (a *App) DisconnectBot(ctx context.Context, tenantID, botID int64) error {
	client, err := a.Telegram.Bot(ctx, tenantID, botID)
	if errors.Is(err, tenant.ErrNotFound) {
		return err
	}
	if err == nil {
		err = client.DeleteWebhook(ctx, &telego.DeleteWebhookParams{})
	}
	if err != nil && telegram.Classify(err).Code != 401 {
		return fmt.Errorf("app: delete webhook of bot %d: %w", botID, err)
	}
	a.Telegram.Forget(botID)
	return a.DB.Tx(ctx, tenantID, func(tx pgx.Tx) error { return tenant.SetBotStatus(ctx, tx, botID, "disconnected") })
}

// ReplaceToken stores a new BotFather token for a connected or
// disconnected bot, checked with getMe to be the same bot, and points its
// webhook here with a fresh secret.
func (a *App) ReplaceToken(ctx context.Context, tenantID, botID int64, token string) (tenant.Bot, error) {
	var b tenant.Bot
	err := a.DB.Tx(ctx, tenantID, func(tx pgx.Tx) (err error) {
		b, err = tenant.GetBot(ctx, tx, botID)
		return err
	})
	if err != nil {
		return b, err
	}
	client, err := a.Telegram.New(token)
	if err != nil {
		return b, ErrBadToken
	}
	me, err := client.GetMe(ctx)
	if err != nil {
		if telegram.Classify(err).Code == 401 {
			return b, ErrBadToken
		}
		return b, fmt.Errorf("app: check the token with Telegram: %w", err)
	}
	if me.ID != b.TelegramID {
		return b, ErrOtherBot
	}
	err = a.DB.Tx(ctx, tenantID, func(tx pgx.Tx) (err error) {
		b, err = tenant.SetBotToken(ctx, tx, a.Keys, botID, me.Username, token)
		return err
	})
	if err != nil {
		return b, err
	}
	a.Telegram.Forget(botID)
	err = client.SetWebhook(ctx, &telego.SetWebhookParams{
		URL:            a.WebhookURL(b.ID),
		SecretToken:    b.WebhookSecret,
		MaxConnections: WebhookMaxConnections,
		AllowedUpdates: AllowedUpdates,
	})
	if err != nil {
		_ = a.DB.Tx(ctx, tenantID, func(tx pgx.Tx) error { return tenant.SetBotStatus(ctx, tx, botID, "disconnected") })
		return b, fmt.Errorf("app: set webhook for @%s: %w", me.Username, err)
	}
	a.Log.InfoContext(ctx, "bot token replaced", "tenant", tenantID, "bot", b.ID, "username", me.Username)
	return b, nil
}
