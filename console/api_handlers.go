package console

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/billing"
	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/tenant"
)

// JSON shapes of the owner API; openapi.json describes the same.

type botJSON struct {
	ID         int64  `json:"id"`
	TelegramID int64  `json:"telegram_id"`
	Username   string `json:"username"`
	Status     string `json:"status"`
}

type moneyJSON struct {
	AmountMinor int64  `json:"amount_minor"`
	Currency    string `json:"currency"`
}

type planJSON struct {
	ID          int64     `json:"id"`
	BotID       int64     `json:"bot_id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	PeriodDays  *int      `json:"period_days"` // null: lifetime
	Price       moneyJSON `json:"price"`
	Archived    bool      `json:"archived"`
	ChatIDs     []int64   `json:"chat_ids"`
}

type codeJSON struct {
	ID             int64      `json:"id"`
	Code           string     `json:"code"`
	Formatted      string     `json:"formatted"`
	Link           string     `json:"link"`
	BotID          int64      `json:"bot_id"`
	PlanID         int64      `json:"plan_id"`
	PlanName       string     `json:"plan_name"`
	BatchID        int64      `json:"batch_id"`
	MaxActivations int        `json:"max_activations"`
	Activations    int        `json:"activations"`
	Status         string     `json:"status"`
	ExpiresAt      *time.Time `json:"expires_at"`
	ZeroPriced     bool       `json:"zero_priced"`
	DeletedAt      *time.Time `json:"deleted_at"`
	AutoDeleted    bool       `json:"auto_deleted"`
	CreatedAt      time.Time  `json:"created_at"`
}

type personJSON struct {
	ID             int64  `json:"id"`
	TelegramUserID int64  `json:"telegram_user_id"`
	Username       string `json:"username"`
	FirstName      string `json:"first_name"`
	LastName       string `json:"last_name"`
	Name           string `json:"name"`
}

type activationJSON struct {
	ID           int64      `json:"id"`
	Member       personJSON `json:"member"`
	MembershipID int64      `json:"membership_id"`
	ActivatedAt  time.Time  `json:"activated_at"`
	RolledBackAt *time.Time `json:"rolled_back_at"`
}

type codeDetailJSON struct {
	codeJSON
	ActivationsList []activationJSON `json:"activation_list"`
	Rollback        *rollbackJSON    `json:"rollback"`
}

type membershipJSON struct {
	ID       int64      `json:"id"`
	Member   personJSON `json:"member"`
	PlanID   int64      `json:"plan_id"`
	PlanName string     `json:"plan_name"`
	Status   string     `json:"status"`
	StartsAt time.Time  `json:"starts_at"`
	EndsAt   *time.Time `json:"ends_at"`
	EndedAt  *time.Time `json:"ended_at"` // when access ended; null while active
	Source   string     `json:"source"`
	Code     string     `json:"code"`
}

type pageJSON[T any] struct {
	Data []T `json:"data"`
	// NextBefore is the before= of the next page; null on the last page.
	NextBefore *int64 `json:"next_before"`
}

func botOut(b tenant.Bot) botJSON {
	return botJSON{ID: b.ID, TelegramID: b.TelegramID, Username: b.Username, Status: b.Status}
}

func planOut(p membership.Plan) planJSON {
	out := planJSON{ID: p.ID, BotID: p.BotID, Name: p.Name, Description: p.Description,
		Price: moneyJSON{p.Price.Minor, p.Price.Currency}, Archived: p.Archived, ChatIDs: p.ChatIDs}
	if !p.Lifetime() {
		d := p.PeriodDays
		out.PeriodDays = &d
	}
	if out.ChatIDs == nil {
		out.ChatIDs = []int64{}
	}
	return out
}

func codeOut(c membership.Code, bots map[int64]tenant.Bot, now time.Time) codeJSON {
	out := codeJSON{ID: c.ID, Code: c.Code, Formatted: membership.FormatCode(c.Code),
		Link: membership.ActivationLink(bots[c.BotID].Username, c.Code), BotID: c.BotID, PlanID: c.PlanID,
		PlanName: c.PlanName, BatchID: c.BatchID, MaxActivations: c.MaxActivations, Activations: c.Activations,
		Status: c.Status(now), ExpiresAt: c.ExpiresAt, ZeroPriced: c.ZeroPriced, DeletedAt: c.DeletedAt,
		AutoDeleted: c.AutoDeleted, CreatedAt: c.CreatedAt}
	if c.DeletedAt != nil {
		out.Link = "" // as in the CSV: a deleted code's link only opens the bot to be refused
	}
	return out
}

func personOut(m membership.Member) personJSON {
	return personJSON{ID: m.ID, TelegramUserID: m.TelegramUserID, Username: m.Username,
		FirstName: m.FirstName, LastName: m.LastName, Name: m.DisplayName()}
}

func membershipOut(r membership.MemberRow) membershipJSON {
	return membershipJSON{ID: r.ID, Member: personOut(r.Member), PlanID: r.PlanID, PlanName: r.PlanName,
		Status: r.Status, StartsAt: r.StartsAt, EndsAt: r.EndsAt, EndedAt: r.AccessEnded(), Source: r.Source, Code: r.Code}
}

func botMap(bots []tenant.Bot) map[int64]tenant.Bot {
	m := make(map[int64]tenant.Bot, len(bots))
	for _, b := range bots {
		m[b.ID] = b
	}
	return m
}

func (con *Console) apiBots(c *fiber.Ctx) error {
	ctx := c.UserContext()
	out := []botJSON{}
	err := con.tx(ctx, apiKey(c).TenantID, func(tx pgx.Tx) error {
		bots, err := tenant.ListBots(ctx, tx)
		for _, b := range bots {
			out = append(out, botOut(b))
		}
		return err
	})
	if err != nil {
		return con.apiErr(c, err)
	}
	return c.JSON(fiber.Map{"data": out})
}

func (con *Console) apiPlans(c *fiber.Ctx) error {
	ctx := c.UserContext()
	archived, err := boolParam(c, "archived")
	if err != nil {
		return con.apiErr(c, err)
	}
	out := []planJSON{}
	err = con.tx(ctx, apiKey(c).TenantID, func(tx pgx.Tx) error {
		plans, err := membership.AllPlans(ctx, tx, archived)
		for _, p := range plans {
			out = append(out, planOut(p))
		}
		return err
	})
	if err != nil {
		return con.apiErr(c, err)
	}
	return c.JSON(fiber.Map{"data": out})
}

// apiCodeFilter reads the codes filters of the query string.
func apiCodeFilter(c *fiber.Ctx) (membership.CodeFilter, error) {
	f := membership.CodeFilter{Status: c.Query("status"), Search: c.Query("search")}
	var err error
	for name, dst := range map[string]*int64{"plan_id": &f.PlanID, "batch_id": &f.BatchID, "bot_id": &f.BotID, "before": &f.BeforeID} {
		if *dst, err = queryID(c, name); err != nil {
			return f, err
		}
	}
	if !validStatus(f.Status) {
		return f, refuse(422, errInvalid, fmt.Sprintf("Unknown status %q: use active, used up, expired or deleted.", f.Status))
	}
	return f, nil
}

func (con *Console) apiCodes(c *fiber.Ctx) error {
	ctx := c.UserContext()
	f, err := apiCodeFilter(c)
	if err != nil {
		return con.apiErr(c, err)
	}
	limit, err := limitParam(c)
	if err != nil {
		return con.apiErr(c, err)
	}
	f.Limit = limit + 1
	page := pageJSON[codeJSON]{Data: []codeJSON{}}
	err = con.tx(ctx, apiKey(c).TenantID, func(tx pgx.Tx) error {
		bots, err := tenant.ListBots(ctx, tx)
		if err != nil {
			return err
		}
		codes, err := membership.ListCodes(ctx, tx, f)
		if err != nil {
			return err
		}
		if len(codes) > limit {
			codes = codes[:limit]
			next := codes[limit-1].ID
			page.NextBefore = &next
		}
		bm, now := botMap(bots), time.Now()
		for _, code := range codes {
			page.Data = append(page.Data, codeOut(code, bm, now))
		}
		return nil
	})
	if err != nil {
		return con.apiErr(c, err)
	}
	return c.JSON(page)
}

// createCodesJSON asks for codes, with the options of the bot's /newcode.
type createCodesJSON struct {
	PlanID         int64      `json:"plan_id"`
	Count          *int       `json:"count"`           // default 1
	MaxActivations *int       `json:"max_activations"` // default 1
	ExpiresAt      *time.Time `json:"expires_at"`      // RFC 3339; or
	ExpiresInDays  *int       `json:"expires_in_days"`
	ZeroPriced     *bool      `json:"zero_priced"` // default: the tenant's setting
}

func (con *Console) apiCreateCodes(c *fiber.Ctx) error {
	ctx := c.UserContext()
	var in createCodesJSON
	if err := decode(c, &in); err != nil {
		return con.apiErr(c, err)
	}
	req := membership.CodeRequest{PlanID: in.PlanID, Count: 1, MaxActivations: 1, ExpiresAt: in.ExpiresAt,
		ZeroPriced: in.ZeroPriced, CreatedBy: "api: " + apiKey(c).Name}
	switch {
	case in.PlanID == 0:
		return con.apiErr(c, refuse(422, errInvalid, "plan_id is required: the plan the codes grant (GET /api/v1/plans)."))
	case in.PlanID < 0:
		return con.apiErr(c, refuse(422, errInvalid, "plan_id must be a positive whole number: the id of a plan (GET /api/v1/plans)."))
	}
	if in.Count != nil {
		req.Count = *in.Count
	}
	if in.MaxActivations != nil {
		// CodeRequest takes 0 for 1; the API takes the number as it is.
		if req.MaxActivations = *in.MaxActivations; req.MaxActivations < 1 {
			return con.apiErr(c, refuse(422, errInvalid, fmt.Sprintf("Max activations must be from 1 to %d.", membership.MaxActivationsCap)))
		}
	}
	if in.ExpiresInDays != nil {
		if in.ExpiresAt != nil {
			return con.apiErr(c, refuse(422, errInvalid, "Give expires_at or expires_in_days, not both."))
		}
		if *in.ExpiresInDays < 1 || *in.ExpiresInDays > membership.MaxExpiryDays {
			return con.apiErr(c, refuse(422, errInvalid, fmt.Sprintf("expires_in_days must be from 1 to %d.", membership.MaxExpiryDays)))
		}
		t := time.Now().Add(time.Duration(*in.ExpiresInDays) * 24 * time.Hour)
		req.ExpiresAt = &t
	}
	key, err := idempotencyKey(c)
	if err != nil {
		return con.apiErr(c, err)
	}
	req.RequestKey = key
	var out struct {
		BatchID  int64      `json:"batch_id"`
		CSVURL   string     `json:"csv_url"`
		Codes    []codeJSON `json:"codes"`
		Warnings []string   `json:"warnings"`
	}
	out.Warnings = []string{}
	status := fiber.StatusCreated
	err = con.tx(ctx, apiKey(c).TenantID, func(tx pgx.Tx) error {
		b, err := billing.CreateCodes(ctx, tx, req)
		if err != nil {
			return err
		}
		if b.Repeated {
			status = fiber.StatusOK
			c.Set("Idempotent-Replayed", "true")
		}
		bot, err := tenant.GetBot(ctx, tx, b.Plan.BotID)
		if err != nil {
			return err
		}
		if bot.Status != "connected" {
			out.Warnings = append(out.Warnings, disconnectedText(bot, len(b.Codes)))
		}
		out.BatchID = b.ID
		out.CSVURL = fmt.Sprintf("/api/v1/codes.csv?batch_id=%d", b.ID)
		bm, now := map[int64]tenant.Bot{bot.ID: bot}, time.Now()
		for _, code := range b.Codes {
			out.Codes = append(out.Codes, codeOut(code, bm, now))
		}
		return nil
	})
	if err != nil {
		return con.apiErr(c, err)
	}
	return c.Status(status).JSON(out)
}

// maxIdempotencyKey bounds the Idempotency-Key header, as Stripe's does.
const maxIdempotencyKey = 255

// idempotencyKey is the request key of an API call that sent the
// Idempotency-Key header: the same key sent again gets the first answer.
// "" when the header is absent.
func idempotencyKey(c *fiber.Ctx) (string, error) {
	k := c.Get("Idempotency-Key")
	if k == "" {
		return "", nil
	}
	if len(k) > maxIdempotencyKey || strings.IndexFunc(k, func(r rune) bool { return r < 0x21 || r > 0x7e }) >= 0 {
		return "", refuse(422, errInvalid, fmt.Sprintf("The Idempotency-Key header takes up to %d visible ASCII characters, such as a UUID.", maxIdempotencyKey))
	}
	return "api:" + k, nil
}

func (con *Console) apiCodesCSV(c *fiber.Ctx) error {
	ctx := c.UserContext()
	f, err := apiCodeFilter(c)
	if err != nil {
		return con.apiErr(c, err)
	}
	f.BeforeID = 0
	tenantID := apiKey(c).TenantID
	var bot tenant.Bot
	err = con.tx(ctx, tenantID, func(tx pgx.Tx) (err error) {
		bot, err = exportBot(ctx, tx, &f)
		return err
	})
	if err != nil {
		return con.apiErr(c, err)
	}
	name := "codes.csv"
	if f.BatchID != 0 {
		name = fmt.Sprintf("codes-batch-%d.csv", f.BatchID)
	}
	con.streamCSV(c, tenantID, name, bot.Username, f)
	return nil
}

func (con *Console) apiCode(c *fiber.Ctx) error {
	id, err := pathID(c)
	if err != nil {
		return con.apiErr(c, err)
	}
	d, err := con.loadCode(c.UserContext(), apiKey(c).TenantID, id)
	if err != nil {
		return con.apiErr(c, err)
	}
	out := codeDetailJSON{codeJSON: codeOut(d.Code.Code, map[int64]tenant.Bot{d.Bot.ID: d.Bot}, time.Now()), ActivationsList: []activationJSON{}}
	for _, a := range d.Activations {
		out.ActivationsList = append(out.ActivationsList, activationJSON{ID: a.ID, Member: personOut(a.Member),
			MembershipID: a.MembershipID, ActivatedAt: a.At, RolledBackAt: a.RolledBackAt})
	}
	if d.Rollback != nil {
		r := rollbackOut(*d.Rollback)
		out.Rollback = &r
	}
	return c.JSON(out)
}

func (con *Console) apiDeleteCode(c *fiber.Ctx) error {
	id, err := pathID(c)
	if err != nil {
		return con.apiErr(c, err)
	}
	ctx := c.UserContext()
	var out codeJSON
	err = con.tx(ctx, apiKey(c).TenantID, func(tx pgx.Tx) error {
		code, err := membership.DeleteCode(ctx, tx, id)
		if err != nil {
			return err
		}
		bot, err := tenant.GetBot(ctx, tx, code.BotID)
		out = codeOut(code, map[int64]tenant.Bot{bot.ID: bot}, time.Now())
		return err
	})
	if err != nil {
		return con.apiErr(c, err)
	}
	return c.JSON(out)
}

func (con *Console) apiRollback(c *fiber.Ctx) error {
	id, err := pathID(c)
	if err != nil {
		return con.apiErr(c, err)
	}
	r, err := con.startRollback(c.UserContext(), apiKey(c).TenantID, id, "api: "+apiKey(c).Name)
	if err != nil {
		return con.apiErr(c, err)
	}
	return c.Status(202).JSON(rollbackOut(r))
}

// batchRollbackJSON is what starting a batch's rollback did.
type batchRollbackJSON struct {
	BatchID     int64 `json:"batch_id"`
	Codes       int   `json:"codes"`        // codes rolled back now
	RollingBack int   `json:"rolling_back"` // of them, those with activations being undone
}

func (con *Console) apiRollbackBatch(c *fiber.Ctx) error {
	id, err := pathID(c)
	if err != nil {
		return con.apiErr(c, err)
	}
	b, err := con.startBatchRollback(c.UserContext(), apiKey(c).TenantID, id, "api: "+apiKey(c).Name)
	if err != nil {
		return con.apiErr(c, err)
	}
	return c.Status(202).JSON(batchRollbackJSON{BatchID: id, Codes: b.Codes, RollingBack: len(b.Running)})
}

func (con *Console) apiRollbackProgress(c *fiber.Ctx) error {
	id, err := pathID(c)
	if err != nil {
		return con.apiErr(c, err)
	}
	ctx := c.UserContext()
	var r membership.Rollback
	err = con.tx(ctx, apiKey(c).TenantID, func(tx pgx.Tx) error {
		if _, err := membership.GetCode(ctx, tx, id); err != nil {
			return err
		}
		r, err = membership.RollbackOfCode(ctx, tx, id)
		return err
	})
	if isNotFound(err) {
		return apiFail(c, 404, errNotFound, "This code has not been rolled back, or there is no such code in your account.")
	}
	if err != nil {
		return con.apiErr(c, err)
	}
	return c.JSON(rollbackOut(r))
}

func (con *Console) apiMembers(c *fiber.Ctx) error {
	ctx := c.UserContext()
	f := membership.MemberFilter{Status: c.Query("status"), Search: c.Query("search")}
	var err error
	for name, dst := range map[string]*int64{"plan_id": &f.PlanID, "bot_id": &f.BotID, "before": &f.BeforeID} {
		if *dst, err = queryID(c, name); err != nil {
			return con.apiErr(c, err)
		}
	}
	limit, err := limitParam(c)
	if err != nil {
		return con.apiErr(c, err)
	}
	f.Limit = limit + 1
	page := pageJSON[membershipJSON]{Data: []membershipJSON{}}
	err = con.tx(ctx, apiKey(c).TenantID, func(tx pgx.Tx) error {
		rows, err := membership.ListMembers(ctx, tx, f)
		if err != nil {
			return err
		}
		if len(rows) > limit {
			rows = rows[:limit]
			next := rows[limit-1].ID
			page.NextBefore = &next
		}
		for _, r := range rows {
			page.Data = append(page.Data, membershipOut(r))
		}
		return nil
	})
	if err != nil {
		return con.apiErr(c, err)
	}
	return c.JSON(page)
}

type memberChatJSON struct {
	ChatID    int64     `json:"chat_id"`
	Title     string    `json:"title"`
	Status    string    `json:"status"`
	UpdatedAt time.Time `json:"updated_at"`
}

type memberActivationJSON struct {
	CodeID       int64      `json:"code_id"`
	Code         string     `json:"code"`
	PlanName     string     `json:"plan_name"`
	ActivatedAt  time.Time  `json:"activated_at"`
	RolledBackAt *time.Time `json:"rolled_back_at"`
}

type memberJSON struct {
	personJSON
	BotID       int64                  `json:"bot_id"`
	Unreachable bool                   `json:"unreachable"`
	CreatedAt   time.Time              `json:"created_at"`
	Memberships []membershipJSON       `json:"memberships"`
	Chats       []memberChatJSON       `json:"chats"`
	Activations []memberActivationJSON `json:"activations"`
}

func (con *Console) apiMember(c *fiber.Ctx) error {
	id, err := pathID(c)
	if err != nil {
		return con.apiErr(c, err)
	}
	ctx := c.UserContext()
	var d membership.MemberDetail
	err = con.tx(ctx, apiKey(c).TenantID, func(tx pgx.Tx) (err error) {
		d, err = membership.GetMember(ctx, tx, id)
		return err
	})
	if err != nil {
		return con.apiErr(c, err)
	}
	out := memberJSON{personJSON: personOut(d.Member), BotID: d.BotID, Unreachable: d.Unreachable, CreatedAt: d.CreatedAt,
		Memberships: []membershipJSON{}, Chats: []memberChatJSON{}, Activations: []memberActivationJSON{}}
	for _, m := range d.Memberships {
		out.Memberships = append(out.Memberships, membershipOut(m))
	}
	for _, ch := range d.Chats {
		out.Chats = append(out.Chats, memberChatJSON{ChatID: ch.Chat.ID, Title: ch.Chat.Title, Status: ch.Status, UpdatedAt: ch.UpdatedAt})
	}
	for _, a := range d.Activations {
		out.Activations = append(out.Activations, memberActivationJSON{CodeID: a.CodeID, Code: a.Code, PlanName: a.PlanName,
			ActivatedAt: a.At, RolledBackAt: a.RolledBackAt})
	}
	return c.JSON(out)
}

func (con *Console) apiRevoke(c *fiber.Ctx) error {
	id, err := pathID(c)
	if err != nil {
		return con.apiErr(c, err)
	}
	var in struct {
		MembershipID json.RawMessage `json:"membership_id"` // absent or null: all of the member's
	}
	if err := decode(c, &in); err != nil {
		return con.apiErr(c, err)
	}
	// Absent or null: all of the member's. A JSON number as sent, so that
	// "5", 1.5 or true are refused rather than read as something else.
	raw := string(in.MembershipID)
	if raw == "null" {
		raw = ""
	}
	msID, err := optionalID(raw, "membership_id")
	if err != nil {
		return con.apiErr(c, err)
	}
	r, err := con.revoke(c.UserContext(), apiKey(c).TenantID, id, msID)
	if err != nil {
		return con.apiErr(c, err)
	}
	kept := r.kept
	if kept == nil {
		kept = []string{}
	}
	return c.JSON(fiber.Map{"revoked": r.ended, "kept_in": kept})
}

type settingsJSON struct {
	CodeAutoDeleteDays *int `json:"code_autodelete_days"` // null: off
	ZeroPriceDefault   bool `json:"zero_price_default"`
}

// fairUseJSON is the tenant's standing against the fair-use limit on free
// codes, so that a script can check before it asks for free codes.
type fairUseJSON struct {
	Limited    bool `json:"limited"`
	WindowDays int  `json:"window_days"`
	Used       int  `json:"used"`
	Open       int  `json:"open"`
	Allowance  int  `json:"allowance"`
	Remaining  int  `json:"remaining"`
	Floor      int  `json:"floor"`
	RatioPct   int  `json:"ratio_pct"`
	PaidOrders int  `json:"paid_orders"`
}

func (con *Console) apiFairUse(c *fiber.Ctx) error {
	ctx := c.UserContext()
	var f billing.FairUse
	err := con.tx(ctx, apiKey(c).TenantID, func(tx pgx.Tx) (err error) {
		f, err = billing.GetFairUse(ctx, tx)
		return err
	})
	if err != nil {
		return con.apiErr(c, err)
	}
	return c.JSON(fairUseJSON{Limited: f.Limited, WindowDays: 30, Used: f.Used, Open: f.Open, Allowance: f.Allowance,
		Remaining: f.Remaining(), Floor: f.Floor, RatioPct: f.RatioPct, PaidOrders: f.Paid})
}

func (con *Console) apiSettings(c *fiber.Ctx) error {
	ctx := c.UserContext()
	var t tenant.Tenant
	err := con.tx(ctx, apiKey(c).TenantID, func(tx pgx.Tx) (err error) {
		t, err = tenant.Get(ctx, tx)
		return err
	})
	if err != nil {
		return con.apiErr(c, err)
	}
	return c.JSON(settingsOut(t.Settings))
}

func settingsOut(s tenant.Settings) settingsJSON {
	out := settingsJSON{ZeroPriceDefault: s.ZeroPriceDefault}
	if s.CodeAutoDeleteDays > 0 {
		d := s.CodeAutoDeleteDays
		out.CodeAutoDeleteDays = &d
	}
	return out
}

func (con *Console) apiUpdateSettings(c *fiber.Ctx) error {
	ctx := c.UserContext()
	// Fields left out keep their value; code_autodelete_days null turns auto-delete off.
	var in map[string]any
	if err := decode(c, &in); err != nil {
		return con.apiErr(c, err)
	}
	var out tenant.Settings
	err := con.tx(ctx, apiKey(c).TenantID, func(tx pgx.Tx) error {
		t, err := tenant.Get(ctx, tx)
		if err != nil {
			return err
		}
		s := t.Settings
		for k, v := range in {
			switch k {
			case "code_autodelete_days":
				n, ok := v.(float64)
				switch {
				case v == nil:
					s.CodeAutoDeleteDays = 0
				case !ok: // a wrong JSON type is bad JSON, as in the calls with typed bodies
					return refuse(400, errBadJSON, "code_autodelete_days must be a whole number or null, not "+jsonType(v)+".")
				case n != float64(int(n)) || n < 1 || n > tenant.MaxCodeAutoDeleteDays:
					return refuse(422, errInvalid, "code_autodelete_days must be null (off) or a whole number of days from 1 to 3650.")
				default:
					s.CodeAutoDeleteDays = int(n)
				}
			case "zero_price_default":
				b, ok := v.(bool)
				if !ok {
					return refuse(400, errBadJSON, "zero_price_default must be true or false, not "+jsonType(v)+".")
				}
				s.ZeroPriceDefault = b
			default:
				return refuse(400, errBadJSON, fmt.Sprintf("Unknown setting %q: use code_autodelete_days or zero_price_default.", k))
			}
		}
		out = s
		return tenant.UpdateSettings(ctx, tx, s)
	})
	if err != nil {
		return con.apiErr(c, err)
	}
	return c.JSON(settingsOut(out))
}

// jsonType names the JSON type of a value decoded into any.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "true or false"
	case []any:
		return "array"
	}
	return "object"
}
