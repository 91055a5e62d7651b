// Package sandbox is a web page for trying Gatekey bots without Telegram:
// it plays pretend Telegram users (members, and the owner's own account)
// against the in-process fake Bot API of telegram/telegramtest, shows a
// bot's channels and groups with their members, and moves memberships
// through time so that a reminder and a removal can be watched at once.
// Its BotFather panel makes what a new owner makes in Telegram before
// Gatekey knows them: a bot with its token, to connect in the console,
// and channels and groups with that bot as administrator. The page plays
// the demo bot, or any bot of the fake that is connected.
//
// It exists only beside the fake: `gatekey dev`, and `gatekey serve` with
// TELEGRAM_API_URL=fake. Start refuses an App that talks to any other Bot
// API, and until Start has accepted one every sandbox route answers 404.
// Everything the page does goes through the fake's user actions (a message,
// a button press, opening an invite link, adding a bot to a chat) and the
// real webhook, jobs and workers; only the clock control touches the
// database directly, through membership.FastForward, and then leaves the
// rest to the reconciler job.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/internal/app"
	"github.com/gatekey/gatekey/telegram/telegramtest"
	"github.com/gatekey/gatekey/tenant"
)

// Path is where the sandbox page is served.
const Path = "/sandbox"

// ErrRealTelegram is returned by Start for an App whose Bot API is not the
// sandbox's fake: the sandbox never drives real Telegram users.
var ErrRealTelegram = errors.New("sandbox: the server talks to a Bot API other than the in-process fake; the sandbox stays off")

// Sandbox is the page and the pretend people behind it. Make it with New
// before the App (its routes go into app.Config.Routes), then Start it
// once the App serves.
type Sandbox struct {
	fake  *telegramtest.Server
	page  *page
	world atomic.Pointer[world] // nil until Start: every route answers 404

	mu        sync.Mutex
	people    []*person // in the order they were made; the owner first
	made      []madeBot // by the BotFather panel, in order
	chatsMade int       // by the BotFather panel
	delivered int       // how many of the fake's deliveries activity has seen
	activity  map[chatKey][]string
}

// world is what Start found: the App and the demo it drives.
type world struct {
	app  *app.App
	demo app.Demo
}

// New makes a sandbox over the fake Telegram.
func New(fake *telegramtest.Server) *Sandbox {
	return &Sandbox{fake: fake, page: mustParsePage(), activity: map[chatKey][]string{}}
}

// Demo people: the owner's own Telegram account, linked as the demo bot's
// admin, and a first member to play.
const (
	OwnerName, OwnerUsername   = "Olivia", "olivia_owner"
	MemberName, MemberUsername = "Alice", "alice"
)

// Start seeds the demo tenant in the fake (app.SeedDemo), links the
// owner's pretend Telegram account as the bot's admin through a one-time
// owner link, as an owner does from the console, adds a first member, and
// opens the sandbox. It is the start-up of `gatekey dev`, shared with the
// tests so that they play what a newcomer gets. The fake numbers its bots
// after those the database has connected: the dev database keeps the
// tenants that newcomers signed up in earlier runs, with their bots.
func (s *Sandbox) Start(ctx context.Context, a *app.App, email, password string) (app.Demo, error) {
	if a.Config.TelegramAPIURL == "" || a.Config.TelegramAPIURL != s.fake.URL() {
		return app.Demo{}, ErrRealTelegram
	}
	last, err := a.DB.LastTelegramBotID(ctx)
	if err != nil {
		return app.Demo{}, fmt.Errorf("sandbox: number the bots: %w", err)
	}
	s.fake.NumberBotsAfter(last)
	demo, err := a.SeedDemo(ctx, s.fake, email, password)
	if err != nil {
		return demo, err
	}
	w := &world{app: a, demo: demo}
	owner := s.addPerson(s.fake.AddUser(OwnerName, OwnerUsername), true)
	var token string
	err = a.DB.Tx(ctx, demo.TenantID, func(tx pgx.Tx) error {
		token, _, err = tenant.NewOwnerLinkToken(ctx, tx, demo.Bot.ID)
		return err
	})
	if err != nil {
		return demo, fmt.Errorf("sandbox: owner link: %w", err)
	}
	if err := s.send(demo.Bot, owner, "/start "+tenant.OwnerLinkPrefix+token); err != nil {
		return demo, fmt.Errorf("sandbox: link the owner: %w", err)
	}
	s.addPerson(s.fake.AddUser(MemberName, MemberUsername), false)
	s.world.Store(w)
	return demo, nil
}

// Register mounts the sandbox's routes under Path.
func (s *Sandbox) Register(r fiber.Router) {
	g := r.Group(Path, s.guard)
	static, _ := fs.Sub(assets, "static")
	g.Use("/static", filesystem.New(filesystem.Config{Root: http.FS(static), MaxAge: 300}))
	g.Get("", s.showPage)
	g.Get("/state", s.state)
	g.Post("/people", s.sameSite, s.createPerson)
	g.Post("/people/:id/send", s.sameSite, s.sendText)
	g.Post("/people/:id/open", s.sameSite, s.openLink)
	g.Post("/people/:id/press", s.sameSite, s.pressButton)
	g.Get("/people/:id/files/:message", s.download)
	g.Post("/memberships/:id/fast-forward", s.sameSite, s.fastForward)
	g.Post("/botfather/bots", s.sameSite, s.createBot)
	g.Post("/botfather/chats", s.sameSite, s.createChat)
}

// guard hides the sandbox until Start has checked the App drives the fake.
func (s *Sandbox) guard(c *fiber.Ctx) error {
	if s.world.Load() == nil {
		return fiber.ErrNotFound
	}
	return c.Next()
}

// sameSite lets through only the page's own requests, which carry a
// header that a form on another site cannot add: the sandbox acts as
// people, so another tab must not make it act.
func (s *Sandbox) sameSite(c *fiber.Ctx) error {
	if c.Get(actionHeader) != "1" {
		return fail(c, fiber.StatusForbidden, "Sandbox actions come from the sandbox page.")
	}
	return c.Next()
}

// actionHeader marks the page's own requests.
const actionHeader = "X-Gatekey-Sandbox"

// form reads a form field. Fiber's strings point into a buffer it reuses
// after the request, and the sandbox keeps what people type: a copy.
func form(c *fiber.Ctx, key string) string {
	return strings.Clone(c.FormValue(key))
}

// fail answers an action with a message for people.
func fail(c *fiber.Ctx, status int, message string) error {
	return c.Status(status).JSON(fiber.Map{"error": message})
}
