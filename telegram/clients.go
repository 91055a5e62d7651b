// Package telegram is Gatekey's layer over the Bot API (telego): one client
// per connected bot, made on first use with the token decrypted then;
// limits on how fast each bot may send; and the mapping of Telegram's
// errors onto what a job should do next. telegramtest is its fake server.
package telegram

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/mymmrac/telego"
	ta "github.com/mymmrac/telego/telegoapi"
	"github.com/valyala/fasthttp"
)

// DefaultAPIURL is the real Bot API.
const DefaultAPIURL = "https://api.telegram.org"

// TokenFunc returns a bot's token, decrypted, when a client is first made.
type TokenFunc func(ctx context.Context, tenantID, botID int64) (string, error)

// Clients hands out a telego client per Gatekey bot. All share one HTTP
// client (so one pool of connections to the Bot API).
type Clients struct {
	apiURL string
	token  TokenFunc
	caller ta.Caller

	mu   sync.Mutex
	bots map[int64]client // by Gatekey bot id
}

// client is a cached client and the tenant whose bot it is, so that the
// cache never answers for a bot that is not the asking tenant's.
type client struct {
	tenantID int64
	bot      *telego.Bot
}

// NewClients makes the client cache for the Bot API at apiURL.
func NewClients(apiURL string, token TokenFunc) *Clients {
	return &Clients{
		apiURL: apiURL,
		token:  token,
		caller: okCaller{ta.FastHTTPCaller{Client: &fasthttp.Client{
			ReadTimeout:         30 * time.Second,
			WriteTimeout:        30 * time.Second,
			MaxConnsPerHost:     256,
			MaxIdleConnDuration: time.Minute,
		}}},
		bots: map[int64]client{},
	}
}

// APIURL is the Bot API server the clients talk to.
func (c *Clients) APIURL() string { return c.apiURL }

// Bot returns the client for one of tenantID's bots. Another tenant's bot
// is not found, as the token's read finds it (the cache holds each
// client with its tenant, and is used only by that tenant).
func (c *Clients) Bot(ctx context.Context, tenantID, botID int64) (*telego.Bot, error) {
	c.mu.Lock()
	cached, ok := c.bots[botID]
	c.mu.Unlock()
	if ok && cached.tenantID == tenantID {
		return cached.bot, nil
	}
	token, err := c.token(ctx, tenantID, botID)
	if err != nil {
		return nil, fmt.Errorf("telegram: token of bot %d: %w", botID, err)
	}
	b, err := c.New(token)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.bots[botID] = client{tenantID, b}
	c.mu.Unlock()
	return b, nil
}

// Forget drops a bot's client, after its token was replaced or removed.
func (c *Clients) Forget(botID int64) {
	c.mu.Lock()
	delete(c.bots, botID)
	c.mu.Unlock()
}

// New makes a client for a token that is not stored yet (to check it with
// getMe before connecting the bot). Its logger is silent: telego's would
// print request URLs, and those carry the token.
func (c *Clients) New(token string) (*telego.Bot, error) {
	b, err := telego.NewBot(token, telego.WithAPIServer(c.apiURL), telego.WithAPICaller(c.caller), telego.WithDiscardLogger())
	if err != nil {
		return nil, fmt.Errorf("telegram: %w", err)
	}
	return b, nil
}

// okCaller gives a successful response an empty error. telego formats
// every response for its debug log, even when the logger drops it, and
// formatting a successful response's nil *ta.Error makes fmt call Error on
// a nil pointer and recover from the fault: a signal and a stack unwind,
// some 5% of the CPU a Bot API call costs. telego reads the error only
// when Ok is false (and for warnings, which Gatekey does not turn on).
type okCaller struct{ ta.Caller }

func (c okCaller) Call(ctx context.Context, url string, data *ta.RequestData) (*ta.Response, error) {
	r, err := c.Caller.Call(ctx, url, data)
	if err == nil && r.Ok && r.Error == nil {
		r.Error = &ta.Error{}
	}
	return r, err
}
