// Package ops is the staff API: JSON under /ops/v1 for the people who run
// Gatekey. It finds and reads tenants, suspends and resumes them, sets
// their billing terms, reports their usage, shows River's queue and
// retries failed jobs, and searches its own audit log.
//
// Staff authenticate with tokens made by `gatekey ops token create`: a
// read token may only look (GET), an admin token may also change. Every
// call, refused ones included, is written to ops_audit with the token's
// name, and so is the making and revoking of tokens. Reads that span
// tenants go through tenant.DB.CrossTenant; reads and changes of one
// tenant go through tenant.DB.Tx for that tenant, so row-level security
// holds staff to the tenant they asked for.
package ops

import (
	_ "embed"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/gatekey/gatekey/internal/allow"
	"github.com/gatekey/gatekey/jobs"
	"github.com/gatekey/gatekey/tenant"
)

//go:embed openapi.json
var openAPI []byte

// Config is what the ops API works with.
type Config struct {
	DB    *tenant.DB
	River *jobs.Client
	Log   *slog.Logger
	// FailedAuthLimit is how many calls with a missing or wrong token one
	// address may make in FailedAuthWindow before it is refused outright
	// (0: 20 in 15 minutes).
	FailedAuthLimit  int
	FailedAuthWindow time.Duration
}

// Server serves /ops/v1.
type Server struct {
	cfg Config
}

// New makes the ops API over cfg.
func New(cfg Config) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.FailedAuthLimit <= 0 {
		cfg.FailedAuthLimit = 20
	}
	if cfg.FailedAuthWindow <= 0 {
		cfg.FailedAuthWindow = 15 * time.Minute
	}
	return &Server{cfg: cfg}
}

// Register mounts /ops/v1. guard runs first for every path under it:
// the brake on token guessing, authentication, the role check, and the
// audit entry. openapi.json describes each route; a test holds the two
// to each other.
func (s *Server) Register(r fiber.Router) {
	g := r.Group("/ops/v1", s.guard)
	g.Get("/openapi.json", s.openAPI)

	g.Get("/tenants", knownQuery, s.searchTenants)
	g.Get("/tenants/:id", knownQuery, s.getTenant)
	g.Post("/tenants/:id/suspend", knownQuery, s.suspend)
	g.Post("/tenants/:id/resume", knownQuery, s.resume)
	g.Patch("/tenants/:id/billing", knownQuery, s.setBilling)
	g.Get("/tenants/:id/usage", knownQuery, s.usage)
	g.Get("/tenants/:id/history", knownQuery, s.history)

	g.Get("/jobs", knownQuery, s.listJobs)
	g.Get("/jobs/summary", knownQuery, s.jobSummary) // before /jobs/:id, which would take it
	g.Get("/jobs/:id", knownQuery, s.getJob)
	g.Post("/jobs/:id/retry", knownQuery, s.retryJob)

	g.Get("/audit", knownQuery, s.searchAudit)

	g.Use(func(c *fiber.Ctx) error {
		if methods := allow.Methods(c); len(methods) > 0 {
			c.Set(fiber.HeaderAllow, allow.Header(methods))
			return fail(fiber.StatusMethodNotAllowed, codeMethod, c.Method()+" is not a call of "+c.Path()+": it takes "+allow.Header(methods)+".")
		}
		return errNoSuchCall()
	})
}

func errNoSuchCall() error {
	return fail(fiber.StatusNotFound, codeNotFound, "There is no such ops call. See /ops/v1/openapi.json.")
}

func (s *Server) openAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(openAPI)
}
