package jsonerr_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/gatekey/gatekey/internal/jsonerr"
)

func ExampleDescribe() {
	var in struct {
		PlanID    int64      `json:"plan_id"`
		Reason    string     `json:"reason"`
		ExpiresAt *time.Time `json:"expires_at"`
	}
	for _, body := range []string{`{"plan_id": "one"}`, `{"reason": 5}`, `{"expires_at": "tomorrow"}`, `{"expires_at": 5}`, `{"plan_id": 1`, `[1]`} {
		fmt.Println(jsonerr.Describe(json.Unmarshal([]byte(body), &in)))
	}
	// Output:
	// plan_id must be a whole number, not string
	// reason must be a string, not number
	// a date and time must be a string in RFC 3339 form, such as "2027-01-31T12:00:00Z"
	// a date and time must be a string in RFC 3339 form, such as "2027-01-31T12:00:00Z"
	// unexpected end of JSON input (at byte 13)
	// it must be a JSON object, not array
}

func ExampleExactNames() {
	type common struct {
		Reason string `json:"reason"`
	}
	var in struct {
		PlanID int64 `json:"plan_id"`
		common
	}
	for _, body := range []string{`{"plan_id": 2, "reason": "x"}`, `{"plan_id": 2, "PLAN_ID": 3}`, `{"plan_id": 2, "plan_id": 3}`, `{"Reason": "x"}`, `[1]`} {
		fmt.Println(jsonerr.ExactNames([]byte(body), &in))
	}
	// Output:
	// <nil>
	// PLAN_ID must be written plan_id (names are case-sensitive)
	// plan_id is given twice
	// Reason must be written reason (names are case-sensitive)
	// <nil>
}
