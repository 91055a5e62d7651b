package console

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/billing"
	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/tenant"
)

type plansData struct {
	Plans    []membership.Plan
	Bots     map[int64]tenant.Bot
	Chats    map[int64]membership.Chat
	MultiBot bool
}

// botsAndChats reads the tenant's bots and all their chats, by id.
func botsAndChats(ctx context.Context, tx pgx.Tx) (map[int64]tenant.Bot, map[int64]membership.Chat, error) {
	bots, err := tenant.ListBots(ctx, tx)
	if err != nil {
		return nil, nil, err
	}
	bm, cm := map[int64]tenant.Bot{}, map[int64]membership.Chat{}
	for _, b := range bots {
		bm[b.ID] = b
		chats, err := membership.ListChats(ctx, tx, b.ID)
		if err != nil {
			return nil, nil, err
		}
		for _, ch := range chats {
			cm[ch.ID] = ch
		}
	}
	return bm, cm, nil
}

func (con *Console) plansPage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	var d plansData
	err := con.tx(ctx, session(c).TenantID, func(tx pgx.Tx) error {
		var err error
		if d.Bots, d.Chats, err = botsAndChats(ctx, tx); err != nil {
			return err
		}
		d.Plans, err = membership.AllPlans(ctx, tx, true)
		return err
	})
	if err != nil {
		return con.fail(c, err)
	}
	d.MultiBot = len(d.Bots) > 1
	return con.render(c, 200, "plans", "Plans", d)
}

// planForm is the plan form, as shown and as posted.
type planForm struct {
	ID          int64
	BotID       int64
	Name        string
	Description string
	PeriodKind  string // days, months, lifetime
	PeriodValue string
	Price       string
	Currency    string
	ChatIDs     []int64
	Error       string
	Bots        []botView
}

func (con *Console) newPlanPage(c *fiber.Ctx) error {
	f := planForm{PeriodKind: "months", PeriodValue: "1", Currency: "USD", Price: "0"}
	return con.showPlanForm(c, 200, f)
}

func (con *Console) showPlanForm(c *fiber.Ctx, status int, f planForm) error {
	bots, err := con.loadBots(c.UserContext(), session(c).TenantID)
	if err != nil {
		return con.fail(c, err)
	}
	f.Bots = bots
	if f.BotID == 0 && len(bots) > 0 {
		// The first connected bot: a disconnected one answers nobody.
		i := slices.IndexFunc(bots, func(b botView) bool { return b.Status == "connected" })
		f.BotID = bots[max(i, 0)].ID
	}
	title := "New plan"
	if f.ID != 0 {
		title = "Edit plan"
	}
	return con.render(c, status, "plan_form", title, f)
}

// readPlanForm reads the posted form into f and the plan it describes.
func readPlanForm(c *fiber.Ctx) (planForm, membership.NewPlan, error) {
	f := planForm{
		Name: c.FormValue("name"), Description: strings.TrimSpace(c.FormValue("description")),
		PeriodKind: c.FormValue("period_kind"), PeriodValue: strings.TrimSpace(c.FormValue("period_value")),
		Price: c.FormValue("price"), Currency: strings.ToUpper(strings.TrimSpace(c.FormValue("currency"))),
	}
	f.BotID, _ = strconv.ParseInt(c.FormValue("bot_id"), 10, 64)
	args := c.Request().PostArgs()
	for _, v := range args.PeekMulti("chat") {
		if id, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			f.ChatIDs = append(f.ChatIDs, id)
		}
	}
	in := membership.NewPlan{BotID: f.BotID, Name: f.Name, Description: f.Description, ChatIDs: f.ChatIDs}
	days, err := periodDays(f.PeriodKind, f.PeriodValue)
	if err != nil {
		return f, in, err
	}
	in.PeriodDays = days
	if in.Price, err = membership.ParseMoney(f.Price, f.Currency); err != nil {
		return f, in, err
	}
	if len(f.ChatIDs) == 0 {
		return f, in, &membership.ValidationError{Message: "Choose at least one chat for the plan."}
	}
	return f, in, nil
}

// periodDays turns the period fields into days: months count as 30 days.
func periodDays(kind, value string) (int, error) {
	if kind == "lifetime" {
		return 0, nil
	}
	n, err := strconv.Atoi(value)
	if err != nil || n < 1 {
		return 0, &membership.ValidationError{Message: "The period must be a whole number of days or months, at least 1."}
	}
	switch kind {
	case "days":
		return n, nil
	case "months":
		if n > 1200 {
			return 0, &membership.ValidationError{Message: "The period can be at most 1200 months."}
		}
		return n * 30, nil
	}
	return 0, &membership.ValidationError{Message: "Choose days, months or lifetime for the period."}
}

// formError is the message of an error meant for the person at the form.
func formError(err error) (string, bool) {
	var v *membership.ValidationError
	if errors.As(err, &v) {
		return capitalise(v.Message), true
	}
	return "", false
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "?") {
		s += "."
	}
	return s
}

func (con *Console) createPlan(c *fiber.Ctx) error {
	ctx := c.UserContext()
	f, in, err := readPlanForm(c)
	var unready []string // the plan's chats where the bot lacks a right
	if err == nil {
		err = con.tx(ctx, session(c).TenantID, func(tx pgx.Tx) error {
			if _, err := tenant.GetBot(ctx, tx, in.BotID); err != nil {
				return &membership.ValidationError{Message: "Choose one of your bots for the plan."}
			}
			if _, err := membership.CreatePlan(ctx, tx, in); err != nil {
				return err
			}
			chats, err := membership.ListChats(ctx, tx, in.BotID)
			for _, ch := range chats {
				if slices.Contains(in.ChatIDs, ch.ID) && !ch.Ready() {
					unready = append(unready, ch.Title)
				}
			}
			return err
		})
	}
	if msg, ok := formError(err); ok {
		f.Error = msg
		return con.showPlanForm(c, 422, f)
	}
	if err != nil {
		return con.fail(c, err)
	}
	if len(unready) > 0 {
		con.flash(c, "warn", "The plan "+in.Name+" is made, but the bot lacks rights it needs in "+strings.Join(unready, ", ")+
			": see what is missing under Bots, and give it in Telegram.")
		return redirect(c, "/plans")
	}
	con.flash(c, "ok", "The plan "+in.Name+" is ready. Create access codes for it under Codes.")
	return redirect(c, "/plans")
}

func (con *Console) editPlanPage(c *fiber.Ctx) error {
	id, ok := idParam(c, "id")
	if !ok {
		return con.notFound(c)
	}
	ctx := c.UserContext()
	var p membership.Plan
	err := con.tx(ctx, session(c).TenantID, func(tx pgx.Tx) (err error) {
		p, err = membership.GetPlan(ctx, tx, id)
		return err
	})
	if err != nil {
		return con.fail(c, err)
	}
	f := planForm{ID: p.ID, BotID: p.BotID, Name: p.Name, Description: p.Description, ChatIDs: p.ChatIDs,
		Price: p.Price.Decimal(), Currency: p.Price.Currency}
	switch {
	case p.Lifetime():
		f.PeriodKind = "lifetime"
	case p.PeriodDays%30 == 0:
		f.PeriodKind, f.PeriodValue = "months", strconv.Itoa(p.PeriodDays/30)
	default:
		f.PeriodKind, f.PeriodValue = "days", strconv.Itoa(p.PeriodDays)
	}
	return con.showPlanForm(c, 200, f)
}

func (con *Console) updatePlan(c *fiber.Ctx) error {
	id, ok := idParam(c, "id")
	if !ok {
		return con.notFound(c)
	}
	ctx := c.UserContext()
	f, in, err := readPlanForm(c)
	f.ID = id
	if err == nil {
		err = con.tx(ctx, session(c).TenantID, func(tx pgx.Tx) error {
			_, err := billing.UpdatePlan(ctx, tx, id, in)
			return err
		})
	}
	if msg, ok := formError(err); ok {
		f.Error = msg
		return con.showPlanForm(c, 422, f)
	}
	if err != nil {
		return con.fail(c, err)
	}
	con.flash(c, "ok", "The plan "+in.Name+" is saved.")
	return redirect(c, "/plans")
}

func (con *Console) archivePlan(c *fiber.Ctx) error {
	id, ok := idParam(c, "id")
	if !ok {
		return con.notFound(c)
	}
	ctx := c.UserContext()
	var live int
	err := con.tx(ctx, session(c).TenantID, func(tx pgx.Tx) (err error) {
		if err = membership.ArchivePlan(ctx, tx, id); err != nil {
			return err
		}
		live, err = membership.LiveCodes(ctx, tx, id)
		return err
	})
	if err != nil {
		return con.fail(c, err)
	}
	msg := "The plan is archived: it is no longer offered and no new codes can be made for it. Current members keep their access."
	switch {
	case live == 1:
		msg += " 1 code made for it can still be activated: if it should not, delete it on the Codes page."
	case live > 1:
		msg += fmt.Sprintf(" %d codes made for it can still be activated: if they should not, delete them on the Codes page.", live)
	}
	con.flash(c, "ok", msg)
	return redirect(c, "/plans")
}
