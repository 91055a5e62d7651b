package bot

import (
	"errors"
	"fmt"

	"github.com/mymmrac/telego"
	"github.com/riverqueue/river"

	"github.com/gatekey/gatekey/jobs"
	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/tenant"
)

// onMyChatMember records the bot being added to, promoted in, or removed
// from a channel or group, so the owner can put the chat in a plan.
func (t *turn) onMyChatMember(u *telego.ChatMemberUpdated) error {
	kind := u.Chat.Type
	if kind != telego.ChatTypeChannel && kind != telego.ChatTypeSupergroup && kind != telego.ChatTypeGroup {
		return nil
	}
	c := membership.Chat{BotID: t.bot.ID, TelegramChatID: u.Chat.ID, Kind: kind, Title: u.Chat.Title,
		BotStatus: u.NewChatMember.MemberStatus()}
	if admin, ok := u.NewChatMember.(*telego.ChatMemberAdministrator); ok {
		c.CanInvite = admin.CanInviteUsers
		c.CanRestrict = admin.CanRestrictMembers
	}
	_, err := membership.UpsertChat(t.ctx, t.tx, c)
	return err
}

// Ignores reports whether Handle does nothing with u, whatever the
// database holds, so that the webhook need not even record it: a
// redelivery would do nothing again. These are chat_member updates about
// bots, about people who neither came in nor went out (the unban after a
// ban in a basic group), and about the bot's own removals, which the
// removal recorded when it was decided: an update for each chat of every
// membership that ends.
func Ignores(b tenant.Bot, u telego.Update) bool {
	if u.ChatMember == nil || u.Message != nil || u.CallbackQuery != nil {
		return false
	}
	return uneventful(b, u.ChatMember)
}

func uneventful(b tenant.Bot, u *telego.ChatMemberUpdated) bool {
	was, is := inChat(u.OldChatMember), inChat(u.NewChatMember)
	return u.NewChatMember.MemberUser().IsBot || !was && !is || !is && u.From.ID == b.TelegramID
}

// onChatMember watches people join and leave the bot's chats. Someone who
// joins through a link made for another member is removed at once, told
// why, and the link revoked; the rightful member gets a new one with
// /start. So is a
// member who comes in through their own link after their access ended,
// and they are told why.
func (t *turn) onChatMember(u *telego.ChatMemberUpdated) error {
	if uneventful(t.bot, u) {
		return nil
	}
	user := u.NewChatMember.MemberUser()
	was, is := inChat(u.OldChatMember), inChat(u.NewChatMember)
	switch {
	case !was && is:
		link := ""
		if u.InviteLink != nil {
			link = u.InviteLink.InviteLink
		}
		j, err := membership.ObserveJoin(t.ctx, t.tx, t.bot.ID, u.Chat.ID, user.ID, link)
		if errors.Is(err, membership.ErrNotFound) {
			return nil // a chat Gatekey does not manage
		}
		if err != nil || !j.Refused() {
			return err
		}
		t.queue(
			jobs.RemoveFromChat(t.bot.TenantID, t.bot.ID, j.Chat, user.ID),
			river.InsertManyParams{Args: jobs.RevokeLinkArgs{TenantID: t.bot.TenantID, BotID: t.bot.ID, TelegramChatID: u.Chat.ID, Link: j.Link}},
		)
		if j.Ended {
			t.send(user.ID, fmt.Sprintf("Your access to %s has ended, so you cannot stay in it. Send /start to see the plans.", j.Chat.Title))
		} else {
			// If they never started the bot, Telegram refuses this, and
			// nothing else depends on it.
			t.send(user.ID, fmt.Sprintf("The link you used to join %s was made for someone else, so you were taken out again. "+
				"If you have access of your own, send /start here for your own link.", j.Chat.Title))
		}
	case was && !is:
		return membership.ObserveLeave(t.ctx, t.tx, t.bot.ID, u.Chat.ID, user.ID, "left")
	}
	return nil
}

// inChat reports whether a chat member is in the chat.
func inChat(m telego.ChatMember) bool {
	switch v := m.(type) {
	case *telego.ChatMemberOwner, *telego.ChatMemberAdministrator, *telego.ChatMemberMember:
		return true
	case *telego.ChatMemberRestricted:
		return v.IsMember
	}
	return false
}
