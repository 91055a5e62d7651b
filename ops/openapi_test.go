package ops_test

import (
	"encoding/json"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"
)

// TestOpenAPIDocumentMatchesRoutes holds openapi.json to the routes Fiber
// serves under /ops/v1, both ways: each route is documented, and each
// documented operation is served.
func TestOpenAPIDocumentMatchesRoutes(t *testing.T) {
	w := newWorld(t)
	served := map[string]bool{}
	for _, r := range w.App.HTTP.GetRoutes(true) {
		if !strings.HasPrefix(r.Path, "/ops/v1/") || r.Method == http.MethodHead {
			continue
		}
		parts := strings.Split(strings.TrimPrefix(r.Path, "/ops/v1"), "/")
		for i, p := range parts {
			if strings.HasPrefix(p, ":") {
				parts[i] = "{" + p[1:] + "}"
			}
		}
		served[r.Method+" "+strings.Join(parts, "/")] = true
	}
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
			var o struct {
				Summary    string
				Responses  map[string]any
				Parameters []struct{ Name, In string }
			}
			if err := json.Unmarshal(op, &o); err != nil || o.Summary == "" || len(o.Responses) == 0 {
				t.Errorf("%s %s: no summary or responses (%v)", method, path, err)
			}
			if o.Responses["401"] == nil {
				t.Errorf("%s %s: the 401 answer is not documented", method, path)
			}
			if method != "get" && o.Responses["403"] == nil {
				t.Errorf("%s %s: the read token's 403 is not documented", method, path)
			}
			for _, p := range o.Parameters {
				if p.In == "path" && !strings.Contains(path, "{"+p.Name+"}") {
					t.Errorf("%s %s: path parameter %s is not in the path", method, path, p.Name)
				}
			}
		}
	}
	var missing, extra []string
	for k := range served {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !served[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 || len(served) < 12 {
		t.Errorf("served but not documented: %v\ndocumented but not served: %v\n(%d routes served)", missing, extra, len(served))
	}

	// The document served is this file, to a staff token only.
	resp, body := w.reader.do("GET", "/openapi.json", nil)
	if resp.StatusCode != 200 || string(body) != string(raw) || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("GET /ops/v1/openapi.json: %d %s, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
	}
	(staffClient{t: t, url: w.URL}).refused("GET", "/openapi.json", nil, 401, "unauthorized")
}
