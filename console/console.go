// Package console is the owners' web console and the owner JSON API. The
// console is server-rendered (html/template, embedded CSS and a little
// JavaScript that only helps: copy buttons, progress); the API under
// /api/v1 answers JSON to scripts holding an API key. Both call the same
// tenant, membership, billing and jobs functions as the owner's bot, and
// every request works inside tenant.DB.Tx for the signed-in tenant, so
// another tenant's ids are simply not found.
package console

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/billing"
	"github.com/gatekey/gatekey/jobs"
	"github.com/gatekey/gatekey/tenant"
)

// Bots connects and disconnects Telegram bots; the application's App does
// it (getMe, setWebhook, deleteWebhook happen outside any transaction).
type Bots interface {
	ConnectBot(ctx context.Context, tenantID int64, token string) (tenant.Bot, error)
	DisconnectBot(ctx context.Context, tenantID, botID int64) error
	ReplaceToken(ctx context.Context, tenantID, botID int64, token string) (tenant.Bot, error)
}

// Config is what the console needs.
type Config struct {
	DB      *tenant.DB
	River   *jobs.Client
	Bots    Bots
	Billing *billing.Service
	// PublicURL is where owners reach Gatekey; cookies are Secure when it
	// is https (in tests it is http on loopback, where browsers would not
	// send a Secure cookie back).
	PublicURL string
	// DevMode shows the link to the member sandbox.
	DevMode bool
	// UserErrors are errors of Bots whose message is written for owners
	// (a wrong token, a bot taken); others are logged and summarised.
	UserErrors []error
	Log        *slog.Logger
	// APILimit, if set, replaces both owner API limits (api_limits.go).
	APILimit int
}

// Console serves the pages and the API.
type Console struct {
	cfg    Config
	pages  *pages
	secure bool
}

// New parses the templates and builds the console.
func New(cfg Config) (*Console, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	return &Console{cfg: cfg, pages: p, secure: strings.HasPrefix(cfg.PublicURL, "https://")}, nil
}

// Register mounts the console at / and the API at /api/v1.
func (con *Console) Register(r fiber.Router) {
	con.registerAPI(r)
	con.registerPages(r)
}

// tx runs fn in the tenant's transaction.
func (con *Console) tx(ctx context.Context, tenantID int64, fn func(pgx.Tx) error) error {
	return con.cfg.DB.Tx(ctx, tenantID, fn)
}

// userError returns the owner-facing message of err, if it has one.
func (con *Console) userError(err error) (string, bool) {
	for _, e := range con.cfg.UserErrors {
		if errors.Is(err, e) {
			return sentence(e.Error()), true
		}
	}
	return "", false
}

// sentence shows an error's text, written as Go errors are (lower case,
// no full stop), as a sentence.
func sentence(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "!") && !strings.HasSuffix(s, "?") {
		s += "."
	}
	return s
}
