// Package app wires Gatekey's parts into one server: the database, the
// River client and workers, the Telegram clients, and the HTTP routes.
// cmd/gatekey builds an App from its configuration; end-to-end tests build
// one the same way.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/riverqueue/river"

	"github.com/gatekey/gatekey/billing"
	"github.com/gatekey/gatekey/console"
	"github.com/gatekey/gatekey/jobs"
	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/migrations"
	"github.com/gatekey/gatekey/ops"
	"github.com/gatekey/gatekey/telegram"
	"github.com/gatekey/gatekey/tenant"
	"github.com/gatekey/gatekey/webhooks"
)

// Config is everything an App needs to know; cmd/gatekey reads it from
// the environment and flags.
type Config struct {
	DatabaseURL string
	PublicURL   string // where Telegram reaches this server; webhooks are PublicURL/telegram/{botID}
	// ProxyHeader names the header in which a trusted proxy in front of
	// Gatekey puts the client's address (Fly-Client-IP, X-Forwarded-For);
	// empty, the connection's address is the client's. Rate limits per
	// address depend on it.
	ProxyHeader     string
	SecretKey       string
	OldSecretKeys   []string
	TelegramAPIURL  string
	Web             bool // serve the webhooks, console and APIs
	Work            bool // work jobs
	DBMaxConns      int32
	TelegramWorkers int
	JobPollInterval time.Duration
	// ReconcileInterval and SweepInterval time the periodic jobs (0: defaults).
	ReconcileInterval time.Duration
	SweepInterval     time.Duration
	// FastTelegramLimits spaces messages by milliseconds instead of
	// Telegram's limits: for tests that are not about the limits.
	FastTelegramLimits bool
	// APILimit, if set, replaces the owner API's per-minute request limits
	// (tests use a small one).
	APILimit int
	// JobRetryPolicy, if set, replaces River's retry backoff (fault tests).
	JobRetryPolicy river.ClientRetryPolicy
	// JobTimeout and JobRescueAfter: see jobs.Config (0: River's defaults).
	JobTimeout, JobRescueAfter time.Duration
	// Stripe: the platform's secret key (empty: no payments, no invoices),
	// the webhook's signing secret, and the API's URL (stripe-mock in tests).
	StripeAPIKey        string
	StripeWebhookSecret string
	StripeAPIURL        string
	// BillingPeriod is the owners' invoice period; InvoiceInterval how
	// often ended periods are invoiced (0: hourly).
	BillingPeriod   billing.Period
	InvoiceInterval time.Duration
	// FlatPrice is the flat plan's monthly price (0: billing's default).
	FlatPrice membership.Money
	Log       *slog.Logger
	// DevMode shows development helpers in the console (the link to the
	// member sandbox).
	DevMode bool
	// Routes, if set, adds routes of the caller's (the dev mode's).
	Routes func(fiber.Router)
}

// App is a running Gatekey.
type App struct {
	Config   Config
	DB       *tenant.DB
	Keys     *tenant.Keyring
	Telegram *telegram.Clients
	River    *jobs.Client
	Billing  *billing.Service
	HTTP     *fiber.App
	Log      *slog.Logger
}

// New connects to the database and builds the parts; Start runs them.
func New(ctx context.Context, cfg Config) (*App, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	keys, err := tenant.NewKeyring(cfg.SecretKey, cfg.OldSecretKeys...)
	if err != nil {
		return nil, err
	}
	db, err := tenant.Open(ctx, cfg.DatabaseURL, cfg.DBMaxConns)
	if err != nil {
		return nil, err
	}
	a := &App{Config: cfg, DB: db, Keys: keys, Log: cfg.Log}
	a.checkTokenKeys(ctx)
	a.Telegram = telegram.NewClients(cfg.TelegramAPIURL, a.botToken)
	limiter := telegram.NewLimiter(db.Pool())
	if cfg.FastTelegramLimits {
		limiter = telegram.NewLimiterWith(db.Pool(), time.Millisecond, 5*time.Millisecond)
	}
	a.Billing = billing.New(db, billing.Config{APIKey: cfg.StripeAPIKey, APIURL: cfg.StripeAPIURL,
		WebhookSecret: cfg.StripeWebhookSecret, Period: cfg.BillingPeriod, FlatPrice: cfg.FlatPrice}, cfg.Log)
	deps := jobs.Deps{DB: db, Telegram: a.Telegram, Limiter: limiter, Log: cfg.Log, Billing: a.Billing}
	a.River, err = jobs.NewClient(deps, jobs.Config{
		Work:              cfg.Work,
		TelegramWorkers:   cfg.TelegramWorkers,
		FetchPollInterval: cfg.JobPollInterval,
		ReconcileInterval: cfg.ReconcileInterval,
		SweepInterval:     cfg.SweepInterval,
		InvoiceInterval:   cfg.InvoiceInterval,
		RetryPolicy:       cfg.JobRetryPolicy,
		JobTimeout:        cfg.JobTimeout,
		RescueAfter:       cfg.JobRescueAfter,
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	a.HTTP = a.routes()
	return a, nil
}

// checkTokenKeys logs an error at start when some bots' tokens are
// encrypted with a key the configured keys do not have (an old key left
// GATEKEY_OLD_SECRET_KEYS before gatekey keys rotate moved its tokens to
// the current key): every Telegram call of those bots would fail. It does
// not stop the process, which still serves every other bot; one query.
func (a *App) checkTokenKeys(ctx context.Context) {
	uses, err := a.DB.TokenKeys(ctx)
	if err != nil {
		a.Log.WarnContext(ctx, "could not check which secret keys the bot tokens need", "err", err)
		return
	}
	missing := tenant.MissingKeys(uses, a.Keys)
	if len(missing) == 0 {
		return
	}
	bots, ids := 0, make([]string, 0, len(missing))
	for _, u := range missing {
		bots += u.Bots
		ids = append(ids, u.KeyID)
	}
	a.Log.ErrorContext(ctx, fmt.Sprintf("%d bots have their tokens encrypted with secret key id(s) %s, which neither GATEKEY_SECRET_KEY nor GATEKEY_OLD_SECRET_KEYS has: "+
		"every Telegram call of those bots fails. Put the old key back in GATEKEY_OLD_SECRET_KEYS, restart, and run gatekey keys rotate (gatekey keys status shows the ids)",
		bots, strings.Join(ids, ", ")), "bots", bots, "missing_key_ids", ids)
}

func (a *App) botToken(ctx context.Context, tenantID, botID int64) (string, error) {
	var token string
	err := a.DB.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		token, err = tenant.BotToken(ctx, tx, a.Keys, botID)
		return err
	})
	return token, err
}

func (a *App) routes() *fiber.App {
	var con *console.Console
	if a.Config.Web {
		con = a.console()
	}
	app := fiber.New(fiber.Config{
		AppName:               "gatekey",
		DisableStartupMessage: true,
		ErrorHandler:          a.serverError(con),
		BodyLimit:             bodyLimit,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           2 * time.Minute,
		ProxyHeader:           a.Config.ProxyHeader,
	})
	app.Use(recover.New())
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok\n") })
	app.Get("/readyz", a.ready)
	app.Get("/metrics", adaptor.HTTPHandler(promhttp.Handler()))
	if a.Config.Web {
		(&webhooks.Telegram{DB: a.DB, River: a.River, Log: a.Log}).Register(app)
		if a.Config.StripeWebhookSecret != "" {
			(&webhooks.Stripe{DB: a.DB, River: a.River, Billing: a.Billing, Log: a.Log}).Register(app)
		}
		app.Use(refuseNUL(con)) // after the webhooks, before the console, its API and ops
		con.Register(app)
		ops.New(ops.Config{DB: a.DB, River: a.River, Log: a.Log}).Register(app)
	}
	if a.Config.Routes != nil {
		a.Config.Routes(app)
	}
	if con != nil {
		app.Use(con.NotFound) // last: whatever no route above took
	}
	return app
}

// console builds the owners' console and API over this App.
func (a *App) console() *console.Console {
	con, err := console.New(console.Config{
		DB: a.DB, River: a.River, Bots: a, Billing: a.Billing, PublicURL: a.Config.PublicURL, DevMode: a.Config.DevMode, Log: a.Log,
		APILimit:   a.Config.APILimit,
		UserErrors: []error{ErrBadToken, ErrOtherBot, ErrBotYours, tenant.ErrBotTaken},
	})
	if err != nil {
		panic(err) // the templates are embedded: a parse error is a bug that every test shows
	}
	return con
}

// ready answers 200 when the database answers and its schema is current.
func (a *App) ready(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	pending, err := migrations.Status(ctx, a.DB.Pool())
	switch {
	case err != nil:
		a.Log.WarnContext(ctx, "not ready", "err", err)
		return c.Status(fiber.StatusServiceUnavailable).SendString("database unreachable\n")
	case pending > 0:
		return c.Status(fiber.StatusServiceUnavailable).SendString(fmt.Sprintf("%d migrations pending: run gatekey migrate\n", pending))
	}
	return c.SendString("ready\n")
}

// Start starts the workers (when Work) and serves HTTP on ln: every route
// when Web, else only /healthz, /readyz and /metrics for a supervisor.
func (a *App) Start(ctx context.Context, ln net.Listener) error {
	if a.Config.Work {
		// River would fail on its missing tables with a bare "relation
		// does not exist"; an operator needs to hear what to run.
		if pending, err := migrations.Status(ctx, a.DB.Pool()); err == nil && pending > 0 {
			return fmt.Errorf("app: the database is not migrated (%d migrations pending): run gatekey migrate", pending)
		}
		if err := a.River.Start(ctx); err != nil {
			return fmt.Errorf("app: start workers: %w", err)
		}
	}
	if ln != nil {
		go func() {
			if err := a.HTTP.Listener(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.Log.Error("http server stopped", "err", err)
			}
		}()
	}
	return nil
}

// Shutdown stops taking requests, lets running jobs finish, and closes
// the database.
func (a *App) Shutdown(ctx context.Context) {
	_ = a.HTTP.ShutdownWithContext(ctx)
	if a.Config.Work {
		if err := a.River.Stop(ctx); err != nil {
			a.Log.Warn("stopping workers", "err", err)
		}
	}
	a.DB.Close()
}

// WebhookURL is where Telegram delivers a bot's updates.
func (a *App) WebhookURL(botID int64) string {
	return fmt.Sprintf("%s/telegram/%d", strings.TrimRight(a.Config.PublicURL, "/"), botID)
}
