package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatekey/gatekey/internal/app"
	"github.com/gatekey/gatekey/telegram/telegramtest"
	"github.com/gatekey/gatekey/tenant"
)

// devSecretKey encrypts bot tokens in development mode only; serve refuses
// to start without a key of its own.
const devSecretKey = "ZGV2ZWxvcG1lbnQta2V5LW5vdC1mb3ItcHJvZC11c2U="

const (
	demoEmail    = "owner@demo.gatekey.dev"
	demoPassword = "gatekey-demo"
)

// dev runs Gatekey against an in-process fake Telegram with a demo tenant.
// The fake keeps its world in memory, so the demo tenant is made afresh
// at each start.
func dev(ctx context.Context, stdout io.Writer) error {
	cfg, err := loadConfig()
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	if cfg.SecretKey == "" {
		cfg.SecretKey = devSecretKey
	}
	if err := migrateDatabase(ctx, cfg.DatabaseURL, io.Discard); err != nil {
		return err
	}
	if err := resetDemo(ctx, cfg.DatabaseURL); err != nil {
		return err
	}
	fake := telegramtest.NewServer()
	defer fake.Close()
	cfg.TelegramAPIURL = fake.URL()

	players := &players{fake: fake}
	ac := appConfig(cfg, true, true)
	ac.Routes = func(r fiber.Router) { r.Post("/dev/chat/:user", players.chat) }
	return runApp(ctx, cfg, ac, func(a *app.App) error {
		demo, err := a.SeedDemo(ctx, fake, demoEmail, demoPassword)
		if err != nil {
			return err
		}
		players.bot = demo.Bot
		printWelcome(stdout, cfg, demo)
		return nil
	})
}

func printWelcome(w io.Writer, cfg config, d app.Demo) {
	fmt.Fprintf(w, `
Gatekey is running in development mode, with a fake Telegram and a demo tenant.

  Server:         %[1]s   (health %[1]s/healthz, metrics %[1]s/metrics)
  Demo owner:     %[2]s / %[3]s
  Demo bot:       @%[4]s, plan "%[5]s" opening "%[6]s" and "%[7]s"

Play a member of the demo bot (each name is a pretend Telegram user):
  curl -d text=/start %[1]s/dev/chat/alice

The demo tenant is made afresh at each start. Stop with Ctrl-C.
`, cfg.PublicURL, d.Email, d.Password, d.Bot.Username, d.Plan.Name, d.Chats[0].Title, d.Chats[1].Title)
}

// resetDemo removes the previous run's demo tenant: its bot and chats
// lived in the fake Telegram, which starts empty.
func resetDemo(ctx context.Context, databaseURL string) error {
	pool, err := pgxpool.New(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	_, err = pool.Exec(ctx, `
		WITH gone AS (DELETE FROM tenants WHERE id IN
			(SELECT tenant_id FROM tenant_directory WHERE kind = 'email' AND key = $1) RETURNING id)
		DELETE FROM river_job WHERE (args->>'tenant_id')::bigint IN (SELECT id FROM gone)`, demoEmail)
	if err != nil {
		return fmt.Errorf("dev: reset demo tenant: %w", err)
	}
	return nil
}

// players lets a developer talk to the demo bot as pretend Telegram users
// over plain HTTP, until the sandbox page exists.
type players struct {
	fake  *telegramtest.Server
	bot   tenant.Bot
	mu    sync.Mutex
	users map[string]telegramtest.User
}

func (p *players) user(name string) telegramtest.User {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.users == nil {
		p.users = map[string]telegramtest.User{}
	}
	u, ok := p.users[name]
	if !ok {
		u = p.fake.AddUser(strings.ToUpper(name[:1])+name[1:], name)
		p.users[name] = u
	}
	return u
}

// chat sends text as the user and answers with what the bot replies
// within a few seconds.
func (p *players) chat(c *fiber.Ctx) error {
	name := strings.ToLower(c.Params("user"))
	text := c.FormValue("text")
	if name == "" || len(name) > 32 || text == "" {
		return c.Status(fiber.StatusBadRequest).SendString("usage: curl -d text=/start URL/dev/chat/NAME\n")
	}
	u := p.user(name)
	before := len(p.fake.Messages(p.bot.TelegramID, u.ID))
	if status, err := p.fake.SendText(p.bot.TelegramID, u.ID, text); err != nil || status != 200 {
		return c.Status(fiber.StatusBadGateway).SendString(fmt.Sprintf("delivery failed: %d %v\n", status, err))
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), 3*time.Second)
	defer cancel()
	err := p.fake.WaitFor(ctx, func() bool { return len(p.fake.Messages(p.bot.TelegramID, u.ID)) > before })
	if errors.Is(err, context.DeadlineExceeded) {
		return c.SendString("(no answer yet)\n")
	}
	var b strings.Builder
	for _, m := range p.fake.Messages(p.bot.TelegramID, u.ID)[before:] {
		fmt.Fprintf(&b, "@%s: %s\n", p.bot.Username, m.Text)
	}
	return c.SendString(b.String())
}
