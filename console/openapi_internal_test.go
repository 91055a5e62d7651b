package console

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestOpenAPIErrorEnumHasEveryCode holds the Error schema's code enum to
// the codes the owner API answers: the err... constants of api.go, and
// request_too_large, which the server's error handler answers for a body
// over 4 MiB before any route runs.
func TestOpenAPIErrorEnumHasEveryCode(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas struct {
				Error struct {
					Properties struct {
						Error struct {
							Properties struct {
								Code struct{ Enum []string } `json:"code"`
							} `json:"properties"`
						} `json:"error"`
					} `json:"properties"`
				} `json:"Error"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	enum := doc.Components.Schemas.Error.Properties.Error.Properties.Code.Enum
	for _, code := range append(errorCodes(t), "request_too_large") {
		if !slices.Contains(enum, code) {
			t.Errorf("the owner API answers %q, but the Error schema's code enum leaves it out", code)
		}
	}
}

// errorCodes reads the values of api.go's err... string constants.
func errorCodes(t *testing.T) []string {
	f, err := parser.ParseFile(token.NewFileSet(), "api.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	ast.Inspect(f, func(n ast.Node) bool {
		v, ok := n.(*ast.ValueSpec)
		if !ok || len(v.Names) != 1 || len(v.Values) != 1 || !strings.HasPrefix(v.Names[0].Name, "err") {
			return true
		}
		if lit, ok := v.Values[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
			s, _ := strconv.Unquote(lit.Value)
			codes = append(codes, s)
		}
		return true
	})
	if len(codes) < 10 {
		t.Fatalf("found only %d error codes in api.go: %q", len(codes), codes)
	}
	return codes
}
