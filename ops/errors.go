package ops

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/gatekey/gatekey/internal/jsonerr"
	"github.com/gatekey/gatekey/tenant"
)

// Error codes: stable, for staff scripts to branch on.
const (
	codeUnauthorized = "unauthorized"
	codeTokenRevoked = "token_revoked"
	codeForbidden    = "forbidden"
	codeTooMany      = "too_many_attempts"
	codeNotFound     = "not_found"
	codeMethod       = "method_not_allowed"
	codeBadJSON      = "bad_json"
	codeInvalidText  = "invalid_text" // a NUL character or bytes not UTF-8, which the database cannot store
	codeInvalid      = "invalid_request"
	codeConflict     = "conflict"
	codeInternal     = "internal_error"
)

// apiError is a call the API refuses, with its status and error code.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return e.Message }

func fail(status int, code, message string) *apiError {
	return &apiError{Status: status, Code: code, Message: message}
}

func invalid(format string, args ...any) *apiError {
	return fail(fiber.StatusUnprocessableEntity, codeInvalid, fmt.Sprintf(format, args...))
}

// respond writes err as {"error": {"code": ..., "message": ...}}.
func (s *Server) respond(c *fiber.Ctx, err error) {
	var e *apiError
	var fe *fiber.Error
	switch {
	case errors.As(err, &e):
	case errors.Is(err, tenant.ErrNotFound):
		e = fail(fiber.StatusNotFound, codeNotFound, "There is no tenant with this id.")
	case errors.As(err, &fe) && fe.Code < 500:
		e = fail(fe.Code, strings.ToLower(strings.ReplaceAll(statusText(fe.Code), " ", "_")), fe.Message)
	default:
		s.cfg.Log.ErrorContext(c.UserContext(), "ops", "method", c.Method(), "path", c.Path(), "err", err)
		e = fail(fiber.StatusInternalServerError, codeInternal, "Something went wrong on our side; the server log has the details.")
	}
	_ = c.Status(e.Status).JSON(fiber.Map{"error": e})
}

func statusText(code int) string {
	if t := utils.StatusMessage(code); t != "" {
		return t
	}
	return "error"
}

// decode reads a JSON object into v, refusing unknown fields, a key given
// twice and a key in the wrong case, so that a misspelt field is an error
// rather than quietly ignored or taken for another.
func decode(c *fiber.Ctx, v any) error {
	body := bytes.TrimSpace(c.Body())
	if len(body) == 0 {
		body = []byte("{}")
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fail(fiber.StatusBadRequest, codeBadJSON, "The request body is not valid JSON for this call: "+jsonerr.Describe(err)+".")
	}
	if d.More() {
		return fail(fiber.StatusBadRequest, codeBadJSON, "The request body must be one JSON object.")
	}
	if err := jsonerr.ExactNames(body, v); err != nil {
		return fail(fiber.StatusBadRequest, codeBadJSON, "The request body is not valid JSON for this call: "+err.Error()+".")
	}
	return nil
}

// idParam reads the path's :id; anything but a positive integer names
// nothing, so it is answered as not found.
func idParam(c *fiber.Ctx, what string) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fail(fiber.StatusNotFound, codeNotFound, "There is no "+what+" with this id.")
	}
	return id, nil
}

// limitQuery reads ?limit=, from 1 to max.
func limitQuery(c *fiber.Ctx, def, max int) (int, error) {
	s := c.Query("limit")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		return 0, invalid("limit must be a whole number from 1 to %d.", max)
	}
	return n, nil
}

// timeQuery reads a time given as RFC 3339 or as a date (midnight UTC).
func timeQuery(c *fiber.Ctx, name string) (*time.Time, error) {
	s := c.Query(name)
	if s == "" {
		return nil, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return &t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return &t, nil
	}
	return nil, invalid("%s must be a date (2026-01-31) or a time in RFC 3339 (2026-01-31T12:00:00Z).", name)
}

// int64Query reads an optional positive integer.
func int64Query(c *fiber.Ctx, name string) (int64, error) {
	s := c.Query(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, invalid("%s must be a positive whole number.", name)
	}
	return n, nil
}
