// Package telegramtest is an in-memory fake of the Telegram Bot API for tests
// and the dev mode.
//
// It owns a small Telegram world — bots, users, chats, chat members, invite
// links, join requests and the messages bots send — and answers the Bot API
// methods Gatekey calls through telego, in Telegram's own response shapes and
// with Telegram's error texts. Every call is checked against the official
// method list (bot-api.json, embedded): an unknown method answers 404, a
// missing required parameter 400, and, stricter than Telegram on purpose, an
// unknown parameter is refused too. Calls are recorded for assertions
// (Record turns that off, for load benchmarks), failures can be injected,
// and user actions (messages, button presses, joining by link) are
// delivered as updates to the webhook each bot set with setWebhook, with
// the secret header, synchronously.
//
// Point telego at it with
//
//	telego.NewBot(token, telego.WithAPIServer(fake.URL()), telego.WithDiscardLogger())
package telegramtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mymmrac/telego"
)

// Server is the fake Bot API. All state lives in memory behind one mutex, so
// a Server is safe for concurrent use; webhook deliveries happen with the
// mutex released, so a webhook handler may call back into the fake.
type Server struct {
	spec   *apiSpec
	ts     *httptest.Server // nil for NewHandlerServer
	client *http.Client     // for webhook deliveries

	mu  sync.Mutex
	now func() time.Time

	// the world
	bots      map[int64]*botState
	byToken   map[string]*botState
	users     map[int64]*telego.User
	chats     map[int64]*chatState
	links     map[string]*linkState // by invite link URL
	convs     map[convKey]*conversation
	files     map[string]*Document // by file_id
	callbacks map[string]*callbackState
	seq       sequences

	// observation and failure injection
	calls         []Call
	callsByMethod map[string][]int // indexes into calls, so CallsTo is not a scan
	callCounts    map[string]int   // every call, kept in calls or not
	deliveries    []Delivery
	forget        bool // see Record
	keep          int  // see KeepMessages
	failures      []*failRule
}

// sequences hands out identifiers; users and bots get disjoint ranges so an
// id alone tells which is which when reading a failing test.
type sequences struct {
	user, bot, chat, group, callback int64
}

// NewServer starts the fake on a real HTTP listener at 127.0.0.1:0.
func NewServer() *Server {
	s := NewHandlerServer()
	s.ts = httptest.NewServer(s.Handler())
	return s
}

// webhookTransport keeps connections to the webhooks open, as Telegram
// does (up to a bot's max_connections). With the default two idle
// connections per host, and every bot's webhook on one host, deliveries
// made at once would mostly dial a new connection each.
func webhookTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 0 // no limit overall; per host below
	t.MaxIdleConnsPerHost = 256
	return t
}

// NewHandlerServer makes the fake without a listener, for mounting its
// Handler inside another server (the dev mode). URL returns "" for it.
func NewHandlerServer() *Server {
	return &Server{
		spec:          mustSpec(),
		client:        &http.Client{Timeout: 10 * time.Second, Transport: webhookTransport()},
		now:           time.Now,
		bots:          map[int64]*botState{},
		byToken:       map[string]*botState{},
		users:         map[int64]*telego.User{},
		chats:         map[int64]*chatState{},
		links:         map[string]*linkState{},
		convs:         map[convKey]*conversation{},
		files:         map[string]*Document{},
		callbacks:     map[string]*callbackState{},
		callsByMethod: map[string][]int{},
		callCounts:    map[string]int{},
		seq:           sequences{user: 100_000_000, bot: 7_000_000_000, chat: 1_000_000_000, group: 400_000_000, callback: 4_000_000_000_000_000},
	}
}

// URL is the base URL to give telego.WithAPIServer; requests go to
// URL/bot<token>/<method>.
func (s *Server) URL() string {
	if s.ts == nil {
		return ""
	}
	return s.ts.URL
}

// Handler serves /bot<token>/<method>.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveAPI) }

// Close stops the listener, if any, and drops idle webhook connections.
func (s *Server) Close() {
	if s.ts != nil {
		s.ts.Close()
	}
	s.client.CloseIdleConnections()
}

// SetNow sets the clock used for dates, invite-link expiry and the 48-hour
// delete window; nil restores time.Now.
func (s *Server) SetNow(now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// Call is one request the fake received, including rejected ones.
//
// Params holds the parameters converted to the types the spec declares:
// Integer→int64, Float→float64, Boolean→bool, String→string, an uploaded
// file→File, objects and arrays→decoded JSON (map[string]any, []any with
// json.Number). Empty values are dropped, as Telegram ignores them. For a
// call rejected before that conversion, Params holds the raw values.
// Treat Params as read-only.
type Call struct {
	Bot    int64 // 0 when the token was unknown
	Method string
	Params map[string]any
	At     time.Time
	Status int // HTTP status of the answer, 200 on success
}

// File is an uploaded file part of a multipart request.
type File struct {
	Name string
	Data []byte
}

// Calls returns every call so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	copy(out, s.calls)
	return out
}

// CallsTo returns the calls of one method (any case), in order.
func (s *Server) CallsTo(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx := s.callsByMethod[s.canonicalMethod(method)]
	out := make([]Call, len(idx))
	for i, j := range idx {
		out[i] = s.calls[j]
	}
	return out
}

func (s *Server) canonicalMethod(name string) string {
	if m := s.spec.method(name); m != nil {
		return m.Name
	}
	return name
}

// Record chooses whether calls and webhook deliveries are kept for Calls,
// CallsTo and Deliveries; they are from the start. A load benchmark turns
// it off: over tens of thousands of calls the record became most of the
// process's heap (48 of the 83 MB live in the webhook benchmark), which the
// garbage collector marked every two or three seconds, for 70–216 ms each
// time, slowing the Gatekey measured in the same process. CallCount counts
// either way.
func (s *Server) Record(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forget = !on
}

// KeepMessages makes each chat keep only the latest n messages its bot
// sent; older ones are gone, as if deleted (Messages no longer returns
// them, and they cannot be edited). 0, the default, keeps every message.
// The webhook benchmark keeps one: its bots' replies, tens of thousands
// at about 650 bytes each, had become the largest part of the process's
// live heap once Record(false) had removed the record of calls, and the
// collector marked them at every cycle (the live heap ended a 20-second
// run at 42–45 MB; keeping one per chat, at 28–31 MB).
func (s *Server) KeepMessages(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keep = max(n, 0)
}

// CallCount returns how many calls of one method (any case) the fake has
// answered, refused ones included, whether or not they were kept.
func (s *Server) CallCount(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.callCounts[s.canonicalMethod(method)]
}

func (s *Server) recordLocked(c Call) {
	s.callCounts[c.Method]++
	if s.forget {
		return
	}
	s.callsByMethod[c.Method] = append(s.callsByMethod[c.Method], len(s.calls))
	s.calls = append(s.calls, c)
}

// apiError is an error answer in Telegram's shape.
type apiError struct {
	code       int
	desc       string
	retryAfter int
}

func badRequest(format string, args ...any) *apiError {
	return &apiError{code: http.StatusBadRequest, desc: "Bad Request: " + fmt.Sprintf(format, args...)}
}

func forbidden(format string, args ...any) *apiError {
	return &apiError{code: http.StatusForbidden, desc: "Forbidden: " + fmt.Sprintf(format, args...)}
}

var (
	errUnauthorized = &apiError{code: http.StatusUnauthorized, desc: "Unauthorized"}
	errNotFound     = &apiError{code: http.StatusNotFound, desc: "Not Found"}
)

// answer is what one API call produced.
type answer struct {
	result any
	desc   string // some successes carry a description, e.g. "Webhook was set"
	err    *apiError
}

func (a answer) status() int {
	if a.err != nil {
		return a.err.code
	}
	return http.StatusOK
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	token, method, ok := splitPath(r.URL.Path)
	raw, perr := parseParams(w, r)
	var ans answer
	var out []outbound
	if !ok {
		ans = s.rejectPath(r.URL.Path, raw)
	} else {
		ans, out = s.dispatch(token, method, raw, perr)
	}
	// Updates caused by the call (a ban, an approved join request) reach the
	// webhooks before the caller gets its answer, so a test sees their effect
	// as soon as the call returns. Their failures are kept in Deliveries.
	_ = s.deliverAll(out)
	writeAnswer(w, ans)
}

// splitPath takes /bot<token>/<method> apart.
func splitPath(path string) (token, method string, ok bool) {
	rest, ok := strings.CutPrefix(path, "/bot")
	if !ok {
		return "", "", false
	}
	token, method, ok = strings.Cut(rest, "/")
	if !ok || token == "" || method == "" || strings.Contains(method, "/") {
		return "", "", false
	}
	return token, method, true
}

func (s *Server) rejectPath(path string, raw map[string]any) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recordLocked(Call{Method: path, Params: raw, At: s.now(), Status: errNotFound.code})
	return answer{err: errNotFound}
}

// dispatch checks and runs one call under the lock and records it.
func (s *Server) dispatch(token, method string, raw map[string]any, perr *apiError) (answer, []outbound) {
	s.mu.Lock()
	defer s.mu.Unlock()
	call := Call{Method: method, Params: raw, At: s.now()}
	ans, out := s.execLocked(&call, token, perr)
	call.Status = ans.status()
	s.recordLocked(call)
	if ans.err != nil {
		out = nil
	}
	return ans, out
}

// execLocked applies Telegram's checks in Telegram's order: token, method,
// parameters; then injected failures, then the method itself.
func (s *Server) execLocked(call *Call, token string, perr *apiError) (answer, []outbound) {
	bot := s.byToken[token]
	if bot == nil {
		return answer{err: errUnauthorized}, nil
	}
	call.Bot = bot.user.ID
	m := s.spec.method(call.Method)
	if m == nil {
		return answer{err: errNotFound}, nil
	}
	call.Method = m.Name
	if perr != nil {
		return answer{err: perr}, nil
	}
	params, err := m.check(call.Params)
	if err != nil {
		return answer{err: err}, nil
	}
	call.Params = params
	if err := s.takeFailureLocked(m.Name, params); err != nil {
		return answer{err: err}, nil
	}
	return s.runLocked(m.Name, bot, params)
}

func (s *Server) runLocked(method string, bot *botState, params map[string]any) (answer, []outbound) {
	h := handlers[method]
	if h == nil {
		return answer{err: badRequest("method not supported by the fake: %s", method)}, nil
	}
	req := &request{s: s, bot: bot, params: params, now: s.now()}
	result, err := h(req)
	return answer{result: result, desc: req.desc, err: err}, req.outbox
}

// writeAnswer writes Telegram's envelope; the HTTP status equals error_code.
func writeAnswer(w http.ResponseWriter, a answer) {
	body, err := json.Marshal(envelope(a))
	if err != nil { // a result telego types cannot encode is a bug in the fake
		a = answer{err: &apiError{code: http.StatusInternalServerError, desc: "Internal Server Error: " + err.Error()}}
		body, _ = json.Marshal(envelope(a))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.status())
	_, _ = w.Write(body)
}

type okBody struct {
	OK          bool   `json:"ok"`
	Result      any    `json:"result"`
	Description string `json:"description,omitempty"`
}

type errBody struct {
	OK          bool       `json:"ok"`
	ErrorCode   int        `json:"error_code"`
	Description string     `json:"description"`
	Parameters  *errParams `json:"parameters,omitempty"`
}

type errParams struct {
	RetryAfter int `json:"retry_after,omitempty"`
}

func envelope(a answer) any {
	if a.err == nil {
		return okBody{OK: true, Result: a.result, Description: a.desc}
	}
	body := errBody{ErrorCode: a.err.code, Description: a.err.desc}
	if a.err.retryAfter > 0 {
		body.Parameters = &errParams{RetryAfter: a.err.retryAfter}
	}
	return body
}

// Failure is an error answer to inject with Fail.
type Failure struct {
	Code        int // HTTP status and error_code; 0 means 500
	Description string
	RetryAfter  int // seconds; sent as parameters.retry_after when > 0
}

// Fail429 is Telegram's flood-control answer.
func Fail429(retryAfter int) Failure {
	return Failure{Code: http.StatusTooManyRequests, Description: fmt.Sprintf("Too Many Requests: retry after %d", retryAfter), RetryAfter: retryAfter}
}

// Fail403Blocked is the answer for a user who blocked the bot.
func Fail403Blocked() Failure {
	return Failure{Code: http.StatusForbidden, Description: "Forbidden: bot was blocked by the user"}
}

// Fail5xx is a server-side failure; telego reports it without the body.
func Fail5xx() Failure {
	return Failure{Code: http.StatusInternalServerError, Description: "Internal Server Error"}
}

type failRule struct {
	method string // canonical name, "" for any
	left   int    // < 0: until ClearFailures
	f      Failure
	match  func(params map[string]any) bool // nil: every call
}

// Fail makes the next `times` well-formed calls of method (any bot; "" means
// any method) answer f instead of running. A negative times fails every such
// call until ClearFailures; zero does nothing. Failures are checked after the token, method and
// parameters, so only calls that would otherwise run consume them.
func (s *Server) Fail(method string, times int, f Failure) {
	s.FailWhen(method, times, f, nil)
}

// FailWhen is Fail for only the calls whose parameters (as Call.Params
// holds them) match: to fail, say, the call about one chat among several.
func (s *Server) FailWhen(method string, times int, f Failure, match func(params map[string]any) bool) {
	if times == 0 {
		return
	}
	if f.Code == 0 {
		f.Code = http.StatusInternalServerError
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if method != "" {
		method = s.canonicalMethod(method)
	}
	s.failures = append(s.failures, &failRule{method: method, left: times, f: f, match: match})
}

// ClearFailures drops every pending injected failure.
func (s *Server) ClearFailures() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = nil
}

func (s *Server) takeFailureLocked(method string, params map[string]any) *apiError {
	for i, r := range s.failures {
		if r.method != "" && r.method != method || r.match != nil && !r.match(params) {
			continue
		}
		if r.left > 0 {
			r.left--
			if r.left == 0 {
				s.failures = slices.Delete(s.failures, i, i+1)
			}
		}
		return &apiError{code: r.f.Code, desc: r.f.Description, retryAfter: r.f.RetryAfter}
	}
	return nil
}
