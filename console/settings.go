package console

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/tenant"
)

type settingsData struct {
	Settings    tenant.Settings
	AutoDelete  string
	WouldDelete int // unused codes the current auto-delete setting covers now
	Bots        []botAdmins
	Keys        []tenant.APIKey
	NewKey      string // shown once, right after it is made
	FormKey     string // the key and admin-link forms' (see requestKey)
	Error       string
}

type botAdmins struct {
	Bot            tenant.Bot
	Admins         []adminView
	OwnerLink      string // shown right after the owner asks for it
	OwnerLinkUntil time.Time
}

type adminView struct {
	TelegramUserID int64
	Name           string
	Notify         bool
}

func (con *Console) loadSettings(ctx context.Context, tenantID int64) (settingsData, error) {
	d := settingsData{FormKey: newFormKey()}
	err := con.tx(ctx, tenantID, func(tx pgx.Tx) error {
		t, err := tenant.Get(ctx, tx)
		if err != nil {
			return err
		}
		d.Settings = t.Settings
		if days := t.Settings.CodeAutoDeleteDays; days > 0 {
			d.AutoDelete = strconv.Itoa(days)
			if d.WouldDelete, err = membership.UnusedCodesOlderThan(ctx, tx, days); err != nil {
				return err
			}
		}
		bots, err := tenant.ListBots(ctx, tx)
		if err != nil {
			return err
		}
		for _, b := range bots {
			v, err := loadBotAdmins(ctx, tx, b)
			if err != nil {
				return err
			}
			d.Bots = append(d.Bots, v)
		}
		d.Keys, err = tenant.ListAPIKeys(ctx, tx)
		return err
	})
	return d, err
}

func loadBotAdmins(ctx context.Context, tx pgx.Tx, b tenant.Bot) (botAdmins, error) {
	v := botAdmins{Bot: b}
	admins, err := tenant.BotAdmins(ctx, tx, b.ID)
	if err != nil {
		return v, err
	}
	ids := make([]int64, len(admins))
	for i, a := range admins {
		ids[i] = a.TelegramUserID
	}
	people, err := membership.People(ctx, tx, b.ID, ids)
	if err != nil {
		return v, err
	}
	for _, a := range admins {
		name := people[a.TelegramUserID].DisplayName()
		if name == "" {
			name = "Telegram user " + strconv.FormatInt(a.TelegramUserID, 10)
		}
		v.Admins = append(v.Admins, adminView{TelegramUserID: a.TelegramUserID, Name: name, Notify: a.Notify})
	}
	return v, nil
}

// ownerLink makes a one-time link that, opened in Telegram, makes whoever
// opens it an admin of the bot who gets its notifications (the bot
// redeems it), and shows it on the settings page. The same form sent again
// makes no second link, and says so.
func (con *Console) ownerLink(c *fiber.Ctx) error {
	ctx := c.UserContext()
	s := session(c)
	botID, _ := strconv.ParseInt(c.FormValue("bot_id"), 10, 64)
	var token, username string
	var until time.Time
	var repeated bool
	err := con.tx(ctx, s.TenantID, func(tx pgx.Tx) error {
		b, err := tenant.GetBot(ctx, tx, botID)
		if err != nil {
			return err
		}
		username = b.Username
		token, until, repeated, err = tenant.NewOwnerLinkTokenOnce(ctx, tx, botID, requestKey(c.FormValue("form_key"), botID))
		return err
	})
	if err != nil {
		return con.fail(c, err)
	}
	if repeated {
		con.flash(c, "warn", fmt.Sprintf("This form was sent twice; it made one admin link for @%s, which works once, until %s UTC. "+
			"The link was shown only when it was made: if you did not copy it, get another.", username, until.UTC().Format(dateLayout)))
		return redirect(c, "/settings")
	}
	d, err := con.loadSettings(ctx, s.TenantID)
	if err != nil {
		return con.fail(c, err)
	}
	for i := range d.Bots {
		if d.Bots[i].Bot.ID == botID {
			d.Bots[i].OwnerLink, d.Bots[i].OwnerLinkUntil = tenant.OwnerLink(username, token), until
		}
	}
	return con.render(c, 201, "settings", "Settings", d)
}

func (con *Console) settingsPage(c *fiber.Ctx) error {
	d, err := con.loadSettings(c.UserContext(), session(c).TenantID)
	if err != nil {
		return con.fail(c, err)
	}
	return con.render(c, 200, "settings", "Settings", d)
}

func (con *Console) saveSettings(c *fiber.Ctx) error {
	ctx := c.UserContext()
	s := session(c)
	set := tenant.Settings{ZeroPriceDefault: c.FormValue("zero_price_default") == "on"}
	// One rule with the API's code_autodelete_days: empty is off, else 1 to
	// 3650 days. 0 is refused, not taken as off: it could as well mean
	// "delete at once", and the field's min="1" never lets a browser send it.
	raw := strings.TrimSpace(c.FormValue("autodelete_days"))
	var err error
	if raw != "" {
		set.CodeAutoDeleteDays, err = strconv.Atoi(raw)
		if err != nil || set.CodeAutoDeleteDays < 1 || set.CodeAutoDeleteDays > tenant.MaxCodeAutoDeleteDays {
			return con.settingsWithError(c, "Auto-delete must be empty (off) or a whole number of days from 1 to 3650.")
		}
	}
	err = con.tx(ctx, s.TenantID, func(tx pgx.Tx) error { return tenant.UpdateSettings(ctx, tx, set) })
	if err != nil {
		return con.fail(c, err)
	}
	con.flash(c, "ok", "Settings saved.")
	return redirect(c, "/settings")
}

func (con *Console) settingsWithError(c *fiber.Ctx, msg string) error {
	d, err := con.loadSettings(c.UserContext(), session(c).TenantID)
	if err != nil {
		return con.fail(c, err)
	}
	d.Error = msg
	return con.render(c, 422, "settings", "Settings", d)
}

func (con *Console) saveNotify(c *fiber.Ctx) error {
	ctx := c.UserContext()
	botID, _ := strconv.ParseInt(c.FormValue("bot_id"), 10, 64)
	userID, _ := strconv.ParseInt(c.FormValue("telegram_user_id"), 10, 64)
	on := c.FormValue("notify") == "on"
	err := con.tx(ctx, session(c).TenantID, func(tx pgx.Tx) error { return tenant.SetAdminNotify(ctx, tx, botID, userID, on) })
	if err != nil {
		return con.fail(c, err)
	}
	if on {
		con.flash(c, "ok", "Notifications in Telegram are on.")
	} else {
		con.flash(c, "ok", "Notifications in Telegram are off. They still appear on the dashboard.")
	}
	return redirect(c, "/settings")
}

// removeAdmin takes a Telegram user's admin rights in a bot away.
func (con *Console) removeAdmin(c *fiber.Ctx) error {
	ctx := c.UserContext()
	s := session(c)
	botID, _ := strconv.ParseInt(c.FormValue("bot_id"), 10, 64)
	userID, _ := strconv.ParseInt(c.FormValue("telegram_user_id"), 10, 64)
	err := con.tx(ctx, s.TenantID, func(tx pgx.Tx) error {
		return tenant.RemoveBotAdmin(ctx, tx, botID, userID, "console: "+s.Email)
	})
	if err != nil {
		return con.fail(c, err)
	}
	con.flash(c, "ok", "Removed: they can no longer manage the bot from Telegram, and get no notifications there.")
	return redirect(c, "/settings")
}

// createKey makes an API key and shows it, once. The same form sent again
// makes no second key, and says so.
func (con *Console) createKey(c *fiber.Ctx) error {
	ctx := c.UserContext()
	s := session(c)
	name := strings.TrimSpace(c.FormValue("name"))
	if len(name) > 100 {
		return con.settingsWithError(c, "The key's name can be at most 100 characters.")
	}
	var k tenant.APIKey
	var full string
	var repeated bool
	err := con.tx(ctx, s.TenantID, func(tx pgx.Tx) (err error) {
		k, full, repeated, err = tenant.CreateAPIKeyOnce(ctx, tx, name, "console: "+s.Email, requestKey(c.FormValue("form_key"), name))
		return err
	})
	if err != nil {
		return con.fail(c, err)
	}
	if repeated {
		con.flash(c, "warn", fmt.Sprintf("This form was sent twice; it made one API key, %s (gk_%s_…). "+
			"The key was shown only when it was made: if you did not copy it, revoke it and create another.", k.Name, k.Prefix))
		return redirect(c, "/settings")
	}
	d, err := con.loadSettings(ctx, s.TenantID)
	if err != nil {
		return con.fail(c, err)
	}
	d.NewKey = full
	return con.render(c, 201, "settings", "Settings", d)
}

func (con *Console) revokeKey(c *fiber.Ctx) error {
	id, ok := idParam(c, "id")
	if !ok {
		return con.notFound(c)
	}
	ctx := c.UserContext()
	err := con.tx(ctx, session(c).TenantID, func(tx pgx.Tx) error { return tenant.RevokeAPIKey(ctx, tx, id) })
	if err != nil {
		return con.fail(c, err)
	}
	con.flash(c, "ok", "The API key is revoked. Scripts using it are refused from now on.")
	return redirect(c, "/settings")
}
