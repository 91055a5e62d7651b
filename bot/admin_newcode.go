package bot

import (
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatekey/gatekey/billing"
	"github.com/gatekey/gatekey/jobs"
	"github.com/gatekey/gatekey/membership"
)

// /newcode walks the admin through a code, one question a screen: the
// plan, how many activations each code allows, when the codes expire, how
// many codes, and (when the tenant prices codes by default) whether these
// are priced; then a summary to confirm. What is chosen so far lives in
// the conversation state in PostgreSQL, so the flow outlives a restart,
// and lapses with the conversation's TTL.
//
// Each draft has a nonce that its buttons carry: a button from an older
// draft, or from a step already answered, cannot change this one.

// codeDraft is what the admin has chosen so far.
type codeDraft struct {
	Nonce     string     `json:"nonce"`
	PlanID    int64      `json:"plan_id,omitempty"`
	Max       int        `json:"max,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	Count     int        `json:"count,omitempty"`
	Zero      *bool      `json:"zero,omitempty"` // nil: the tenant's default
}

// Steps of the flow; the typed ones wait for a message instead of a tap.
const (
	stepPlan        = "p"
	stepMax         = "m"
	stepMaxTyped    = "mt"
	stepExpiry      = "e"
	stepExpiryTyped = "et"
	stepCount       = "k"
	stepCountTyped  = "kt"
	stepPrice       = "z"
	stepConfirm     = "c"
	stepCancel      = "x" // the Cancel button, valid at every step
)

// presets are the values each step's buttons offer; "t" asks to type one.
var presets = map[string][]string{
	stepMax:     {"1", "10", "100", "t"},
	stepExpiry:  {"0", "1", "7", "30", "t"},
	stepCount:   {"1", "10", "50", "100", "500", "t"},
	stepPrice:   {"0", "1"},
	stepConfirm: {"ok", "price"},
}

// noticeDraftClosed answers a tap on a button of a draft that is over.
var noticeDraftClosed = fmt.Sprintf("This code draft is closed: it was finished, cancelled, replaced by a newer one, "+
	"or left for more than %d minutes. Send /newcode to start again.", int(conversationTTL.Minutes()))

// maxExpiryAhead bounds a typed expiry date.
const maxExpiryAhead = 10 * 365 * 24 * time.Hour

func newNonce() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return strconv.FormatUint(uint64(b[0])<<24|uint64(b[1])<<16|uint64(b[2])<<8|uint64(b[3]), 36)
}

// startNewCode opens a fresh draft at the plan step.
func (t *turn) startNewCode(p *press) error {
	plans, err := membership.ListPlans(t.ctx, t.tx, t.bot.ID)
	if err != nil {
		return err
	}
	if len(plans) == 0 {
		t.show(p, screen{text: "You have no plans yet. A code opens a plan's channels and groups, " +
			"so create a plan in your Gatekey console first.", buttons: [][]jobs.Button{backToMenu()}})
		return clearConversation(t.ctx, t.tx, t.bot.ID, p.userID)
	}
	// Said first, so that an admin out of free codes does not learn it
	// only from the refusal at the last step.
	fair, err := billing.GetFairUse(t.ctx, t.tx)
	if err != nil {
		return err
	}
	note := ""
	if fair.Limited && fair.Remaining() == 0 {
		note = "Your free-code allowance is used up for now: new free codes (zero-priced, or of a plan priced 0) would be refused. " +
			"Priced codes are not limited; Fair use in the menu says more."
	}
	d := codeDraft{Nonce: newNonce()}
	return t.saveDraft(p, d, stepPlan, note)
}

// saveDraft keeps the draft at step and shows that step's screen, with
// note (a problem with what was typed, say) above it.
func (t *turn) saveDraft(p *press, d codeDraft, step, note string) error {
	conv := conversation{Flow: flowNewCode, Step: step}
	if err := conv.put(d); err != nil {
		return err
	}
	if err := saveConversation(t.ctx, t.tx, t.bot.ID, p.userID, conv); err != nil {
		return err
	}
	s, err := t.draftScreen(d, step)
	if err != nil {
		return err
	}
	if note != "" {
		s.text = note + "\n\n" + s.text
	}
	t.show(p, s)
	return nil
}

// draftButton is a button answering one step of draft d.
func draftButton(d codeDraft, text, step, value string) jobs.Button {
	data := adminPrefix + "nc:" + d.Nonce + ":" + step
	if value != "" {
		data += ":" + value
	}
	return jobs.Button{Text: text, Data: data}
}

func (t *turn) draftScreen(d codeDraft, step string) (screen, error) {
	cancel := []jobs.Button{draftButton(d, "Cancel", stepCancel, "")}
	switch step {
	case stepPlan:
		plans, err := membership.ListPlans(t.ctx, t.tx, t.bot.ID)
		if err != nil {
			return screen{}, err
		}
		s := screen{text: "New access code.\n\nWhich plan should it open? The code gives that plan's channels and groups, for the plan's period."}
		for i, pl := range plans {
			if i == 40 { // a keyboard this long is unreadable anyway
				break
			}
			s.buttons = append(s.buttons, []jobs.Button{draftButton(d, fmt.Sprintf("%s · %s · %s", pl.Name, pl.PeriodText(), pl.Price), stepPlan, strconv.FormatInt(pl.ID, 10))})
		}
		s.buttons = append(s.buttons, cancel)
		return s, nil
	case stepMax:
		return screen{text: "How many times may each code be activated?\n\n" +
			"1 is single use: the code stops working once someone activates it. " +
			"More suits promotions (\"the first 10 people\"); each person can activate a code only once.",
			buttons: [][]jobs.Button{
				{draftButton(d, "1", stepMax, "1"), draftButton(d, "10", stepMax, "10"), draftButton(d, "100", stepMax, "100")},
				{draftButton(d, "Type a number", stepMax, "t")}, cancel,
			}}, nil
	case stepMaxTyped:
		return screen{text: fmt.Sprintf("Send the number of activations each code allows, from 1 to %s.", membership.Thousands(membership.MaxActivationsCap)),
			buttons: [][]jobs.Button{cancel}}, nil
	case stepExpiry:
		return screen{text: "Should the code stop working on a date, if it has not been used by then?",
			buttons: [][]jobs.Button{
				{draftButton(d, "No expiry", stepExpiry, "0")},
				{draftButton(d, "In 1 day", stepExpiry, "1"), draftButton(d, "In 7 days", stepExpiry, "7"), draftButton(d, "In 30 days", stepExpiry, "30")},
				{draftButton(d, "Type a date", stepExpiry, "t")}, cancel,
			}}, nil
	case stepExpiryTyped:
		return screen{text: "Send the last day the code works, as YYYY-MM-DD (for example " +
			time.Now().UTC().AddDate(0, 1, 0).Format(time.DateOnly) + "). It stops working at the end of that day, UTC.",
			buttons: [][]jobs.Button{cancel}}, nil
	case stepCount:
		return screen{text: fmt.Sprintf("Just one code, or several? Several come as a CSV file, up to %d at a time.", membership.MaxBatchSize),
			buttons: [][]jobs.Button{
				{draftButton(d, "Just one", stepCount, "1")},
				{draftButton(d, "10", stepCount, "10"), draftButton(d, "50", stepCount, "50"), draftButton(d, "100", stepCount, "100"), draftButton(d, "500", stepCount, "500")},
				{draftButton(d, "Type a number", stepCount, "t")}, cancel,
			}}, nil
	case stepCountTyped:
		return screen{text: fmt.Sprintf("Send how many codes to make, from 1 to %d.", membership.MaxBatchSize),
			buttons: [][]jobs.Button{cancel}}, nil
	case stepPrice:
		plan, err := membership.GetPlan(t.ctx, t.tx, d.PlanID)
		if err != nil {
			return screen{}, err
		}
		these := "these codes"
		if d.Count == 1 {
			these = "this code"
		}
		return screen{text: fmt.Sprintf("Your codes are priced by default: an activation records an order at the plan's price (%s), "+
			"which counts in analytics and commissions.\n\nShould %s be priced, or zero-priced (orders of 0, which analytics and commissions leave out)?", plan.Price, these),
			buttons: [][]jobs.Button{{draftButton(d, "Priced", stepPrice, "0"), draftButton(d, "Zero-priced", stepPrice, "1")}, cancel}}, nil
	case stepConfirm:
		return t.confirmScreen(d)
	}
	return screen{}, fmt.Errorf("bot: unknown new-code step %q", step)
}

// freePlan says whether the draft's plan costs nothing.
func (t *turn) freePlan(d codeDraft) (bool, error) {
	plan, err := membership.GetPlan(t.ctx, t.tx, d.PlanID)
	if err != nil {
		return false, err
	}
	return plan.Price.Minor == 0, nil
}

// zeroPriced says whether the draft's codes would be zero-priced.
func (t *turn) zeroPriced(d codeDraft) (bool, error) {
	return membership.ResolveZeroPriced(t.ctx, t.tx, d.Zero)
}

func (t *turn) confirmScreen(d codeDraft) (screen, error) {
	plan, err := membership.GetPlan(t.ctx, t.tx, d.PlanID)
	if err != nil {
		return screen{}, err
	}
	zero, err := t.zeroPriced(d)
	if err != nil {
		return screen{}, err
	}
	var b strings.Builder
	b.WriteString("Please check, then create:\n\n")
	fmt.Fprintf(&b, "Plan: %s (%s)\n", plan.Name, plan.PeriodText())
	activations := usesText(d.Max)
	if d.Max > 1 && d.Count > 1 {
		activations += " per code"
	}
	fmt.Fprintf(&b, "Activations: %s\n", activations)
	fmt.Fprintf(&b, "Expiry: %s\n", expiryText(d.ExpiresAt))
	fmt.Fprintf(&b, "How many: %s\n", membership.Plural(d.Count, "code", "codes"))
	switch {
	case plan.Price.Minor == 0:
		b.WriteString("Orders: the plan is free (an activation records an order of 0)")
	case zero:
		b.WriteString("Orders: zero-priced (an activation records an order of 0)")
	default:
		fmt.Fprintf(&b, "Orders: priced (an activation records an order of %s)", plan.Price)
	}
	create := "Create the code"
	if d.Count > 1 {
		create = fmt.Sprintf("Create %d codes", d.Count)
	}
	them := "them"
	if d.Count == 1 {
		them = "it"
	}
	toggle := "Advanced: make " + them + " priced"
	if !zero {
		toggle = "Advanced: make " + them + " zero-priced"
	}
	s := screen{text: b.String(), buttons: [][]jobs.Button{{draftButton(d, create, stepConfirm, "ok")}}}
	if plan.Price.Minor != 0 { // priced or not, a free plan's orders are of 0
		s.buttons = append(s.buttons, []jobs.Button{draftButton(d, toggle, stepConfirm, "price")})
	}
	s.buttons = append(s.buttons, []jobs.Button{draftButton(d, "Cancel", stepCancel, "")})
	return s, nil
}

// newCodePress handles a tap in the flow: args are the draft's nonce, the
// step the button answers, and its value.
func (t *turn) newCodePress(p *press, args []string) error {
	if len(args) < 2 || len(args) > 3 {
		p.notice = noticeStale
		return nil
	}
	conv, err := loadConversation(t.ctx, t.tx, t.bot.ID, p.userID)
	if err != nil {
		return err
	}
	var d codeDraft
	if conv.Flow == flowNewCode {
		if err := conv.get(&d); err != nil {
			return err
		}
	}
	if conv.Flow != flowNewCode || d.Nonce != args[0] {
		// Said in the toast alone: the tapped message may already show
		// what closed the draft (the code a first tap on Create made),
		// which must stay in view.
		p.notice = noticeDraftClosed
		return nil
	}
	step, value := args[1], ""
	if len(args) == 3 {
		value = args[2]
	}
	if step == stepCancel {
		if err := clearConversation(t.ctx, t.tx, t.bot.ID, p.userID); err != nil {
			return err
		}
		p.notice = "Cancelled."
		t.show(p, screen{text: "Cancelled: no code was created.", buttons: [][]jobs.Button{backToMenu()}})
		return nil
	}
	if step != conv.Step {
		p.notice = "That step is answered already: please use the latest message."
		return nil
	}
	if step != stepPlan && !slices.Contains(presets[step], value) {
		p.notice = noticeStale
		return nil
	}
	return t.answerStep(p, d, step, value)
}

// answerStep applies a tapped answer and moves the draft on.
func (t *turn) answerStep(p *press, d codeDraft, step, value string) error {
	switch step {
	case stepPlan:
		id, ok := parseID(value)
		if !ok {
			p.notice = noticeStale
			return nil
		}
		plan, err := membership.GetPlan(t.ctx, t.tx, id)
		if errors.Is(err, membership.ErrNotFound) || (err == nil && (plan.BotID != t.bot.ID || plan.Archived)) {
			p.notice = "That plan is not available any more."
			return t.saveDraft(p, d, stepPlan, "")
		}
		if err != nil {
			return err
		}
		d.PlanID = plan.ID
		if d.Count > 0 { // a plan chosen again for a finished draft: back to its summary
			return t.afterCount(p, d)
		}
		return t.saveDraft(p, d, stepMax, "")
	case stepMax:
		if value == "t" {
			return t.saveDraft(p, d, stepMaxTyped, "")
		}
		d.Max, _ = strconv.Atoi(value)
		return t.saveDraft(p, d, stepExpiry, "")
	case stepExpiry:
		if value == "t" {
			return t.saveDraft(p, d, stepExpiryTyped, "")
		}
		d.ExpiresAt = nil
		if days, _ := strconv.Atoi(value); days > 0 {
			at := time.Now().UTC().Add(time.Duration(days) * 24 * time.Hour).Truncate(time.Minute)
			d.ExpiresAt = &at
		}
		return t.saveDraft(p, d, stepCount, "")
	case stepCount:
		if value == "t" {
			return t.saveDraft(p, d, stepCountTyped, "")
		}
		d.Count, _ = strconv.Atoi(value)
		return t.afterCount(p, d)
	case stepPrice:
		zero := value == "1"
		d.Zero = &zero
		return t.saveDraft(p, d, stepConfirm, "")
	case stepConfirm:
		if value == "price" {
			zero, err := t.zeroPriced(d)
			if err != nil {
				return err
			}
			zero = !zero
			d.Zero = &zero
			return t.saveDraft(p, d, stepConfirm, "")
		}
		return t.createCodes(p, d)
	}
	p.notice = noticeStale
	return nil
}

// afterCount asks about pricing only when the tenant prices codes by
// default and the plan has a price; otherwise zero-priced stands, and the
// summary offers the other as an advanced choice (for a priced plan).
func (t *turn) afterCount(p *press, d codeDraft) error {
	zero, err := t.zeroPriced(d)
	if err != nil {
		return err
	}
	free, err := t.freePlan(d)
	if err != nil {
		return err
	}
	if !zero && d.Zero == nil && !free { // a free plan's orders are of 0 either way: nothing to ask
		return t.saveDraft(p, d, stepPrice, "")
	}
	return t.saveDraft(p, d, stepConfirm, "")
}

// newCodeTyped takes what the admin typed at a step that waits for it, or
// re-asks with what was wrong.
func (t *turn) newCodeTyped(p *press, conv conversation, text string) error {
	var d codeDraft
	if err := conv.get(&d); err != nil {
		return err
	}
	switch conv.Step {
	case stepMaxTyped:
		n, problem := parseTypedNumber(text, 1, membership.MaxActivationsCap, "activations per code")
		if problem != "" {
			return t.saveDraft(p, d, conv.Step, problem)
		}
		d.Max = n
		return t.saveDraft(p, d, stepExpiry, "")
	case stepExpiryTyped:
		at, problem := parseTypedDate(text, time.Now())
		if problem != "" {
			return t.saveDraft(p, d, conv.Step, problem)
		}
		d.ExpiresAt = &at
		return t.saveDraft(p, d, stepCount, "")
	case stepCountTyped:
		n, problem := parseTypedNumber(text, 1, membership.MaxBatchSize, "codes")
		if problem != "" {
			return t.saveDraft(p, d, conv.Step, problem)
		}
		d.Count = n
		return t.afterCount(p, d)
	}
	return t.saveDraft(p, d, conv.Step, "Please answer with the buttons below, or send /cancel to stop.")
}

// createCodes creates the draft's codes through billing, which holds free
// codes to the fair-use limit, and hands them over: one code as a message
// to forward, several as a CSV file.
func (t *turn) createCodes(p *press, d codeDraft) error {
	if gone, err := t.planGone(p, d); gone || err != nil {
		return err
	}
	b, err := billing.CreateCodes(t.ctx, t.tx, membership.CodeRequest{
		PlanID: d.PlanID, Count: d.Count, MaxActivations: d.Max, ExpiresAt: d.ExpiresAt, ZeroPriced: d.Zero,
		CreatedBy: "bot: " + who(p),
	})
	var fair *billing.FairUseError
	var bad *membership.ValidationError
	if errors.As(err, &fair) || errors.As(err, &bad) {
		p.notice = "Not created."
		return t.saveDraft(p, d, stepConfirm, err.Error())
	}
	if err != nil {
		return err
	}
	if err := clearConversation(t.ctx, t.tx, t.bot.ID, p.userID); err != nil {
		return err
	}
	again := [][]jobs.Button{{{Text: "New code", Data: adminPrefix + "ncs"}, {Text: "Access codes", Data: adminPrefix + "cl:0"}}, backToMenu()}
	if len(b.Codes) == 1 {
		c := b.Codes[0]
		p.notice = "Code created."
		t.show(p, screen{text: fmt.Sprintf("Done: a code for %s, %s, %s. Forward the next message to the person it is for.",
			b.Plan.Name, usesText(c.MaxActivations), expiryPhrase(c.ExpiresAt)), buttons: again})
		t.send(p.userID, forwardable(t.bot.Username, b.Plan, c))
		return nil
	}
	p.notice = "Codes created."
	zero := "zero-priced"
	if !b.Codes[0].ZeroPriced {
		zero = "priced"
	}
	t.show(p, screen{text: fmt.Sprintf("Done: %d codes for %s. The CSV file is on its way.", len(b.Codes), b.Plan.Name), buttons: again})
	t.queue(jobs.SendCodesCSV(jobs.SendCodesCSVArgs{
		TenantID: t.bot.TenantID, BotID: t.bot.ID, ChatID: p.userID, BatchID: b.ID,
		Caption: fmt.Sprintf("%d access codes for %s: %s, %s, %s.\n\n"+
			"Each row has a code and its activation link: whoever opens the link and presses Start gets the plan. "+
			"The file opens in any spreadsheet.", len(b.Codes), b.Plan.Name, eachUsesText(d.Max), expiryPhrase(d.ExpiresAt), zero),
		Buttons: [][]jobs.Button{{{Text: "See this batch", Data: fmt.Sprintf("%sb:%d:0", adminPrefix, b.ID)}}},
	}))
	return nil
}

// planGone reports whether the draft's plan was archived (or removed)
// since the admin chose it. Then the draft goes back to the plan step,
// keeping its other answers, so that the admin can pick another plan
// rather than tap a Create that can only fail again.
func (t *turn) planGone(p *press, d codeDraft) (bool, error) {
	plan, err := membership.GetPlan(t.ctx, t.tx, d.PlanID)
	if err == nil && plan.BotID == t.bot.ID && !plan.Archived {
		return false, nil
	}
	if err != nil && !errors.Is(err, membership.ErrNotFound) {
		return false, err
	}
	note := "The plan you chose is no longer available, so no code was created."
	if err == nil && plan.BotID == t.bot.ID {
		note = fmt.Sprintf("The plan \"%s\" was archived after you chose it, and codes can only be made for a current plan, so no code was created.", plan.Name)
	}
	plans, err := membership.ListPlans(t.ctx, t.tx, t.bot.ID)
	if err != nil {
		return false, err
	}
	if len(plans) == 0 {
		note += " You have no other current plan: create one in your Gatekey console, or tap Cancel."
	} else {
		note += " Pick another plan below, or tap Cancel."
	}
	p.notice = "Not created."
	return true, t.saveDraft(p, d, stepPlan, note)
}

// forwardable is the message an owner forwards to the person a code is
// for, so it speaks to them.
func forwardable(botUsername string, plan membership.Plan, c membership.Code) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Here is your access code for %s (%s):\n\n%s\n\n", plan.Name, plan.PeriodText(), membership.FormatCode(c.Code))
	fmt.Fprintf(&b, "To activate it, open this link and press Start:\n%s", membership.ActivationLink(botUsername, c.Code))
	if c.ExpiresAt != nil {
		fmt.Fprintf(&b, "\n\nThe code works until %s.", membership.FormatDate(*c.ExpiresAt))
	}
	return b.String()
}

// parseTypedNumber reads a whole number someone typed, allowing one kind
// of separator (space, comma, apostrophe, underscore) between groups of
// thousands, as in 1,000 or 25 000; elsewhere ("1,5") it is refused, not
// dropped. problem says what is wrong, for people, or is empty.
func parseTypedNumber(text string, lo, hi int, what string) (n int, problem string) {
	s, ok := ungroup(strings.TrimSpace(text))
	n, err := strconv.Atoi(s)
	switch {
	case strings.TrimSpace(text) == "": // a sticker, a photo with no caption
		return 0, fmt.Sprintf("Please type the number as text: from %s to %s, such as %d.", membership.Thousands(lo), membership.Thousands(hi), min(hi, 25))
	case !ok || s == "" || strings.TrimLeft(strings.TrimPrefix(s, "-"), "0123456789") != "" || (err != nil && !errors.Is(err, strconv.ErrRange)):
		return 0, fmt.Sprintf("%q is not a whole number. Please send a number from %s to %s, such as %d.", clip(text), membership.Thousands(lo), membership.Thousands(hi), min(hi, 25))
	case err != nil || n < lo || n > hi:
		return 0, fmt.Sprintf("The number of %s must be from %s to %s. Please send a number in that range.", what, membership.Thousands(lo), membership.Thousands(hi))
	}
	return n, ""
}

// ungroup takes the thousands separators out of a typed number; ok is
// false when a separator is not between groups of three digits.
func ungroup(s string) (string, bool) {
	sign, digits := "", s
	if rest, found := strings.CutPrefix(s, "-"); found {
		sign, digits = "-", rest
	}
	sep := strings.IndexFunc(digits, func(r rune) bool { return strings.ContainsRune(" ,'_\u00a0", r) })
	if sep < 0 {
		return s, true
	}
	r, _ := utf8.DecodeRuneInString(digits[sep:])
	groups := strings.Split(digits, string(r))
	if len(groups[0]) < 1 || len(groups[0]) > 3 {
		return "", false
	}
	for _, g := range groups[1:] {
		if len(g) != 3 {
			return "", false
		}
	}
	return sign + strings.Join(groups, ""), true
}

// parseTypedDate reads the last day a code works, and returns the moment
// it stops: the end of that day, UTC.
func parseTypedDate(text string, now time.Time) (time.Time, string) {
	s := strings.TrimSpace(text)
	if s == "" { // a sticker, a photo with no caption
		return time.Time{}, fmt.Sprintf("Please type the date as text, as YYYY-MM-DD, for example %s.", now.UTC().AddDate(0, 1, 0).Format(time.DateOnly))
	}
	for _, layout := range []string{time.DateOnly, "2006-1-2", "2.1.2006", "02.01.2006", "2 Jan 2006", "2 January 2006", "Jan 2 2006", "January 2 2006"} {
		day, err := time.Parse(layout, strings.ReplaceAll(s, ",", ""))
		if err != nil {
			continue
		}
		end := day.AddDate(0, 0, 1).Add(-time.Second) // shown as that day's 23:59
		switch {
		case !end.After(now):
			return time.Time{}, fmt.Sprintf("%s has already passed. Please send a date from today on.", day.Format("2 Jan 2006"))
		case end.Sub(now) > maxExpiryAhead:
			return time.Time{}, "That is more than ten years away. Please send an earlier date, or choose No expiry."
		}
		return end, ""
	}
	if msg := noSuchDay(s); msg != "" {
		return time.Time{}, msg
	}
	return time.Time{}, fmt.Sprintf("I could not read %q as a date. Please send it as YYYY-MM-DD, for example %s.",
		clip(text), now.UTC().AddDate(0, 1, 0).Format(time.DateOnly))
}

// noSuchDay explains a date written YYYY-MM-DD whose month or day does
// not exist, such as 2026-02-30, rather than blaming its form; "" if s is
// not such a date.
func noSuchDay(s string) string {
	var y, m, d int
	if n, err := fmt.Sscanf(s, "%4d-%2d-%2d", &y, &m, &d); n != 3 || err != nil || s != fmt.Sprintf("%04d-%02d-%02d", y, m, d) {
		return ""
	}
	if m < 1 || m > 12 {
		return fmt.Sprintf("There is no month %d. Please send the date as YYYY-MM-DD, such as %04d-01-31.", m, y)
	}
	return fmt.Sprintf("There is no %d %s %d. Please send a day that exists.", d, time.Month(m), y)
}

// clip shortens what someone typed for quoting it back.
func clip(s string) string {
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

// usesText says how many activations a code allows: "single use", or
// "up to 10 activations".
func usesText(maxActivations int) string {
	if maxActivations == 1 {
		return "single use"
	}
	return "up to " + membership.Plural(maxActivations, "activation", "activations")
}

// eachUsesText is usesText for the codes of a batch.
func eachUsesText(maxActivations int) string {
	if maxActivations == 1 {
		return "each single use"
	}
	return usesText(maxActivations) + " each"
}

func expiryText(at *time.Time) string {
	if at == nil {
		return "none"
	}
	return "works until " + membership.FormatDate(*at)
}

func expiryPhrase(at *time.Time) string {
	if at == nil {
		return "no expiry"
	}
	return "working until " + membership.FormatDate(*at)
}

// who names the admin in records ("created by bot: @olga").
func who(p *press) string {
	if p.user.Username != "" {
		return "@" + p.user.Username
	}
	return "Telegram user " + strconv.FormatInt(p.userID, 10)
}
