package console

import (
	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/tenant"
)

const suspendedText = "Your Gatekey account is suspended, so the console is read-only for now: nothing was changed. " +
	"Your bots, plans, codes and members are all kept. Contact Gatekey support to have it resumed."

// writable refuses a change (any request but GET and HEAD) from a
// suspended tenant: a suspended console is read-only, and so is its API.
// Signing out still works, and so does cancelling the flat plan: a
// suspended owner must still be able to stop paying for it.
func (con *Console) writable(c *fiber.Ctx) error {
	if c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead || c.Path() == "/logout" || c.Path() == "/billing/flat/cancel" {
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
		return apiFail(c, fiber.StatusForbidden, errSuspended, suspendedText)
	}
	return con.errorPage(c, fiber.StatusForbidden, suspendedText)
}
