package app

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/gatekey/gatekey/console"
)

// bodyLimit is the largest request body the server reads. The webhooks
// refuse less than this themselves (Telegram's updates are small).
const bodyLimit = 4 << 20

// serverError answers what no route answered itself: a request the server
// could not read whole (a body over bodyLimit, headers over the read
// buffer, a timeout), or a handler's panic. Every path answers in its own
// way: the owner and staff APIs with their error JSON, the console with its
// page, the rest in plain text.
//
// A request whose headers are too large was never parsed, and one whose
// chunked body ran over was reset before it reached here: their path is
// unknown (no Host either), so they are answered in plain text.
func (a *App) serverError(con *console.Console) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		status, code, msg := describeError(err)
		if status >= 500 {
			a.Log.ErrorContext(c.UserContext(), "http", "method", c.Method(), "path", c.Path(), "err", err)
		}
		p := strings.ToLower(c.Path())
		switch {
		case len(c.Context().Host()) == 0: // not read: see above
		case under(p, "/ops"):
			c.Set(fiber.HeaderCacheControl, "no-store")
			return c.Status(status).JSON(fiber.Map{"error": fiber.Map{"code": code, "message": msg}})
		case con != nil && !under(p, "/telegram") && !under(p, "/stripe"):
			return con.Refuse(c, status, code, msg)
		}
		return c.Status(status).SendString(msg + "\n")
	}
}

// describeError gives err's status, API error code and message.
func describeError(err error) (status int, code, msg string) {
	var fe *fiber.Error
	if !errors.As(err, &fe) || fe.Code >= 500 {
		return fiber.StatusInternalServerError, "internal_error", "Something went wrong on our side; the server log has the details."
	}
	switch fe.Code {
	case fiber.StatusRequestEntityTooLarge:
		return fe.Code, "request_too_large", fmt.Sprintf("The request is larger than the %d MiB this server accepts.", bodyLimit>>20)
	case fiber.StatusRequestHeaderFieldsTooLarge:
		return fe.Code, "headers_too_large", "The request's headers are larger than this server accepts."
	case fiber.StatusRequestTimeout:
		return fe.Code, "request_timeout", "The request took too long to arrive."
	}
	return fe.Code, strings.ToLower(strings.ReplaceAll(utils.StatusMessage(fe.Code), " ", "_")), fe.Message
}

// under tells whether path is prefix or below it.
func under(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}
