package ops

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// queryParams are the query parameters each route takes, read once from
// openapi.json and keyed by the route's path as Fiber names it
// ("/ops/v1/tenants/:id/usage"): the document and the check cannot drift
// apart.
var queryParams = readQueryParams(openAPI)

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

func readQueryParams(doc []byte) map[string][]string {
	var d struct {
		Paths map[string]map[string]struct {
			Parameters []struct{ Name, In string }
		}
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		panic(fmt.Sprintf("ops: openapi.json: %v", err)) // embedded: every test would show it
	}
	out := map[string][]string{}
	for path, ops := range d.Paths {
		route := "/ops/v1" + pathParam.ReplaceAllString(path, ":$1")
		for method, op := range ops {
			for _, p := range op.Parameters {
				if p.In == "query" {
					key := strings.ToUpper(method) + " " + route
					out[key] = append(out[key], p.Name)
				}
			}
		}
	}
	for _, names := range out {
		slices.Sort(names) // once, here: the map is shared by every request
	}
	return out
}

// knownQuery refuses a query parameter the call does not take: a
// misspelt filter (tenant_id for tenant) would otherwise be ignored, and
// the call would answer for everything.
func knownQuery(c *fiber.Ctx) error {
	method := c.Method()
	if method == fiber.MethodHead {
		method = fiber.MethodGet // Fiber answers HEAD with the GET route
	}
	known := queryParams[method+" "+c.Route().Path]
	var unknown string
	c.Context().QueryArgs().VisitAll(func(k, _ []byte) {
		if unknown == "" && !slices.Contains(known, string(k)) {
			unknown = string(k)
		}
	})
	if unknown == "" {
		return c.Next()
	}
	if len(known) == 0 {
		return invalid("This call takes no query parameters, and %q was given.", storable(clip(unknown, 100)))
	}
	return invalid("This call takes no query parameter %q; it takes %s.", storable(clip(unknown, 100)), strings.Join(known, ", "))
}
