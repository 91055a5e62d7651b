package console

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/gatekey/gatekey/billing"
	"github.com/gatekey/gatekey/jobs"
	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/tenant"
)

// PageSize is how many rows a list page shows.
const PageSize = 50

// codeRow is a code with its activation link.
type codeRow struct {
	membership.Code
	Link   string
	Status string
	Label  string // the status as lists show it: a deleted code says what deleted it, but for the owner
}

func rowsOf(codes []membership.Code, bots map[int64]tenant.Bot, now time.Time) []codeRow {
	out := make([]codeRow, len(codes))
	for i, c := range codes {
		out[i] = codeRow{Code: c, Link: membership.ActivationLink(bots[c.BotID].Username, c.Code), Status: c.Status(now)}
		out[i].Label = out[i].Status
		switch c.DeletedBy() {
		case membership.DeletedByAutoDelete:
			out[i].Label += " (auto-delete)"
		case membership.DeletedByRollback:
			out[i].Label += " (rolled back)"
		}
	}
	return out
}

type codesData struct {
	Filter    membership.CodeFilter
	Codes     []codeRow
	Plans     []membership.Plan
	Batches   []membership.BatchInfo
	Bots      map[int64]tenant.Bot
	Statuses  []string
	Older     string // URL of the next page, if any
	ExportURL string
	Error     string
	Filtered  bool
}

var codeStatuses = []string{membership.StatusActive, membership.StatusUsedUp, membership.StatusExpired, membership.StatusDeleted}

// codeFilter reads the list's filters from the query string.
func codeFilter(c *fiber.Ctx) membership.CodeFilter {
	f := membership.CodeFilter{Status: c.Query("status"), Search: strings.TrimSpace(c.Query("q"))}
	f.PlanID, _ = strconv.ParseInt(c.Query("plan"), 10, 64)
	f.BatchID, _ = strconv.ParseInt(c.Query("batch"), 10, 64)
	f.BotID, _ = strconv.ParseInt(c.Query("bot"), 10, 64)
	f.BeforeID, _ = strconv.ParseInt(c.Query("before"), 10, 64)
	return f
}

func filterQuery(f membership.CodeFilter) url.Values {
	q := url.Values{}
	set := func(k string, v int64) {
		if v != 0 {
			q.Set(k, strconv.FormatInt(v, 10))
		}
	}
	set("plan", f.PlanID)
	set("batch", f.BatchID)
	set("bot", f.BotID)
	if f.Status != "" {
		q.Set("status", f.Status)
	}
	if f.Search != "" {
		q.Set("q", f.Search)
	}
	return q
}

func (con *Console) codesPage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	f := codeFilter(c)
	d := codesData{Filter: f, Statuses: codeStatuses, Filtered: f.PlanID != 0 || f.BatchID != 0 || f.Status != "" || f.Search != ""}
	err := con.tx(ctx, session(c).TenantID, func(tx pgx.Tx) error {
		var err error
		if d.Bots, _, err = botsAndChats(ctx, tx); err != nil {
			return err
		}
		if d.Plans, err = membership.AllPlans(ctx, tx, true); err != nil {
			return err
		}
		if d.Batches, err = membership.ListBatches(ctx, tx, 100); err != nil {
			return err
		}
		f.Limit = PageSize + 1
		codes, err := membership.ListCodes(ctx, tx, f)
		if err != nil {
			return err
		}
		if len(codes) > PageSize {
			codes = codes[:PageSize]
			q := filterQuery(f)
			q.Set("before", strconv.FormatInt(codes[len(codes)-1].ID, 10))
			d.Older = "/codes?" + q.Encode()
		}
		d.Codes = rowsOf(codes, d.Bots, time.Now())
		return nil
	})
	if msg, ok := formError(err); ok {
		d.Error = msg
		return con.render(c, 422, "codes", "Access codes", d)
	}
	if err != nil {
		return con.fail(c, err)
	}
	f.BeforeID = 0
	d.ExportURL = "/codes/export.csv?" + filterQuery(f).Encode()
	return con.render(c, 200, "codes", "Access codes", d)
}

// codesForm is the form that creates codes, with every option of /newcode.
type codesForm struct {
	PlanID         int64
	Count          string
	MaxActivations string
	Expiry         string // none, 1d, 7d, 30d, custom
	ExpiryDate     string // YYYY-MM-DD, for custom
	Pricing        string // default, zero, priced
	FormKey        string // one per form shown: a double submit makes one batch
	Error          string
	Plans          []membership.Plan
	ZeroDefault    bool
	MaxBatch       int
	// FairUse is said on the form, so that an owner out of free codes
	// learns it before filling it in, not from the refusal.
	FairUse billing.FairUse
}

func (con *Console) newCodesPage(c *fiber.Ctx) error {
	f := codesForm{Count: "1", MaxActivations: "1", Expiry: "none", Pricing: "default", FormKey: newFormKey()}
	f.PlanID, _ = strconv.ParseInt(c.Query("plan"), 10, 64)
	return con.showCodesForm(c, 200, f)
}

func (con *Console) showCodesForm(c *fiber.Ctx, status int, f codesForm) error {
	ctx := c.UserContext()
	err := con.tx(ctx, session(c).TenantID, func(tx pgx.Tx) error {
		var err error
		if f.Plans, err = membership.AllPlans(ctx, tx, false); err != nil {
			return err
		}
		t, err := tenant.Get(ctx, tx)
		if err != nil {
			return err
		}
		f.ZeroDefault = t.Settings.ZeroPriceDefault
		f.FairUse, err = billing.GetFairUse(ctx, tx)
		return err
	})
	if err != nil {
		return con.fail(c, err)
	}
	f.MaxBatch = membership.MaxBatchSize
	return con.render(c, status, "codes_new", "New access codes", f)
}

// codeRequest turns the form (or the API's fields) into a request.
func codeRequest(planID int64, count, maxAct, expiry, expiryDate, pricing string, now time.Time) (membership.CodeRequest, error) {
	req := membership.CodeRequest{PlanID: planID}
	bad := func(msg string) (membership.CodeRequest, error) {
		return req, &membership.ValidationError{Message: msg}
	}
	if planID == 0 {
		return bad("Choose a plan for the codes.")
	}
	var err error
	if req.Count, err = strconv.Atoi(strings.TrimSpace(count)); err != nil {
		return bad(fmt.Sprintf("The number of codes must be a whole number from 1 to %d.", membership.MaxBatchSize))
	}
	if req.MaxActivations, err = strconv.Atoi(strings.TrimSpace(maxAct)); err != nil || req.MaxActivations < 1 {
		return bad("Max activations must be a whole number, at least 1.")
	}
	switch expiry {
	case "", "none":
	case "1d", "7d", "30d":
		days, _ := strconv.Atoi(strings.TrimSuffix(expiry, "d"))
		t := now.Add(time.Duration(days) * 24 * time.Hour)
		req.ExpiresAt = &t
	case "custom":
		d, err := time.Parse("2006-01-02", strings.TrimSpace(expiryDate))
		if err != nil {
			return bad("Pick the date the codes stop working.")
		}
		t := d.Add(24*time.Hour - time.Second) // the end of that day, UTC, shown as that day's 23:59
		req.ExpiresAt = &t
	default:
		return bad("Choose when the codes expire: never, in 1, 7 or 30 days, or on a date.")
	}
	switch pricing {
	case "", "default":
	case "zero", "priced":
		zero := pricing == "zero"
		req.ZeroPriced = &zero
	default:
		return bad("Choose how activations are priced.")
	}
	return req, nil
}

// codesError is the message for a failed code creation, if it is one for
// the owner.
func codesError(err error) (string, bool) {
	var fair *billing.FairUseError
	if errors.As(err, &fair) {
		return fair.Error(), true
	}
	return formError(err)
}

func (con *Console) createCodes(c *fiber.Ctx) error {
	ctx := c.UserContext()
	s := session(c)
	f := codesForm{Count: c.FormValue("count"), MaxActivations: c.FormValue("max_activations"),
		Expiry: c.FormValue("expiry"), ExpiryDate: c.FormValue("expiry_date"), Pricing: c.FormValue("pricing"),
		FormKey: c.FormValue("form_key")}
	f.PlanID, _ = strconv.ParseInt(c.FormValue("plan_id"), 10, 64)
	req, err := codeRequest(f.PlanID, f.Count, f.MaxActivations, f.Expiry, f.ExpiryDate, f.Pricing, time.Now())
	var b membership.Batch
	var bot tenant.Bot
	if err == nil {
		req.CreatedBy = "console: " + s.Email
		req.RequestKey = f.requestKey()
		err = con.tx(ctx, s.TenantID, func(tx pgx.Tx) (err error) {
			if b, err = billing.CreateCodes(ctx, tx, req); err != nil {
				return err
			}
			bot, err = tenant.GetBot(ctx, tx, b.Plan.BotID)
			return err
		})
	}
	if msg, ok := codesError(err); ok {
		f.Error = msg
		return con.showCodesForm(c, 422, f)
	}
	if err != nil {
		return con.fail(c, err)
	}
	if bot.Status == "connected" {
		con.flash(c, "ok", createdText(b))
	} else {
		con.flash(c, "warn", createdText(b)+" But "+disconnectedText(bot, len(b.Codes)))
	}
	if len(b.Codes) == 1 { // shown on its page, with its activation link: no file to download
		return redirect(c, fmt.Sprintf("/codes/%d", b.Codes[0].ID))
	}
	return redirect(c, fmt.Sprintf("/codes/batches/%d?new=1", b.ID))
}

// createdText is what the console says after creating codes.
func createdText(b membership.Batch) string {
	switch {
	case b.Repeated:
		return fmt.Sprintf("This form was sent twice; it made one batch: %s for %s.", membership.Plural(len(b.Codes), "code", "codes"), b.Plan.Name)
	case len(b.Codes) == 1:
		return fmt.Sprintf("Code %s created for %s.", membership.FormatCode(b.Codes[0].Code), b.Plan.Name)
	}
	return fmt.Sprintf("%s created for %s. The CSV file is downloading.", membership.Plural(len(b.Codes), "code", "codes"), b.Plan.Name)
}

// disconnectedText warns that codes were made for a bot that answers
// nobody: they work again once it is reconnected.
func disconnectedText(bot tenant.Bot, codes int) string {
	them := "them"
	if codes == 1 {
		them = "it"
	}
	return fmt.Sprintf("@%s is disconnected: nobody can activate %s until you reconnect it on the console's Bots page.", bot.Username, them)
}

// requestKey names what the form asked for (see requestKey).
func (f codesForm) requestKey() string {
	return requestKey(f.FormKey, f.PlanID, f.Count, f.MaxActivations, f.Expiry, f.ExpiryDate, f.Pricing)
}

type batchData struct {
	Batch membership.BatchInfo
	Bot   tenant.Bot
	Codes []codeRow
	CSV   string
	// CanRollBack: some code is not rolled back yet, and is live or was
	// activated. RolledBack: every code is.
	CanRollBack, RolledBack bool
}

func (con *Console) batchPage(c *fiber.Ctx) error {
	id, ok := idParam(c, "id")
	if !ok {
		return con.notFound(c)
	}
	ctx := c.UserContext()
	var d batchData
	err := con.tx(ctx, session(c).TenantID, func(tx pgx.Tx) error {
		var err error
		if d.Batch, err = membership.GetBatch(ctx, tx, id); err != nil {
			return err
		}
		if d.Bot, err = tenant.GetBot(ctx, tx, d.Batch.BotID); err != nil {
			return err
		}
		codes, err := membership.ListCodes(ctx, tx, membership.CodeFilter{BatchID: id})
		if err != nil {
			return err
		}
		d.Codes = rowsOf(codes, map[int64]tenant.Bot{d.Bot.ID: d.Bot}, time.Now())
		left, err := membership.BatchRollbackPreview(ctx, tx, id)
		live := slices.ContainsFunc(codes, func(c membership.Code) bool { return c.DeletedAt == nil })
		d.CanRollBack, d.RolledBack = left.Codes > 0 && (left.Activations > 0 || live), left.Codes == 0
		return err
	})
	if err != nil {
		return con.fail(c, err)
	}
	d.CSV = fmt.Sprintf("/codes/batches/%d/csv", id)
	if c.Query("new") == "1" {
		// Just created: the CSV downloads at once, without script.
		c.Locals("head", template.HTML(`<meta http-equiv="refresh" content="0;url=`+d.CSV+`">`))
	}
	return con.render(c, 200, "batch", fmt.Sprintf("Batch %d", id), d)
}

func (con *Console) batchCSV(c *fiber.Ctx) error {
	id, ok := idParam(c, "id")
	if !ok {
		return con.notFound(c)
	}
	ctx := c.UserContext()
	s := session(c)
	var bot tenant.Bot
	err := con.tx(ctx, s.TenantID, func(tx pgx.Tx) error {
		b, err := membership.GetBatch(ctx, tx, id)
		if err != nil {
			return err
		}
		bot, err = tenant.GetBot(ctx, tx, b.BotID)
		return err
	})
	if err != nil {
		return con.fail(c, err)
	}
	con.streamCSV(c, s.TenantID, fmt.Sprintf("codes-batch-%d.csv", id), bot.Username, membership.CodeFilter{BatchID: id})
	return nil
}

func (con *Console) exportCodes(c *fiber.Ctx) error {
	ctx := c.UserContext()
	s := session(c)
	f := codeFilter(c)
	f.BeforeID = 0
	var bot tenant.Bot
	err := con.tx(ctx, s.TenantID, func(tx pgx.Tx) (err error) {
		bot, err = exportBot(ctx, tx, &f)
		return err
	})
	if msg, ok := formError(err); ok {
		return con.errorPage(c, 422, msg)
	}
	if err != nil {
		return con.fail(c, err)
	}
	con.streamCSV(c, s.TenantID, "codes.csv", bot.Username, f)
	return nil
}

// exportBot finds the one bot whose codes an export covers (the links
// name it), and checks the filter before any row is sent.
func exportBot(ctx context.Context, tx pgx.Tx, f *membership.CodeFilter) (tenant.Bot, error) {
	if !validStatus(f.Status) {
		return tenant.Bot{}, &membership.ValidationError{Message: fmt.Sprintf("Unknown status %q: use active, used up, expired or deleted.", f.Status)}
	}
	switch {
	case f.BatchID != 0:
		b, err := membership.GetBatch(ctx, tx, f.BatchID)
		if err != nil {
			return tenant.Bot{}, err
		}
		f.BotID = b.BotID
	case f.PlanID != 0:
		p, err := membership.GetPlan(ctx, tx, f.PlanID)
		if err != nil {
			return tenant.Bot{}, err
		}
		f.BotID = p.BotID
	case f.BotID == 0:
		bots, err := tenant.ListBots(ctx, tx)
		if err != nil {
			return tenant.Bot{}, err
		}
		if len(bots) != 1 {
			return tenant.Bot{}, &membership.ValidationError{Message: "Choose a bot, plan or batch to export: each file holds one bot's codes."}
		}
		f.BotID = bots[0].ID
	}
	return tenant.GetBot(ctx, tx, f.BotID)
}

func validStatus(s string) bool {
	return s == "" || s == membership.StatusActive || s == membership.StatusUsedUp || s == membership.StatusExpired || s == membership.StatusDeleted
}

// CSVTimeout bounds one streamed export.
const CSVTimeout = 10 * time.Minute

// streamCSV answers with the codes f picks as a CSV file, written row by
// row as the database returns them: an export of any size holds one row
// in memory, not the file.
func (con *Console) streamCSV(c *fiber.Ctx, tenantID int64, filename, botUsername string, f membership.CodeFilter) {
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+filename+`"`)
	c.Set("Cache-Control", "no-store")
	log := con.cfg.Log
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		ctx, cancel := context.WithTimeout(context.Background(), CSVTimeout)
		defer cancel()
		err := con.tx(ctx, tenantID, func(tx pgx.Tx) error {
			return membership.WriteCodesCSV(ctx, tx, w, botUsername, f)
		})
		if err == nil {
			err = w.Flush()
		}
		if err != nil {
			log.Warn("console: CSV export stopped", "tenant", tenantID, "err", err)
		}
	})
}

type codeData struct {
	Code        codeRow
	Bot         tenant.Bot
	Activations []membership.CodeActivation
	Rollback    *membership.Rollback
	// BatchRollback: the code's rollback was its batch's, not its own.
	BatchRollback bool
	More          bool
}

// MaxActivationsShown bounds the activations listed on a code's page.
const MaxActivationsShown = 200

func (con *Console) loadCode(ctx context.Context, tenantID, id int64) (codeData, error) {
	var d codeData
	err := con.tx(ctx, tenantID, func(tx pgx.Tx) error {
		code, err := membership.GetCode(ctx, tx, id)
		if err != nil {
			return err
		}
		if d.Bot, err = tenant.GetBot(ctx, tx, code.BotID); err != nil {
			return err
		}
		d.Code = rowsOf([]membership.Code{code}, map[int64]tenant.Bot{d.Bot.ID: d.Bot}, time.Now())[0]
		if d.Activations, err = membership.ListCodeActivations(ctx, tx, id, MaxActivationsShown+1); err != nil {
			return err
		}
		if len(d.Activations) > MaxActivationsShown {
			d.Activations, d.More = d.Activations[:MaxActivationsShown], true
		}
		r, err := membership.RollbackOfCode(ctx, tx, id)
		if errors.Is(err, membership.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		d.Rollback = &r
		d.BatchRollback, err = membership.RolledBackWithBatch(ctx, tx, r)
		return err
	})
	return d, err
}

func (con *Console) codePage(c *fiber.Ctx) error {
	id, ok := idParam(c, "id")
	if !ok {
		return con.notFound(c)
	}
	d, err := con.loadCode(c.UserContext(), session(c).TenantID, id)
	if err != nil {
		return con.fail(c, err)
	}
	if d.Rollback != nil && d.Rollback.Status == "running" {
		// Without script, the page refreshes itself while the rollback runs.
		c.Locals("head", template.HTML(`<noscript><meta http-equiv="refresh" content="2"></noscript>`))
	}
	return con.render(c, 200, "code", "Code "+membership.FormatCode(d.Code.Code.Code), d)
}

func (con *Console) deleteCode(c *fiber.Ctx) error {
	id, ok := idParam(c, "id")
	if !ok {
		return con.notFound(c)
	}
	ctx := c.UserContext()
	var code membership.Code
	var rolledBack bool // a rollback deleted it, and took back what it gave
	err := con.tx(ctx, session(c).TenantID, func(tx pgx.Tx) (err error) {
		if code, err = membership.DeleteCode(ctx, tx, id); err != nil {
			return err
		}
		_, err = membership.RollbackOfCode(ctx, tx, id)
		rolledBack = err == nil
		if errors.Is(err, membership.ErrNotFound) {
			err = nil
		}
		return err
	})
	if err != nil {
		return con.fail(c, err)
	}
	msg := "Code " + membership.FormatCode(code.Code) + " is deleted: it cannot be activated any more. Members it already let in keep their access."
	if rolledBack {
		msg = "Code " + membership.FormatCode(code.Code) + " was rolled back, which deleted it: it cannot be activated, and the access it gave has been taken back."
	}
	con.flash(c, "ok", msg)
	return redirect(c, fmt.Sprintf("/codes/%d", id))
}

func (con *Console) rollbackPage(c *fiber.Ctx) error {
	id, ok := idParam(c, "id")
	if !ok {
		return con.notFound(c)
	}
	d, err := con.loadCode(c.UserContext(), session(c).TenantID, id)
	if err != nil {
		return con.fail(c, err)
	}
	if d.Rollback != nil {
		return redirect(c, fmt.Sprintf("/codes/%d", id))
	}
	return con.render(c, 200, "rollback", "Roll back code "+membership.FormatCode(d.Code.Code.Code), d)
}

// batchRollbackData is the confirmation of a batch's rollback.
type batchRollbackData struct {
	Batch membership.BatchInfo
	membership.RollbackPreview
}

func (con *Console) batchRollbackPage(c *fiber.Ctx) error {
	id, ok := idParam(c, "id")
	if !ok {
		return con.notFound(c)
	}
	ctx := c.UserContext()
	var d batchRollbackData
	err := con.tx(ctx, session(c).TenantID, func(tx pgx.Tx) (err error) {
		if d.Batch, err = membership.GetBatch(ctx, tx, id); err != nil {
			return err
		}
		d.RollbackPreview, err = membership.BatchRollbackPreview(ctx, tx, id)
		return err
	})
	if err != nil {
		return con.fail(c, err)
	}
	if d.Codes == 0 {
		con.flash(c, "ok", "Every code of this batch has been rolled back already.")
		return redirect(c, fmt.Sprintf("/codes/batches/%d", id))
	}
	return con.render(c, 200, "rollback_batch", fmt.Sprintf("Roll back batch %d", id), d)
}

// rollbackBatch starts the rollback of every code of a batch not rolled
// back yet, with their jobs, in one transaction.
func (con *Console) rollbackBatch(c *fiber.Ctx) error {
	id, ok := idParam(c, "id")
	if !ok {
		return con.notFound(c)
	}
	s := session(c)
	b, err := con.startBatchRollback(c.UserContext(), s.TenantID, id, "console: "+s.Email)
	switch {
	case errors.Is(err, membership.ErrNothingToRollBack):
		con.flash(c, "ok", "Every code of this batch has been rolled back already.")
	case err != nil:
		return con.fail(c, err)
	case len(b.Running) == 0:
		con.flash(c, "ok", fmt.Sprintf("%s rolled back: nobody had activated them, so they are simply deleted.", membership.Plural(b.Codes, "code", "codes")))
	default:
		con.flash(c, "ok", fmt.Sprintf("The rollback of %s has started: they are deleted, and %s being undone in the background. "+
			"The dashboard and your notifications in Telegram say when it has finished.",
			membership.Plural(b.Codes, "code", "codes"), membership.Plural(len(b.Running), "code's activations are", "codes' activations are")))
	}
	return redirect(c, fmt.Sprintf("/codes/batches/%d", id))
}

// startBatchRollback starts the rollback of a batch's codes and queues
// their jobs, in one transaction, for the console and the API alike.
func (con *Console) startBatchRollback(ctx context.Context, tenantID, batchID int64, by string) (membership.BatchRollback, error) {
	var b membership.BatchRollback
	err := con.tx(ctx, tenantID, func(tx pgx.Tx) (err error) {
		if b, err = membership.StartBatchRollback(ctx, tx, batchID, by); err != nil {
			return err
		}
		return jobs.Insert(ctx, con.cfg.River, tx, jobs.RollbackBatch(tenantID, b))
	})
	return b, err
}

// startRollback deletes the code and queues its rollback, in one
// transaction, for the console and the API alike.
func (con *Console) startRollback(ctx context.Context, tenantID, codeID int64, by string) (membership.Rollback, error) {
	var r membership.Rollback
	err := con.tx(ctx, tenantID, func(tx pgx.Tx) error {
		code, err := membership.GetCode(ctx, tx, codeID)
		if err != nil {
			return err
		}
		if r, err = membership.StartRollback(ctx, tx, codeID, by); err != nil {
			return err
		}
		return jobs.Insert(ctx, con.cfg.River, tx, []river.InsertManyParams{jobs.RollbackCode(tenantID, code.BotID, r.ID)})
	})
	return r, err
}

func (con *Console) rollback(c *fiber.Ctx) error {
	id, ok := idParam(c, "id")
	if !ok {
		return con.notFound(c)
	}
	s := session(c)
	_, err := con.startRollback(c.UserContext(), s.TenantID, id, "console: "+s.Email)
	switch {
	case errors.Is(err, membership.ErrRollbackStarted):
		con.flash(c, "ok", "This code has been rolled back already: this page shows how far.")
	case err != nil:
		return con.fail(c, err)
	default:
		con.flash(c, "ok", "The rollback has started. This page shows its progress.")
	}
	return redirect(c, fmt.Sprintf("/codes/%d", id))
}

// rollbackJSON is a rollback's progress, for the page's script and the API.
type rollbackJSON struct {
	ID         int64      `json:"id"`
	CodeID     int64      `json:"code_id"`
	Status     string     `json:"status"`
	Total      int        `json:"total"`
	Undone     int        `json:"undone"`
	Removed    int        `json:"removed"`
	Shortened  int        `json:"shortened"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
}

func rollbackOut(r membership.Rollback) rollbackJSON {
	return rollbackJSON{ID: r.ID, CodeID: r.CodeID, Status: r.Status, Total: r.Total, Undone: r.Undone,
		Removed: r.Removed, Shortened: r.Shortened, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt}
}

func (con *Console) rollbackProgress(c *fiber.Ctx) error {
	id, ok := idParam(c, "id")
	if !ok {
		return c.SendStatus(404)
	}
	ctx := c.UserContext()
	var r membership.Rollback
	err := con.tx(ctx, session(c).TenantID, func(tx pgx.Tx) (err error) {
		r, err = membership.RollbackOfCode(ctx, tx, id)
		return err
	})
	if isNotFound(err) {
		return c.SendStatus(404)
	}
	if err != nil {
		return con.fail(c, err)
	}
	c.Set("Cache-Control", "no-store")
	return c.JSON(rollbackOut(r))
}
