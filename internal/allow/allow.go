// Package allow finds the methods a request's path takes when its own
// method has no route, so that the APIs answer 405 with an Allow header
// instead of a 404 that says the call does not exist. The methods are read
// from the routes the app serves, so they cannot drift from them.
package allow

import (
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// order is the order methods are listed in.
var order = []string{
	fiber.MethodGet, fiber.MethodHead, fiber.MethodPost, fiber.MethodPut,
	fiber.MethodPatch, fiber.MethodDelete, fiber.MethodOptions,
}

// Methods returns the methods of the app's routes (not its middleware)
// whose pattern matches c's path, in a fixed order, or nil. Paths are
// matched as Fiber matches them by default: case-insensitively, a trailing
// slash ignored, ":name" taking one segment and "*" the rest.
func Methods(c *fiber.Ctx) []string {
	path := segments(c.Path())
	var found []string
	for _, r := range c.App().GetRoutes(true) {
		if slices.Contains(order, r.Method) && !slices.Contains(found, r.Method) && matches(segments(r.Path), path) {
			found = append(found, r.Method)
		}
	}
	slices.SortFunc(found, func(a, b string) int { return slices.Index(order, a) - slices.Index(order, b) })
	return found
}

// Header is Methods as an Allow header's value ("GET, HEAD, DELETE").
func Header(methods []string) string { return strings.Join(methods, ", ") }

func segments(path string) []string {
	return strings.Split(strings.Trim(strings.ToLower(path), "/"), "/")
}

func matches(pattern, path []string) bool {
	for i, p := range pattern {
		switch {
		case p == "*":
			return true
		case i >= len(path):
			return false
		case strings.HasPrefix(p, ":"):
			if path[i] == "" {
				return false
			}
		case p != path[i]:
			return false
		}
	}
	return len(pattern) == len(path)
}
