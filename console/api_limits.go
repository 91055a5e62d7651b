package console

import (
	"fmt"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/gatekey/gatekey/membership"
)

// Owner API limits: per address before the key is even checked (so keys
// cannot be guessed quickly), and per API key after. Counts are kept in
// PostgreSQL, so every process shares them.
const (
	APILimitPerIP  = 1200 // requests a minute from one address
	APILimitPerKey = 600  // requests a minute with one API key
	apiWindow      = time.Minute
)

// apiLimitIP counts a request against its address.
func (con *Console) apiLimitIP(c *fiber.Ctx) error {
	return con.apiLimit(c, "api-ip:"+c.IP(), APILimitPerIP)
}

// apiLimitKey counts a request against its API key; it runs after apiAuth.
func (con *Console) apiLimitKey(c *fiber.Ctx) error {
	return con.apiLimit(c, "api-key:"+strconv.FormatInt(apiKey(c).ID, 10), APILimitPerKey)
}

func (con *Console) apiLimit(c *fiber.Ctx, key string, limit int) error {
	ok, wait, err := con.cfg.DB.Allow(c.UserContext(), key, con.limitOr(limit), apiWindow)
	if err != nil {
		return con.apiErr(c, err)
	}
	if !ok {
		return apiFail(c, fiber.StatusTooManyRequests, errRateLimited, tooManyRequests(con.limitOr(limit), retryAfter(c, wait)))
	}
	return c.Next()
}

// tooManyRequests is the 429's message: "Try again in 1 second." at the
// end of a minute, not "1 seconds".
func tooManyRequests(limit, secs int) string {
	return fmt.Sprintf("Too many requests: the owner API takes %s a minute. Try again in %s.",
		membership.Thousands(limit), membership.Plural(secs, "second", "seconds"))
}

// limitOr is limit, or the configured override (tests use small limits).
func (con *Console) limitOr(limit int) int {
	if con.cfg.APILimit > 0 {
		return con.cfg.APILimit
	}
	return limit
}
