package app

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/telegram/telegramtest"
	"github.com/gatekey/gatekey/tenant"
)

// The world `gatekey dev` and the end-to-end tests build in the fake
// Telegram: a bot connected the way an owner connects one, and chats the
// bot is made administrator of, so Telegram tells Gatekey about them.

// ConnectFakeBot creates a bot in the fake Telegram and connects it to the
// tenant through ConnectBot, as the console does with a real token.
func (a *App) ConnectFakeBot(ctx context.Context, fake *telegramtest.Server, tenantID int64, username string) (tenant.Bot, error) {
	token, _ := fake.AddBot(username)
	return a.ConnectBot(ctx, tenantID, token)
}

// AddFakeChat creates a channel or supergroup in the fake Telegram, makes
// the bot its administrator (Telegram then sends my_chat_member), and
// returns the chat as Gatekey recorded it.
func (a *App) AddFakeChat(ctx context.Context, fake *telegramtest.Server, b tenant.Bot, kind, title string) (membership.Chat, error) {
	return a.AddFakeChatWithRights(ctx, fake, b, kind, title, telegramtest.AdminRights{CanInviteUsers: true, CanRestrictMembers: true})
}

// AddFakeChatWithRights is AddFakeChat with the bot given only rights.
func (a *App) AddFakeChatWithRights(ctx context.Context, fake *telegramtest.Server, b tenant.Bot, kind, title string, rights telegramtest.AdminRights) (membership.Chat, error) {
	c := fake.AddChat(kind, title)
	status, err := fake.AddBotToChat(b.TelegramID, c.ID, rights)
	if err != nil || status != 200 {
		return membership.Chat{}, fmt.Errorf("app: add bot to %s: status %d: %v", title, status, err)
	}
	var found membership.Chat
	err = a.DB.Tx(ctx, b.TenantID, func(tx pgx.Tx) error {
		chats, err := membership.ListChats(ctx, tx, b.ID)
		for _, ch := range chats {
			if ch.TelegramChatID == c.ID {
				found = ch
			}
		}
		return err
	})
	if err == nil && found.ID == 0 {
		err = fmt.Errorf("app: the bot's webhook did not record chat %s", title)
	}
	return found, err
}

// Demo is the demo tenant of `gatekey dev`.
type Demo struct {
	TenantID int64
	Email    string
	Password string
	Bot      tenant.Bot
	Chats    []membership.Chat
	Plan     membership.Plan
}

// SeedDemo creates the demo tenant: an owner account, a bot, a channel and
// a group, and a 30-day plan that opens both.
func (a *App) SeedDemo(ctx context.Context, fake *telegramtest.Server, email, password string) (Demo, error) {
	d := Demo{Email: email, Password: password}
	var err error
	if d.TenantID, err = a.DB.SignUp(ctx, email, password); err != nil {
		return d, fmt.Errorf("app: demo tenant: %w", err)
	}
	if d.Bot, err = a.ConnectFakeBot(ctx, fake, d.TenantID, "gatekey_demo_bot"); err != nil {
		return d, err
	}
	for _, c := range []struct{ kind, title string }{{"channel", "Demo Channel"}, {"supergroup", "Demo Group"}} {
		chat, err := a.AddFakeChat(ctx, fake, d.Bot, c.kind, c.title)
		if err != nil {
			return d, err
		}
		d.Chats = append(d.Chats, chat)
	}
	err = a.DB.Tx(ctx, d.TenantID, func(tx pgx.Tx) error {
		d.Plan, err = membership.CreatePlan(ctx, tx, membership.NewPlan{
			BotID: d.Bot.ID, Name: "Demo membership", PeriodDays: 30,
			Price:   membership.Money{Minor: 999, Currency: "USD"},
			ChatIDs: []int64{d.Chats[0].ID, d.Chats[1].ID},
		})
		return err
	})
	return d, err
}
