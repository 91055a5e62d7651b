package console_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/internal/apptest"
	"github.com/gatekey/gatekey/tenant"
)

var keyShown = regexp.MustCompile(`<code id="new-key">([^<]+)</code>`)

func newJar() (http.CookieJar, error) { return cookiejar.New(nil) }

func newFiber() *fiber.App { return fiber.New(fiber.Config{DisableStartupMessage: true}) }

func readAll(res *http.Response) string {
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// fakeToken reads the token the fake Telegram gave a bot, as the owner
// would copy it again from BotFather.
func fakeToken(t *testing.T, env *apptest.Env, telegramID int64) string {
	t.Helper()
	var botID, tenantID int64
	err := env.Owner(t).QueryRow(context.Background(), "SELECT id, tenant_id FROM bots WHERE telegram_id = $1", telegramID).Scan(&botID, &tenantID)
	if err != nil {
		t.Fatal(err)
	}
	var token string
	env.Tx(t, tenantID, func(tx pgx.Tx) (err error) {
		token, err = tenant.BotToken(context.Background(), tx, env.App.Keys, botID)
		return err
	})
	return token
}
