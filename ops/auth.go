package ops

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/gatekey/gatekey/internal/bearer"
	"github.com/gatekey/gatekey/internal/nulcheck"
)

// Keys of what guard and the handlers leave on the request.
const (
	localToken  = "ops.token"
	localTenant = "ops.tenant" // the tenant a call is about, for the audit log
)

// staff is the token the call was authenticated with.
func staff(c *fiber.Ctx) Token {
	t, _ := c.Locals(localToken).(Token)
	return t
}

// aboutTenant notes the tenant a call is about, for the audit log.
func aboutTenant(c *fiber.Ctx, id int64) { c.Locals(localTenant, id) }

// guard runs around every ops call. Every call is authenticated, held to
// its token's role, checked for text the database cannot store, run, and
// logged with its outcome, whatever the outcome; except that an address
// that has sent too many missing or wrong tokens lately has its next ones
// refused unlogged, so that a flood cannot fill the audit log. A valid
// token is let in even then: staff behind the same address (an office, a
// proxy) are not shut out by someone else's guessing, and a staff token's
// 256 random bits are beyond guessing anyway.
//
// The entry is written after the call, so nothing the call was given may
// keep it from being written: a call with a NUL character in its path,
// query or body (which neither text nor jsonb stores) is refused before
// its handler runs (and so is one whose path, query or form is not
// UTF-8), and the entry itself is made storable (record).
func (s *Server) guard(c *fiber.Ctx) error {
	ctx := c.UserContext()
	c.Set(fiber.HeaderCacheControl, "no-store")
	ip := c.IP()
	wait, err := s.lockedOut(ctx, ip)
	if err != nil {
		s.respond(c, err)
		return nil
	}
	tok, err := s.authenticate(c)
	var refused *apiError
	if wait > 0 && errors.As(err, &refused) && refused.Code == codeUnauthorized { // a missing or wrong token
		minutes := int(math.Ceil(wait.Minutes()))
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		s.respond(c, fail(fiber.StatusTooManyRequests, codeTooMany, fmt.Sprintf(
			"Too many calls from this address came with a missing or wrong staff token: for the next %d minute%s, only calls with a valid one are answered.",
			minutes, plural(minutes))))
		return nil
	}

	e := entry{IP: ip, Method: c.Method(), Path: clip(utils.CopyString(c.Path()), maxLoggedPath), Summary: summarize(c)}
	if id, ok := tenantInPath(e.Path); ok {
		e.TenantID = &id // even when the call is refused before its handler
	}
	if err == nil {
		e.TokenID, e.TokenName = &tok.ID, tok.Name
		c.Locals(localToken, tok)
		err = authorize(tok, c.Method())
	}
	if err == nil {
		err = refuseText(c)
	}
	if err == nil {
		err = exactPath(c)
	}
	if err == nil {
		err = next(c)
	}
	if err != nil {
		s.respond(c, err)
	}
	e.Status = c.Response().StatusCode()
	if id, ok := c.Locals(localTenant).(int64); ok {
		e.TenantID = &id
	}
	// The call is done (a change is committed) whatever happens here; a
	// log entry that cannot be written is reported as loudly as we can.
	if err := s.record(ctx, e); err != nil {
		s.cfg.Log.ErrorContext(ctx, "ops: audit entry not written", "token", e.TokenName, "method", e.Method,
			"path", e.Path, "status", e.Status, "err", err)
	}
	return nil
}

// next runs the call's handler, turning a panic into an error, so that a
// call that fails that way is still answered and audited like any other.
func next(c *fiber.Ctx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("ops: panic: %v", r)
		}
	}()
	return c.Next()
}

// refuseText refuses a call whose path, query or body has text the
// database cannot store: a NUL character, or bytes that are not UTF-8.
func refuseText(c *fiber.Ctx) error {
	if msg := nulcheck.Refusal(c, true); msg != "" {
		return fail(fiber.StatusBadRequest, codeInvalidText, msg)
	}
	return nil
}

// exactPath answers a path in any case but its own (/ops/v1/Tenants) as
// the unknown call it is. Fiber matches routes case-insensitively
// app-wide, which the console and the owner API keep; but the audit log
// is searched by path, and a call made as /ops/v1/TENANTS/2/suspend would
// hide from a search for /ops/v1/tenants/2. Every ops route is lower
// case, and so are the ids in them, so any upper-case letter means a
// path that is not the route's. A trailing slash is let through, as in
// the owner API: the audited path still starts with the route's.
func exactPath(c *fiber.Ctx) error {
	if p := c.Path(); strings.ToLower(p) != p {
		return errNoSuchCall()
	}
	return nil
}

var tenantPath = regexp.MustCompile(`^/ops/v1/tenants/([0-9]{1,18})(/|$)`)

// tenantInPath finds the tenant a /tenants/{id} call is about.
func tenantInPath(path string) (int64, bool) {
	m := tenantPath.FindStringSubmatch(path)
	if m == nil {
		return 0, false
	}
	id, err := strconv.ParseInt(m[1], 10, 64)
	return id, err == nil && id > 0
}

// authenticate finds the staff token in "Authorization: Bearer <token>".
func (s *Server) authenticate(c *fiber.Ctx) (Token, error) {
	presented, ok := bearer.Token(c.Get(fiber.HeaderAuthorization))
	if !ok {
		return Token{}, fail(fiber.StatusUnauthorized, codeUnauthorized,
			"Send a staff token as the header Authorization: Bearer <token>. Staff tokens are made with `gatekey ops token create`.")
	}
	tok, err := findToken(c.UserContext(), s.cfg.DB, presented)
	switch {
	case errors.Is(err, errBadToken):
		return tok, fail(fiber.StatusUnauthorized, codeUnauthorized, "This staff token is not valid. Check that it was copied whole.")
	case errors.Is(err, errRevokedToken):
		return tok, fail(fiber.StatusUnauthorized, codeTokenRevoked, "This staff token was revoked. Ask for a new one.")
	}
	return tok, err
}

// authorize lets read tokens only read.
func authorize(t Token, method string) error {
	if method == fiber.MethodGet || method == fiber.MethodHead || t.CanWrite() {
		return nil
	}
	return fail(fiber.StatusForbidden, codeForbidden, "This staff token may only read. Changes need a token with the admin role.")
}

// lockedOut tells how long ip must wait because it sent FailedAuthLimit
// missing or wrong tokens in the last FailedAuthWindow; 0 if it need not.
// The audit log is the record of those attempts.
func (s *Server) lockedOut(ctx context.Context, ip string) (time.Duration, error) {
	var failures int
	var wait float64 // seconds, by the database's clock, which stamped the entries
	err := s.cfg.DB.Pool().QueryRow(ctx, `SELECT count(*), coalesce(extract(epoch FROM min(at) + $2 * interval '1 second' - now()), 0)
		FROM (SELECT at FROM ops_audit WHERE ip = $1 AND status = 401 AND at > now() - $2 * interval '1 second'
			ORDER BY at DESC LIMIT $3) AS recent`,
		ip, s.cfg.FailedAuthWindow.Seconds(), s.cfg.FailedAuthLimit).Scan(&failures, &wait)
	if err != nil {
		return 0, fmt.Errorf("ops: count failed attempts: %w", err)
	}
	if failures < s.cfg.FailedAuthLimit {
		return 0, nil
	}
	// The address may try again when the oldest of its last Limit
	// failures leaves the window.
	return max(time.Duration(wait*float64(time.Second)), time.Second), nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
