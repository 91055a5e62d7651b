package console

import (
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/billing"
	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/tenant"
)

// stripePages are where the billing page's buttons lead: Stripe's
// onboarding for the owner's account, and Checkout for the flat plan.
// A form may only lead where the page's Content-Security-Policy lets it.
const stripePages = "https://connect.stripe.com https://checkout.stripe.com"

type billingData struct {
	billing.Overview
	StripeOn  bool             // this server takes payments with Stripe
	FlatPrice membership.Money // what the flat plan costs a month
	// FlatStarting: the owner is back from paying for the flat plan,
	// and Stripe has not confirmed it yet.
	FlatStarting bool
	// LastDay is the period's last day (PeriodEnd is the instant after it).
	LastDay time.Time
}

// billingPage shows what the tenant pays Gatekey and how their members
// pay them: plan and fee rate, this period's fees, invoices, the fair-use
// meter, the Stripe account, and the flat plan's subscription.
func (con *Console) billingPage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	d := billingData{StripeOn: con.cfg.Billing.Enabled(), FlatPrice: con.cfg.Billing.FlatPrice()}
	err := con.tx(ctx, session(c).TenantID, func(tx pgx.Tx) error {
		var err error
		d.Overview, err = con.cfg.Billing.Summary(ctx, tx)
		return err
	})
	if err != nil {
		return con.fail(c, err)
	}
	d.FlatStarting = c.Query("flat") == "started" && !d.Flat.Live()
	d.LastDay = d.PeriodEnd.Add(-time.Nanosecond)
	c.Locals("form-action", stripePages)
	return con.render(c, 200, "billing", "Billing", d)
}

// connectStripe sends the owner to Stripe to set up (or finish setting
// up) the account their members pay into. Stripe sends them back to
// /billing/connect/return, or to /billing/connect/refresh if the link
// expired, which makes a new one.
func (con *Console) connectStripe(c *fiber.Ctx) error {
	url, err := con.cfg.Billing.ConnectLink(c.UserContext(), session(c).TenantID,
		con.cfg.PublicURL+"/billing/connect/refresh", con.cfg.PublicURL+"/billing/connect/return")
	if err != nil {
		return con.billingFailed(c, err)
	}
	return redirect(c, url)
}

// connectRefresh is where Stripe sends the owner when an onboarding link
// has expired: a new link for the account they were setting up. Being a
// GET, which another site can make the owner's browser send, it never
// makes an account, nor anything for a suspended tenant.
func (con *Console) connectRefresh(c *fiber.Ctx) error {
	ctx := c.UserContext()
	var acct billing.StripeAccount
	var suspended bool
	err := con.tx(ctx, session(c).TenantID, func(tx pgx.Tx) error {
		var err error
		if acct, err = billing.GetStripeAccount(ctx, tx); err != nil {
			return err
		}
		suspended, err = tenant.IsSuspended(ctx, tx)
		return err
	})
	if err != nil {
		return con.fail(c, err)
	}
	if acct.AccountID == "" || suspended {
		return redirect(c, "/billing")
	}
	return con.connectStripe(c)
}

// connectReturn is where Stripe sends the owner after onboarding: ask
// Stripe whether the account can take payments now, and say so.
func (con *Console) connectReturn(c *fiber.Ctx) error {
	a, err := con.cfg.Billing.SyncAccount(c.UserContext(), session(c).TenantID)
	switch {
	case err != nil:
		return con.billingFailed(c, err)
	case a.CanCharge():
		con.flash(c, "ok", "Your Stripe account is ready: members can now pay for your priced plans in your bots.")
	default:
		con.flash(c, "error", "Stripe still needs some details before your members can pay. Use Finish setting up to go on where you left off.")
	}
	return redirect(c, "/billing")
}

// subscribeFlat sends the owner to Stripe Checkout for the flat plan.
func (con *Console) subscribeFlat(c *fiber.Ctx) error {
	url, err := con.cfg.Billing.SubscribeFlat(c.UserContext(), session(c).TenantID,
		con.cfg.PublicURL+"/billing?flat=started", con.cfg.PublicURL+"/billing")
	if err != nil {
		return con.billingFailed(c, err)
	}
	return redirect(c, url)
}

// cancelFlat ends the flat plan at the end of the month paid for; with
// resume set it takes that back.
func (con *Console) cancelFlat(resume bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		sub, err := con.cfg.Billing.CancelFlat(c.UserContext(), session(c).TenantID, resume)
		if err != nil {
			return con.billingFailed(c, err)
		}
		switch {
		case !sub.Cancelled:
			con.flash(c, "ok", "Your flat plan goes on, renewing every month.")
		case sub.PeriodEnd != nil:
			con.flash(c, "ok", "Your flat plan ends on "+membership.FormatDate(*sub.PeriodEnd)+"; then you are back on pay-as-you-go.")
		default:
			con.flash(c, "ok", "Your flat plan ends at the end of the month you have paid for; then you are back on pay-as-you-go.")
		}
		return redirect(c, "/billing")
	}
}

// billingFailed says what went wrong with a Stripe step, on the billing
// page: the owner's to fix, or ours (logged).
func (con *Console) billingFailed(c *fiber.Ctx, err error) error {
	switch {
	case errors.Is(err, billing.ErrStripeOff), errors.Is(err, billing.ErrAlreadyFlat), errors.Is(err, billing.ErrNoSubscription):
		con.flash(c, "error", capitalize(err.Error())+".")
	default:
		con.cfg.Log.ErrorContext(c.UserContext(), "console: billing", "path", c.Path(), "err", err)
		con.flash(c, "error", "Stripe could not be reached just now. Nothing was changed; please try again in a minute.")
	}
	return redirect(c, "/billing")
}

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
