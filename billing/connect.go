package billing

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/stripe/stripe-go/v76"
)

// ConnectLink returns a Stripe page where the owner sets up (or finishes
// setting up) the Stripe account their members pay into. The account is
// made on first use and kept; the link is good for a few minutes, so make
// one each time the owner asks. Stripe sends the owner back to returnURL
// when they are done, or to refreshURL if the link expired (which should
// make a new link).
func (s *Service) ConnectLink(ctx context.Context, tenantID int64, refreshURL, returnURL string) (string, error) {
	if !s.Enabled() {
		return "", ErrStripeOff
	}
	acct, err := s.ensureAccount(ctx, tenantID)
	if err != nil {
		return "", err
	}
	p := &stripe.AccountLinkParams{
		Account:    stripe.String(acct),
		RefreshURL: stripe.String(refreshURL),
		ReturnURL:  stripe.String(returnURL),
		Type:       stripe.String(string(stripe.AccountLinkTypeAccountOnboarding)),
	}
	p.Context = ctx
	link, err := s.accountLinks.New(p)
	if err != nil {
		return "", fmt.Errorf("billing: account link: %w", err)
	}
	return link.URL, nil
}

// ensureAccount returns the tenant's connected account, making a Standard
// account (the owner's own Stripe account, refunds and disputes theirs)
// if it has none, and recording it with its directory entry so Stripe's
// events about it find the tenant.
func (s *Service) ensureAccount(ctx context.Context, tenantID int64) (string, error) {
	var acct, email string
	err := s.db.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT coalesce(t.stripe_account_id, ''),
			coalesce((SELECT email FROM owner_accounts o ORDER BY o.id LIMIT 1), '')
			FROM tenants t WHERE t.id = gatekey_tenant()`).Scan(&acct, &email)
	})
	if err != nil || acct != "" {
		return acct, err
	}
	p := &stripe.AccountParams{
		Type: stripe.String(string(stripe.AccountTypeStandard)),
	}
	if email != "" {
		p.Email = stripe.String(email)
	}
	p.AddMetadata(MetaTenant, strconv.FormatInt(tenantID, 10))
	p.Context = ctx
	// The key is the tenant's: two clicks at once make one account.
	p.SetIdempotencyKey(fmt.Sprintf("gatekey-account-%d-%s", tenantID, email))
	a, err := s.accounts.New(p)
	if err != nil {
		return "", fmt.Errorf("billing: create connected account: %w", err)
	}
	err = s.db.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `UPDATE tenants SET stripe_account_id = coalesce(stripe_account_id, $1),
			stripe_charges_enabled = CASE WHEN stripe_account_id IS NULL THEN $2 ELSE stripe_charges_enabled END
			WHERE id = gatekey_tenant() RETURNING stripe_account_id`, a.ID, a.ChargesEnabled).Scan(&acct)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO tenant_directory (kind, key, tenant_id)
			VALUES ('stripe_account', $1, gatekey_tenant()) ON CONFLICT DO NOTHING`, acct)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("billing: record connected account: %w", err)
	}
	return acct, nil
}

// SyncAccount asks Stripe whether the tenant's connected account can take
// payments yet, and records it. The console calls it when the owner comes
// back from onboarding; the account.updated event does the same later.
func (s *Service) SyncAccount(ctx context.Context, tenantID int64) (StripeAccount, error) {
	var a StripeAccount
	if !s.Enabled() {
		return a, ErrStripeOff
	}
	err := s.db.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		a, err = GetStripeAccount(ctx, tx)
		return err
	})
	if err != nil || a.AccountID == "" {
		return a, err
	}
	p := &stripe.AccountParams{}
	p.Context = ctx
	got, err := s.accounts.GetByID(a.AccountID, p)
	if err != nil {
		return a, fmt.Errorf("billing: read connected account: %w", err)
	}
	a.ChargesEnabled = got.ChargesEnabled
	err = s.db.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE tenants SET stripe_charges_enabled = $2
			WHERE id = gatekey_tenant() AND stripe_account_id = $1`, a.AccountID, a.ChargesEnabled)
		return err
	})
	return a, err
}

// ensureCustomer returns the owner's customer id in Gatekey's Stripe
// account, for invoices, making it on first need.
func (s *Service) ensureCustomer(ctx context.Context, tenantID int64) (string, error) {
	var cus, email, name string
	var created int64
	err := s.db.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT coalesce(t.stripe_customer_id, ''), t.name, extract(epoch FROM t.created_at)::bigint,
			coalesce((SELECT email FROM owner_accounts o ORDER BY o.id LIMIT 1), '')
			FROM tenants t WHERE t.id = gatekey_tenant()`).Scan(&cus, &name, &created, &email)
	})
	if err != nil || cus != "" {
		return cus, err
	}
	p := &stripe.CustomerParams{Name: stripe.String(name)}
	if email != "" {
		p.Email = stripe.String(email)
	}
	p.AddMetadata(MetaTenant, strconv.FormatInt(tenantID, 10))
	p.Context = ctx
	p.SetIdempotencyKey(fmt.Sprintf("gatekey-customer-%d-%d", tenantID, created))
	c, err := s.customers.New(p)
	if err != nil {
		return "", fmt.Errorf("billing: create customer: %w", err)
	}
	err = s.db.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `UPDATE tenants SET stripe_customer_id = coalesce(stripe_customer_id, $1)
			WHERE id = gatekey_tenant() RETURNING stripe_customer_id`, c.ID).Scan(&cus)
	})
	if err != nil {
		return "", fmt.Errorf("billing: record customer: %w", err)
	}
	return cus, nil
}
