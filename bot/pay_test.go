package bot_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/internal/app"
	"github.com/gatekey/gatekey/internal/apptest"
	"github.com/gatekey/gatekey/internal/stripetest"
	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/telegram/telegramtest"
)

// newPayWorld is newWorld on stripe-mock.
func newPayWorld(t *testing.T) (world, *stripetest.Mock) {
	t.Helper()
	mock := stripetest.Start(t)
	env := apptest.Start(t, apptest.Options{Work: true, Configure: func(c *app.Config) {
		c.StripeAPIKey, c.StripeAPIURL, c.StripeWebhookSecret = stripetest.APIKey, mock.URL, stripetest.WebhookSecret
	}})
	return world{Env: env, demo: env.Demo(t), owner: env.Fake.AddUser("Olga", "olga_owner")}, mock
}

// connect gives the tenant a Stripe account that can take payments.
func (w world) connect(t *testing.T, ready bool) {
	t.Helper()
	ctx := context.Background()
	if _, err := w.Owner(t).Exec(ctx, "UPDATE tenants SET stripe_account_id = 'acct_1BotTest', stripe_charges_enabled = $1", ready); err != nil {
		t.Fatal(err)
	}
}

// welcome has u send /start and returns the bot's welcome (a reminder to
// join may come with it).
func (w world) welcome(t *testing.T, u telegramtest.User) telegramtest.Message {
	t.Helper()
	bot := w.demo.Bot.TelegramID
	before := len(w.Fake.Messages(bot, u.ID))
	if status, err := w.Fake.SendText(bot, u.ID, "/start"); err != nil || status != 200 {
		t.Fatalf("/start: %d %v", status, err)
	}
	var welcome telegramtest.Message
	w.Wait(t, "the welcome", func() bool {
		for _, m := range w.Fake.Messages(bot, u.ID)[before:] {
			if strings.HasPrefix(m.Text, "Welcome!") {
				welcome = m
				return true
			}
		}
		return false
	})
	return welcome
}

func callbackButtons(m telegramtest.Message) map[string]string {
	out := map[string]string{}
	if m.ReplyMarkup != nil {
		for _, row := range m.ReplyMarkup.InlineKeyboard {
			for _, b := range row {
				if b.CallbackData != "" {
					out[b.Text] = b.CallbackData
				}
			}
		}
	}
	return out
}

// press taps a button under m and returns the first message after it
// that contains want, failing if none comes.
func (w world) press(t *testing.T, u telegramtest.User, m telegramtest.Message, data, want string) telegramtest.Message {
	t.Helper()
	bot := w.demo.Bot.TelegramID
	before := len(w.Fake.Messages(bot, u.ID))
	if status, err := w.Fake.PressButton(bot, u.ID, m.MessageID, data); err != nil || status != 200 {
		t.Fatalf("press %q: %d %v", data, status, err)
	}
	var found telegramtest.Message
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := w.Fake.WaitFor(ctx, func() bool {
		for _, msg := range w.Fake.Messages(bot, u.ID)[before:] {
			if strings.Contains(msg.Text, want) {
				found = msg
				return true
			}
		}
		return false
	})
	if err != nil {
		var got []string
		for _, msg := range w.Fake.Messages(bot, u.ID)[before:] {
			got = append(got, msg.Text)
		}
		t.Fatalf("after pressing %q, no message with %q; got %q", data, want, got)
	}
	return found
}

// A plan with a price gets a Pay button only once the owner's Stripe
// account can take payments; free plans never do.
func TestPayButtonOnlyWhenStripeIsConnected(t *testing.T) {
	w, _ := newPayWorld(t)
	w.Tx(t, w.demo.TenantID, func(tx pgx.Tx) error {
		_, err := membership.CreatePlan(context.Background(), tx, membership.NewPlan{BotID: w.demo.Bot.ID, Name: "Free taster",
			PeriodDays: 1, Price: membership.Money{Currency: "USD"}, ChatIDs: []int64{w.demo.Chats[0].ID}})
		return err
	})
	alice := w.member(t, "Alice")
	pay := "pay:" + strconv.FormatInt(w.demo.Plan.ID, 10)

	const noPayments = "Payments are not taken here"
	welcome := w.welcome(t, alice)
	if b := callbackButtons(welcome); len(b) != 1 || b["I have a code"] == "" {
		t.Errorf("not connected: buttons %v, want only I have a code", b)
	}
	if !strings.Contains(welcome.Text, noPayments) { // a price with no way to pay says how to get the plan
		t.Errorf("not connected: the welcome does not say how to get a priced plan: %q", welcome.Text)
	}
	w.connect(t, false)
	if b := callbackButtons(w.welcome(t, alice)); len(b) != 1 {
		t.Errorf("onboarding unfinished: buttons %v", b)
	}
	w.connect(t, true)
	b := callbackButtons(w.welcome(t, alice))
	if len(b) != 2 || b["Pay 9.99 USD: Demo membership"] != pay || b["I have a code"] == "" {
		t.Errorf("connected: buttons %v", b)
	}
	if text := w.welcome(t, alice).Text; strings.Contains(text, noPayments) {
		t.Errorf("connected: the welcome says %q", text)
	}
}

// Tapping Pay sends a link to a Stripe page; when it cannot, the member
// is told why and nothing is charged.
func TestPayButtonAnswers(t *testing.T) {
	w, mock := newPayWorld(t)
	w.connect(t, true)
	bob := w.member(t, "Bob")
	pay := "pay:" + strconv.FormatInt(w.demo.Plan.ID, 10)

	m := w.press(t, bob, w.welcome(t, bob), pay, "Tap the button to pay")
	if len(joinButtons(m)) != 1 || !strings.HasPrefix(joinButtons(m)["Pay 9.99 USD"], "https://checkout.stripe.com/") {
		t.Errorf("payment link message: %q %+v", m.Text, m.ReplyMarkup)
	}
	if n := len(mock.Calls("POST", "/v1/checkout/sessions")); n != 1 {
		t.Errorf("%d sessions made", n)
	}

	// Stripe refuses the session: Bob hears so, and the job gives up.
	mock.Fail("POST", "/v1/checkout/sessions", 400, 1)
	w.press(t, bob, w.welcome(t, bob), pay, "could not be opened just now. Nothing was charged.")
	w.Idle(t)
	if n := w.Count(t, "SELECT count(*) FROM river_job WHERE kind = 'billing.create_checkout' AND state = 'cancelled'"); n != 1 {
		t.Errorf("%d cancelled checkout jobs, want 1", n)
	}

	// A button under an old welcome, of a plan archived since.
	old := w.welcome(t, bob)
	if _, err := w.Owner(t).Exec(context.Background(), "UPDATE plans SET archived_at = now() WHERE id = $1", w.demo.Plan.ID); err != nil {
		t.Fatal(err)
	}
	w.press(t, bob, old, pay, "That plan is no longer on offer.")

	// A lifetime member has nothing to pay for.
	var lifetime membership.Plan
	w.Tx(t, w.demo.TenantID, func(tx pgx.Tx) error {
		var err error
		lifetime, err = membership.CreatePlan(context.Background(), tx, membership.NewPlan{BotID: w.demo.Bot.ID, Name: "Forever",
			Price: membership.Money{Minor: 5000, Currency: "EUR"}, ChatIDs: []int64{w.demo.Chats[0].ID}})
		return err
	})
	code := w.code(t, membership.CodeRequest{PlanID: lifetime.ID})
	w.say(t, bob, code)
	w.press(t, bob, w.welcome(t, bob), "pay:"+strconv.FormatInt(lifetime.ID, 10), "You already have lifetime access to Forever")
	if n := len(mock.Calls("POST", "/v1/checkout/sessions")); n != 2 {
		t.Errorf("%d sessions asked of Stripe, want 2", n)
	}
}
