package webhooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/gatekey/gatekey/billing"
	"github.com/gatekey/gatekey/jobs"
	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/tenant"
)

// MaxEventBytes bounds one Stripe event. Stripe's are tens of kilobytes.
const MaxEventBytes = 1 << 20

// Stripe handles POST /stripe/webhook: the events of Gatekey's platform
// account and of the owners' connected accounts.
type Stripe struct {
	DB      *tenant.DB
	River   *jobs.Client
	Billing *billing.Service
	Log     *slog.Logger
}

var stripeEventsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "gatekey_stripe_events_total",
	Help: "Stripe webhook deliveries by HTTP status.",
}, []string{"status"})

func init() { prometheus.MustRegister(stripeEventsTotal) }

// Register mounts the handler.
func (h *Stripe) Register(app fiber.Router) {
	app.Post("/stripe/webhook", h.receive)
}

func (h *Stripe) receive(c *fiber.Ctx) error {
	status := h.handle(c)
	stripeEventsTotal.WithLabelValues(strconv.Itoa(status)).Inc()
	return c.SendStatus(status)
}

// handle returns the HTTP status to answer. Stripe redelivers on anything
// but 2xx, for up to three days: a bad signature is answered 400 and
// changes nothing; an event that is none of Gatekey's is answered 200 so
// that it is not sent again.
func (h *Stripe) handle(c *fiber.Ctx) int {
	ctx := c.UserContext()
	body := c.Body()
	if len(body) > MaxEventBytes {
		return fiber.StatusRequestEntityTooLarge
	}
	ev, err := h.Billing.VerifyEvent(body, c.Get("Stripe-Signature"))
	if err != nil {
		h.Log.WarnContext(ctx, "stripe webhook: refused", "err", err)
		return fiber.StatusBadRequest
	}
	tenantID, ok, err := h.Billing.EventTenant(ctx, ev)
	if err != nil {
		h.Log.ErrorContext(ctx, "stripe webhook: find tenant", "event", ev.ID, "err", err)
		return fiber.StatusInternalServerError
	}
	if !ok {
		h.Log.InfoContext(ctx, "stripe webhook: not Gatekey's", "event", ev.ID, "type", ev.Type, "account", ev.Account)
		return fiber.StatusOK
	}
	err = h.DB.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		effect, fresh, err := billing.ApplyEvent(ctx, tx, ev)
		if err != nil || !fresh {
			return err
		}
		out, err := followUp(ctx, tx, tenantID, effect)
		if err != nil {
			return err
		}
		return jobs.Insert(ctx, h.River, tx, out)
	})
	if err != nil {
		h.Log.ErrorContext(ctx, "stripe webhook: handle event", "event", ev.ID, "type", ev.Type, "tenant", tenantID, "err", err)
		return fiber.StatusInternalServerError
	}
	return fiber.StatusOK
}

// followUp is what the member and the owner are sent after a payment or
// a refund, and the flat plan's subscription to read back from Stripe,
// queued in the event's transaction.
func followUp(ctx context.Context, tx pgx.Tx, tenantID int64, e billing.Effect) ([]river.InsertManyParams, error) {
	switch {
	case e.SyncFlat != "":
		return []river.InsertManyParams{jobs.SyncFlat(tenantID, e.SyncFlat)}, nil
	case e.Payment != nil:
		return paid(ctx, tx, tenantID, e.Payment)
	case e.Refund != nil:
		return refunded(ctx, tx, tenantID, e.Refund)
	}
	return nil, nil
}

// paid follows a payment exactly as a code activation: the confirmation
// with Join buttons, the reminder and the expiry, the owner's notification.
func paid(ctx context.Context, tx pgx.Tx, tenantID int64, p *billing.Payment) ([]river.InsertManyParams, error) {
	botID := p.Checkout.BotID
	var out []river.InsertManyParams
	var owner string
	switch {
	case p.RefundedFirst:
		out = append(out, jobs.SendMessage(jobs.SendMessageArgs{TenantID: tenantID, BotID: botID, ChatID: p.Member.TelegramUserID,
			Text: fmt.Sprintf("Your payment for %s was refunded, so it gives no access.", p.Plan.Name)}))
		owner = fmt.Sprintf("%s's payment for %s was refunded before it went through: no access was given.", p.Member.DisplayName(), p.Plan.Name)
		return notifyOwner(ctx, tx, tenantID, botID, "stripe_refund", owner, out)
	case p.AlreadyLifetime:
		out = append(out, jobs.SendMessage(jobs.SendMessageArgs{TenantID: tenantID, BotID: botID, ChatID: p.Member.TelegramUserID,
			Text: fmt.Sprintf("Thank you! Your payment of %s went through, but you already had lifetime access to %s. "+
				"The owner has been told, so they can refund you.", p.Order.Amount, p.Plan.Name)}))
		owner = fmt.Sprintf("%s paid %s for %s, but already had lifetime access. Please refund the payment in your Stripe dashboard.",
			p.Member.DisplayName(), p.Order.Amount, p.Plan.Name)
	case p.Extended:
		out = append(out, jobs.SendAccess(tenantID, botID, p.Member.TelegramUserID, p.Membership.ID,
			fmt.Sprintf("Payment received, thank you! Your access to %s now lasts %s.", p.Plan.Name, until(p.Membership))))
	default:
		text := fmt.Sprintf("Payment received, thank you! %s %s. You have access %s.", membership.Greeting(p.Returning), p.Plan.Name, until(p.Membership))
		out = append(out, jobs.SendAccess(tenantID, botID, p.Member.TelegramUserID, p.Membership.ID, text))
	}
	if !p.AlreadyLifetime {
		owner = fmt.Sprintf("%s paid %s for %s (%s, %s).", p.Member.DisplayName(), p.Order.Amount, p.Plan.Name,
			membership.GrantNote(p.Extended, p.Returning), until(p.Membership))
		out = append(out, jobs.ScheduleMembership(tenantID, botID, p.Membership)...)
	}
	return notifyOwner(ctx, tx, tenantID, botID, "stripe_payment", owner, out)
}

// refunded takes the member out of what the refunded payment gave them.
func refunded(ctx context.Context, tx pgx.Tx, tenantID int64, r *billing.Refund) ([]river.InsertManyParams, error) {
	botID := r.Checkout.BotID
	who := r.Member.DisplayName()
	var out []river.InsertManyParams
	var owner string
	switch {
	case r.Partial:
		owner = fmt.Sprintf("Part of %s's payment for %s was refunded. Their access is unchanged.", who, r.Plan.Name)
	case r.Ended != nil:
		out = append(out, jobs.RemoveMember(tenantID, botID, *r.Ended,
			fmt.Sprintf("Your payment for %s was refunded, so your access to it has ended.", r.Plan.Name)))
		owner = fmt.Sprintf("%s's payment for %s was refunded: their access has ended.", who, r.Plan.Name)
	case r.Shortened != nil:
		out = append(out, jobs.SendMessage(jobs.SendMessageArgs{TenantID: tenantID, BotID: botID, ChatID: r.Member.TelegramUserID,
			Text: fmt.Sprintf("Your payment for %s was refunded. Your access now lasts %s.", r.Plan.Name, until(*r.Shortened))}))
		out = append(out, jobs.ScheduleMembership(tenantID, botID, *r.Shortened)...)
		owner = fmt.Sprintf("%s's payment for %s was refunded: their access now lasts %s.", who, r.Plan.Name, until(*r.Shortened))
	default:
		owner = fmt.Sprintf("%s's payment for %s was refunded.", who, r.Plan.Name)
	}
	return notifyOwner(ctx, tx, tenantID, botID, "stripe_refund", owner, out)
}

func notifyOwner(ctx context.Context, tx pgx.Tx, tenantID, botID int64, kind, text string, out []river.InsertManyParams) ([]river.InsertManyParams, error) {
	admins, err := tenant.Notify(ctx, tx, botID, kind, text)
	if errors.Is(err, tenant.ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	for _, a := range admins {
		out = append(out, jobs.SendMessage(jobs.SendMessageArgs{TenantID: tenantID, BotID: botID, ChatID: a.TelegramUserID, Text: text}))
	}
	return out, nil
}

func until(m membership.Membership) string {
	if m.EndsAt == nil {
		return "for life"
	}
	return "until " + membership.FormatDate(*m.EndsAt)
}
