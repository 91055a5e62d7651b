package sandbox

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/gofiber/fiber/v2"

	"github.com/gatekey/gatekey/telegram/telegramtest"
	"github.com/gatekey/gatekey/tenant"
)

// person is a pretend Telegram user the page plays.
type person struct {
	user  telegramtest.User
	owner bool // the owner's own account, linked as the demo bot's admin
	// log is what the person did and what happened to them that the bots'
	// messages do not show: what they typed, joins and refusals.
	log []entry
}

// entry is one line of a person's side of a chat with a bot.
type entry struct {
	bot int64 // the bot's Telegram id
	// after is how many of the bot's messages to this person came before
	// it, which places it among them.
	after    int
	at       time.Time
	kind     string // entryText (what they sent), entryNote, or entryPress
	text     string
	tone     string // of a note: "", "ok" or "bad"
	callback string // of a press: the callback query's id, to find the bot's answer
}

const (
	entryText  = "text"
	entryNote  = "note"
	entryPress = "press"
)

// maxPeople bounds how many pretend people one sandbox makes.
const maxPeople = 50

func (p *person) name() string {
	return p.user.FirstName
}

func (s *Sandbox) addPerson(u telegramtest.User, owner bool) *person {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &person{user: u, owner: owner}
	s.people = append(s.people, p)
	return p
}

// lookup finds a person by Telegram user id.
func (s *Sandbox) lookup(id int64) *person {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.personLocked(id)
}

// personParam finds the person named by the route's :id.
func (s *Sandbox) personParam(c *fiber.Ctx) (*person, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	p := s.lookup(id)
	if err != nil || p == nil {
		return nil, fail(c, fiber.StatusNotFound, "There is no such person in the sandbox. Reload the page.")
	}
	return p, nil
}

// seen is how many messages the bot has sent the person so far.
func (s *Sandbox) seen(bot tenant.Bot, p *person) int {
	return len(s.fake.Messages(bot.TelegramID, p.user.ID))
}

// record adds a line to a person's side of the chat.
func (s *Sandbox) record(p *person, e entry) {
	e.at = time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	p.log = append(p.log, e)
}

// note adds a line from the sandbox to a person's chat with the bot,
// after the bot's messages so far.
func (s *Sandbox) note(bot tenant.Bot, p *person, text, tone string) {
	s.record(p, entry{bot: bot.TelegramID, after: s.seen(bot, p), kind: entryNote, text: text, tone: tone})
}

// createPerson makes a pretend Telegram user from a first name.
func (s *Sandbox) createPerson(c *fiber.Ctx) error {
	name := strings.Join(strings.Fields(form(c, "name")), " ")
	switch {
	case name == "":
		return fail(c, fiber.StatusBadRequest, "Give the new person a first name, such as Bob.")
	case len([]rune(name)) > 32:
		return fail(c, fiber.StatusBadRequest, "Keep the name to 32 characters.")
	case strings.IndexFunc(name, notInName) >= 0:
		return fail(c, fiber.StatusBadRequest, "Use letters, digits, spaces, dashes and apostrophes in the name.")
	}
	s.mu.Lock()
	full := len(s.people) >= maxPeople
	taken := map[string]bool{}
	for _, p := range s.people {
		taken[p.user.Username] = true
	}
	s.mu.Unlock()
	if full {
		return fail(c, fiber.StatusBadRequest, fmt.Sprintf("The sandbox holds up to %d people: restart it to begin afresh.", maxPeople))
	}
	p := s.addPerson(s.fake.AddUser(name, username(name, taken)), false)
	return c.JSON(fiber.Map{"person": p.user.ID})
}

// notInName reports a character a pretend person's name may not have.
func notInName(r rune) bool {
	return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != ' ' && r != '-' && r != '\''
}

// username makes a Telegram-like @username from a name, unique among taken.
func username(name string, taken map[string]bool) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(r)
		case r == ' ' || r == '-':
			b.WriteRune('_')
		}
	}
	base := strings.Trim(b.String(), "_")
	if len(base) < 3 {
		base = "member" + base
	}
	u := base
	for i := 2; taken[u]; i++ {
		u = base + strconv.Itoa(i)
	}
	return u
}

// snapshot copies the people and their logs for reading without the lock.
func (s *Sandbox) snapshot() []person {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]person, len(s.people))
	for i, p := range s.people {
		out[i] = person{user: p.user, owner: p.owner, log: slices.Clone(p.log)}
	}
	return out
}

// People returns the pretend people as Telegram users, in the order they
// were made: the owner's account first.
func (s *Sandbox) People() []telegramtest.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]telegramtest.User, len(s.people))
	for i, p := range s.people {
		out[i] = p.user
	}
	return out
}
