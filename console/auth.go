package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/gatekey/gatekey/tenant"
)

const (
	sessionCookie = "gatekey_session"
	// anonCSRFCookie carries the CSRF token of the sign-in and sign-up
	// forms, which are posted before there is a session (double submit).
	anonCSRFCookie = "gatekey_csrf"
	csrfField      = "_csrf"
)

func session(c *fiber.Ctx) *tenant.Session {
	s, _ := c.Locals("session").(*tenant.Session)
	return s
}

// loadSession finds the signed-in owner, if any, and goes on either way.
func (con *Console) loadSession(c *fiber.Ctx) error {
	if v := c.Cookies(sessionCookie); v != "" {
		s, err := con.cfg.DB.SessionByCookie(c.UserContext(), v)
		switch {
		case err == nil:
			c.Locals("session", &s)
		case !errors.Is(err, tenant.ErrNotFound):
			return con.fail(c, err)
		}
	}
	return c.Next()
}

// signedIn lets only signed-in owners through, and checks the CSRF token
// of every form they post.
func (con *Console) signedIn(c *fiber.Ctx) error {
	s := session(c)
	if s == nil {
		if c.Method() == fiber.MethodGet {
			return redirect(c, "/login?next="+urlQueryEscape(c.OriginalURL()))
		}
		return con.errorPage(c, 403, "You are signed out. Please sign in and try again.")
	}
	if c.Method() == fiber.MethodPost && !sameToken(postedCSRF(c), s.CSRFToken) {
		return con.badCSRF(c)
	}
	return c.Next()
}

// anonymous lets through owners who are not signed in (sign-in and
// sign-up pages), with the double-submit CSRF check on posts.
func (con *Console) anonymous(c *fiber.Ctx) error {
	if session(c) != nil {
		return redirect(c, "/dashboard")
	}
	if c.Method() == fiber.MethodPost && !sameToken(postedCSRF(c), c.Cookies(anonCSRFCookie)) {
		return con.badCSRF(c)
	}
	return c.Next()
}

func (con *Console) badCSRF(c *fiber.Ctx) error {
	return con.errorPage(c, 403, "This form has expired or did not come from Gatekey. Go back, reload the page, and try again.")
}

func sameToken(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// anonCSRF returns the CSRF token for a form shown before sign-in, setting
// its cookie on first use.
func (con *Console) anonCSRF(c *fiber.Ctx) string {
	if v, ok := c.Locals(anonCSRFCookie).(string); ok {
		return v
	}
	v := c.Cookies(anonCSRFCookie)
	if len(v) < 32 {
		b := make([]byte, 24)
		_, _ = rand.Read(b)
		v = base64.RawURLEncoding.EncodeToString(b)
		c.Cookie(&fiber.Cookie{Name: anonCSRFCookie, Value: v, Path: "/", HTTPOnly: true, Secure: con.secure, SameSite: "Lax",
			Expires: time.Now().Add(24 * time.Hour)})
	}
	c.Locals(anonCSRFCookie, v)
	return v
}

func (con *Console) setSessionCookie(c *fiber.Ctx, value string, expires time.Time) {
	c.Cookie(&fiber.Cookie{Name: sessionCookie, Value: value, Path: "/", Expires: expires,
		HTTPOnly: true, Secure: con.secure, SameSite: "Lax"})
}

type authForm struct {
	Email string
	Next  string
	Error string
}

func (con *Console) loginPage(c *fiber.Ctx) error {
	return con.render(c, 200, "login", "Sign in", authForm{Next: safeNext(c.Query("next"))})
}

func (con *Console) login(c *fiber.Ctx) error {
	f := authForm{Email: c.FormValue("email"), Next: safeNext(c.FormValue("next"))}
	_, cookie, err := con.cfg.DB.LogIn(c.UserContext(), f.Email, c.FormValue("password"), c.IP())
	var tooMany *tenant.TooManyAttemptsError
	switch {
	case errors.Is(err, tenant.ErrBadLogin):
		f.Error = "That email and password do not match an account. Check them and try again."
		return con.render(c, 401, "login", "Sign in", f)
	case errors.As(err, &tooMany):
		f.Error = tooMany.Error()
		retryAfter(c, tooMany.Wait)
		return con.render(c, 429, "login", "Sign in", f)
	case err != nil:
		return con.fail(c, err)
	}
	con.setSessionCookie(c, cookie, time.Now().Add(tenant.SessionTTL))
	return redirect(c, f.Next)
}

func (con *Console) signupPage(c *fiber.Ctx) error {
	return con.render(c, 200, "signup", "Create your account", authForm{})
}

func (con *Console) signup(c *fiber.Ctx) error {
	f := authForm{Email: c.FormValue("email")}
	password := c.FormValue("password")
	if password != c.FormValue("password2") {
		f.Error = "The two passwords are not the same. Type them again."
		return con.render(c, 422, "signup", "Create your account", f)
	}
	_, cookie, err := con.cfg.DB.SignUpFrom(c.UserContext(), f.Email, password, c.IP())
	var tooMany *tenant.TooManyAttemptsError
	var bad *tenant.InputError
	switch {
	case errors.As(err, &tooMany):
		f.Error = tooMany.Error()
		retryAfter(c, tooMany.Wait)
		return con.render(c, 429, "signup", "Create your account", f)
	case errors.Is(err, tenant.ErrEmailTaken):
		f.Error = "There is already an account with this email. Sign in instead."
		return con.render(c, 409, "signup", "Create your account", f)
	case errors.As(err, &bad):
		f.Error = bad.Message
		return con.render(c, 422, "signup", "Create your account", f)
	case err != nil:
		return con.fail(c, err)
	}
	con.setSessionCookie(c, cookie, time.Now().Add(tenant.SessionTTL))
	con.flash(c, "ok", "Welcome to Gatekey! Start by connecting your bot.")
	return redirect(c, "/bots")
}

func (con *Console) logout(c *fiber.Ctx) error {
	if err := con.cfg.DB.LogOut(c.UserContext(), c.Cookies(sessionCookie)); err != nil {
		return con.fail(c, err)
	}
	con.setSessionCookie(c, "", time.Unix(1, 0))
	con.flash(c, "ok", "You are signed out.")
	return redirect(c, "/login")
}

// postedCSRF is the form's CSRF token from the posted body only. Fiber's
// FormValue would also take it from the query string, where a token leaks
// into logs and Referer headers, and a link could carry it.
func postedCSRF(c *fiber.Ctx) string {
	if v := c.Request().PostArgs().Peek(csrfField); len(v) > 0 {
		return string(v)
	}
	if form, err := c.MultipartForm(); err == nil && len(form.Value[csrfField]) > 0 {
		return form.Value[csrfField][0]
	}
	return ""
}

// safeNext keeps a post-sign-in redirect on this site: a path, not "//host"
// or "/\\host", and without control characters, which browsers strip from
// a Location (so "/\t/host" would become "//host") or refuse outright.
func safeNext(next string) string {
	if len(next) < 2 || next[0] != '/' || next[1] == '/' ||
		strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return "/dashboard"
	}
	return next
}

// retryAfter tells a client how long to wait before trying again, in the
// Retry-After header, and returns the wait in whole seconds (rounded up).
func retryAfter(c *fiber.Ctx, wait time.Duration) int {
	secs := int(math.Ceil(wait.Seconds()))
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(secs))
	return secs
}
