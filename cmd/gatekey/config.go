package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gatekey/gatekey/billing"
	"github.com/gatekey/gatekey/jobs"
	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/telegram"
	"github.com/gatekey/gatekey/tenant"
)

// setting is one environment variable: its name, default and meaning.
// The README's configuration table lists the same ones.
type setting struct {
	name, def, help string
}

var settings = []setting{
	{"DATABASE_URL", "postgres://postgres@127.0.0.1:25432/gatekey?sslmode=disable", "PostgreSQL connection string (the default is the cluster `make run` starts under ./.data)"},
	{"GATEKEY_ADDR", "127.0.0.1:8080", "listen address of the web tier"},
	{"GATEKEY_PUBLIC_URL", "", "public base URL; Telegram webhooks go to it + /telegram/{botID} (default http://GATEKEY_ADDR); https with the real Telegram"},
	{"GATEKEY_PROXY_HEADER", "", "header in which a trusted proxy in front of Gatekey passes the client's address (Fly-Client-IP on Fly.io); set it only behind such a proxy, since clients could forge it otherwise"},
	{"GATEKEY_SECRET_KEY", "", "32 bytes, base64 or hex, that encrypt bot tokens at rest (required by serve; dev uses a fixed development key); keep a copy in a password manager, as rotating it needs the old key"},
	{"GATEKEY_OLD_SECRET_KEYS", "", "comma-separated earlier keys, still accepted for decryption until gatekey keys rotate has re-encrypted every bot token with GATEKEY_SECRET_KEY; drop one only when gatekey keys status shows no token under it"},
	{"TELEGRAM_API_URL", telegram.DefaultAPIURL, "Bot API server; `fake` runs an in-process fake Telegram with a demo tenant and the sandbox page, as `gatekey dev` does"},
	{"GATEKEY_DB_MAX_CONNS", "12", "connections in the pool of each process; about six per core of the database server, since more only queue inside PostgreSQL"},
	{"GATEKEY_TELEGRAM_WORKERS", "256", "Telegram jobs a worker process runs at once"},
	{"GATEKEY_JOB_POLL_INTERVAL", "1s", "how often workers poll for jobs besides LISTEN/NOTIFY"},
	{"GATEKEY_RECONCILE_INTERVAL", "1m", "how often overdue expiries and reminders are swept up"},
	{"GATEKEY_SWEEP_INTERVAL", "15m", "how often unused codes are auto-deleted and old update ids forgotten"},
	{"STRIPE_API_KEY", "", "Gatekey's Stripe secret key (sk_...): members' payments, owners' Stripe onboarding and invoices; unset, there are none; requires STRIPE_WEBHOOK_SECRET"},
	{"STRIPE_WEBHOOK_SECRET", "", "signing secrets (whsec_...) of the Stripe webhook endpoints at GATEKEY_PUBLIC_URL + /stripe/webhook, comma-separated: the platform's and the Connect one; unset, the endpoint is off"},
	{"STRIPE_API_URL", billing.DefaultAPIURL, "Stripe API server (tests point it at stripe-mock)"},
	{"GATEKEY_BILLING_PERIOD", "month", "period of owners' invoices: month (calendar months, UTC) or a duration such as 24h"},
	{"GATEKEY_FLAT_PRICE", "29.00 USD", "monthly price of the flat plan, which owners take in the console's billing page: an amount and a currency"},
	{"GATEKEY_INVOICE_INTERVAL", "1h", "how often ended billing periods are invoiced"},
	{"GATEKEY_JOB_TIMEOUT", "1m", "longest one run of a job may take"},
	{"GATEKEY_JOB_RESCUE_AFTER", "1h", "how long a job may run before it is taken to be stuck (its process died) and run again; more than GATEKEY_JOB_TIMEOUT, and best more than 10m"},
	{"GATEKEY_LOG_LEVEL", "info", "debug, info, warn or error"},
	{"GATEKEY_LOG_FORMAT", "json", "json or text"},
}

func env(name string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	for _, s := range settings {
		if s.name == name {
			return s.def
		}
	}
	panic("unknown setting " + name)
}

// config is the process's settings, read and checked once at start.
type config struct {
	DatabaseURL       string
	Addr              string
	PublicURL         string
	ProxyHeader       string
	SecretKey         string
	OldSecretKeys     []string
	TelegramAPIURL    string
	DBMaxConns        int32
	TelegramWorkers   int
	JobPollInterval   time.Duration
	ReconcileInterval time.Duration
	SweepInterval     time.Duration
	StripeAPIKey      string
	StripeWebhookKey  string
	StripeAPIURL      string
	BillingPeriod     billing.Period
	InvoiceInterval   time.Duration
	FlatPrice         membership.Money
	JobTimeout        time.Duration
	JobRescueAfter    time.Duration
	LogLevel          slog.Level
	LogFormat         string
}

// loadConfig reads the environment and says plainly what is wrong with it.
func loadConfig() (config, error) {
	c := config{
		DatabaseURL:    env("DATABASE_URL"),
		Addr:           env("GATEKEY_ADDR"),
		PublicURL:      strings.TrimRight(env("GATEKEY_PUBLIC_URL"), "/"),
		ProxyHeader:    env("GATEKEY_PROXY_HEADER"),
		SecretKey:      env("GATEKEY_SECRET_KEY"),
		TelegramAPIURL: strings.TrimRight(env("TELEGRAM_API_URL"), "/"),
		LogFormat:      env("GATEKEY_LOG_FORMAT"),
	}
	c.StripeAPIKey, c.StripeWebhookKey = env("STRIPE_API_KEY"), env("STRIPE_WEBHOOK_SECRET")
	c.StripeAPIURL = strings.TrimRight(env("STRIPE_API_URL"), "/")
	var errs []error
	if c.StripeAPIKey != "" && !strings.HasPrefix(c.StripeAPIKey, "sk_") && !strings.HasPrefix(c.StripeAPIKey, "rk_") {
		errs = append(errs, errors.New("STRIPE_API_KEY: want a secret key, starting sk_ (or a restricted key, rk_)"))
	}
	webhookSecrets := 0
	for i, k := range strings.Split(c.StripeWebhookKey, ",") {
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		webhookSecrets++
		if !strings.HasPrefix(k, "whsec_") {
			errs = append(errs, fmt.Errorf("STRIPE_WEBHOOK_SECRET, secret %d: want a webhook signing secret, starting whsec_", i+1))
		}
	}
	if c.StripeAPIKey != "" && webhookSecrets == 0 {
		errs = append(errs, errors.New("STRIPE_API_KEY is set but STRIPE_WEBHOOK_SECRET is not: members' payments are credited only when Stripe's checkout.session.completed event reaches /stripe/webhook, "+
			"so members could pay and never get access. Add the webhook endpoints (README, Deploying: Stripe) and set their signing secrets in STRIPE_WEBHOOK_SECRET, or unset STRIPE_API_KEY"))
	}
	if c.TelegramAPIURL != fakeTelegram && !isHTTPURL(c.TelegramAPIURL) {
		errs = append(errs, fmt.Errorf("TELEGRAM_API_URL=%q: want fake, or an absolute http:// or https:// URL with a host, such as %s", c.TelegramAPIURL, telegram.DefaultAPIURL))
	}
	if c.ProxyHeader != "" && !isHeaderName(c.ProxyHeader) {
		errs = append(errs, fmt.Errorf("GATEKEY_PROXY_HEADER=%q: want an HTTP header name, such as Fly-Client-IP or X-Forwarded-For", c.ProxyHeader))
	}
	if v, ok := os.LookupEnv("GOGC"); ok && v != "" && v != "off" {
		// The Go runtime ignores a GOGC it cannot read, without a word.
		if _, err := strconv.Atoi(v); err != nil {
			errs = append(errs, fmt.Errorf("GOGC=%q: want a number, such as 400, or off", v))
		}
	}
	if !strings.HasPrefix(c.StripeAPIURL, "http://") && !strings.HasPrefix(c.StripeAPIURL, "https://") {
		errs = append(errs, fmt.Errorf("STRIPE_API_URL=%q: want an http:// or https:// URL", c.StripeAPIURL))
	}
	var err error
	if c.BillingPeriod, err = billing.ParsePeriod(env("GATEKEY_BILLING_PERIOD")); err != nil {
		errs = append(errs, fmt.Errorf("GATEKEY_BILLING_PERIOD=%q: want month, or a duration of at least 1s such as 24h", env("GATEKEY_BILLING_PERIOD")))
	}
	price := strings.Fields(env("GATEKEY_FLAT_PRICE"))
	if len(price) != 2 {
		price = []string{"", ""}
	}
	if c.FlatPrice, err = membership.ParseMoney(price[0], price[1]); err != nil || c.FlatPrice.Minor <= 0 {
		errs = append(errs, fmt.Errorf("GATEKEY_FLAT_PRICE=%q: want an amount and a currency, such as 29.00 USD", env("GATEKEY_FLAT_PRICE")))
	}
	if _, port, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("GATEKEY_ADDR=%q: want host:port, such as 127.0.0.1:8080", c.Addr))
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		errs = append(errs, fmt.Errorf("GATEKEY_ADDR=%q: want a port from 1 to 65535, such as 127.0.0.1:8080", c.Addr))
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Addr
		if host, port, err := net.SplitHostPort(c.Addr); err == nil && host == "" {
			// Listening on every address (":8080"): this machine is
			// reachable as localhost, and http://:8080 is no URL.
			c.PublicURL = "http://" + net.JoinHostPort("localhost", port)
		}
	}
	if strings.ContainsFunc(c.PublicURL, unicode.IsSpace) || !isHTTPURL(c.PublicURL) {
		errs = append(errs, fmt.Errorf("GATEKEY_PUBLIC_URL=%q: want an absolute http:// or https:// URL with a host and no spaces, such as https://gatekey.example.com", c.PublicURL))
	}
	if s := env("GATEKEY_OLD_SECRET_KEYS"); s != "" {
		c.OldSecretKeys = strings.Split(s, ",")
	}
	errs = append(errs, checkSecretKeys(c.SecretKey, c.OldSecretKeys)...)
	n, err := strconv.Atoi(env("GATEKEY_DB_MAX_CONNS"))
	if err != nil || n < 4 || n > 1000 {
		errs = append(errs, fmt.Errorf("GATEKEY_DB_MAX_CONNS=%q: want a number from 4 to 1000", env("GATEKEY_DB_MAX_CONNS")))
	}
	c.DBMaxConns = int32(n)
	c.TelegramWorkers, err = strconv.Atoi(env("GATEKEY_TELEGRAM_WORKERS"))
	if err != nil || c.TelegramWorkers < 1 || c.TelegramWorkers > 10000 {
		errs = append(errs, fmt.Errorf("GATEKEY_TELEGRAM_WORKERS=%q: want a number from 1 to 10000", env("GATEKEY_TELEGRAM_WORKERS")))
	}
	c.JobPollInterval, err = time.ParseDuration(env("GATEKEY_JOB_POLL_INTERVAL"))
	if err != nil || c.JobPollInterval < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("GATEKEY_JOB_POLL_INTERVAL=%q: want a duration of at least 10ms, such as 1s", env("GATEKEY_JOB_POLL_INTERVAL")))
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"GATEKEY_RECONCILE_INTERVAL", &c.ReconcileInterval}, {"GATEKEY_SWEEP_INTERVAL", &c.SweepInterval}, {"GATEKEY_INVOICE_INTERVAL", &c.InvoiceInterval},
		{"GATEKEY_JOB_TIMEOUT", &c.JobTimeout}, {"GATEKEY_JOB_RESCUE_AFTER", &c.JobRescueAfter}} {
		v, err := time.ParseDuration(env(d.name))
		if err != nil || v < time.Second {
			errs = append(errs, fmt.Errorf("%s=%q: want a duration of at least 1s, such as 1m", d.name, env(d.name)))
		}
		*d.dst = v
	}
	if c.JobRescueAfter > 0 && c.JobTimeout > 0 && c.JobRescueAfter <= c.JobTimeout { // else one failed to parse, and said so
		errs = append(errs, fmt.Errorf("GATEKEY_JOB_RESCUE_AFTER (%s) must be longer than GATEKEY_JOB_TIMEOUT (%s)", c.JobRescueAfter, c.JobTimeout))
	}
	if err := c.LogLevel.UnmarshalText([]byte(env("GATEKEY_LOG_LEVEL"))); err != nil {
		errs = append(errs, fmt.Errorf("GATEKEY_LOG_LEVEL=%q: want debug, info, warn or error", env("GATEKEY_LOG_LEVEL")))
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		errs = append(errs, fmt.Errorf("GATEKEY_LOG_FORMAT=%q: want json or text", c.LogFormat))
	}
	return c, errors.Join(errs...)
}

// checkWebhookURL is what serve asks of GATEKEY_PUBLIC_URL beyond its
// form: the real Telegram delivers webhooks over https only, so a bot
// connected to an http URL would never hear from its members. A Bot API
// server of one's own (or a test's) takes http too.
func (c config) checkWebhookURL() error {
	u, err := url.Parse(c.TelegramAPIURL)
	if err != nil || u.Hostname() != realTelegramHost || strings.HasPrefix(c.PublicURL, "https://") {
		return nil
	}
	if os.Getenv("GATEKEY_PUBLIC_URL") == "" {
		return fmt.Errorf("GATEKEY_PUBLIC_URL is not set, so bots' webhooks would go to %s; Telegram delivers webhooks over https only. Set GATEKEY_PUBLIC_URL to Gatekey's public https address, such as https://gatekey.example.com", c.PublicURL)
	}
	return fmt.Errorf("GATEKEY_PUBLIC_URL=%q: Telegram delivers webhooks over https only; set it to Gatekey's public https address, such as https://gatekey.example.com", c.PublicURL)
}

// realTelegramHost is the host of the real Bot API, telegram.DefaultAPIURL's.
const realTelegramHost = "api.telegram.org"

// isHTTPURL says whether s is an absolute http or https URL with a host.
func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Hostname() != "" && u.User == nil
}

// isHeaderName says whether s is an HTTP header name: a token (RFC 9110).
func isHeaderName(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return r > unicode.MaxASCII || !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r))
	})
}

// logger is the process's logger, which first warns of settings that
// work but are unwise.
func (c config) logger() *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	var log *slog.Logger
	if c.LogFormat == "text" {
		log = slog.New(slog.NewTextHandler(os.Stderr, opts))
	} else {
		log = slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	for _, w := range c.warnings() {
		log.Warn(w)
	}
	return log
}

// warnings are what is unwise in c, though it works (tests of crashes
// rescue jobs within seconds, for one).
func (c config) warnings() []string {
	var ws []string
	if c.JobRescueAfter <= jobs.ReconcileTimeout {
		ws = append(ws, fmt.Sprintf("GATEKEY_JOB_RESCUE_AFTER (%s) is not longer than the reconciler's %s: a reconciliation that runs that long will be run again beside itself",
			c.JobRescueAfter, jobs.ReconcileTimeout))
	}
	return ws
}

// checkSecretKeys names the variable of each key that is not one.
func checkSecretKeys(current string, old []string) (errs []error) {
	if current != "" {
		if _, err := tenant.NewKeyring(current); err != nil {
			errs = append(errs, fmt.Errorf("GATEKEY_SECRET_KEY: %w", errors.Unwrap(err)))
		}
	}
	for i, k := range old {
		if _, err := tenant.NewKeyring(k); err != nil {
			errs = append(errs, fmt.Errorf("GATEKEY_OLD_SECRET_KEYS, key %d of %d: %w", i+1, len(old), errors.Unwrap(err)))
		}
	}
	return errs
}
