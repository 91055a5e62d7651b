package console

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/tenant"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// pages holds one template per page, each with the shared layout.
type pages struct {
	byName map[string]*template.Template
}

func parsePages() (*pages, error) {
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("console: templates: %w", err)
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", base, err)
		}
		p.byName[strings.TrimSuffix(base, ".html")] = t
	}
	return p, nil
}

// view is what every page template gets; Data is the page's own.
type view struct {
	Title     string
	Nav       string // the menu entry to highlight
	Session   *tenant.Session
	CSRF      string
	Flash     string
	FlashKind string // ok or error
	DevMode   bool
	Head      template.HTML // extra, trusted, head elements
	Data      any
}

// render writes a page.
func (con *Console) render(c *fiber.Ctx, status int, name, title string, data any) error {
	t, ok := con.pages.byName[name]
	if !ok {
		return fmt.Errorf("console: no template %q", name)
	}
	v := view{Title: title, Nav: name, DevMode: con.cfg.DevMode, Data: data}
	if s := session(c); s != nil {
		v.Session, v.CSRF = s, s.CSRFToken
	} else {
		v.CSRF = con.anonCSRF(c)
	}
	if f := c.Cookies(flashCookie); f != "" {
		if kind, msg, ok := strings.Cut(f, "|"); ok {
			if m, err := url.QueryUnescape(msg); err == nil {
				v.Flash, v.FlashKind = m, kind
			}
		}
		c.Cookie(&fiber.Cookie{Name: flashCookie, Value: "", Path: "/", Expires: time.Unix(1, 0), HTTPOnly: true, Secure: con.secure, SameSite: "Lax"})
	}
	if h, ok := c.Locals("head").(template.HTML); ok {
		v.Head = h
	}
	c.Status(status)
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	setPageHeaders(c)
	return t.Execute(c.Response().BodyWriter(), v)
}

// setPageHeaders keeps pages out of frames and shared caches, and holds
// scripts and styles to our own.
func setPageHeaders(c *fiber.Ctx) {
	formAction := "'self'"
	if more, ok := c.Locals("form-action").(string); ok {
		formAction += " " + more
	}
	c.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action "+formAction)
	c.Set("X-Frame-Options", "DENY")
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Referrer-Policy", "same-origin")
	c.Set("Cache-Control", "no-store")
}

const flashCookie = "gatekey_flash"

// flash keeps a message for the next page, after a redirect.
func (con *Console) flash(c *fiber.Ctx, kind, msg string) {
	c.Cookie(&fiber.Cookie{Name: flashCookie, Value: kind + "|" + url.QueryEscape(msg), Path: "/",
		HTTPOnly: true, Secure: con.secure, SameSite: "Lax", MaxAge: 60})
}

// redirect answers a form post with 303 See Other, so a reload does not post again.
func redirect(c *fiber.Ctx, to string) error { return c.Redirect(to, fiber.StatusSeeOther) }

// errorPage answers with a page saying what went wrong, in plain words.
func (con *Console) errorPage(c *fiber.Ctx, status int, msg string) error {
	return con.render(c, status, "error", statusTitle(status), struct {
		Status  int
		Message string
	}{status, msg})
}

func statusTitle(status int) string {
	switch status {
	case 400:
		return "Please check what you sent"
	case 404:
		return "Not found"
	case 403:
		return "Not allowed"
	case 413:
		return "Too large"
	case 422:
		return "Please check the form"
	}
	return "Something went wrong"
}

// fail logs an unexpected error and answers 500, or 404 for a row that is
// not the tenant's.
func (con *Console) fail(c *fiber.Ctx, err error) error {
	if errors.Is(err, membership.ErrNotFound) || errors.Is(err, tenant.ErrNotFound) {
		return con.notFound(c)
	}
	con.cfg.Log.ErrorContext(c.UserContext(), "console", "path", c.Path(), "err", err)
	return con.errorPage(c, 500, "Something went wrong on our side. Please try again; if it keeps happening, tell Gatekey support.")
}

// NotFound answers a path that nothing else serves with the console's own
// 404 page; the application mounts it after every other route.
func (con *Console) NotFound(c *fiber.Ctx) error { return con.notFound(c) }

func (con *Console) notFound(c *fiber.Ctx) error {
	return con.errorPage(c, 404, "There is nothing here. It may have been deleted, or the link is wrong.")
}

// who names the person behind a record's "by": the bot's admins are
// recorded by their Telegram user id ("telegram:<id>"), the console's
// owners and the bot's codes by name ("console: <email>", "bot: @name").
func who(by string) string {
	if id, ok := strings.CutPrefix(by, "telegram:"); ok {
		return "an admin in Telegram (user id " + id + ")"
	}
	return by
}

// idParam reads a positive id from the URL; anything else is not found.
func idParam(c *fiber.Ctx, name string) (int64, bool) {
	id, err := strconv.ParseInt(c.Params(name), 10, 64)
	return id, err == nil && id > 0
}

// dateLayout is how the console writes a moment, in UTC: "7 Dec 2026 19:47".
const dateLayout = "2 Jan 2006 15:04"

var funcs = template.FuncMap{
	"date": func(t time.Time) string { return t.UTC().Format(dateLayout) },
	"day":  func(t time.Time) string { return t.UTC().Format("2 Jan 2006") },
	"datep": func(t *time.Time, none string) string {
		if t == nil {
			return none
		}
		return t.UTC().Format(dateLayout)
	},
	"iso":    func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"who":    who,
	"code":   membership.FormatCode,
	"link":   membership.ActivationLink,
	"plural": membership.Plural,
	"num": func(n int) string {
		s := strconv.Itoa(n)
		for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
			s = s[:i] + "," + s[i:]
		}
		return s
	},
	// amount shows money for columns of figures: "0.00 USD", not "free".
	"amount": membership.Money.Figure,
	"status": func(c membership.Code) string { return c.Status(time.Now()) },
	"slug":   func(s string) string { return strings.ReplaceAll(s, " ", "-") },
	"pct": func(a, b int) int {
		if b <= 0 {
			return 100
		}
		return a * 100 / b
	},
	"has": func(ids []int64, id int64) bool {
		for _, x := range ids {
			if x == id {
				return true
			}
		}
		return false
	},
}

func isNotFound(err error) bool {
	return errors.Is(err, membership.ErrNotFound) || errors.Is(err, tenant.ErrNotFound)
}
