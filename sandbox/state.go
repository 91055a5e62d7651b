package sandbox

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/telegram/telegramtest"
	"github.com/gatekey/gatekey/tenant"
)

// The page shows the world as one JSON state: the fake's bots, the people,
// the chosen person's chat with the chosen bot, the bot's chats with their
// members, and the chosen person's memberships of the bot's plans, read
// under the bot's tenant. The page asks for it with the version it has, and
// the answer waits (up to pollWait) until something changed: new messages
// appear without reloading, and without a front-end build.

const (
	pollWait  = 15 * time.Second
	pollEvery = 200 * time.Millisecond
)

type stateView struct {
	Version     string           `json:"version"`
	Now         time.Time        `json:"now"`
	Bot         string           `json:"bot"`     // the chosen bot's username
	BotID       int64            `json:"botId"`   // and Telegram id
	DemoBot     int64            `json:"demoBot"` // the demo bot's Telegram id
	Bots        []botChoice      `json:"bots"`
	Person      int64            `json:"person"`
	People      []personView     `json:"people"`
	Messages    []messageView    `json:"messages"`
	Chats       []chatView       `json:"chats"`
	Memberships []membershipView `json:"memberships"`
}

type personView struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Username string `json:"username"`
	Owner    bool   `json:"owner,omitempty"` // the owner's own account
	Admin    bool   `json:"admin,omitempty"` // an admin of the chosen bot
	Last     string `json:"last,omitempty"`  // the bot's latest message, shortened
}

// messageView is one line of the chat: a bot message ("bot"), what the
// person sent ("me"), a note from the sandbox ("note"), or the bot's short
// answer to a button ("toast").
type messageView struct {
	Kind     string         `json:"kind"`
	ID       int            `json:"id,omitempty"`
	Text     string         `json:"text"`
	Time     time.Time      `json:"time"`
	Edited   bool           `json:"edited,omitempty"`
	Tone     string         `json:"tone,omitempty"`
	Buttons  [][]buttonView `json:"buttons,omitempty"`
	Document *documentView  `json:"document,omitempty"`
}

type buttonView struct {
	Text string `json:"text"`
	Data string `json:"data,omitempty"`
	URL  string `json:"url,omitempty"`
}

type documentView struct {
	Name string `json:"name"`
	Size int    `json:"size"`
	URL  string `json:"url"`
}

type chatView struct {
	ID       int64        `json:"id"`
	Title    string       `json:"title"`
	Kind     string       `json:"kind"`
	Members  []memberView `json:"members"`
	Links    []linkView   `json:"links"`
	Activity []string     `json:"activity"`
}

type memberView struct {
	Name string `json:"name"`
	Role string `json:"role"` // member, admin, owner, bot
	You  bool   `json:"you,omitempty"`
}

type linkView struct {
	URL      string    `json:"url"`
	For      string    `json:"for"`
	State    string    `json:"state"` // usable, used up, expired, revoked
	Uses     int       `json:"uses"`
	Limit    int       `json:"limit"`
	Expires  time.Time `json:"expires,omitzero"`
	JoinedBy []string  `json:"joinedBy,omitempty"`
}

type membershipView struct {
	ID       int64      `json:"id"`
	Plan     string     `json:"plan"`
	Status   string     `json:"status"`
	StartsAt time.Time  `json:"startsAt"`
	EndsAt   *time.Time `json:"endsAt"`
	EndedAt  *time.Time `json:"endedAt,omitempty"`
}

// maxLinks is how many of each chat's invite links the page lists.
const maxLinks = 8

// state answers the page's poll: at once when the page's version is not
// the current one, else when something changes or pollWait passes.
func (s *Sandbox) state(c *fiber.Ctx) error {
	w := s.world.Load()
	bot, err := s.botParam(c, w)
	if err != nil {
		return problem(c, err)
	}
	id, _ := strconv.ParseInt(c.Query("person"), 10, 64)
	have := c.Query("v")
	deadline := time.Now().Add(pollWait)
	for {
		v, err := s.view(c.UserContext(), w, bot, id)
		if err != nil {
			return err
		}
		if v.Version != have || time.Now().After(deadline) {
			c.Set(fiber.HeaderCacheControl, "no-store")
			return c.JSON(v)
		}
		select {
		case <-c.Context().Done(): // the server is shutting down
			return c.JSON(v)
		case <-time.After(pollEvery):
		}
	}
}

// view builds the state as the person with Telegram id `id` sees it with
// the bot; an unknown id picks the first member.
func (s *Sandbox) view(ctx context.Context, w *world, bot tenant.Bot, id int64) (stateView, error) {
	v := stateView{Bot: bot.Username, BotID: bot.TelegramID, DemoBot: w.demo.Bot.TelegramID,
		Bots: s.botChoices(), Memberships: []membershipView{}}
	s.mu.Lock()
	s.absorbLocked()
	activity := map[chatKey][]string{}
	for k, lines := range s.activity {
		activity[k] = slices.Clone(lines)
	}
	s.mu.Unlock()
	people := s.snapshot()
	me := pick(people, id)
	v.Person = me.user.ID

	var chats []membership.Chat
	var rows []membership.MemberRow
	var admins []tenant.Admin
	err := w.app.DB.Tx(ctx, bot.TenantID, func(tx pgx.Tx) error {
		var err error
		if chats, err = membership.ListChats(ctx, tx, bot.ID); err != nil {
			return err
		}
		if admins, err = tenant.BotAdmins(ctx, tx, bot.ID); err != nil {
			return err
		}
		rows, err = membership.ListMembers(ctx, tx, membership.MemberFilter{BotID: bot.ID, Limit: 200})
		return err
	})
	if err != nil {
		return v, fmt.Errorf("sandbox: state: %w", err)
	}
	for _, p := range people {
		pv := personView{ID: p.user.ID, Name: p.name(), Username: p.user.Username, Owner: p.owner,
			Admin: slices.ContainsFunc(admins, func(a tenant.Admin) bool { return a.TelegramUserID == p.user.ID })}
		msgs := s.fake.Messages(bot.TelegramID, p.user.ID)
		for i := len(msgs) - 1; i >= 0; i-- {
			if !msgs[i].Deleted {
				pv.Last = shorten(firstLine(msgs[i]), 48)
				break
			}
		}
		v.People = append(v.People, pv)
	}
	v.Messages = s.chat(bot, me)
	for _, ch := range chats {
		v.Chats = append(v.Chats, s.chatState(bot, ch, people, me, rows, activity[chatKey{bot.TelegramID, ch.TelegramChatID}]))
	}
	for _, r := range rows {
		if r.Member.TelegramUserID == me.user.ID {
			v.Memberships = append(v.Memberships, membershipView{ID: r.ID, Plan: r.PlanName, Status: r.Status,
				StartsAt: r.StartsAt, EndsAt: r.EndsAt, EndedAt: r.EndedAt})
		}
	}
	body, err := json.Marshal(v)
	if err != nil {
		return v, fmt.Errorf("sandbox: state: %w", err)
	}
	h := fnv.New64a()
	h.Write(body)
	v.Version, v.Now = hex.EncodeToString(h.Sum(nil)), time.Now()
	return v, nil
}

// chat merges the bot's messages to the person with the person's own
// side of the conversation, in order.
func (s *Sandbox) chat(bot tenant.Bot, p *person) []messageView {
	msgs := s.fake.Messages(bot.TelegramID, p.user.ID)
	var log []entry
	for _, e := range p.log {
		if e.bot == bot.TelegramID {
			log = append(log, e)
		}
	}
	answers := map[string]string{}
	for _, e := range log {
		if e.kind == entryPress && e.callback != "" {
			answers = s.callbackAnswers()
			break
		}
	}
	out := []messageView{}
	// Notes about chat members are written when the page next looks, so
	// a line's time, not only its place, orders it among its neighbours.
	slices.SortStableFunc(log, func(a, b entry) int {
		return cmp.Or(cmp.Compare(a.after, b.after), a.at.Compare(b.at))
	})
	flush := func(upTo int) {
		for len(log) > 0 && log[0].after <= upTo {
			e := log[0]
			log = log[1:]
			switch {
			case e.kind == entryText:
				out = append(out, messageView{Kind: "me", Text: e.text, Time: e.at})
			case e.kind == entryNote:
				out = append(out, messageView{Kind: "note", Text: e.text, Tone: e.tone, Time: e.at})
			case e.kind == entryPress && answers[e.callback] != "":
				out = append(out, messageView{Kind: "toast", Text: answers[e.callback], Time: e.at})
			}
		}
	}
	for i, m := range msgs {
		flush(i)
		if m.Deleted {
			continue
		}
		out = append(out, botMessage(bot.TelegramID, p.user.ID, m))
	}
	flush(len(msgs))
	return out
}

// pick finds the person with Telegram id `id`, else the first member.
func pick(people []person, id int64) *person {
	for i := range people {
		if people[i].user.ID == id {
			return &people[i]
		}
	}
	for i := range people {
		if !people[i].owner {
			return &people[i]
		}
	}
	return &people[0]
}

func botMessage(botID, userID int64, m telegramtest.Message) messageView {
	mv := messageView{Kind: "bot", ID: m.MessageID, Text: m.Text, Time: m.Date, Edited: !m.EditDate.IsZero()}
	if m.Document != nil {
		mv.Text = m.Caption
		mv.Document = &documentView{Name: m.Document.FileName, Size: len(m.Document.Data),
			URL: fmt.Sprintf("%s/people/%d/files/%d?bot=%d", Path, userID, m.MessageID, botID)}
	}
	if m.ReplyMarkup != nil {
		for _, row := range m.ReplyMarkup.InlineKeyboard {
			var r []buttonView
			for _, b := range row {
				r = append(r, buttonView{Text: b.Text, Data: b.CallbackData, URL: b.URL})
			}
			mv.Buttons = append(mv.Buttons, r)
		}
	}
	return mv
}

// callbackAnswers maps callback query ids to the notice the bot answered
// them with.
func (s *Sandbox) callbackAnswers() map[string]string {
	out := map[string]string{}
	for _, call := range s.fake.CallsTo("answerCallbackQuery") {
		id, _ := call.Params["callback_query_id"].(string)
		text, _ := call.Params["text"].(string)
		if call.Status == fiber.StatusOK && text != "" {
			out[id] = text
		}
	}
	return out
}

// chatState is one of the bot's chats: who is in it, its recent invite
// links, and what happened in it.
func (s *Sandbox) chatState(bot tenant.Bot, ch membership.Chat, people []person, me *person, rows []membership.MemberRow, activity []string) chatView {
	cv := chatView{ID: ch.TelegramChatID, Title: ch.Title, Kind: ch.Kind, Activity: activity}
	if cv.Activity == nil {
		cv.Activity = []string{}
	}
	if st := s.fake.MemberStatus(ch.TelegramChatID, bot.TelegramID); inChat(st) {
		cv.Members = append(cv.Members, memberView{Name: "@" + bot.Username, Role: "bot"})
	}
	names := map[int64]string{}
	for _, p := range people {
		names[p.user.ID] = p.name()
		st := s.fake.MemberStatus(ch.TelegramChatID, p.user.ID)
		if !inChat(st) {
			continue
		}
		role := "member"
		switch st {
		case "creator":
			role = "owner"
		case "administrator":
			role = "admin"
		}
		cv.Members = append(cv.Members, memberView{Name: p.name(), Role: role, You: p.user.ID == me.user.ID})
	}
	// Gatekey names each link after the member it was made for.
	memberName := map[string]string{}
	for _, r := range rows {
		n := names[r.Member.TelegramUserID]
		if n == "" {
			n = r.Member.DisplayName()
		}
		memberName["Gatekey member "+strconv.FormatInt(r.Member.ID, 10)] = n
	}
	links := s.fake.InviteLinks(ch.TelegramChatID)
	now := time.Now()
	for i := len(links) - 1; i >= 0 && len(cv.Links) < maxLinks; i-- {
		l := links[i]
		lv := linkView{URL: l.InviteLink, For: memberName[l.Name], Uses: l.Uses, Limit: l.MemberLimit, State: "usable"}
		if lv.For == "" {
			lv.For = l.Name
		}
		if l.ExpireDate != 0 {
			lv.Expires = time.Unix(l.ExpireDate, 0)
		}
		switch {
		case l.IsRevoked:
			lv.State = "revoked"
		case l.ExpireDate != 0 && !now.Before(lv.Expires):
			lv.State = "expired"
		case l.MemberLimit > 0 && l.Uses >= l.MemberLimit:
			lv.State = "used up"
		}
		for _, id := range l.JoinedBy {
			n := names[id]
			if n == "" {
				n = strconv.FormatInt(id, 10)
			}
			lv.JoinedBy = append(lv.JoinedBy, n)
		}
		cv.Links = append(cv.Links, lv)
	}
	if cv.Links == nil {
		cv.Links = []linkView{}
	}
	return cv
}

func firstLine(m telegramtest.Message) string {
	t := m.Text
	if m.Document != nil {
		t = "File: " + m.Document.FileName
	}
	line, _, _ := strings.Cut(t, "\n")
	return line
}

func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
