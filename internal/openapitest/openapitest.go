// Package openapitest holds an OpenAPI document to the routes a Fiber app
// serves under a prefix, both ways, so the document stays true.
package openapitest

import (
	"encoding/json"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

// Operation is one documented operation, for checks of a test's own.
type Operation struct {
	Method, Path string // "GET", "/codes/{id}"
	Summary      string
	Responses    map[string]any
	Parameters   []struct{ Name, In string }
}

// Check fails t unless every route app serves under prefix is in the
// document at docPath and every documented operation is served, each
// with a summary and responses. It returns the operations for further
// checks.
func Check(t testing.TB, app *fiber.App, prefix, docPath string) []Operation {
	t.Helper()
	served := map[string]bool{}
	for _, r := range app.GetRoutes(true) {
		if !strings.HasPrefix(r.Path, prefix+"/") || r.Method == http.MethodHead {
			continue
		}
		parts := strings.Split(strings.TrimPrefix(r.Path, prefix), "/")
		for i, p := range parts {
			if strings.HasPrefix(p, ":") {
				parts[i] = "{" + p[1:] + "}"
			}
		}
		served[r.Method+" "+strings.Join(parts, "/")] = true
	}
	ops := read(t, docPath)
	documented := map[string]bool{}
	for _, o := range ops {
		documented[o.Method+" "+o.Path] = true
		if o.Summary == "" || len(o.Responses) == 0 {
			t.Errorf("%s %s: no summary or responses", o.Method, o.Path)
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
	if len(missing) > 0 || len(extra) > 0 || len(served) == 0 {
		t.Errorf("served but not documented: %v\ndocumented but not served: %v\n(%d routes served under %s)", missing, extra, len(served), prefix)
	}
	return ops
}

func read(t testing.TB, docPath string) []Operation {
	t.Helper()
	raw, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", docPath, err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("%s: openapi %q, want 3.x", docPath, doc.OpenAPI)
	}
	var ops []Operation
	for path, methods := range doc.Paths {
		for method, raw := range methods {
			if method == "parameters" {
				continue
			}
			o := Operation{Method: strings.ToUpper(method), Path: path}
			if err := json.Unmarshal(raw, &o); err != nil {
				t.Errorf("%s %s: %v", method, path, err)
			}
			o.Method, o.Path = strings.ToUpper(method), path
			ops = append(ops, o)
		}
	}
	return ops
}
