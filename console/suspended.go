package console

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/tenant"
)

// suspendedText says why a change was refused, in the console ("console")
// or the API ("API").
func suspendedText(where string) string {
	return "Your Gatekey account is suspended, so the " + where + " is read-only for now: nothing was changed. " +
		"Your bots, plans, codes and members are all kept. Contact Gatekey support to have it resumed."
}

// writable refuses a change (any request but GET and HEAD) from a
// suspended tenant: a suspended console is read-only, and so is its API,
// but for what allowedWhileSuspended lets through.
func (con *Console) writable(c *fiber.Ctx) error {
	if c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead || allowedWhileSuspended(c.Path()) {
		return c.Next()
	}
	tenantID := apiKey(c).TenantID
	if s := session(c); s != nil {
		tenantID = s.TenantID
	}
	if tenantID == 0 {
		return c.Next() // not signed in: the next handler refuses
	}
	var suspended bool
	err := con.tx(c.UserContext(), tenantID, func(tx pgx.Tx) (err error) {
		suspended, err = tenant.IsSuspended(c.UserContext(), tx)
		return err
	})
	switch {
	case err != nil && c.Locals("apikey") != nil:
		return con.apiErr(c, err)
	case err != nil:
		return con.fail(c, err)
	case !suspended:
		return c.Next()
	case c.Locals("apikey") != nil:
		return apiFail(c, fiber.StatusForbidden, errSuspended, suspendedText("API"))
	}
	return con.errorPage(c, fiber.StatusForbidden, suspendedText("console"))
}

// allowedWhileSuspended are the changes a suspended owner may still make:
// signing out; cancelling the flat plan, to stop paying for it; and taking
// access away, by revoking an API key or removing a bot's admin, in case
// one leaked or someone left.
func allowedWhileSuspended(path string) bool {
	switch path {
	case "/logout", "/billing/flat/cancel", "/settings/admins/remove":
		return true
	}
	id, ok := strings.CutPrefix(path, "/settings/keys/")
	return ok && strings.HasSuffix(id, "/revoke") && !strings.Contains(strings.TrimSuffix(id, "/revoke"), "/")
}
