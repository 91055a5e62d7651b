package telegramtest

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// specJSON is a copy of the official method list (Bot API, MIT licensed, see
// bot-api.LICENSE). It is embedded rather than read from ../shared so that the
// fake works from any working directory, including the dev-mode binary; a test
// keeps the copy equal to the shared original.
//
//go:embed bot-api.json
var specJSON []byte

// apiSpec is the part of bot-api.json the fake needs: which methods exist and
// which parameters each one takes.
type apiSpec struct {
	version     string
	methods     map[string]*methodSpec // keyed by lower-case name: Telegram ignores case
	updateTypes map[string]bool        // the Update fields, which allowed_updates may name
}

type methodSpec struct {
	Name    string       `json:"name"`
	Returns []string     `json:"returns"`
	Fields  []*fieldSpec `json:"fields"`

	byName map[string]*fieldSpec
}

type fieldSpec struct {
	Name     string   `json:"name"`
	Types    []string `json:"types"`
	Required bool     `json:"required"`
}

// loadSpec parses the embedded spec once per process; every Server shares it
// because it never changes.
var loadSpec = sync.OnceValues(func() (*apiSpec, error) { return parseSpec(specJSON) })

func mustSpec() *apiSpec {
	spec, err := loadSpec()
	if err != nil {
		panic("telegramtest: embedded bot-api.json: " + err.Error())
	}
	return spec
}

func parseSpec(data []byte) (*apiSpec, error) {
	var doc struct {
		Version string                 `json:"version"`
		Methods map[string]*methodSpec `json:"methods"`
		Types   struct {
			Update struct {
				Fields []*fieldSpec `json:"fields"`
			} `json:"Update"`
		} `json:"types"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Methods) == 0 {
		return nil, fmt.Errorf("no methods")
	}
	spec := &apiSpec{version: doc.Version, methods: make(map[string]*methodSpec, len(doc.Methods)), updateTypes: map[string]bool{}}
	for _, f := range doc.Types.Update.Fields {
		if f.Name != "update_id" {
			spec.updateTypes[f.Name] = true
		}
	}
	for _, m := range doc.Methods {
		m.byName = make(map[string]*fieldSpec, len(m.Fields))
		for _, f := range m.Fields {
			m.byName[f.Name] = f
		}
		spec.methods[strings.ToLower(m.Name)] = m
	}
	return spec, nil
}

// APIVersion reports the Bot API version the fake is held to, e.g. "Bot API 10.1".
func APIVersion() string { return mustSpec().version }

func (s *apiSpec) method(name string) *methodSpec { return s.methods[strings.ToLower(name)] }

// emptyTexts are the descriptions Telegram itself gives for some missing
// required parameters; the rest get the generic "<param> is empty".
var emptyTexts = map[string]string{
	"sendMessage.text":      "message text is empty",
	"sendDocument.document": "there is no document in the request",
}

// allowEmpty lists required parameters for which an empty string is a
// meaningful value (setWebhook url "" removes the webhook).
var allowEmpty = map[string]bool{"setWebhook.url": true}

// check validates raw parameters against the spec and returns them converted
// to the Go types the spec declares (see Call.Params). Unknown parameters are
// refused on purpose, so a misspelt one never passes silently.
func (m *methodSpec) check(raw map[string]any) (map[string]any, *apiError) {
	if name := m.firstUnknown(raw); name != "" {
		return nil, badRequest("unknown parameter %q", name)
	}
	params := make(map[string]any, len(raw))
	for name, v := range raw {
		if isEmptyValue(v) && !allowEmpty[m.Name+"."+name] {
			continue // Telegram treats an empty value as an absent one
		}
		nv, err := m.byName[name].normalize(v)
		if err != nil {
			return nil, err
		}
		params[name] = nv
	}
	for _, f := range m.Fields {
		if _, ok := params[f.Name]; f.Required && !ok {
			return nil, badRequest("%s", emptyText(m.Name, f.Name))
		}
	}
	return params, nil
}

// firstUnknown returns the alphabetically first parameter the method does not
// take, so the answer is deterministic when several are wrong.
func (m *methodSpec) firstUnknown(raw map[string]any) string {
	unknown := ""
	for name := range raw {
		if _, ok := m.byName[name]; !ok && (unknown == "" || name < unknown) {
			unknown = name
		}
	}
	return unknown
}

func emptyText(method, param string) string {
	if t, ok := emptyTexts[method+"."+param]; ok {
		return t
	}
	return param + " is empty"
}

func isEmptyValue(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	}
	return false
}

// normalize converts a value that arrived as JSON or as a form string into
// the Go type of the first of the field's declared types that fits:
// Integer→int64, Float→float64, Boolean→bool, String→string,
// InputFile→File, anything else (objects, arrays)→decoded JSON.
func (f *fieldSpec) normalize(v any) (any, *apiError) {
	for _, t := range f.Types {
		if nv, ok := convert(t, v); ok {
			return nv, nil
		}
	}
	return nil, badRequest("invalid %s specified", f.Name)
}

func convert(typ string, v any) (any, bool) {
	switch typ {
	case "Integer":
		return toInt(v)
	case "Float":
		return toFloat(v)
	case "Boolean":
		return toBool(v)
	case "String":
		return toString(v)
	case "InputFile":
		f, ok := v.(File)
		return f, ok
	default:
		return toJSONValue(v)
	}
}

func toInt(v any) (any, bool) {
	switch v := v.(type) {
	case json.Number:
		n, err := v.Int64()
		return n, err == nil
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		return n, err == nil
	case int64:
		return v, true
	}
	return nil, false
}

func toFloat(v any) (any, bool) {
	switch v := v.(type) {
	case json.Number:
		n, err := v.Float64()
		return n, err == nil
	case string:
		n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return n, err == nil
	case float64:
		return v, true
	}
	return nil, false
}

func toBool(v any) (any, bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case string:
		b, err := strconv.ParseBool(v)
		return b, err == nil
	}
	return nil, false
}

func toString(v any) (any, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number: // Telegram accepts a number where it wants a string
		return v.String(), true
	}
	return nil, false
}

// toJSONValue accepts an object or array, or a string holding one (the form
// and multipart encodings carry objects as JSON text).
func toJSONValue(v any) (any, bool) {
	switch v := v.(type) {
	case map[string]any, []any:
		return v, true
	case string:
		dec := json.NewDecoder(bytes.NewReader([]byte(v)))
		dec.UseNumber()
		var out any
		if err := dec.Decode(&out); err != nil {
			return nil, false
		}
		switch out.(type) {
		case map[string]any, []any:
			return out, true
		}
	}
	return nil, false
}
