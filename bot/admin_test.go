package bot_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/mymmrac/telego"

	"github.com/gatekey/gatekey/internal/apptest"
	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/telegram/telegramtest"
	"github.com/gatekey/gatekey/tenant"
)

// The owner's admin side of the bot, end to end: the owner links their
// Telegram account with a one-time link and taps through the menus as a
// person would; every check looks at what the fake Telegram received and
// at the database.

// ownerWorld starts Gatekey with the demo tenant and an owner who linked
// their account through an owner link, as the console will hand it out.
func ownerWorld(t *testing.T) world {
	t.Helper()
	env := apptest.New(t)
	w := world{Env: env, demo: env.Demo(t), owner: env.Fake.AddUser("Olga", "olga_owner")}
	// A generous fair-use floor: these tests are not about fair use.
	if _, err := w.Owner(t).Exec(context.Background(), "UPDATE tenants SET fairuse_floor = 100000"); err != nil {
		t.Fatal(err)
	}
	welcome := w.send(t, w.owner, tenant.OwnerLinkPrefix+w.ownerToken(t), "You are now an admin")
	if !hasButton(welcome, "Open the admin menu") {
		t.Errorf("the welcome has no menu button: %+v", welcome.ReplyMarkup)
	}
	return w
}

// ownerToken makes a one-time owner token as the console does.
func (w world) ownerToken(t *testing.T) string {
	t.Helper()
	var token string
	w.Tx(t, w.demo.TenantID, func(tx pgx.Tx) error {
		var err error
		token, _, err = tenant.NewOwnerLinkToken(context.Background(), tx, w.demo.Bot.ID)
		return err
	})
	return token
}

// send has u send text ("owner-…" payloads go through /start, as the
// link does) and waits for a message from the bot containing want.
func (w world) send(t *testing.T, u telegramtest.User, text, want string) telegramtest.Message {
	t.Helper()
	before, since := len(w.Fake.Messages(w.demo.Bot.TelegramID, u.ID)), time.Now()
	var status int
	var err error
	if strings.HasPrefix(text, tenant.OwnerLinkPrefix) {
		status, err = w.Fake.Start(w.demo.Bot.TelegramID, u.ID, text)
	} else {
		status, err = w.Fake.SendText(w.demo.Bot.TelegramID, u.ID, text)
	}
	if err != nil || status != 200 {
		t.Fatalf("send %q: %d %v", text, status, err)
	}
	return w.expectSince(t, u, before, since, want)
}

// expect waits for a message (new since before, or edited) containing
// want, and returns it as it stands.
func (w world) expect(t *testing.T, u telegramtest.User, before int, want string) telegramtest.Message {
	t.Helper()
	return w.expectSince(t, u, before, time.Time{}, want)
}

// expectSince is expect for what an action at since caused: a message new
// since before, or one edited after since.
func (w world) expectSince(t *testing.T, u telegramtest.User, before int, since time.Time, want string) telegramtest.Message {
	t.Helper()
	var found telegramtest.Message
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := w.Fake.WaitFor(ctx, func() bool {
		msgs := w.Fake.Messages(w.demo.Bot.TelegramID, u.ID)
		for i := len(msgs) - 1; i >= 0; i-- {
			m := msgs[i]
			if (i >= before || (!m.EditDate.IsZero() && !m.EditDate.Before(since))) && strings.Contains(m.Text+m.Caption, want) {
				found = m
				return true
			}
		}
		return false
	})
	if err != nil {
		msgs := w.Fake.Messages(w.demo.Bot.TelegramID, u.ID)
		var last string
		if len(msgs) > 0 {
			last = msgs[len(msgs)-1].Text
		}
		t.Fatalf("no message with %q; the last one says %q", want, last)
	}
	return found
}

// tap has u tap the button labelled label (a prefix is enough) on m and
// waits for the screen that contains want.
func (w world) tap(t *testing.T, u telegramtest.User, m telegramtest.Message, label, want string) telegramtest.Message {
	t.Helper()
	data := buttonData(t, m, label)
	before, since := len(w.Fake.Messages(w.demo.Bot.TelegramID, u.ID)), time.Now()
	if status, err := w.Fake.PressButton(w.demo.Bot.TelegramID, u.ID, m.MessageID, data); err != nil || status != 200 {
		t.Fatalf("tap %q: %d %v", label, status, err)
	}
	w.Wait(t, "the screen after "+label, func() bool {
		cur := w.current(u, m.MessageID)
		return cur.Text != m.Text || !sameKeyboard(cur, m) || len(w.Fake.Messages(w.demo.Bot.TelegramID, u.ID)) > before ||
			strings.Contains(cur.Text, want)
	})
	return w.expectSince(t, u, before, since, want)
}

// current is a message as it stands now.
func (w world) current(u telegramtest.User, id int) telegramtest.Message {
	for _, m := range w.Fake.Messages(w.demo.Bot.TelegramID, u.ID) {
		if m.MessageID == id {
			return m
		}
	}
	return telegramtest.Message{}
}

func sameKeyboard(a, b telegramtest.Message) bool {
	return fmt.Sprint(a.ReplyMarkup) == fmt.Sprint(b.ReplyMarkup)
}

func buttonData(t *testing.T, m telegramtest.Message, label string) string {
	t.Helper()
	// The exact label wins, then one that starts with it, then one that
	// contains it ("1. ABCD-…" for a code).
	for _, match := range []func(string) bool{
		func(l string) bool { return l == label },
		func(l string) bool { return strings.HasPrefix(l, label) },
		func(l string) bool { return strings.Contains(l, label) },
	} {
		if m.ReplyMarkup == nil {
			break
		}
		for _, row := range m.ReplyMarkup.InlineKeyboard {
			for _, b := range row {
				if match(b.Text) && b.CallbackData != "" {
					if len(b.CallbackData) > 64 {
						t.Errorf("button %q: callback_data of %d bytes, Telegram allows 64", b.Text, len(b.CallbackData))
					}
					return b.CallbackData
				}
			}
		}
	}
	t.Fatalf("no button %q on %q (%v)", label, m.Text, labels(m))
	return ""
}

func hasButton(m telegramtest.Message, label string) bool {
	return slices.ContainsFunc(labels(m), func(l string) bool { return strings.HasPrefix(l, label) })
}

func labels(m telegramtest.Message) []string {
	var out []string
	if m.ReplyMarkup != nil {
		for _, row := range m.ReplyMarkup.InlineKeyboard {
			for _, b := range row {
				out = append(out, b.Text)
			}
		}
	}
	return out
}

// steps goes through screens from m: pairs of what the owner does (a
// button's label, or "type:" and text to send) and what the next screen
// says. It returns the last screen.
func (w world) steps(t *testing.T, m telegramtest.Message, pairs ...string) telegramtest.Message {
	t.Helper()
	for i := 0; i+1 < len(pairs); i += 2 {
		if text, ok := strings.CutPrefix(pairs[i], "type:"); ok {
			m = w.send(t, w.owner, text, pairs[i+1])
		} else {
			m = w.tap(t, w.owner, m, pairs[i], pairs[i+1])
		}
	}
	return m
}

// Screens of /newcode, by what they ask.
const (
	askPlan    = "Which plan"
	askMax     = "How many times"
	askExpiry  = "stop working on a date"
	askCount   = "Just one code, or several"
	askPrice   = "be priced, or zero-priced"
	askConfirm = "Please check"
)

// newCode starts /newcode, picks the demo plan and goes on with steps.
func (w world) newCode(t *testing.T, pairs ...string) telegramtest.Message {
	t.Helper()
	m := w.send(t, w.owner, "/newcode", askPlan)
	m = w.tap(t, w.owner, m, "Demo membership", askMax)
	return w.steps(t, m, pairs...)
}

// csvCodes parses a batch's CSV document into its rows (without header).
func csvCodes(t *testing.T, m telegramtest.Message) [][]string {
	t.Helper()
	if m.Document == nil {
		t.Fatalf("message %q has no document", m.Text)
	}
	rows, err := csv.NewReader(bytes.NewReader(m.Document.Data)).ReadAll()
	if err != nil {
		t.Fatalf("the CSV does not parse: %v", err)
	}
	if len(rows) == 0 || !slices.Equal(rows[0], membership.CSVHeader) {
		t.Fatalf("CSV header = %v, want %v", rows[:min(1, len(rows))], membership.CSVHeader)
	}
	return rows[1:]
}

// payload is the /start payload of an activation link.
func payload(t *testing.T, link, botUsername string) string {
	t.Helper()
	p, ok := strings.CutPrefix(link, "https://t.me/"+botUsername+"?start=")
	if !ok || p == "" {
		t.Fatalf("%q is not an activation link of @%s", link, botUsername)
	}
	return p
}

// answeredAll checks that every button tap was answered
// (answerCallbackQuery), so no client is left with a spinner.
func (w world) answeredAll(t *testing.T) {
	t.Helper()
	w.Idle(t)
	answered := map[string]bool{}
	for _, c := range w.Fake.CallsTo("answerCallbackQuery") {
		if c.Status == 200 {
			answered[c.Params["callback_query_id"].(string)] = true
		}
	}
	taps := 0
	for _, d := range w.Fake.Deliveries() {
		var u telego.Update
		if d.Type != "callback_query" || json.Unmarshal(d.Body, &u) != nil || strings.HasPrefix(u.CallbackQuery.ID, "forged") {
			continue
		}
		taps++
		if !answered[u.CallbackQuery.ID] {
			t.Errorf("the tap on %q was not answered", u.CallbackQuery.Data)
		}
	}
	if taps == 0 {
		t.Error("no taps seen")
	}
}

func TestOwnerLinksThenCreatesACodeAndABatch(t *testing.T) {
	w := ownerWorld(t)
	ctx := context.Background()

	// The admin commands are set for the owner's chat alone.
	scope := &telego.BotCommandScopeChat{Type: telego.ScopeTypeChat, ChatID: telego.ChatID{ID: w.owner.ID}}
	w.Wait(t, "admin commands", func() bool { return len(w.Fake.Commands(w.demo.Bot.TelegramID, scope, "")) > 0 })
	var names []string
	for _, c := range w.Fake.Commands(w.demo.Bot.TelegramID, scope, "") {
		names = append(names, c.Command)
	}
	for _, want := range []string{"newcode", "members", "cancel"} {
		if !slices.Contains(names, want) {
			t.Errorf("the owner's commands %v lack /%s", names, want)
		}
	}
	if cmds := w.Fake.Commands(w.demo.Bot.TelegramID, nil, ""); len(cmds) != 0 {
		t.Errorf("everyone's command menu shows %v; admin commands must stay in the admins' chats", cmds)
	}

	// The link worked once: someone else opening it is refused.
	var used string
	w.Tx(t, w.demo.TenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT count(*)::text FROM owner_link_tokens WHERE used_at IS NOT NULL AND used_by = $1", w.owner.ID).Scan(&used)
	})
	if used != "1" {
		t.Errorf("%s owner tokens recorded as used by the owner, want 1", used)
	}
	eve := w.Fake.AddUser("Eve", "eve")
	token := w.ownerToken(t)
	w.send(t, w.owner, tenant.OwnerLinkPrefix+token, "You are already an admin") // an owner tapping their link again…
	w.send(t, eve, tenant.OwnerLinkPrefix+token, "expired or has already been used")
	if n := w.Count(t, "SELECT count(*) FROM bot_admins"); n != 1 {
		t.Errorf("%d admins, want only the owner", n)
	}

	// One code: a message to forward, with the code and its link.
	summary := w.newCode(t, "1", askExpiry, "No expiry", askCount, "Just one", askConfirm)
	for _, want := range []string{"Demo membership", "Activations: single use\n", "Expiry: none", "How many: 1 code", "zero-priced"} {
		if !strings.Contains(summary.Text, want) {
			t.Errorf("summary %q lacks %q", summary.Text, want)
		}
	}
	w.tap(t, w.owner, summary, "Create the code", "Done: a code for Demo membership")
	gift := w.expect(t, w.owner, 0, "Here is your access code")
	if gift.ReplyMarkup != nil {
		t.Errorf("the message to forward has buttons: %v", labels(gift))
	}
	var code, link string
	for _, line := range strings.Split(gift.Text, "\n") {
		if c, ok := membership.NormalizeCode(line); ok {
			code = c
		}
		if strings.HasPrefix(line, "https://t.me/") {
			link = line
		}
	}
	if code == "" || link != membership.ActivationLink(w.demo.Bot.Username, code) {
		t.Fatalf("the message to forward %q lacks the code or its activation link", gift.Text)
	}
	alice := w.Fake.AddUser("Alice", "alice")
	if reply := w.send(t, alice, "/start "+payload(t, link, w.demo.Bot.Username), "Code accepted"); !strings.Contains(reply.Text, "Welcome to Demo membership") {
		t.Errorf("Alice's confirmation = %q", reply.Text)
	}

	// A batch of 50, with a typed number of activations and a typed date.
	last := time.Now().UTC().AddDate(0, 2, 0)
	summary = w.newCode(t, "Type a number", "Send the number of activations", "type:2", askExpiry,
		"Type a date", "Send the last day", "type:"+last.Format(time.DateOnly), askCount, "50", askConfirm)
	for _, want := range []string{"up to 2 activations per code", "How many: 50 codes", "works until " + membership.FormatDate(time.Date(last.Year(), last.Month(), last.Day(), 23, 59, 59, 0, time.UTC))} {
		if !strings.Contains(summary.Text, want) {
			t.Errorf("summary %q lacks %q", summary.Text, want)
		}
	}
	w.tap(t, w.owner, summary, "Create 50 codes", "Done: 50 codes")
	doc := w.expect(t, w.owner, 0, "50 access codes for Demo membership")
	rows := csvCodes(t, doc)
	if len(rows) != 50 {
		t.Fatalf("the CSV has %d codes, want 50", len(rows))
	}
	seen := map[string]bool{}
	for _, r := range rows {
		c, ok := membership.NormalizeCode(r[0])
		if !ok || seen[c] || r[1] != membership.ActivationLink(w.demo.Bot.Username, c) || r[2] != "Demo membership" || r[3] != "2" || r[7] != membership.StatusActive {
			t.Fatalf("bad CSV row %v", r)
		}
		seen[c] = true
	}
	if n := w.Count(t, `SELECT count(*) FROM access_codes c JOIN code_batches b ON b.tenant_id = c.tenant_id AND b.id = c.batch_id
		WHERE b.code_count = 50 AND c.max_activations = 2 AND c.zero_priced AND c.expires_at = $1 AND b.created_by = 'bot: @olga_owner'`,
		time.Date(last.Year(), last.Month(), last.Day(), 23, 59, 59, 0, time.UTC)); n != 50 {
		t.Errorf("%d codes in the database as the owner chose them, want 50", n)
	}
	bob := w.Fake.AddUser("Bob", "bob")
	w.send(t, bob, "/start "+payload(t, rows[17][1], w.demo.Bot.Username), "Code accepted")

	// The owner heard of both activations.
	w.expect(t, w.owner, 0, "@alice activated code")
	w.expect(t, w.owner, 0, "@bob activated code")
	w.answeredAll(t)
}

// forge delivers a callback query as Telegram would, with any data, as
// someone tapping a made-up button (a modified client) could send it.
func (w world) forge(t *testing.T, u telegramtest.User, messageID int, data string) string {
	t.Helper()
	id := fmt.Sprintf("forged-%d-%d", u.ID, time.Now().UnixNano())
	status, err := w.Fake.Deliver(w.demo.Bot.TelegramID, telego.Update{CallbackQuery: &telego.CallbackQuery{
		ID: id, From: u, ChatInstance: "1", Data: data,
		Message: &telego.Message{MessageID: messageID, Date: time.Now().Unix(), Chat: telego.Chat{ID: u.ID, Type: telego.ChatTypePrivate}},
	}})
	if err != nil || status != 200 {
		t.Fatalf("forged %q: %d %v", data, status, err)
	}
	return id
}

// adminState is everything an admin action could change, for checking
// that a refused one changed nothing.
func (w world) adminState(t *testing.T) string {
	return fmt.Sprint(
		w.Count(t, "SELECT count(*) FROM access_codes WHERE deleted_at IS NOT NULL"),
		w.Count(t, "SELECT count(*) FROM access_codes"),
		w.Count(t, "SELECT count(*) FROM code_rollbacks"),
		w.Count(t, "SELECT count(*) FROM memberships WHERE status = 'active'"),
		w.Count(t, "SELECT count(*) FROM tenants WHERE zero_price_default AND code_autodelete_days IS NULL"),
		w.Count(t, "SELECT count(*) FROM bot_admins WHERE notify"),
		w.Count(t, "SELECT count(*) FROM bot_admins"),
		w.Count(t, "SELECT count(*) FROM conversations"),
	)
}

// otherTenant makes a second tenant with its own bot, plan, code and a
// member who activated it.
func (w world) otherTenant(t *testing.T) (code membership.Code, membershipID, memberID int64) {
	t.Helper()
	ctx := context.Background()
	id, b := w.TenantWithBot(t, "other@example.com", "other_bot")
	w.Tx(t, id, func(tx pgx.Tx) error {
		plan, err := membership.CreatePlan(ctx, tx, membership.NewPlan{BotID: b.ID, Name: "Other plan", PeriodDays: 7, Price: membership.Money{Currency: "EUR"}})
		if err != nil {
			return err
		}
		batch, err := membership.CreateCodes(ctx, tx, membership.CodeRequest{PlanID: plan.ID, Count: 1, MaxActivations: 5})
		if err != nil {
			return err
		}
		code = batch.Codes[0]
		m, err := membership.UpsertMember(ctx, tx, b.ID, membership.Person{TelegramUserID: 999, Username: "x"})
		if err != nil {
			return err
		}
		a, err := membership.Activate(ctx, tx, m, code.Code)
		membershipID, memberID = a.Membership.ID, m.ID
		return err
	})
	return code, membershipID, memberID
}

func TestNonAdminsAndForgedButtonsGetNothing(t *testing.T) {
	w := ownerWorld(t)
	mine := w.Codes(t, w.demo.TenantID, membership.CodeRequest{PlanID: w.demo.Plan.ID, Count: 1, MaxActivations: 3}).Codes[0]
	alice := w.member(t, "Alice")
	w.say(t, alice, mine.Code)
	var aliceMembership int64
	w.Tx(t, w.demo.TenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), "SELECT id FROM memberships").Scan(&aliceMembership)
	})
	theirs, theirMembership, theirMember := w.otherTenant(t)
	w.Idle(t)

	// A member typing admin commands meets the member bot.
	mallory := w.member(t, "Mallory")
	before := w.adminState(t)
	for _, cmd := range []string{"/newcode", "/members", "/codes", "/menu", "/admin", "/help"} {
		reply := w.say(t, mallory, cmd)
		if !strings.Contains(reply.Text, "Send /start to see what this bot offers") || reply.ReplyMarkup != nil {
			t.Errorf("%s from a member: %q %v, want the member bot's help and no buttons", cmd, reply.Text, labels(reply))
		}
	}
	scope := &telego.BotCommandScopeChat{Type: telego.ScopeTypeChat, ChatID: telego.ChatID{ID: mallory.ID}}
	if cmds := w.Fake.Commands(w.demo.Bot.TelegramID, scope, ""); len(cmds) != 0 {
		t.Errorf("a member's chat shows commands %v", cmds)
	}

	// Forged taps from a member: every admin action, on real ids.
	w.Idle(t)
	msgs := w.Fake.Messages(w.demo.Bot.TelegramID, mallory.ID)
	lastID := msgs[len(msgs)-1].MessageID
	forged := []string{
		"a:m", "a:cl:0", "a:c:" + fmt.Sprint(mine.ID), "a:cdy:" + fmt.Sprint(mine.ID), "a:cry:" + fmt.Sprint(mine.ID),
		"a:b:" + fmt.Sprint(mine.BatchID) + ":0", "a:bc:" + fmt.Sprint(mine.BatchID),
		"a:mry:" + fmt.Sprint(aliceMembership), "a:sz:0", "a:sad:7", "a:n:0", "a:ncs", "a:mf", "a:sat", "a:f", "a:nc:abc:c:ok",
	}
	var ids []string
	for _, data := range forged {
		ids = append(ids, w.forge(t, mallory, lastID, data))
	}
	w.Idle(t)
	if after := w.Fake.Messages(w.demo.Bot.TelegramID, mallory.ID); len(after) != len(msgs) || !slices.EqualFunc(after, msgs, func(a, b telegramtest.Message) bool {
		return a.Text == b.Text && a.EditDate.Equal(b.EditDate)
	}) {
		t.Errorf("forged taps from a member made the bot send or edit messages: %d -> %d", len(msgs), len(after))
	}
	if after := w.adminState(t); after != before {
		t.Errorf("forged taps from a member changed %s to %s", before, after)
	}
	if n := len(w.Fake.CallsTo("sendDocument")); n != 0 {
		t.Errorf("%d documents sent", n)
	}
	answered := map[string]string{}
	for _, c := range w.Fake.CallsTo("answerCallbackQuery") {
		id, _ := c.Params["callback_query_id"].(string)
		text, _ := c.Params["text"].(string)
		answered[id] = text
	}
	for i, id := range ids {
		if text, ok := answered[id]; !ok || text != "" {
			t.Errorf("forged %q: answered %v with %q, want a plain answer", forged[i], ok, text)
		}
	}

	// The owner forging another tenant's ids, or tampered actions: not found, nothing changes.
	ownerMsgs := w.Fake.Messages(w.demo.Bot.TelegramID, w.owner.ID)
	ownerLast := ownerMsgs[len(ownerMsgs)-1].MessageID
	cases := map[string]string{
		"a:c:" + fmt.Sprint(theirs.ID):                         "not there",
		"a:cd:" + fmt.Sprint(theirs.ID):                        "not there",
		"a:cdy:" + fmt.Sprint(theirs.ID):                       "not there",
		"a:cry:" + fmt.Sprint(theirs.ID):                       "not there",
		"a:b:" + fmt.Sprint(theirs.BatchID) + ":0":             "not there",
		"a:bc:" + fmt.Sprint(theirs.BatchID):                   "not there",
		"a:mr:" + fmt.Sprint(theirMembership):                  "not there",
		"a:mry:" + fmt.Sprint(theirMembership):                 "not there",
		"a:mv:" + fmt.Sprint(theirMember):                      "not there",
		"a:cdy:+" + fmt.Sprint(mine.ID):                        "no longer works",
		"a:cdy:0" + fmt.Sprint(mine.ID):                        "no longer works",
		"a:cdy:-" + fmt.Sprint(mine.ID):                        "no longer works",
		"a:cdy:" + fmt.Sprint(mine.ID) + ":1":                  "no longer works",
		"a:cdy":                                                "no longer works",
		"a:cdy:99999999999999999999":                           "no longer works",
		"a:delete-everything":                                  "no longer works",
		"a:sad:3651":                                           "no longer works",
		"a:sad:1e3":                                            "no longer works",
		"a:sz:maybe":                                           "no longer works",
		"a:nc:zzzz:c:ok":                                       "draft is closed",
		"a:":                                                   "no longer works",
		"a:cl:-1":                                              "no longer works",
		"a:c:" + fmt.Sprint(mine.ID) + strings.Repeat("9", 60): "no longer works",
	}
	before = w.adminState(t)
	theirState := w.Count(t, "SELECT count(*) FROM access_codes WHERE deleted_at IS NULL AND id = $1", theirs.ID)
	for data, want := range cases {
		id := w.forge(t, w.owner, ownerLast, data)
		w.Wait(t, "the answer to "+data, func() bool {
			for _, c := range w.Fake.CallsTo("answerCallbackQuery") {
				if c.Params["callback_query_id"] == id {
					if text, _ := c.Params["text"].(string); !strings.Contains(text, want) {
						t.Errorf("forged %q answered %q, want %q", data, text, want)
					}
					return true
				}
			}
			return false
		})
	}
	w.Idle(t)
	if after := w.adminState(t); after != before {
		t.Errorf("forged taps from the owner changed %s to %s", before, after)
	}
	if n := w.Count(t, "SELECT count(*) FROM access_codes WHERE deleted_at IS NULL AND id = $1", theirs.ID); n != theirState {
		t.Error("the other tenant's code was deleted")
	}
	if n := w.Count(t, "SELECT count(*) FROM memberships WHERE id = $1 AND status = 'active'", theirMembership); n != 1 {
		t.Error("the other tenant's membership was ended")
	}
}

// An admin removed in the console who taps their old menu is told why
// nothing happens, not left with a silent tap.
func TestRemovedAdminsOldMenuSaysWhy(t *testing.T) {
	w := ownerWorld(t)
	menu := w.send(t, w.owner, "/members", "Admin menu")
	w.Tx(t, w.demo.TenantID, func(tx pgx.Tx) error {
		return tenant.RemoveBotAdmin(context.Background(), tx, w.demo.Bot.ID, w.owner.ID, "test")
	})
	if status, err := w.Fake.PressButton(w.demo.Bot.TelegramID, w.owner.ID, menu.MessageID, "a:ncs"); err != nil || status != 200 {
		t.Fatalf("press: %d %v", status, err)
	}
	w.Idle(t)
	var told bool
	for _, c := range w.Fake.CallsTo("answerCallbackQuery") {
		told = told || c.Status == 200 && strings.Contains(fmt.Sprint(c.Params["text"]), "no longer an admin")
	}
	if !told {
		t.Error("the removed admin's tap was not answered with why")
	}
	if n := w.Count(t, "SELECT count(*) FROM access_codes"); n != 0 {
		t.Errorf("the removed admin's tap made %d codes", n)
	}
}
