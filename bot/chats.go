package bot

import (
	"github.com/mymmrac/telego"

	"github.com/gatekey/gatekey/membership"
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
