package ops_test

import (
	"os"
	"strings"
	"testing"

	"github.com/gatekey/gatekey/internal/openapitest"
)

// TestOpenAPIDocumentMatchesRoutes holds openapi.json to the routes Fiber
// serves under /ops/v1, both ways: each route is documented, and each
// documented operation is served.
func TestOpenAPIDocumentMatchesRoutes(t *testing.T) {
	w := newWorld(t)
	ops := openapitest.Check(t, w.App.HTTP, "/ops/v1", "openapi.json")
	if len(ops) < 12 {
		t.Errorf("only %d operations documented", len(ops))
	}
	for _, o := range ops {
		if o.Responses["401"] == nil {
			t.Errorf("%s %s: the 401 answer is not documented", o.Method, o.Path)
		}
		if o.Method != "GET" && o.Responses["403"] == nil {
			t.Errorf("%s %s: the read token's 403 is not documented", o.Method, o.Path)
		}
		for _, p := range o.Parameters {
			if p.In == "path" && !strings.Contains(o.Path, "{"+p.Name+"}") {
				t.Errorf("%s %s: path parameter %s is not in the path", o.Method, o.Path, p.Name)
			}
		}
	}

	// The document served is this file, to a staff token only.
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	resp, body := w.reader.do("GET", "/openapi.json", nil)
	if resp.StatusCode != 200 || string(body) != string(raw) || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("GET /ops/v1/openapi.json: %d %s, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
	}
	(staffClient{t: t, url: w.URL}).refused("GET", "/openapi.json", nil, 401, "unauthorized")
}
