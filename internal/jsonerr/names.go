package jsonerr

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// ExactNames finds what encoding/json lets through in a body it decoded
// into v without error: a key of the top-level object given twice (the
// last would win), or a key that names one of v's fields only when case is
// ignored ("PLAN_ID" for plan_id, which encoding/json takes). Either could
// act on a value the caller did not mean. The error says which key.
func ExactNames(body []byte, v any) error {
	names := fieldNames(reflect.TypeOf(v))
	d := json.NewDecoder(bytes.NewReader(body))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		return nil // not an object: decoding said what was wrong
	}
	seen := map[string]bool{}
	for d.More() {
		tok, err := d.Token()
		key, ok := tok.(string)
		if err != nil || !ok {
			return nil
		}
		if seen[key] {
			return fmt.Errorf("%s is given twice", key)
		}
		seen[key] = true
		if names != nil && !names[key] {
			for name := range names {
				if strings.EqualFold(name, key) {
					return fmt.Errorf("%s must be written %s (names are case-sensitive)", key, name)
				}
			}
		}
		var value json.RawMessage
		if err := d.Decode(&value); err != nil {
			return nil
		}
	}
	return nil
}

// fieldNames are the JSON names of the struct t (or *t) decodes, those of
// embedded structs included; nil for anything else (a map takes any key).
func fieldNames(t reflect.Type) map[string]bool {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	names := map[string]bool{}
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		switch {
		case name == "-" || !f.IsExported() && !f.Anonymous:
		case name == "" && f.Anonymous:
			for n := range fieldNames(f.Type) {
				names[n] = true
			}
		case name == "":
			names[f.Name] = true
		default:
			names[name] = true
		}
	}
	return names
}
