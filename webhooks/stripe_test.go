package webhooks_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stripe/stripe-go/v76"

	"github.com/gatekey/gatekey/billing"
	"github.com/gatekey/gatekey/internal/app"
	"github.com/gatekey/gatekey/internal/apptest"
	"github.com/gatekey/gatekey/internal/stripetest"
	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/telegram/telegramtest"
	"github.com/gatekey/gatekey/tenant"
)

// payWorld is Gatekey on stripe-mock with the demo tenant, whose owner
// has connected a Stripe account (through Connect onboarding) that can
// take payments, and linked their Telegram account to the bot.
type payWorld struct {
	*apptest.Env
	demo  app.Demo
	mock  *stripetest.Mock
	admin telegramtest.User
	acct  string
}

func newPayWorld(t *testing.T, configure func(*app.Config)) payWorld {
	t.Helper()
	mock := stripetest.Start(t)
	env := apptest.Start(t, apptest.Options{Work: true, Configure: func(c *app.Config) {
		c.StripeAPIKey, c.StripeAPIURL, c.StripeWebhookSecret = stripetest.APIKey, mock.URL, stripetest.WebhookSecret
		if configure != nil {
			configure(c)
		}
	}})
	w := payWorld{Env: env, demo: env.Demo(t), mock: mock, admin: env.Fake.AddUser("Olga", "olga_owner")}
	ctx := context.Background()
	if _, err := env.Fake.Start(w.demo.Bot.TelegramID, w.admin.ID, ""); err != nil {
		t.Fatal(err)
	}
	env.Tx(t, w.demo.TenantID, func(tx pgx.Tx) error {
		return tenant.AddBotAdmin(ctx, tx, w.demo.Bot.ID, w.admin.ID)
	})
	if _, err := env.App.Billing.ConnectLink(ctx, w.demo.TenantID, env.URL+"/billing/connect", env.URL+"/billing"); err != nil {
		t.Fatal(err)
	}
	if err := env.Owner(t).QueryRow(ctx, "SELECT stripe_account_id FROM tenants").Scan(&w.acct); err != nil {
		t.Fatal(err)
	}
	// Stripe tells Gatekey when the owner has finished onboarding.
	if status := w.deliver(t, stripetest.Event("evt_account_ready", stripe.EventTypeAccountUpdated, w.acct,
		map[string]any{"id": w.acct, "object": "account", "charges_enabled": true, "details_submitted": true})); status != 200 {
		t.Fatalf("account.updated: %d", status)
	}
	if n := env.Count(t, "SELECT count(*) FROM tenants WHERE stripe_charges_enabled"); n != 1 {
		t.Fatal("account.updated did not enable payments")
	}
	return w
}

// deliver posts a correctly signed event.
func (w payWorld) deliver(t *testing.T, payload []byte) int {
	t.Helper()
	return stripetest.Post(t, w.URL+"/stripe/webhook", payload, stripetest.Sign(payload, stripetest.WebhookSecret, time.Time{}))
}

// checkout is what a member's Pay button made.
type checkout struct {
	id, memberID int64
	session, url string
}

// pay has u open the bot and tap the plan's Pay button, and returns the
// checkout once the bot has sent the link to Stripe's page.
func (w payWorld) pay(t *testing.T, u telegramtest.User) checkout {
	t.Helper()
	bot := w.demo.Bot.TelegramID
	before := len(w.Fake.Messages(bot, u.ID))
	if _, err := w.Fake.Start(bot, u.ID, ""); err != nil {
		t.Fatal(err)
	}
	welcome := w.Messages(t, bot, u.ID, before+1)[before]
	data := "pay:" + strconv.FormatInt(w.demo.Plan.ID, 10)
	if !hasButton(welcome, "Pay 9.99 USD: Demo membership", data) {
		t.Fatalf("welcome has no Pay button: %+v", welcome.ReplyMarkup)
	}
	if status, err := w.Fake.PressButton(bot, u.ID, welcome.MessageID, data); err != nil || status != 200 {
		t.Fatalf("press Pay: %d %v", status, err)
	}
	msg := w.Messages(t, bot, u.ID, before+2)[before+1]
	var c checkout
	if msg.ReplyMarkup != nil && len(msg.ReplyMarkup.InlineKeyboard) == 1 {
		b := msg.ReplyMarkup.InlineKeyboard[0][0]
		c.url = b.URL
		if b.Text != "Pay 9.99 USD" {
			t.Errorf("pay button %q", b.Text)
		}
	}
	if !strings.HasPrefix(c.url, "https://checkout.stripe.com/") || !strings.Contains(msg.Text, "Demo membership: 9.99 USD for 1 month") {
		t.Fatalf("payment message = %q, %+v", msg.Text, msg.ReplyMarkup)
	}
	err := w.Owner(t).QueryRow(context.Background(), `SELECT c.id, c.member_id, c.stripe_session_id FROM checkouts c
		JOIN members m ON m.tenant_id = c.tenant_id AND m.id = c.member_id
		WHERE m.telegram_user_id = $1 AND c.url = $2 ORDER BY c.id DESC LIMIT 1`, u.ID, c.url).Scan(&c.id, &c.memberID, &c.session)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func hasButton(m telegramtest.Message, text, data string) bool {
	if m.ReplyMarkup == nil {
		return false
	}
	for _, row := range m.ReplyMarkup.InlineKeyboard {
		for _, b := range row {
			if b.Text == text && b.CallbackData == data {
				return true
			}
		}
	}
	return false
}

// completed is the checkout.session.completed event Stripe sends for c,
// from the owner's connected account.
func (w payWorld) completed(eventID string, c checkout, paymentIntent string) []byte {
	return stripetest.Event(eventID, stripe.EventTypeCheckoutSessionCompleted, w.acct, map[string]any{
		"id": c.session, "object": "checkout.session", "mode": "payment", "status": "complete",
		"payment_status": "paid", "amount_total": 999, "currency": "usd", "payment_intent": paymentIntent,
		"metadata": map[string]string{
			billing.MetaTenant:   strconv.FormatInt(w.demo.TenantID, 10),
			billing.MetaCheckout: strconv.FormatInt(c.id, 10),
			billing.MetaMember:   strconv.FormatInt(c.memberID, 10),
			billing.MetaPlan:     strconv.FormatInt(w.demo.Plan.ID, 10),
			billing.MetaBot:      strconv.FormatInt(w.demo.Bot.ID, 10),
		},
	})
}

func (w payWorld) refunded(eventID, paymentIntent string, full bool) []byte {
	refunded := int64(999)
	if !full {
		refunded = 300
	}
	return stripetest.Event(eventID, stripe.EventTypeChargeRefunded, w.acct, map[string]any{
		"id": "ch_" + paymentIntent, "object": "charge", "amount": 999, "amount_refunded": refunded,
		"currency": "usd", "payment_intent": paymentIntent, "refunded": full, "paid": true,
	})
}

func (w payWorld) snapshot(t *testing.T) string {
	return fmt.Sprint(
		w.Count(t, "SELECT count(*) FROM memberships"),
		w.Count(t, "SELECT count(*) FROM memberships WHERE status = 'active'"),
		w.Count(t, "SELECT count(*) FROM orders"),
		w.Count(t, "SELECT count(*) FROM orders WHERE status = 'refunded'"),
		w.Count(t, "SELECT count(*) FROM stripe_events"),
		w.Count(t, "SELECT count(*) FROM fee_entries"),
		w.Count(t, "SELECT count(*) FROM checkouts WHERE status = 'paid'"),
	)
}

// A completed checkout grants access once, through the same path as a
// code, even when Stripe delivers the event three times.
func TestCheckoutCompletedGrantsAccessOnce(t *testing.T) {
	w := newPayWorld(t, nil)
	alice := w.Fake.AddUser("Alice", "alice")
	c := w.pay(t, alice)

	sessions := w.mock.Calls("POST", "/v1/checkout/sessions")
	if len(sessions) != 1 || sessions[0].StripeAccount != w.acct || sessions[0].Form.Get("payment_intent_data[application_fee_amount]") != "50" ||
		sessions[0].Form.Get("metadata["+billing.MetaMember+"]") != strconv.FormatInt(c.memberID, 10) {
		t.Fatalf("checkout session calls = %+v", sessions)
	}

	event := w.completed("evt_paid_1", c, "pi_alice")
	for i := 0; i < 3; i++ {
		if status := w.deliver(t, event); status != http.StatusOK {
			t.Fatalf("delivery %d: %d", i+1, status)
		}
	}
	bot := w.demo.Bot.TelegramID
	msgs := w.Messages(t, bot, alice.ID, 3)
	confirm := msgs[2]
	if !strings.Contains(confirm.Text, "Payment received") || !strings.Contains(confirm.Text, "Welcome to Demo membership") {
		t.Errorf("confirmation = %q", confirm.Text)
	}
	joins := 0
	for _, row := range confirm.ReplyMarkup.InlineKeyboard {
		for _, b := range row {
			if strings.HasPrefix(b.Text, "Join ") {
				joins++
				if ok, reason, err := w.Fake.JoinByLink(alice.ID, b.URL); !ok {
					t.Errorf("joining with %s: %s %v", b.Text, reason, err)
				}
			}
		}
	}
	if joins != 2 {
		t.Errorf("%d Join buttons, want 2", joins)
	}
	w.Idle(t)
	if n := len(w.Fake.Messages(bot, alice.ID)); n != 3 {
		t.Errorf("Alice got %d messages, want 3 (welcome, payment link, confirmation)", n)
	}
	checks := map[string]int{
		"SELECT count(*) FROM memberships WHERE status = 'active' AND ends_at > now() + interval '29 days'":                   1,
		"SELECT count(*) FROM orders WHERE source = 'stripe' AND amount_minor = 999 AND currency = 'USD' AND status = 'paid'": 1,
		"SELECT count(*) FROM orders": 1,
		"SELECT count(*) FROM checkouts WHERE status = 'paid' AND payment_intent_id = 'pi_alice'":                         1,
		"SELECT count(*) FROM fee_entries WHERE source = 'stripe' AND fee_minor = 50 AND settlement = 'application_fee'":  1,
		"SELECT count(*) FROM stripe_events WHERE event_id = 'evt_paid_1'":                                                1,
		"SELECT count(*) FROM notifications WHERE kind = 'stripe_payment'":                                                1,
		"SELECT count(*) FROM river_job WHERE kind IN ('membership.remind', 'membership.expire') AND state = 'scheduled'": 2,
		"SELECT count(*) FROM member_chats WHERE status = 'joined'":                                                       2,
	}
	for q, want := range checks {
		if n := w.Count(t, q); n != want {
			t.Errorf("%s: %d, want %d", q, n, want)
		}
	}
	note := w.Messages(t, bot, w.admin.ID, 2)
	if len(note) != 2 || !strings.Contains(note[1].Text, "@alice paid 9.99 USD for Demo membership (new to this plan") {
		t.Errorf("owner's messages = %+v", note)
	}

	// Paying again extends the same membership by another period.
	again := w.pay(t, alice)
	if again.id == c.id {
		t.Fatal("a paid checkout was reused")
	}
	if status := w.deliver(t, w.completed("evt_paid_2", again, "pi_alice_2")); status != 200 {
		t.Fatalf("second payment: %d", status)
	}
	msg := w.Messages(t, bot, alice.ID, 6)[5]
	if !strings.Contains(msg.Text, "now lasts until") {
		t.Errorf("extension message = %q", msg.Text)
	}
	if n := w.Count(t, "SELECT count(*) FROM memberships WHERE status = 'active' AND ends_at > now() + interval '59 days'"); n != 1 {
		t.Error("the second payment did not extend the membership to 60 days")
	}
}

// A forged, stale or tampered delivery is refused with 400 and changes
// nothing; the genuine event still works afterwards.
func TestForgedStripeEventsChangeNothing(t *testing.T) {
	w := newPayWorld(t, nil)
	bob := w.Fake.AddUser("Bob", "bob")
	c := w.pay(t, bob)
	event := w.completed("evt_paid_bob", c, "pi_bob")
	url := w.URL + "/stripe/webhook"
	before := w.snapshot(t)

	tampered := []byte(strings.Replace(string(event), `"amount_total":999`, `"amount_total":1`, 1))
	bad := map[string]func() int{
		"forged": func() int {
			return stripetest.Post(t, url, event, stripetest.Sign(event, "whsec_not_ours", time.Time{}))
		},
		"stale": func() int {
			return stripetest.Post(t, url, event, stripetest.Sign(event, stripetest.WebhookSecret, time.Now().Add(-6*time.Minute)))
		},
		"unsigned": func() int { return stripetest.Post(t, url, event, "") },
		"tampered": func() int {
			return stripetest.Post(t, url, tampered, stripetest.Sign(event, stripetest.WebhookSecret, time.Time{}))
		},
	}
	for name, post := range bad {
		if status := post(); status != http.StatusBadRequest {
			t.Errorf("%s delivery: %d, want 400", name, status)
		}
	}
	w.Idle(t)
	if after := w.snapshot(t); after != before {
		t.Errorf("refused deliveries changed data: %s -> %s", before, after)
	}
	if n := len(w.Fake.Messages(w.demo.Bot.TelegramID, bob.ID)); n != 2 {
		t.Errorf("Bob got %d messages, want 2 (welcome and payment link)", n)
	}

	if status := w.deliver(t, event); status != 200 {
		t.Fatalf("genuine delivery: %d", status)
	}
	if n := w.Count(t, "SELECT count(*) FROM memberships WHERE status = 'active'"); n != 1 {
		t.Errorf("the genuine event granted %d memberships", n)
	}
}

// A refund removes the member, like a rollback of that order; a partial
// refund leaves access alone and tells the owner.
func TestRefundRemovesMember(t *testing.T) {
	w := newPayWorld(t, nil)
	bot := w.demo.Bot.TelegramID
	carol := w.Fake.AddUser("Carol", "carol")
	c := w.pay(t, carol)
	if status := w.deliver(t, w.completed("evt_paid_carol", c, "pi_carol")); status != 200 {
		t.Fatal(status)
	}
	confirm := w.Messages(t, bot, carol.ID, 3)[2]
	for _, row := range confirm.ReplyMarkup.InlineKeyboard {
		if ok, reason, err := w.Fake.JoinByLink(carol.ID, row[0].URL); !ok {
			t.Fatalf("join: %s %v", reason, err)
		}
	}
	for _, chat := range w.demo.Chats {
		if !w.Fake.IsMember(chat.TelegramChatID, carol.ID) {
			t.Fatalf("Carol is not in %s", chat.Title)
		}
	}
	w.Idle(t)

	// Part of it first: nothing changes for Carol.
	if status := w.deliver(t, w.refunded("evt_partial", "pi_carol", false)); status != 200 {
		t.Fatal(status)
	}
	w.Idle(t)
	if n := w.Count(t, "SELECT count(*) FROM memberships WHERE status = 'active'"); n != 1 {
		t.Fatal("a partial refund ended the membership")
	}
	note := w.Messages(t, bot, w.admin.ID, 3)[2]
	if !strings.Contains(note.Text, "Part of @carol's payment") {
		t.Errorf("owner told %q", note.Text)
	}

	refund := w.refunded("evt_refund", "pi_carol", true)
	for i := 0; i < 2; i++ {
		if status := w.deliver(t, refund); status != 200 {
			t.Fatalf("refund delivery %d: %d", i+1, status)
		}
	}
	w.Wait(t, "Carol to be removed", func() bool {
		return !w.Fake.IsMember(w.demo.Chats[0].TelegramChatID, carol.ID) && !w.Fake.IsMember(w.demo.Chats[1].TelegramChatID, carol.ID)
	})
	msg := w.Messages(t, bot, carol.ID, 4)[3]
	if !strings.Contains(msg.Text, "was refunded, so your access to it has ended") {
		t.Errorf("Carol told %q", msg.Text)
	}
	w.Idle(t)
	checks := map[string]int{
		"SELECT count(*) FROM memberships WHERE status = 'revoked'":       1,
		"SELECT count(*) FROM orders WHERE status = 'refunded'":           1,
		"SELECT count(*) FROM checkouts WHERE status = 'refunded'":        1,
		"SELECT count(*) FROM notifications WHERE kind = 'stripe_refund'": 2,
		// One removal, for both chats, however many times the refund came.
		"SELECT count(*) FROM river_job WHERE kind = 'telegram.remove_member'":                                                       1,
		"SELECT count(*) FROM river_job WHERE kind = 'telegram.remove_member' AND jsonb_array_length(args->'telegram_chat_ids') = 2": 1,
	}
	for q, want := range checks {
		if n := w.Count(t, q); n != want {
			t.Errorf("%s: %d, want %d", q, n, want)
		}
	}
	if n := len(w.Fake.Messages(bot, carol.ID)); n != 4 {
		t.Errorf("Carol got %d messages, want 4", n)
	}
}

// Events about accounts Gatekey does not know, or whose clues name two
// tenants, are answered 200 (so Stripe stops) and change nothing.
func TestStripeEventsForOthersAreIgnored(t *testing.T) {
	w := newPayWorld(t, nil)
	dan := w.Fake.AddUser("Dan", "dan")
	c := w.pay(t, dan)
	before := w.snapshot(t)

	foreign := strings.Replace(string(w.completed("evt_foreign", c, "pi_x")), `"account":"`+w.acct+`"`, `"account":"acct_someone_else"`, 1)
	mismatch := strings.Replace(string(w.completed("evt_mismatch", c, "pi_y")),
		`"`+billing.MetaTenant+`":"`+strconv.FormatInt(w.demo.TenantID, 10)+`"`, `"`+billing.MetaTenant+`":"987654"`, 1)
	for name, payload := range map[string]string{"another account": foreign, "two tenants": mismatch} {
		if payload == string(w.completed("evt_foreign", c, "pi_x")) {
			t.Fatalf("%s: the payload was not changed", name)
		}
		if status := w.deliver(t, []byte(payload)); status != 200 {
			t.Errorf("%s: %d, want 200", name, status)
		}
	}
	if after := w.snapshot(t); after != before {
		t.Errorf("foreign events changed data: %s -> %s", before, after)
	}
}

// The periodic invoice run bills a priced code activation's fee at the
// end of its period, and Stripe's invoice events update it.
func TestPeriodicInvoiceRunAndInvoiceEvents(t *testing.T) {
	w := newPayWorld(t, func(c *app.Config) {
		c.BillingPeriod = billing.Period{Every: time.Second}
		c.InvoiceInterval = 200 * time.Millisecond
	})
	zero := false
	code := w.Codes(t, w.demo.TenantID, membershipRequest(w.demo.Plan.ID, &zero)).Codes[0].Code
	erin := w.Fake.AddUser("Erin", "erin")
	if status, err := w.Fake.Start(w.demo.Bot.TelegramID, erin.ID, code); err != nil || status != 200 {
		t.Fatalf("activate: %d %v", status, err)
	}
	w.Wait(t, "the fee to be invoiced", func() bool {
		return w.Count(t, "SELECT count(*) FROM owner_invoices WHERE status = 'open' AND amount_minor = 50 AND currency = 'USD'") == 1
	})
	var invoiceID string
	if err := w.Owner(t).QueryRow(context.Background(), "SELECT stripe_invoice_id FROM owner_invoices").Scan(&invoiceID); err != nil {
		t.Fatal(err)
	}
	if n := w.Count(t, "SELECT count(*) FROM fee_entries WHERE source = 'access_code' AND stripe_invoice_id = $1", invoiceID); n != 1 {
		t.Errorf("%d fee entries marked with the invoice, want 1", n)
	}
	paid := stripetest.Event("evt_invoice_paid", stripe.EventTypeInvoicePaid, "", map[string]any{
		"id": invoiceID, "object": "invoice", "status": "paid", "number": "GK-0001",
		"metadata": map[string]string{billing.MetaTenant: strconv.FormatInt(w.demo.TenantID, 10)},
	})
	if status := w.deliver(t, paid); status != 200 {
		t.Fatal(status)
	}
	if n := w.Count(t, "SELECT count(*) FROM owner_invoices WHERE status = 'paid' AND number = 'GK-0001'"); n != 1 {
		t.Error("invoice.paid did not mark the invoice paid")
	}
	// Events that come late cannot undo the payment.
	for i, late := range []string{"open", "uncollectible", "void"} {
		ev := stripetest.Event(fmt.Sprintf("evt_invoice_late_%d", i), stripe.EventTypeInvoiceFinalized, "", map[string]any{
			"id": invoiceID, "object": "invoice", "status": late, "hosted_invoice_url": "https://invoice.example/late",
			"metadata": map[string]string{billing.MetaTenant: strconv.FormatInt(w.demo.TenantID, 10)},
		})
		if status := w.deliver(t, ev); status != 200 {
			t.Fatalf("a late %s: %d", late, status)
		}
		if n := w.Count(t, "SELECT count(*) FROM owner_invoices WHERE status = 'paid'"); n != 1 {
			t.Errorf("a late event with status %s undid the payment", late)
		}
	}
	// Later sweeps find nothing more to bill.
	time.Sleep(1500 * time.Millisecond)
	w.Idle(t)
	if n := len(w.mock.Calls("POST", "/v1/invoices")); n != 1 {
		t.Errorf("%d invoices created on Stripe, want 1", n)
	}
}

func membershipRequest(planID int64, zeroPriced *bool) membership.CodeRequest {
	return membership.CodeRequest{PlanID: planID, Count: 1, ZeroPriced: zeroPriced}
}
