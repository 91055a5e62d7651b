package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/gatekey/gatekey/billing"
)

// Billing's jobs: the Stripe Checkout Session a member's Pay button asks
// for, the owners' invoices at the end of each billing period, and the
// flat plan's subscription read back from Stripe. Every Stripe call is
// made here, outside any transaction.

// addBilling registers billing's workers and returns its periodic job.
func addBilling(workers *river.Workers, deps Deps, cfg Config) []*river.PeriodicJob {
	river.AddWorker(workers, &CreateCheckoutWorker{deps: deps})
	river.AddWorker(workers, &InvoiceSweepWorker{deps: deps})
	river.AddWorker(workers, &InvoiceTenantWorker{deps: deps})
	river.AddWorker(workers, &SyncFlatWorker{deps: deps})
	interval := cfg.InvoiceInterval
	if interval <= 0 {
		interval = time.Hour
	}
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return InvoiceSweepArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})}
}

// CreateCheckoutArgs makes the Stripe Checkout Session of a checkout that
// billing.StartCheckout recorded, and sends the member a message with a
// button that opens it.
type CreateCheckoutArgs struct {
	TenantID   int64 `json:"tenant_id"`
	BotID      int64 `json:"bot_id"`
	CheckoutID int64 `json:"checkout_id"`
}

func (CreateCheckoutArgs) Kind() string { return "billing.create_checkout" }

func (CreateCheckoutArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 8}
}

// CreateCheckout is the insert for CreateCheckoutArgs.
func CreateCheckout(tenantID, botID, checkoutID int64) river.InsertManyParams {
	return river.InsertManyParams{Args: CreateCheckoutArgs{TenantID: tenantID, BotID: botID, CheckoutID: checkoutID}}
}

// CreateCheckoutWorker works CreateCheckoutArgs.
type CreateCheckoutWorker struct {
	river.WorkerDefaults[CreateCheckoutArgs]
	deps Deps
}

func (w *CreateCheckoutWorker) Work(ctx context.Context, job *river.Job[CreateCheckoutArgs]) error {
	a := job.Args
	err := w.deps.Billing.OpenCheckout(ctx, a.TenantID, a.CheckoutID, func(tx pgx.Tx, o billing.OpenedCheckout) error {
		text := fmt.Sprintf("%s: %s for %s.\n\nTap the button to pay securely with Stripe. "+
			"As soon as the payment goes through, I will send you the links to join.",
			o.Plan.Name, o.Checkout.Amount, o.Plan.PeriodText())
		return insertTx(ctx, tx, SendMessage(SendMessageArgs{TenantID: a.TenantID, BotID: a.BotID, ChatID: o.TelegramUserID,
			Text: text, Buttons: [][]Button{{{Text: "Pay " + o.Checkout.Amount.String(), URL: o.Checkout.URL}}}}))
	})
	if err == nil {
		return nil
	}
	// A refusal will not go away by retrying (nor will a server without
	// Stripe), and neither will the last attempt: tell the member.
	if billing.IsRefusal(err) || errors.Is(err, billing.ErrStripeOff) || job.Attempt >= job.MaxAttempts {
		w.deps.Log.WarnContext(ctx, "checkout not opened", "tenant", a.TenantID, "checkout", a.CheckoutID, "err", err)
		if err := w.sorry(ctx, a); err != nil {
			return err
		}
		return river.JobCancel(err)
	}
	return err
}

func (w *CreateCheckoutWorker) sorry(ctx context.Context, a CreateCheckoutArgs) error {
	return w.deps.DB.Tx(ctx, a.TenantID, func(tx pgx.Tx) error {
		userID, err := billing.CheckoutTelegramUser(ctx, tx, a.CheckoutID)
		if err != nil {
			return err
		}
		return insertTx(ctx, tx, SendMessage(SendMessageArgs{TenantID: a.TenantID, BotID: a.BotID, ChatID: userID,
			Text: "Sorry, the payment page could not be opened just now. Nothing was charged. Please try again later, or ask the owner of this bot."}))
	})
}

// InvoiceSweepArgs is the periodic look for owners with fees to invoice
// from billing periods that have ended. It queues one InvoiceTenantArgs
// per tenant, so one owner's trouble with Stripe holds up no other.
type InvoiceSweepArgs struct{}

func (InvoiceSweepArgs) Kind() string { return "billing.invoice_sweep" }

func (InvoiceSweepArgs) InsertOpts() river.InsertOpts {
	// Only River's elected leader inserts periodic jobs, so there is one
	// run per interval however many processes there are.
	return river.InsertOpts{MaxAttempts: 3}
}

// InvoiceSweepWorker works InvoiceSweepArgs.
type InvoiceSweepWorker struct {
	river.WorkerDefaults[InvoiceSweepArgs]
	deps Deps
}

func (w *InvoiceSweepWorker) Work(ctx context.Context, _ *river.Job[InvoiceSweepArgs]) error {
	if !w.deps.Billing.Enabled() {
		return nil // no Stripe: fees stay in the ledger until there is
	}
	before, _ := w.deps.Billing.Period().Bounds(time.Now())
	tenants, err := w.deps.Billing.TenantsToInvoice(ctx, before)
	if err != nil || len(tenants) == 0 {
		return err
	}
	params := make([]river.InsertManyParams, len(tenants))
	for i, t := range tenants {
		params[i] = river.InsertManyParams{Args: InvoiceTenantArgs{TenantID: t, Before: before}}
	}
	if _, err := river.ClientFromContext[pgx.Tx](ctx).InsertMany(ctx, params); err != nil {
		return fmt.Errorf("jobs: queue invoices: %w", err)
	}
	return nil
}

// InvoiceTenantArgs bills one tenant's fees from before Before (the end
// of a billing period). billing.InvoiceTenant is safe to run again, so
// retries are too.
type InvoiceTenantArgs struct {
	TenantID int64     `json:"tenant_id"`
	Before   time.Time `json:"before"`
}

func (InvoiceTenantArgs) Kind() string { return "billing.invoice_tenant" }

func (InvoiceTenantArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 10, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// InvoiceTenantWorker works InvoiceTenantArgs.
type InvoiceTenantWorker struct {
	river.WorkerDefaults[InvoiceTenantArgs]
	deps Deps
}

func (w *InvoiceTenantWorker) Work(ctx context.Context, job *river.Job[InvoiceTenantArgs]) error {
	_, err := w.deps.Billing.InvoiceTenant(ctx, job.Args.TenantID, job.Args.Before)
	return err
}

// SyncFlatArgs reads an owner's flat-plan subscription from Stripe after
// an event about it, and puts the tenant on the plan it means.
type SyncFlatArgs struct {
	TenantID       int64  `json:"tenant_id"`
	SubscriptionID string `json:"subscription_id"`
}

func (SyncFlatArgs) Kind() string { return "billing.sync_flat" }

func (SyncFlatArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 20}
}

// SyncFlat is the insert for SyncFlatArgs. Each event gets its own job:
// each reads the subscription as it is when it runs, so extra ones only
// read it again.
func SyncFlat(tenantID int64, subscriptionID string) river.InsertManyParams {
	return river.InsertManyParams{Args: SyncFlatArgs{TenantID: tenantID, SubscriptionID: subscriptionID}}
}

// SyncFlatWorker works SyncFlatArgs.
type SyncFlatWorker struct {
	river.WorkerDefaults[SyncFlatArgs]
	deps Deps
}

func (w *SyncFlatWorker) Work(ctx context.Context, job *river.Job[SyncFlatArgs]) error {
	err := w.deps.Billing.SyncFlat(ctx, job.Args.TenantID, job.Args.SubscriptionID)
	if billing.IsRefusal(err) {
		// Stripe does not know the subscription (deleted in test mode, or
		// another account's): nothing to follow.
		w.deps.Log.WarnContext(ctx, "billing: flat subscription refused by Stripe", "tenant", job.Args.TenantID, "err", err)
		return river.JobCancel(err)
	}
	return err
}
