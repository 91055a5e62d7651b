package billing

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/account"
	"github.com/stripe/stripe-go/v76/accountlink"
	checkoutsession "github.com/stripe/stripe-go/v76/checkout/session"
	"github.com/stripe/stripe-go/v76/customer"
	"github.com/stripe/stripe-go/v76/invoice"
	"github.com/stripe/stripe-go/v76/invoiceitem"
	"github.com/stripe/stripe-go/v76/subscription"

	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/tenant"
)

// DefaultAPIURL is Stripe's API.
const DefaultAPIURL = stripe.APIURL

// ErrStripeOff is returned for anything that needs Stripe when this server
// has no Stripe key.
var ErrStripeOff = errors.New("payments with Stripe are not set up on this Gatekey server")

// Config is how Gatekey talks to Stripe and bills owners.
type Config struct {
	APIKey        string // the platform's secret key; empty turns Stripe off
	APIURL        string // default DefaultAPIURL; tests point it at stripe-mock
	WebhookSecret string // signs the events Stripe posts to /stripe/webhook; several, comma-separated
	Period        Period // the billing period of owners' invoices
	// FlatPrice is the flat plan's monthly price (default DefaultFlatPrice).
	FlatPrice  membership.Money
	HTTPClient *http.Client
}

// Service is billing's side that calls Stripe: it holds the platform's
// Stripe clients and works across transactions, because no Stripe call
// is ever made inside one.
type Service struct {
	db  *tenant.DB
	cfg Config
	log *slog.Logger

	accounts      *account.Client
	accountLinks  *accountlink.Client
	sessions      *checkoutsession.Client
	customers     *customer.Client
	invoices      *invoice.Client
	invoiceItems  *invoiceitem.Client
	subscriptions *subscription.Client
}

// New makes the service. Each Service has its own Stripe backend, so
// tests can run against separate stripe-mocks at once.
func New(db *tenant.DB, cfg Config, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 80 * time.Second}
	}
	s := &Service{db: db, cfg: cfg, log: log}
	b := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		URL:               stripe.String(strings.TrimRight(cfg.APIURL, "/")),
		HTTPClient:        cfg.HTTPClient,
		MaxNetworkRetries: stripe.Int64(2),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	})
	key := cfg.APIKey
	s.accounts = &account.Client{B: b, Key: key}
	s.accountLinks = &accountlink.Client{B: b, Key: key}
	s.sessions = &checkoutsession.Client{B: b, Key: key}
	s.customers = &customer.Client{B: b, Key: key}
	s.invoices = &invoice.Client{B: b, Key: key}
	s.invoiceItems = &invoiceitem.Client{B: b, Key: key}
	s.subscriptions = &subscription.Client{B: b, Key: key}
	return s
}

// Enabled reports whether Stripe is set up: without it there is no Pay
// button, no Connect onboarding, and no invoice is sent.
func (s *Service) Enabled() bool { return s != nil && s.cfg.APIKey != "" }

// Period is the billing period of owners' invoices.
func (s *Service) Period() Period { return s.cfg.Period }

// Metadata keys Gatekey puts on Stripe objects, to find its own rows when
// Stripe's events come back.
const (
	MetaTenant   = "gatekey_tenant_id"
	MetaCheckout = "gatekey_checkout_id"
	MetaMember   = "gatekey_member_id"
	MetaPlan     = "gatekey_plan_id"
	MetaBot      = "gatekey_bot_id"
	MetaInvoice  = "gatekey_invoice_id"
)
