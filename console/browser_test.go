package console_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/internal/apptest"
	"github.com/gatekey/gatekey/internal/browsertest"
	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/telegram/telegramtest"
)

// screenshotDir is where the journey's screenshots go (gitignored).
const screenshotDir = "testdata/out/screenshots"

// tab is a headless Chromium tab driving the console.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
	shot int
}

// newTab starts headless Chromium (scripts/ensure-chromium.sh installs it
// for `make test`).
func newTab(t *testing.T, base string) *tab {
	t.Helper()
	ctx := browsertest.New(t)
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &tab{t: t, ctx: ctx, base: base}
}

func (b *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func (b *tab) open(path string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.base+path))
}

// fill types into the inputs named in fields (name → text).
func (b *tab) fill(fields map[string]string) {
	b.t.Helper()
	for name, v := range fields {
		css := fmt.Sprintf(`[name=%q]`, name)
		if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(document.querySelector(%q).value = "") === ""`, css))); err != nil {
			b.t.Fatalf("clear %s: %v", name, err)
		}
		b.do("fill "+name, chromedp.SendKeys(chromedp.CSS(css), v))
	}
}

// check ticks the checkbox whose label says text.
func (b *tab) check(text string) {
	b.t.Helper()
	b.do("tick "+text, chromedp.Click(chromedp.Search(`//label[contains(., "`+text+`")]/input`)))
}

func (b *tab) click(css string) {
	b.t.Helper()
	b.do("click "+css, chromedp.Click(chromedp.CSS(css)))
}

// submit clicks css and waits for the next page to load.
func (b *tab) submit(css string) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`window.__gatekeyOld = true`)); err != nil {
		b.t.Fatal(err)
	}
	b.click(css)
	deadline := time.Now().Add(20 * time.Second)
	for {
		fresh, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`window.__gatekeyOld === undefined && document.readyState === "complete"`))
		if err == nil && fresh {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("clicking %s did not load a new page (%v)", css, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitPath waits until the tab is on a page whose path starts with prefix
// and the page has loaded.
func (b *tab) waitPath(prefix string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		loc, err := chromedp.Run(b.ctx, chromedp.Location())
		if err == nil {
			u, _ := url.Parse(loc)
			state, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.readyState`))
			if strings.HasPrefix(u.Path, prefix) && state == "complete" {
				return
			}
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("waiting for %s: still on %s (%v)", prefix, loc, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// text is the visible text of the page's main element.
func (b *tab) text() string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector("main").innerText`))
	if err != nil {
		b.t.Fatal(err)
	}
	return s
}

func (b *tab) see(want ...string) {
	b.t.Helper()
	text := b.text()
	for _, w := range want {
		if !strings.Contains(text, w) {
			b.t.Fatalf("the page does not say %q; it says:\n%s", w, text)
		}
	}
}

// screenshot saves the page at 1280 px and at 390 px wide, and checks
// that at 390 px nothing runs off the side of the screen.
func (b *tab) screenshot(name string) {
	b.t.Helper()
	b.shot++
	for _, w := range []int64{1280, 390} {
		b.do("resize", chromedp.EmulateViewport(w, 844))
		if w == 390 {
			over, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`))
			if err != nil {
				b.t.Fatal(err)
			}
			if over > 0 {
				b.t.Errorf("%s: at 390 px the page is %d px too wide", name, over)
			}
		}
		png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			b.t.Fatalf("screenshot %s: %v", name, err)
		}
		file := filepath.Join(screenshotDir, fmt.Sprintf("%02d-%s-%d.png", b.shot, name, w))
		if err := os.WriteFile(file, png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	b.do("resize", chromedp.EmulateViewport(1280, 900))
}

// TestOwnerJourney walks a new owner through the console in headless
// Chromium: sign up, connect a bot, chats appear, a plan, a batch of 20
// codes downloaded as CSV, a member activates a code through Telegram,
// the console shows it, the code is rolled back, and the member is gone.
func TestOwnerJourney(t *testing.T) {
	env := apptest.New(t)
	b := newTab(t, env.URL)
	downloads := t.TempDir()
	if _, err := chromedp.CallBrowser(b.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads}); err != nil {
		t.Fatal(err)
	}

	// Sign up.
	b.open("/")
	b.waitPath("/login")
	b.screenshot("login")
	b.open("/signup")
	b.screenshot("signup")
	b.fill(map[string]string{"email": "maria@example.com", "password": "correct horse battery", "password2": "correct horse battery"})
	b.submit(`button[type=submit]`)
	b.waitPath("/bots")
	b.see("Welcome to Gatekey", "Connect your bot")
	b.screenshot("bots-empty")

	// A wrong token gets a clear error; the right one connects the bot.
	token, bot := env.Fake.AddBot("maria_club_bot")
	b.fill(map[string]string{"token": "123456:" + strings.Repeat("x", 35)})
	b.submit(`#connect button[type=submit]`)
	b.waitPath("/bots")
	b.see("Telegram did not accept this token")
	b.fill(map[string]string{"token": token})
	b.submit(`#connect button[type=submit]`)
	b.waitPath("/bots")
	b.see("@maria_club_bot is connected")
	hook, _, maxConn, allowed := env.Fake.Webhook(bot.ID)
	if !strings.HasPrefix(hook, env.URL+"/telegram/") || maxConn == 0 || !containsAll(allowed, "message", "callback_query", "chat_member", "my_chat_member", "chat_join_request") {
		t.Fatalf("webhook = %s, max_connections %d, allowed %v", hook, maxConn, allowed)
	}

	// The bot is made administrator of two chats (and of a third without
	// the right to ban, which the console points out).
	rights := telegramtest.AdminRights{CanInviteUsers: true, CanRestrictMembers: true}
	var chats []telegramtest.Chat
	for _, c := range []struct{ kind, title string }{{"channel", "Maria's Channel"}, {"supergroup", "Maria's Group"}} {
		chat := env.Fake.AddChat(c.kind, c.title)
		if status, err := env.Fake.AddBotToChat(bot.ID, chat.ID, rights); err != nil || status != 200 {
			t.Fatalf("add bot to %s: %d %v", c.title, status, err)
		}
		chats = append(chats, chat)
	}
	weak := env.Fake.AddChat("supergroup", "Half-set Group")
	if _, err := env.Fake.AddBotToChat(bot.ID, weak.ID, telegramtest.AdminRights{CanInviteUsers: true}); err != nil {
		t.Fatal(err)
	}
	b.open("/bots")
	b.see("Maria's Channel", "Maria's Group", "Half-set Group", "Missing: Ban users")
	b.screenshot("bots-chats")

	// A plan with the two chats.
	b.open("/plans/new")
	b.fill(map[string]string{"name": "Club membership", "period_value": "1", "price": "9.99", "currency": "USD",
		"description": "Both club chats for a month."})
	b.check("Maria's Channel")
	b.check("Maria's Group")
	b.screenshot("plan-form")
	// Clicked twice, as an impatient owner does: the form goes once. (The
	// second click is the page's own, so a page already gone makes none.)
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`(() => {
		const button = document.querySelector("#plan-form button[type=submit]");
		button.click();
		setTimeout(() => button.click(), 10);
		return true;
	})()`)); err != nil {
		t.Fatal(err)
	}
	b.waitPath("/plans")
	b.see("Club membership", "1 month", "9.99 USD")
	env.Idle(t)
	if n := env.Count(t, "SELECT count(*) FROM plans WHERE name = 'Club membership'"); n != 1 {
		t.Errorf("a double click on Create plan made %d plans", n)
	}
	b.screenshot("plans")

	// A batch of 20 codes; its CSV downloads at once.
	b.open("/codes/new")
	b.fill(map[string]string{"count": "20", "max_activations": "1"})
	b.screenshot("codes-new")
	b.submit(`#codes-form button[type=submit]`)
	b.waitPath("/codes/batches/")
	b.see("20 codes created for Club membership")
	rows := waitCSV(t, downloads, 21)
	if rows[0][0] != "access code" || len(rows) != 21 {
		t.Fatalf("CSV: %d rows, header %v", len(rows), rows[0])
	}
	code, link := rows[1][0], rows[1][1]
	if link != "https://t.me/maria_club_bot?start="+strings.ReplaceAll(code, "-", "") {
		t.Fatalf("CSV link %q for code %q", link, code)
	}
	b.screenshot("batch")
	b.open("/codes")
	b.see(code, "Club membership")
	b.screenshot("codes")

	// A member opens the activation link and joins both chats.
	mia := env.Fake.AddUser("Mia", "mia_member")
	if status, err := env.Fake.Start(bot.ID, mia.ID, strings.ReplaceAll(code, "-", "")); err != nil || status != 200 {
		t.Fatalf("Mia /start: %d %v", status, err)
	}
	welcome := env.Messages(t, bot.ID, mia.ID, 1)[0]
	joined := 0
	for _, row := range welcome.ReplyMarkup.InlineKeyboard {
		for _, btn := range row {
			if ok, reason, err := env.Fake.JoinByLink(mia.ID, btn.URL); !ok {
				t.Fatalf("Mia joining with %s: %s %v", btn.Text, reason, err)
			}
			joined++
		}
	}
	if joined != 2 || !env.Fake.IsMember(chats[0].ID, mia.ID) || !env.Fake.IsMember(chats[1].ID, mia.ID) {
		t.Fatalf("Mia joined %d chats", joined)
	}
	env.Idle(t)

	// The console shows the activation and the member.
	b.open("/codes?q=" + url.QueryEscape(code))
	b.submit(`a.code`)
	b.see(code, "@mia_member", "1 of 1", "used up")
	b.screenshot("code-activated")
	b.open("/members")
	b.see("@mia_member", "Club membership", "active", "code "+code)
	b.screenshot("members")
	b.submit(`table.members a`)
	b.see("@mia_member", "Maria's Channel: joined")
	b.screenshot("member")
	b.open("/dashboard")
	b.see("1\nactive member\n")
	b.screenshot("dashboard")

	// Roll the code back: a confirmation that says what happens, then its
	// progress until done.
	b.open("/codes?q=" + url.QueryEscape(code))
	b.submit(`a.code`)
	b.submit(`#rollback-start`)
	b.see("Roll back code "+code+"?", "This cannot be undone", "remove members who have no other access to the plan from its chats")
	b.screenshot("rollback-confirm")
	b.submit(`#rollback-confirm`)
	b.waitFor("the rollback to finish", `document.querySelector("#rollback h2") && document.querySelector("#rollback h2").innerText === "Rollback done"`)
	b.see("Activations undone\n1 of 1", "Members who lost access\n1 (told, and out of the plan's chats unless another plan keeps them in)")
	b.screenshot("rollback-done")

	// The member is gone from both chats and told so.
	env.Wait(t, "Mia to be removed", func() bool {
		return !env.Fake.IsMember(chats[0].ID, mia.ID) && !env.Fake.IsMember(chats[1].ID, mia.ID)
	})
	msgs := env.Messages(t, bot.ID, mia.ID, 2)
	if !strings.Contains(msgs[len(msgs)-1].Text, "withdrawn") || !strings.Contains(msgs[len(msgs)-1].Text, "You have been removed from its chats.") {
		t.Errorf("Mia was told %q", msgs[len(msgs)-1].Text)
	}
	b.open("/members")
	b.see("@mia_member", "revoked")
	b.screenshot("members-after-rollback")
	b.open("/settings")
	b.screenshot("settings")
	b.click(`a[href="/billing"]`)
	b.waitPath("/billing")
	b.see("Pay-as-you-go", "Free code activations in the last 30 days:", "of 50", "Payments with Stripe are not set up")
	b.screenshot("billing")
}

// waitFor waits until the JavaScript expression is true on the page.
func (b *tab) waitFor(what, expr string) {
	b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`!!(`+expr+`)`))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("waiting for %s: %v; the page says:\n%s", what, err, b.text())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitCSV waits for the one CSV file Chromium downloads into dir to be
// complete with n rows, and returns its rows.
func waitCSV(t *testing.T, dir string, n int) [][]string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(dir, "*.csv"))
		if len(files) == 1 {
			f, err := os.Open(files[0])
			if err != nil {
				t.Fatal(err)
			}
			rows, err := csv.NewReader(f).ReadAll()
			f.Close()
			if err == nil && len(rows) >= n {
				return rows
			}
		}
		if time.Now().After(deadline) {
			entries, _ := os.ReadDir(dir)
			t.Fatalf("no complete CSV download in %s: %v", dir, entries)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func containsAll(have []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || h == w
		}
		if !found {
			return false
		}
	}
	return true
}

// A plan name of the form's full 100 characters, without a space, wraps
// in the plans table instead of pushing the page wider than the window.
func TestALongPlanNameWrapsInThePlansTable(t *testing.T) {
	env := apptest.New(t)
	d := env.Demo(t)
	name := strings.Repeat("Longname", 12) + "Plan"
	env.Tx(t, d.TenantID, func(tx pgx.Tx) error {
		_, err := membership.CreatePlan(context.Background(), tx, membership.NewPlan{BotID: d.Bot.ID, Name: name, PeriodDays: 30,
			Price: membership.Money{Currency: "USD"}, ChatIDs: []int64{d.Chats[0].ID}})
		return err
	})
	b := newTab(t, env.URL)
	b.open("/login")
	b.fill(map[string]string{"email": "owner@example.com", "password": "correct horse battery"})
	b.submit(`button[type=submit]`)
	b.waitPath("/")
	b.open("/plans")
	b.see(name)
	wide, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`))
	if err != nil {
		t.Fatal(err)
	}
	if wide > 0 {
		b.screenshot("plans-long-name")
		t.Errorf("the plans page is %d px wider than the window", wide)
	}
}
