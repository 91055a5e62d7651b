package ops_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatekey/gatekey/internal/apptest"
	"github.com/gatekey/gatekey/ops"
)

// world is a running Gatekey with two staff tokens: an admin and a reader.
type world struct {
	*apptest.Env
	admin, reader staffClient
}

func newWorld(t *testing.T) world {
	t.Helper()
	env := apptest.New(t)
	return world{Env: env, admin: newStaff(t, env, "alice@gatekey.dev", ops.RoleAdmin), reader: newStaff(t, env, "rob@gatekey.dev", ops.RoleRead)}
}

// testOperator is who the tests make and revoke staff tokens as.
var testOperator = ops.Operator{User: "tester", Host: "test-host"}

func newStaff(t *testing.T, env *apptest.Env, name, role string) staffClient {
	t.Helper()
	_, token, err := ops.CreateToken(context.Background(), env.App.DB, name, role, testOperator)
	if err != nil {
		t.Fatal(err)
	}
	return staffClient{t: t, url: env.URL, token: token, name: name}
}

// staffClient calls the ops API with one token.
type staffClient struct {
	t     *testing.T
	url   string
	token string
	name  string
}

// call sends a request and decodes the JSON answer into out (if not nil);
// it returns the status. A body that is a string is sent as it is.
func (s staffClient) call(method, path string, body, out any) int {
	s.t.Helper()
	resp, raw := s.do(method, path, body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			s.t.Fatalf("%s %s: %d %q: %v", method, path, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode
}

func (s staffClient) do(method, path string, body any) (*http.Response, []byte) {
	s.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.url+"/ops/v1"+path, r)
	if err != nil {
		s.t.Fatal(err)
	}
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 15 * time.Second}).Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp, raw
}

// errorBody is the API's error shape.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// refused checks that a call is refused with status and code, with a
// message for people.
func (s staffClient) refused(method, path string, body any, status int, code string) {
	s.t.Helper()
	var e errorBody
	if got := s.call(method, path, body, &e); got != status || e.Error.Code != code || len(e.Error.Message) < 10 {
		s.t.Errorf("%s %s: %d %+v, want %d %s with a message", method, path, got, e, status, code)
	}
}
