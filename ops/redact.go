package ops

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Job args carry what members are sent: message texts with access codes,
// one-use Join links, button URLs and callback data. Staff see a job's
// ids, numbers and flags, which are what finding a failure takes, and
// only the length of its other strings, so a staff token, of any role,
// cannot collect codes that grant paid access (and the audit log of
// GET /ops/v1/jobs would not show which ones were seen).

// plainArgs are the keys of job args whose strings carry nothing of a
// member's or an owner's: shown as they are.
var plainArgs = map[string]bool{
	"command":         true, // the bot's command list (setMyCommands)
	"description":     true,
	"subscription_id": true, // a Stripe id, the same as on the tenant's history
}

// redactArgs returns the job's args with every string not under a key of
// plainArgs replaced by a note of its length. Args that are not JSON
// (River writes JSON; nothing else should be there) are withheld whole.
func redactArgs(encoded []byte) json.RawMessage {
	if len(encoded) == 0 {
		return json.RawMessage("{}")
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(encoded))
	dec.UseNumber() // ids as they are: float64 would round those past 2^53
	if err := dec.Decode(&v); err != nil {
		return json.RawMessage(`{"redacted": "args that are not JSON"}`)
	}
	out, err := json.Marshal(redactValue("", v))
	if err != nil {
		return json.RawMessage(`{"redacted": "args that are not JSON"}`)
	}
	return out
}

func redactValue(key string, v any) any {
	switch v := v.(type) {
	case string:
		if plainArgs[key] || v == "" {
			return v
		}
		return fmt.Sprintf("[redacted: %d characters]", len([]rune(v)))
	case map[string]any:
		for k, inner := range v {
			v[k] = redactValue(k, inner)
		}
		return v
	case []any:
		for i, inner := range v {
			v[i] = redactValue(key, inner) // a list's items are under its key
		}
		return v
	}
	return v // numbers, booleans, null
}
