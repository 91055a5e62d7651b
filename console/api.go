package console

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/gatekey/gatekey/billing"
	"github.com/gatekey/gatekey/internal/allow"
	"github.com/gatekey/gatekey/internal/bearer"
	"github.com/gatekey/gatekey/internal/jsonerr"
	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/tenant"
)

// The owner API: JSON over HTTP at /api/v1, authenticated by an API key
// sent as "Authorization: Bearer <key>". openapi.json beside this file
// describes every route; a test holds the two to each other.

//go:embed openapi.json
var openAPI []byte

// API error codes: stable, for scripts to branch on.
const (
	errUnauthorized   = "unauthorized"
	errKeyRevoked     = "api_key_revoked"
	errNotFound       = "not_found"
	errBadJSON        = "bad_json"
	errInvalid        = "invalid_request"
	errFairUse        = "fair_use_exceeded"
	errRollbackExists = "rollback_started"
	errKeyReused      = "idempotency_key_reused"
	errSuspended      = "tenant_suspended"
	errRateLimited    = "rate_limited"
	errInvalidText    = "invalid_text" // text the database cannot store: a NUL, or bytes not UTF-8
	errInternal       = "internal_error"
	errMethod         = "method_not_allowed"
)

type apiError struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func apiFail(c *fiber.Ctx, status int, code, msg string) error {
	c.Set("Cache-Control", "no-store")
	return c.Status(status).JSON(apiError{apiErrorBody{Code: code, Message: msg}})
}

// problem is a request the API refuses, with its status and error code.
type problem struct {
	status        int
	code, message string
}

func (p *problem) Error() string { return p.message }

func refuse(status int, code, msg string) *problem { return &problem{status, code, msg} }

// apiErr maps an error from the domain onto the API's answer.
func (con *Console) apiErr(c *fiber.Ctx, err error) error {
	var fair *billing.FairUseError
	var v *membership.ValidationError
	var p *problem
	switch {
	case errors.As(err, &p):
		return apiFail(c, p.status, p.code, p.message)
	case isNotFound(err):
		return apiFail(c, 404, errNotFound, "There is no such object in your account.")
	case errors.As(err, &fair):
		return apiFail(c, 422, errFairUse, fair.Error())
	case errors.As(err, &v):
		return apiFail(c, 422, errInvalid, capitalise(v.Message))
	case errors.Is(err, membership.ErrRollbackStarted):
		return apiFail(c, 409, errRollbackExists, "This code has been rolled back already: GET its rollback for its progress.")
	case errors.Is(err, membership.ErrRequestKeyReused):
		return apiFail(c, 409, errKeyReused, "This Idempotency-Key made a batch of another plan_id, count, max_activations or zero_priced, or one that expires where this one would not (or the other way round). Use a new key for a new request.")
	case errors.Is(err, membership.ErrNothingToRollBack):
		return apiFail(c, 409, errRollbackExists, "Every code of this batch has been rolled back already: GET each code's rollback for its progress.")
	}
	con.cfg.Log.ErrorContext(c.UserContext(), "api", "path", c.Path(), "err", err)
	return apiFail(c, 500, errInternal, "Something went wrong on our side. Please retry; if it keeps happening, tell Gatekey support.")
}

func apiKey(c *fiber.Ctx) tenant.APIKey {
	k, _ := c.Locals("apikey").(tenant.APIKey)
	return k
}

// apiAuth lets through requests with a live API key.
func (con *Console) apiAuth(c *fiber.Ctx) error {
	key, ok := bearer.Token(c.Get(fiber.HeaderAuthorization))
	if !ok {
		return apiFail(c, 401, errUnauthorized, "Send your API key as the header Authorization: Bearer <key>. Create a key in the console, under Settings.")
	}
	k, err := con.cfg.DB.AuthenticateAPIKey(c.UserContext(), key)
	switch {
	case errors.Is(err, tenant.ErrBadAPIKey):
		return apiFail(c, 401, errUnauthorized, "This API key is not valid. Check that it was copied whole.")
	case errors.Is(err, tenant.ErrAPIKeyRevoked):
		return apiFail(c, 401, errKeyRevoked, "This API key was revoked. Create a new one in the console, under Settings.")
	case err != nil:
		return con.apiErr(c, err)
	}
	c.Locals("apikey", k)
	c.Set("Cache-Control", "no-store")
	return c.Next()
}

// decode reads a JSON body into v, refusing unknown fields, a key given
// twice and a key in the wrong case, so a typo is an error rather than
// silently ignored or taken for another field.
func decode(c *fiber.Ctx, v any) error {
	body := c.Body()
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		msg := "The request body is not valid JSON for this call: " + jsonerr.Describe(err) + "."
		if ct := strings.ToLower(string(c.Request().Header.ContentType())); strings.HasPrefix(ct, fiber.MIMEApplicationForm) || strings.HasPrefix(ct, fiber.MIMEMultipartForm) {
			msg += " It was sent as a form: send a JSON object, with Content-Type: application/json."
		}
		return refuse(400, errBadJSON, msg)
	}
	if _, err := d.Token(); err != io.EOF {
		return refuse(400, errBadJSON, "The request body is not valid JSON for this call: it goes on after the JSON object.")
	}
	if err := jsonerr.ExactNames(body, v); err != nil {
		return refuse(400, errBadJSON, "The request body is not valid JSON for this call: "+err.Error()+".")
	}
	return nil
}

// queryID reads an optional positive id from the query string.
func queryID(c *fiber.Ctx, name string) (int64, error) { return optionalID(c.Query(name), name) }

// optionalID reads an optional positive id, written as a decimal number
// (a query string's value, a form field, or a JSON number as sent): 0 when
// s is empty, refused when it is anything but a positive whole number.
func optionalID(s, name string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, refuse(422, errInvalid, fmt.Sprintf("%s must be a positive whole number.", name))
	}
	return id, nil
}

// pathID reads the :id of the path; anything but a positive number is not found.
func pathID(c *fiber.Ctx) (int64, error) {
	id, ok := idParam(c, "id")
	if !ok {
		return 0, refuse(404, errNotFound, "There is no such object in your account.")
	}
	return id, nil
}

// limitParam reads ?limit, 1 to 500, default 50.
func limitParam(c *fiber.Ctx) (int, error) {
	s := c.Query("limit")
	if s == "" {
		return PageSize, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 500 {
		return 0, refuse(422, errInvalid, "limit must be a whole number from 1 to 500.")
	}
	return n, nil
}

// boolParam reads an optional true/false query parameter (absent: false).
func boolParam(c *fiber.Ctx, name string) (bool, error) {
	switch c.Query(name) {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, refuse(422, errInvalid, name+" must be true or false.")
}

// registerAPI mounts /api/v1. Each route takes apiAuth itself, so that the
// route list the OpenAPI test walks is exactly what is served.
func (con *Console) registerAPI(r fiber.Router) {
	api := r.Group("/api/v1", con.apiLimitIP)
	api.Get("/openapi.json", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
		return c.Send(openAPI)
	})
	api.Get("/bots", con.apiAuth, con.apiLimitKey, con.apiBots)
	api.Get("/plans", con.apiAuth, con.apiLimitKey, con.apiPlans)
	api.Get("/codes", con.apiAuth, con.apiLimitKey, con.apiCodes)
	api.Post("/codes", con.apiAuth, con.apiLimitKey, con.writable, con.apiCreateCodes)
	api.Get("/codes.csv", con.apiAuth, con.apiLimitKey, con.apiCodesCSV)
	api.Get("/codes/:id", con.apiAuth, con.apiLimitKey, con.apiCode)
	api.Delete("/codes/:id", con.apiAuth, con.apiLimitKey, con.writable, con.apiDeleteCode)
	api.Post("/codes/:id/rollback", con.apiAuth, con.apiLimitKey, con.writable, con.apiRollback)
	api.Get("/codes/:id/rollback", con.apiAuth, con.apiLimitKey, con.apiRollbackProgress)
	api.Post("/batches/:id/rollback", con.apiAuth, con.apiLimitKey, con.writable, con.apiRollbackBatch)
	api.Get("/members", con.apiAuth, con.apiLimitKey, con.apiMembers)
	api.Get("/members/:id", con.apiAuth, con.apiLimitKey, con.apiMember)
	api.Post("/members/:id/revoke", con.apiAuth, con.apiLimitKey, con.writable, con.apiRevoke)
	api.Get("/fair-use", con.apiAuth, con.apiLimitKey, con.apiFairUse)
	api.Get("/settings", con.apiAuth, con.apiLimitKey, con.apiSettings)
	api.Patch("/settings", con.apiAuth, con.apiLimitKey, con.writable, con.apiUpdateSettings)
	api.Use(func(c *fiber.Ctx) error {
		if methods := allow.Methods(c); len(methods) > 0 {
			c.Set(fiber.HeaderAllow, allow.Header(methods))
			return apiFail(c, fiber.StatusMethodNotAllowed, errMethod, c.Method()+" is not a call of "+c.Path()+": it takes "+allow.Header(methods)+".")
		}
		return apiFail(c, 404, errNotFound, "There is no such API call. See /api/v1/openapi.json.")
	})
}
