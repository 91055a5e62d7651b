package console

import (
	"strings"

	"github.com/gofiber/fiber/v2"
)

// RefuseText answers 400 to a request turned away before any handler
// because of its text (the application checks every console and API
// request for NUL characters and bytes not UTF-8, see internal/nulcheck):
// with the API's error JSON under /api, else with the console's error
// page. Nothing was done.
func (con *Console) RefuseText(c *fiber.Ctx, msg string) error {
	return con.Refuse(c, fiber.StatusBadRequest, errInvalidText, msg)
}

// Refuse answers a request that no handler of the console or its API
// answered itself (one turned away before any handler, or one the server
// could not read whole): under /api with the API's error JSON and code,
// else with the console's error page saying msg.
func (con *Console) Refuse(c *fiber.Ctx, status int, code, msg string) error {
	if p := strings.ToLower(c.Path()); p == "/api" || strings.HasPrefix(p, "/api/") {
		return apiFail(c, status, code, msg)
	}
	return con.errorPage(c, status, msg)
}
