package sandbox_test

import (
	"context"
	"testing"

	"github.com/gatekey/gatekey/internal/app"
	"github.com/gatekey/gatekey/internal/apptest"
	"github.com/gatekey/gatekey/sandbox"
	"github.com/gatekey/gatekey/telegram/telegramtest"
)

// started is a Gatekey as `make run` starts it: the fake Telegram, the
// sandbox's routes in the App, the demo tenant seeded and its owner's
// pretend account linked, all through sandbox.Start as cmd/gatekey's dev
// mode does.
type started struct {
	env  *apptest.Env
	sb   *sandbox.Sandbox
	demo app.Demo
}

func start(t *testing.T) started {
	t.Helper()
	return startAfter(t, nil)
}

// startAfter is start with before run on the server's database first, as
// an earlier run of `gatekey dev` left it.
func startAfter(t *testing.T, before func(env *apptest.Env)) started {
	t.Helper()
	fake := telegramtest.NewServer()
	t.Cleanup(fake.Close)
	sb := sandbox.New(fake)
	env := apptest.Start(t, apptest.Options{Work: true, Fake: fake, Configure: func(c *app.Config) {
		c.DevMode = true
		c.Routes = sb.Register
	}})
	if before != nil {
		before(env)
	}
	demo, err := sb.Start(context.Background(), env.App, "owner@demo.example", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	return started{env: env, sb: sb, demo: demo}
}

// person finds a pretend person's Telegram user by username.
func (s started) person(t *testing.T, username string) telegramtest.User {
	t.Helper()
	for _, u := range s.sb.People() {
		if u.Username == username {
			return u
		}
	}
	t.Fatalf("no pretend person @%s", username)
	return telegramtest.User{}
}
