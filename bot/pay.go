package bot

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/mymmrac/telego"

	"github.com/gatekey/gatekey/billing"
	"github.com/gatekey/gatekey/jobs"
	"github.com/gatekey/gatekey/membership"
)

// cbPay is the callback data of a plan's Pay button: "pay:<plan id>".
const cbPay = "pay:"

// payButtons are the welcome's Pay buttons, one per priced plan, when the
// owner's Stripe account can take payments.
func payButtons(offer membership.Offer) [][]jobs.Button {
	if !offer.Payable {
		return nil
	}
	var rows [][]jobs.Button
	for _, p := range offer.Plans {
		if p.Price.Minor > 0 {
			rows = append(rows, []jobs.Button{{
				Text: fmt.Sprintf("Pay %s: %s", p.Price, p.Name),
				Data: cbPay + strconv.FormatInt(p.ID, 10),
			}})
		}
	}
	return rows
}

// pay starts a Stripe checkout for the plan of a Pay button. The page
// itself is made by a job (Stripe is never called in the webhook), which
// then sends the member a button that opens it.
func (t *turn) pay(q *telego.CallbackQuery) error {
	planID, err := strconv.ParseInt(strings.TrimPrefix(q.Data, cbPay), 10, 64)
	if err != nil {
		return nil // not a button of ours
	}
	member, err := membership.UpsertMember(t.ctx, t.tx, t.bot.ID, person(&q.From))
	if err != nil {
		return err
	}
	c, err := billing.StartCheckout(t.ctx, t.tx, member, planID)
	var refusal *membership.ValidationError
	if errors.As(err, &refusal) {
		t.send(q.From.ID, refusal.Message)
		return nil
	}
	if err != nil {
		return err
	}
	t.queue(jobs.CreateCheckout(t.bot.TenantID, t.bot.ID, c.ID))
	return nil
}
