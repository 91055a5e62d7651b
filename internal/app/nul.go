package app

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/gatekey/gatekey/console"
	"github.com/gatekey/gatekey/internal/nulcheck"
)

// refuseNUL turns away, before any handler, a console or owner API
// request with a NUL character in its path, query string, form or JSON
// body, or with a path, query string or form that is not UTF-8:
// PostgreSQL stores neither in text (nor a NUL in jsonb), so the request
// would otherwise fail halfway with a 500. The console answers it: its
// error page, or the API's error JSON under /api.
//
// It leaves alone the webhooks of Telegram and Stripe, which answer their
// senders in their own way, and the ops API, whose guard makes the same
// check after authenticating the call, so that the refusal is audited.
func refuseNUL(con *console.Console) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if ownCheck(c.Path()) {
			return c.Next()
		}
		if msg := nulcheck.Refusal(c, under(strings.ToLower(c.Path()), "/api")); msg != "" {
			return con.RefuseText(c, msg)
		}
		return c.Next()
	}
}

// ownCheck tells paths that refuseNUL leaves to their handlers. Routes
// match without regard to case.
func ownCheck(path string) bool {
	p := strings.ToLower(path)
	return under(p, "/telegram") || under(p, "/stripe") || under(p, "/ops")
}
