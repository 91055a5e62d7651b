package sandbox_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/gatekey/gatekey/internal/browsertest"
	"github.com/gatekey/gatekey/telegram/telegramtest"
)

// screenshotDir is where the story's screenshots go (gitignored).
const screenshotDir = "testdata/out"

// tab is a headless Chromium tab on the sandbox page.
type tab struct {
	t    *testing.T
	ctx  context.Context
	shot int
}

// newTab starts headless Chromium (scripts/ensure-chromium.sh installs it
// for `make test`).
func newTab(t *testing.T) *tab {
	t.Helper()
	ctx := browsertest.New(t)
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &tab{t: t, ctx: ctx}
}

func (b *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval runs a JavaScript expression and returns its value.
func eval[T any](b *tab, expr string) (T, error) {
	return chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
}

// waitFor waits until the JavaScript expression is true on the page.
func (b *tab) waitFor(what, expr string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, err := eval[bool](b, `!!(`+expr+`)`)
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("waiting for %s: %v; the chat says:\n%s", what, err, b.chat())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// tap clicks the element the expression finds, as soon as it is there.
// The page redraws as the state changes, so finding and clicking happen
// in one step inside the page.
func (b *tab) tap(what, find string) {
	b.t.Helper()
	b.waitFor(what, `(() => { const e = `+find+`; if (!e || e.disabled) return false; e.click(); return true; })()`)
}

// tapButton taps the inline button with this text under the latest bot
// message that has one.
func (b *tab) tapButton(text string) {
	b.t.Helper()
	b.tap("the button "+text, fmt.Sprintf(`[...document.querySelectorAll("#messages .msg.bot")].reverse()
		.flatMap((m) => [...m.querySelectorAll(".kb button")]).find((e) => e.textContent.trim() === %q)`, text))
}

// be picks the person whose name starts with name in the People list.
func (b *tab) be(name string) {
	b.t.Helper()
	b.tap("the person "+name, fmt.Sprintf(`[...document.querySelectorAll("#people button")].find((e) => e.querySelector(".label span").textContent.trim().startsWith(%q))`, name))
	b.waitFor("the chat as "+name, fmt.Sprintf(`document.querySelector("#as").textContent.includes("you are %s")`, name))
}

// send types text into the message box and sends it.
func (b *tab) send(text string) {
	b.t.Helper()
	b.do("type "+text, chromedp.SendKeys(chromedp.CSS(`#composer input[name=text]`), text), chromedp.Click(chromedp.CSS(`#composer button`)))
	b.waitFor("the box to clear after sending "+text, `document.querySelector("#composer input[name=text]").value === ""`)
}

// chat is the text of the chat column.
func (b *tab) chat() string {
	s, _ := eval[string](b, `document.querySelector("#messages") ? document.querySelector("#messages").innerText : ""`)
	return s
}

// see waits until the chat says each of want.
func (b *tab) see(want ...string) {
	b.t.Helper()
	for _, w := range want {
		b.waitFor(fmt.Sprintf("the chat to say %q", w), fmt.Sprintf(`document.querySelector("#messages").innerText.includes(%q)`, w))
	}
}

// seePanel waits until the element css has the text want (as written,
// before CSS changes its case).
func (b *tab) seePanel(css, want string) {
	b.t.Helper()
	b.waitFor(fmt.Sprintf("%s to say %q", css, want), fmt.Sprintf(`document.querySelector(%q).textContent.includes(%q)`, css, want))
}

// members is the member list of the chat with this title, as the page shows it.
func (b *tab) members(title string) string {
	s, err := eval[string](b, fmt.Sprintf(`[...document.querySelectorAll("#chats .chat")].find((c) => c.querySelector("h3").textContent.startsWith(%q)).querySelector(".members").innerText`, title))
	if err != nil {
		b.t.Fatalf("members of %s: %v", title, err)
	}
	return s
}

// screenshot saves the page at 1280 px and at 390 px wide, and checks
// that at 390 px nothing runs off the side of the screen.
func (b *tab) screenshot(name string) {
	b.t.Helper()
	b.shot++
	for _, w := range []int64{1280, 390} {
		b.do("resize", chromedp.EmulateViewport(w, 844))
		if _, err := eval[bool](b, `(() => { const m = document.querySelector("#messages"); m.scrollTop = m.scrollHeight; return true; })()`); err != nil {
			b.t.Fatal(err)
		}
		if w == 390 {
			over, err := eval[int](b, `document.documentElement.scrollWidth - window.innerWidth`)
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

// TestStory plays the whole story on the sandbox page after the start-up
// of `make run`: the owner makes a code in the admin menu, a member opens
// its activation link and joins both chats, a second person tries the
// member's links (refused once used, removed by the bot when they got in
// first), the owner makes a batch of 10 codes and downloads the CSV, and
// time is fast-forwarded to the reminder and to the end, when the member
// is removed from both chats. What the page shows is checked against the
// fake Telegram's own state.
func TestStory(t *testing.T) {
	s := start(t)
	fake := s.env.Fake
	channel, group := s.demo.Chats[0], s.demo.Chats[1]
	alice := s.person(t, "alice")
	b := newTab(t)
	downloads := t.TempDir()
	if _, err := chromedp.CallBrowser(b.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads}); err != nil {
		t.Fatal(err)
	}

	// The page opens on the first member, Alice, with nothing said yet.
	b.do("open the sandbox", chromedp.Navigate(s.env.URL+"/sandbox"))
	b.waitFor("the first state", `document.body.dataset.version`)
	b.seePanel("#as", "you are Alice")
	b.see("Nothing here yet")
	b.seePanel("#chats", "Demo Channel")
	b.seePanel("#time", "Alice has no membership yet")
	b.screenshot("start")

	// The owner's account is linked as the bot's admin; /newcode walks
	// them through one code.
	b.be("Olivia")
	b.see("You are now an admin of @gatekey_demo_bot")
	b.send("/newcode")
	b.see("Which plan should it open?")
	b.tapButton("Demo membership · 1 month · 9.99 USD")
	b.see("How many times may each code be activated?")
	b.tapButton("1")
	b.see("Should the code stop working on a date")
	b.tapButton("No expiry")
	b.see("Just one code, or several?")
	b.tapButton("Just one")
	b.see("Please check, then create")
	b.tapButton("Create the code")
	b.see("Here is your access code for Demo membership", "https://t.me/gatekey_demo_bot?start=")
	b.screenshot("owner-made-a-code")

	// The owner passes the activation link to Alice, who opens it.
	b.tap("the activation link", `[...document.querySelectorAll("#messages a.link")].reverse().find((a) => a.href.includes("?start="))`)
	b.waitFor("the open-as menu", `!document.querySelector("#popover").hidden`)
	b.tap("open as Alice", fmt.Sprintf(`document.querySelector('#popover button[data-as="%d"]')`, alice.ID))
	b.seePanel("#as", "you are Alice")
	b.see("/start ", "Code accepted. Welcome to Demo membership!", "Join Demo Channel", "Join Demo Group")
	b.seePanel("#time", "Demo membership")
	b.screenshot("member-activated")

	b.tapButton("Join Demo Channel")
	b.see("You joined Demo Channel.")
	b.waitFor("Alice in the channel's member list", `document.querySelector("#chats").innerText.includes("Alice")`)
	if !fake.IsMember(channel.TelegramChatID, alice.ID) || fake.IsMember(group.TelegramChatID, alice.ID) {
		t.Fatal("after one Join, Alice should be in the channel only")
	}
	b.screenshot("member-joined-channel")

	// A second person is added and tries Alice's links: the group link,
	// still unused, lets him in and the bot removes him; the channel
	// link, used, is refused.
	b.do("name Bob", chromedp.SendKeys(chromedp.CSS(`#new-person input[name=name]`), "Bob"), chromedp.Click(chromedp.CSS(`#new-person button`)))
	b.seePanel("#as", "you are Bob")
	bob := s.person(t, "bob")
	b.tap("Demo Group's invite links", `[...document.querySelectorAll("#chats .chat")].find((c) => c.querySelector("h3").textContent.startsWith("Demo Group")).querySelector("summary")`)
	b.tap("try Alice's group link as Bob", `[...document.querySelectorAll("#chats .chat")].find((c) => c.querySelector("h3").textContent.startsWith("Demo Group")).querySelector("button.try")`)
	b.see("You joined Demo Group.", "@gatekey_demo_bot removed you from Demo Group.")
	s.env.Wait(t, "Bob to be removed and the link revoked", func() bool {
		links := fake.InviteLinks(group.TelegramChatID)
		return !fake.IsMember(group.TelegramChatID, bob.ID) && len(links) == 1 && links[0].IsRevoked
	})
	b.seePanel("#chats", "@gatekey_demo_bot removed Bob")
	b.tap("Demo Channel's invite links", `[...document.querySelectorAll("#chats .chat")].find((c) => c.querySelector("h3").textContent.startsWith("Demo Channel")).querySelector("summary")`)
	b.tap("try Alice's channel link as Bob", `[...document.querySelectorAll("#chats .chat")].find((c) => c.querySelector("h3").textContent.startsWith("Demo Channel")).querySelector("button.try")`)
	b.see("this invite link has already been used")
	if fake.IsMember(channel.TelegramChatID, bob.ID) {
		t.Fatal("Bob got into the channel with Alice's used link")
	}
	b.screenshot("stranger-removed")

	// Alice asks again with /start and gets a fresh link to the group.
	b.be("Alice")
	b.tap("the /start shortcut", `document.querySelector('#quick button[data-send="/start"]')`)
	b.see("You have not joined every chat of Demo membership yet")
	b.tapButton("Join Demo Group")
	b.see("You joined Demo Group.")
	if !fake.IsMember(channel.TelegramChatID, alice.ID) || !fake.IsMember(group.TelegramChatID, alice.ID) {
		t.Fatal("Alice should be in both chats")
	}
	b.waitFor("Alice in both member lists", `[...document.querySelectorAll("#chats .members")].every((m) => m.innerText.includes("Alice"))`)
	b.screenshot("member-in-both-chats")

	// The owner makes a batch of 10 codes and downloads its CSV.
	b.be("Olivia")
	b.tap("the /newcode shortcut", `document.querySelector('#quick button[data-send="/newcode"]')`)
	b.tapButton("Demo membership · 1 month · 9.99 USD")
	b.see("How many times may each code be activated?")
	b.tapButton("1")
	b.see("Should the code stop working on a date")
	b.tapButton("No expiry")
	b.see("Just one code, or several?")
	b.tapButton("10")
	b.tapButton("Create 10 codes")
	b.see("Done: 10 codes for Demo membership", "access-codes-batch-")
	b.tap("the CSV", `[...document.querySelectorAll("#messages a.download")].pop()`)
	rows := waitCSV(t, downloads, 11)
	if rows[0][0] != "access code" || len(rows) != 11 {
		t.Fatalf("CSV: %d rows, header %v", len(rows), rows[0])
	}
	for _, r := range rows[1:] {
		if r[1] != "https://t.me/gatekey_demo_bot?start="+strings.ReplaceAll(r[0], "-", "") {
			t.Fatalf("CSV row %v: the link does not open the code", r)
		}
	}
	b.screenshot("owner-batch-csv")

	// Time: a day before the end the reminder comes; at the end Alice is
	// told and removed from both chats.
	b.be("Alice")
	b.seePanel("#time", "active")
	b.tap("fast-forward to reminder", `document.querySelector('#time button[data-ff="reminder"]')`)
	b.seePanel("#time-note", "the reminder is on its way")
	b.see("Your access to Demo membership ends on")
	b.screenshot("reminder")
	if !fake.IsMember(channel.TelegramChatID, alice.ID) {
		t.Fatal("the reminder removed Alice")
	}
	b.tap("fast-forward to end", `document.querySelector('#time button[data-ff="end"]')`)
	b.see("Your access to Demo membership has ended, and you have been removed from its chats.",
		"@gatekey_demo_bot removed you from Demo Channel.", "@gatekey_demo_bot removed you from Demo Group.")
	s.env.Wait(t, "Alice to be out of both chats", func() bool {
		return !fake.IsMember(channel.TelegramChatID, alice.ID) && !fake.IsMember(group.TelegramChatID, alice.ID)
	})
	b.seePanel("#time", "expired")
	b.waitFor("Alice gone from the member lists", `![...document.querySelectorAll("#chats .members")].some((m) => m.innerText.includes("Alice"))`)
	if m := b.members("Demo Channel"); strings.Contains(m, "Alice") {
		t.Fatalf("the channel still lists Alice: %s", m)
	}
	b.screenshot("ended")
	if n := s.env.Count(t, "SELECT count(*) FROM memberships WHERE status = 'expired'"); n != 1 {
		t.Fatalf("%d expired memberships, want Alice's", n)
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

// fill replaces the text of the input css finds.
func (b *tab) fill(css, text string) {
	b.t.Helper()
	b.waitFor(css, fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return false; e.value = ""; return true; })()`, css))
	b.do("type into "+css, chromedp.SendKeys(chromedp.CSS(css), text))
}

// load opens a page of the server (the console's, or the sandbox) and
// waits until it has loaded.
func (b *tab) load(url string) {
	b.t.Helper()
	b.do("open "+url, chromedp.Navigate(url))
	b.waitFor(url+" to load", `document.readyState === "complete"`)
}

// submit clicks css, a console form's button, and waits for the page the
// form leads to, whose path starts with path.
func (b *tab) submit(css, path string) {
	b.t.Helper()
	if _, err := eval[bool](b, `window.__old = true`); err != nil {
		b.t.Fatal(err)
	}
	b.do("click "+css, chromedp.Click(chromedp.CSS(css)))
	b.waitFor("the page after "+css, fmt.Sprintf(`window.__old === undefined && document.readyState === "complete" && location.pathname.startsWith(%q)`, path))
}

// main is the text of the console page's main element.
func (b *tab) main() string {
	s, _ := eval[string](b, `document.querySelector("main") ? document.querySelector("main").innerText : ""`)
	return s
}

// seeMain checks the console page says each of want.
func (b *tab) seeMain(want ...string) {
	b.t.Helper()
	text := b.main()
	for _, w := range want {
		if !strings.Contains(text, w) {
			b.t.Fatalf("the console page does not say %q; it says:\n%s", w, text)
		}
	}
}

// TestNewOwnerStory walks a new owner's path under `make run` in one
// browser: a bot made in the sandbox's BotFather panel and its token
// copied, a sign-up in the console and the bot connected with the token,
// a channel made in the panel with the bot as administrator (refused
// until the bot is connected) that the console then lists, a plan and a
// code made in the console, and the code's link opened in the sandbox by a
// pretend member of the new bot, who gets the Join button and joins.
func TestNewOwnerStory(t *testing.T) {
	s := start(t)
	fake := s.env.Fake
	alice := s.person(t, "alice")
	b := newTab(t)
	b.load(s.env.URL + "/sandbox#botfather")
	b.waitFor("the first state", `document.body.dataset.version`)

	// A username Telegram would not take is refused in words; a good one
	// gets a token to copy.
	b.fill(`#new-bot input[name=username]`, "my club")
	b.tap("Create a bot", `document.querySelector("#new-bot button[type=submit]")`)
	b.seePanel("#new-bot-error", "Latin letters, digits and underscores")
	b.fill(`#new-bot input[name=username]`, "maria_club_bot")
	b.fill(`#new-bot input[name=name]`, "Maria's Club")
	b.tap("Create a bot", `document.querySelector("#new-bot button[type=submit]")`)
	b.seePanel("#new-bot-done", "@maria_club_bot is made")
	token, err := eval[string](b, `document.querySelector("#new-bot-done code").textContent`)
	if err != nil {
		t.Fatal(err)
	}
	made, ok := fakeBot(fake, "maria_club_bot")
	if !ok || made.FirstName != "Maria's Club" || !strings.HasPrefix(token, fmt.Sprint(made.ID)+":") {
		t.Fatalf("the token shown %q for %+v", token, made)
	}
	b.tap("Copy", `document.querySelector("#new-bot-done button.copy")`)
	b.seePanel("#new-bot-done", "Copied")
	b.seePanel("#made-bots", "not connected")
	b.waitFor("the error to go", `document.querySelector("#new-bot-error").hidden`)
	b.screenshot("new-owner-bot-made")

	// Until the bot is connected, it is not added to a chat.
	b.fill(`#new-chat input[name=title]`, "Maria's Channel")
	b.waitFor("the new bot chosen as administrator", fmt.Sprintf(`document.querySelector("#chat-bot").value === "%d"`, made.ID))
	b.tap("Create", `document.querySelector("#new-chat button[type=submit]")`)
	b.seePanel("#new-chat-error", "Connect @maria_club_bot in the console first")

	// The new owner signs up in the console and connects the bot.
	b.load(s.env.URL + "/signup")
	b.fill(`[name=email]`, "maria@example.com")
	b.fill(`[name=password]`, "correct horse battery")
	b.fill(`[name=password2]`, "correct horse battery")
	b.submit(`button[type=submit]`, "/bots")
	b.seeMain("Connect your bot", "sandbox's BotFather panel")
	b.fill(`#connect [name=token]`, token)
	b.submit(`#connect button[type=submit]`, "/bots")
	b.seeMain("@maria_club_bot is connected")

	// Back in the sandbox the bot is connected, and a channel made with it
	// as administrator is in the console at once.
	b.load(s.env.URL + "/sandbox#botfather")
	b.waitFor("the first state", `document.body.dataset.version`)
	b.seePanel("#made-bots", "connected")
	b.waitFor("the bot connected", `!document.querySelector("#made-bots").textContent.includes("not connected")`)
	b.fill(`#new-chat input[name=title]`, "Maria's Channel")
	b.tap("choose @maria_club_bot", fmt.Sprintf(`(() => { const s = document.querySelector("#chat-bot");
		if (![...s.options].some((o) => o.value === "%[1]d")) return null; s.value = "%[1]d"; return s; })()`, made.ID))
	b.tap("Create", `document.querySelector("#new-chat button[type=submit]")`)
	b.seePanel("#new-chat-done", "Made the channel “Maria's Channel” with @maria_club_bot as its administrator.")
	b.screenshot("new-owner-chat-made")
	b.load(s.env.URL + "/bots")
	b.seeMain("Maria's Channel", "Ready")

	// A plan with the channel, and one code.
	b.load(s.env.URL + "/plans/new")
	b.fill(`[name=name]`, "Club")
	b.fill(`[name=period_value]`, "1")
	b.fill(`[name=price]`, "5")
	b.fill(`[name=currency]`, "EUR")
	b.tap("the channel in the plan", `[...document.querySelectorAll("label")].find((l) => l.textContent.includes("Maria's Channel")).querySelector("input")`)
	b.submit(`#plan-form button[type=submit]`, "/plans")
	b.load(s.env.URL + "/codes/new")
	b.fill(`[name=count]`, "1")
	b.submit(`#codes-form button[type=submit]`, "/codes/")
	link, err := eval[string](b, `document.querySelector("#code-link").textContent`)
	if err != nil || !strings.HasPrefix(link, "https://t.me/maria_club_bot?start=") {
		t.Fatalf("the code's link: %q %v", link, err)
	}

	// In the sandbox, Alice talks to the new bot and opens the link.
	b.load(s.env.URL + "/sandbox")
	b.waitFor("the first state", `document.body.dataset.version`)
	b.tap("choose @maria_club_bot above the chat", fmt.Sprintf(`(() => { const s = document.querySelector("#bot-select");
		if (s.disabled || ![...s.options].some((o) => o.value === "%[1]d")) return null;
		s.value = "%[1]d"; s.dispatchEvent(new Event("change")); return s; })()`, made.ID))
	b.waitFor("the chat with @maria_club_bot", `document.body.dataset.bot === "maria_club_bot"`)
	b.be("Alice")
	b.see("Nothing here yet")
	b.seePanel("#chats", "Maria's Channel")
	b.send("/start")
	b.see("Welcome! This is @maria_club_bot.")
	b.tap("Open a link…", `document.querySelector("#open-toggle")`)
	b.fill(`#open-link input[name=link]`, link)
	b.tap("Open", `document.querySelector("#open-link button[type=submit]")`)
	b.see("Code accepted. Welcome to Club!", "Join Maria's Channel")
	b.seePanel("#time", "Club")
	b.tapButton("Join Maria's Channel")
	b.see("You joined Maria's Channel.")
	b.waitFor("Alice in the channel's member list", `document.querySelector("#chats").innerText.includes("Alice")`)
	channel := fakeChat(t, s, "Maria's Channel")
	if !fake.IsMember(channel, alice.ID) {
		t.Fatal("Alice is not in Maria's Channel")
	}
	b.screenshot("new-owner-member-joined")
}

// fakeBot finds one of the fake's bots by username.
func fakeBot(fake *telegramtest.Server, username string) (telegramtest.User, bool) {
	for _, u := range fake.Bots() {
		if u.Username == username {
			return u, true
		}
	}
	return telegramtest.User{}, false
}

// fakeChat is the Telegram id of the chat with this title, as Gatekey
// recorded it.
func fakeChat(t *testing.T, s started, title string) int64 {
	t.Helper()
	var id int64
	if err := s.env.Owner(t).QueryRow(context.Background(), "SELECT telegram_chat_id FROM chats WHERE title = $1", title).Scan(&id); err != nil {
		t.Fatalf("chat %s: %v", title, err)
	}
	return id
}
