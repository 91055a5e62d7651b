package console

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/tenant"
)

// botView is a bot with its chats, as the bots page shows it.
type botView struct {
	tenant.Bot
	Chats []chatView
}

// chatView is a chat with the rights the bot lacks there, in words.
type chatView struct {
	membership.Chat
	Missing []string
}

func viewChat(c membership.Chat) chatView {
	v := chatView{Chat: c}
	if c.BotStatus != "administrator" {
		v.Missing = append(v.Missing, "The bot is not an administrator here any more ("+c.BotStatus+"). Make it an administrator again.")
		return v
	}
	if !c.CanInvite {
		v.Missing = append(v.Missing, "Invite users via link: without it the bot cannot let members in.")
	}
	if !c.CanRestrict {
		v.Missing = append(v.Missing, "Ban users: without it the bot cannot remove members whose access ended.")
	}
	return v
}

type botsData struct {
	Bots  []botView
	Error string
	Token string
}

func (con *Console) loadBots(ctx context.Context, tenantID int64) ([]botView, error) {
	var out []botView
	err := con.tx(ctx, tenantID, func(tx pgx.Tx) error {
		bots, err := tenant.ListBots(ctx, tx)
		if err != nil {
			return err
		}
		for _, b := range bots {
			chats, err := membership.ListChats(ctx, tx, b.ID)
			if err != nil {
				return err
			}
			v := botView{Bot: b}
			for _, ch := range chats {
				v.Chats = append(v.Chats, viewChat(ch))
			}
			out = append(out, v)
		}
		return nil
	})
	return out, err
}

func (con *Console) botsPage(c *fiber.Ctx) error {
	bots, err := con.loadBots(c.UserContext(), session(c).TenantID)
	if err != nil {
		return con.fail(c, err)
	}
	return con.render(c, 200, "bots", "Bots and chats", botsData{Bots: bots})
}

// botError turns a failed connect into words for the owner.
func (con *Console) botError(c *fiber.Ctx, err error) string {
	if msg, ok := con.userError(err); ok {
		return msg
	}
	con.cfg.Log.WarnContext(c.UserContext(), "console: bot connect", "err", err)
	return "Telegram could not be reached to check the token. Please try again in a minute."
}

func (con *Console) connectBot(c *fiber.Ctx) error {
	s := session(c)
	token := strings.TrimSpace(c.FormValue("token"))
	if token == "" {
		return con.botsWithError(c, "Paste the token that @BotFather gave you when you created the bot.", token)
	}
	b, err := con.cfg.Bots.ConnectBot(c.UserContext(), s.TenantID, token)
	if err != nil {
		return con.botsWithError(c, con.botError(c, err), token)
	}
	con.flash(c, "ok", "@"+b.Username+" is connected. Now make it an administrator of your channels and groups; they will appear here.")
	return redirect(c, "/bots")
}

func (con *Console) botsWithError(c *fiber.Ctx, msg, token string) error {
	bots, err := con.loadBots(c.UserContext(), session(c).TenantID)
	if err != nil {
		return con.fail(c, err)
	}
	return con.render(c, 422, "bots", "Bots and chats", botsData{Bots: bots, Error: msg, Token: token})
}

func (con *Console) disconnectBot(c *fiber.Ctx) error {
	id, ok := idParam(c, "id")
	if !ok {
		return con.notFound(c)
	}
	if err := con.cfg.Bots.DisconnectBot(c.UserContext(), session(c).TenantID, id); err != nil {
		return con.fail(c, err)
	}
	con.flash(c, "ok", "The bot is disconnected: it no longer answers anyone. Its plans, codes and members are kept; reconnect it with its token at any time.")
	return redirect(c, "/bots")
}

func (con *Console) replaceToken(c *fiber.Ctx) error {
	id, ok := idParam(c, "id")
	if !ok {
		return con.notFound(c)
	}
	token := strings.TrimSpace(c.FormValue("token"))
	if token == "" {
		return con.botsWithError(c, "Paste the bot's new token from @BotFather.", "")
	}
	b, err := con.cfg.Bots.ReplaceToken(c.UserContext(), session(c).TenantID, id, token)
	if isNotFound(err) {
		return con.notFound(c)
	}
	if err != nil {
		return con.botsWithError(c, con.botError(c, err), "")
	}
	con.flash(c, "ok", "@"+b.Username+" now uses its new token and is connected.")
	return redirect(c, "/bots")
}
