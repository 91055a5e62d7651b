package sandbox

import (
	"encoding/json"
	"fmt"

	"github.com/mymmrac/telego"
)

// Chat activity: who joined, left and was removed, as Telegram told each
// bot in chat_member updates. The fake keeps every update it delivered; the
// sandbox reads the new ones each time it shows the page.

// maxActivity is how many lines each chat keeps.
const maxActivity = 12

// chatKey names one chat as one bot sees it: two bots in a chat are each
// told of its members.
type chatKey struct{ bot, chat int64 }

// absorb reads the deliveries made since the last call into each chat's
// activity, and tells a pretend person in their chat with a bot when the
// bot removed them. It must be called with s.mu held.
func (s *Sandbox) absorbLocked() {
	ds := s.fake.Deliveries()
	for _, d := range ds[min(s.delivered, len(ds)):] {
		if d.Type != "chat_member" {
			continue
		}
		var u telego.Update
		if json.Unmarshal(d.Body, &u) != nil || u.ChatMember == nil {
			continue
		}
		cm := u.ChatMember
		user := cm.NewChatMember.MemberUser()
		was, is := cm.OldChatMember.MemberStatus(), cm.NewChatMember.MemberStatus()
		who := s.nameLocked(user)
		var line string
		switch {
		case is == telego.MemberStatusBanned && !inChat(was):
			continue // a removal that found them gone already changes nothing
		case !inChat(is) && inChat(was) && cm.From.ID == d.Bot:
			// A ban, or in a channel or supergroup the one unban that removes.
			line = fmt.Sprintf("@%s removed %s", cm.From.Username, who)
			if p := s.personLocked(user.ID); p != nil {
				p.log = append(p.log, entry{bot: d.Bot, after: len(s.fake.Messages(d.Bot, p.user.ID)), at: d.At,
					kind: entryNote, text: fmt.Sprintf("@%s removed you from %s.", cm.From.Username, cm.Chat.Title), tone: "bad"})
			}
		case is == telego.MemberStatusBanned:
			line = who + " was banned"
		case was == telego.MemberStatusBanned:
			continue // the unban that follows a removal, so they may come back one day
		case inChat(is) && !inChat(was) && cm.InviteLink != nil:
			line = who + " joined with an invite link"
		case inChat(is) && !inChat(was):
			line = who + " joined"
		case !inChat(is) && inChat(was):
			line = who + " left"
		default:
			continue
		}
		key := chatKey{d.Bot, cm.Chat.ID}
		s.activity[key] = append(s.activity[key], d.At.Format("15:04:05")+"  "+line)
		if n := len(s.activity[key]); n > maxActivity {
			s.activity[key] = s.activity[key][n-maxActivity:]
		}
	}
	s.delivered = len(ds)
}

func inChat(status string) bool {
	switch status {
	case telego.MemberStatusCreator, telego.MemberStatusAdministrator, telego.MemberStatusMember:
		return true
	}
	return false
}

func (s *Sandbox) personLocked(id int64) *person {
	for _, p := range s.people {
		if p.user.ID == id {
			return p
		}
	}
	return nil
}

// nameLocked is how the page names a Telegram user.
func (s *Sandbox) nameLocked(u telego.User) string {
	if p := s.personLocked(u.ID); p != nil {
		return p.name()
	}
	if u.Username != "" {
		return "@" + u.Username
	}
	return u.FirstName
}
