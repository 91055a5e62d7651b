package bot

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gatekey/gatekey/jobs"
	"github.com/gatekey/gatekey/membership"
)

// The members part of the admin menu: how many have access, finding one
// by @username or Telegram id, and ending one membership.

const maxFound = 8

func (t *turn) membersMenu(p *press) error {
	var active, all int
	err := t.tx.QueryRow(t.ctx, `SELECT
		(SELECT count(DISTINCT ms.member_id) FROM memberships ms
			JOIN members m ON m.tenant_id = ms.tenant_id AND m.id = ms.member_id
			WHERE m.bot_id = $1 AND ms.status = 'active'),
		(SELECT count(*) FROM members WHERE bot_id = $1)`, t.bot.ID).Scan(&active, &all)
	if err != nil {
		return fmt.Errorf("bot: count members: %w", err)
	}
	t.show(p, screen{text: fmt.Sprintf("Members\n\nWith access now: %d\nEver opened the bot: %d\n\n"+
		"Find a member to see their memberships or end one.", active, all),
		buttons: [][]jobs.Button{{{Text: "Find a member", Data: adminPrefix + "mf"}}, backToMenu()}})
	return nil
}

func (t *turn) startFindMember(p *press) error {
	return t.openPrompt(p, flowFindMember, newNonce(), screen{text: findPrompt})
}

const findPrompt = "Send the member's @username or Telegram user id (a number). Part of a name works too."

// findMemberTyped looks up who the admin typed: one match opens the
// member, several are listed, none asks again.
func (t *turn) findMemberTyped(p *press, conv conversation, text string) error {
	q := strings.TrimSpace(text)
	if q == "" || len([]rune(q)) > 64 {
		return t.openPrompt(p, flowFindMember, flowNonce(conv), screen{text: "Please send an @username or a Telegram user id.\n\n" + findPrompt})
	}
	rows, err := membership.ListMembers(t.ctx, t.tx, membership.MemberFilter{BotID: t.bot.ID, Search: q, Limit: 200})
	if err != nil {
		return err
	}
	var found []membership.Member
	seen := map[int64]bool{}
	for _, r := range rows {
		if !seen[r.Member.ID] {
			seen[r.Member.ID] = true
			found = append(found, r.Member)
		}
	}
	// An exact @username is the one meant, even if others contain it.
	for _, m := range found {
		if strings.EqualFold(m.Username, strings.TrimPrefix(q, "@")) {
			found = []membership.Member{m}
			break
		}
	}
	switch {
	case len(found) == 0:
		return t.openPrompt(p, flowFindMember, flowNonce(conv), screen{text: fmt.Sprintf("No one who has had access through this bot matches %q. "+
			"Send another @username or id, or tap Cancel.", clip(q))})
	case len(found) == 1:
		if err := clearConversation(t.ctx, t.tx, t.bot.ID, p.userID); err != nil {
			return err
		}
		return t.memberView(p, found[0].ID, "")
	}
	if err := clearConversation(t.ctx, t.tx, t.bot.ID, p.userID); err != nil {
		return err
	}
	s := screen{text: fmt.Sprintf("%d members match %q. Tap one:", len(found), clip(q))}
	if len(found) > maxFound {
		s.text = fmt.Sprintf("%d members match %q; here are the %d most recent. Tap one, or search again more precisely:", len(found), clip(q), maxFound)
		found = found[:maxFound]
	}
	for _, m := range found {
		s.buttons = append(s.buttons, []jobs.Button{{Text: memberLabel(m), Data: fmt.Sprintf("%smv:%d", adminPrefix, m.ID)}})
	}
	s.buttons = append(s.buttons, []jobs.Button{{Text: "Search again", Data: adminPrefix + "mf"}}, backToMenu())
	t.show(p, s)
	return nil
}

func memberLabel(m membership.Member) string {
	name := strings.TrimSpace(m.FirstName + " " + m.LastName)
	if m.Username != "" && name != "" {
		return fmt.Sprintf("%s (@%s)", name, m.Username)
	}
	if name == "" && m.Username == "" {
		return fmt.Sprintf("Telegram user %d", m.TelegramUserID)
	}
	return m.DisplayName()
}

// memberView shows a member and their memberships, with a button to end
// each active one.
func (t *turn) memberView(p *press, memberID int64, note string) error {
	d, err := membership.GetMember(t.ctx, t.tx, memberID)
	if errors.Is(err, membership.ErrNotFound) || (err == nil && d.BotID != t.bot.ID) {
		p.notice = noticeNotFound
		return nil
	}
	if err != nil {
		return err
	}
	var b strings.Builder
	if note != "" {
		b.WriteString(note + "\n\n")
	}
	fmt.Fprintf(&b, "%s\nTelegram user id: %d\nFirst seen: %s\n", memberLabel(d.Member), d.TelegramUserID, membership.FormatDate(d.CreatedAt))
	if d.Unreachable {
		b.WriteString("They have blocked the bot, so it cannot message them.\n")
	}
	s := screen{}
	if len(d.Memberships) == 0 {
		b.WriteString("\nNo memberships.")
	} else {
		b.WriteString("\nMemberships, newest first:\n")
	}
	for i, ms := range d.Memberships {
		if i == 10 {
			fmt.Fprintf(&b, "…and %d earlier.\n", len(d.Memberships)-i)
			break
		}
		fmt.Fprintf(&b, "• %s: %s\n", ms.PlanName, membershipState(ms))
		if ms.Status == "active" {
			s.buttons = append(s.buttons, []jobs.Button{{Text: "End access to " + ms.PlanName, Data: fmt.Sprintf("%smr:%d", adminPrefix, ms.ID)}})
		}
	}
	s.text = b.String()
	s.buttons = append(s.buttons, []jobs.Button{{Text: "« Members", Data: adminPrefix + "mb"}})
	t.show(p, s)
	return nil
}

func membershipState(ms membership.MemberRow) string {
	switch {
	case ms.Status == "active" && ms.EndsAt == nil:
		return "active, lifetime"
	case ms.Status == "active":
		return "active until " + membership.FormatDate(*ms.EndsAt)
	case ms.EndedAt != nil:
		return ms.Status + " on " + membership.FormatDate(*ms.EndedAt)
	}
	return ms.Status
}

// ownMembership reads an active membership of this bot for ending it.
func (t *turn) ownMembership(p *press, membershipID int64) (membership.Access, bool, error) {
	a, err := membership.GetAccess(t.ctx, t.tx, membershipID)
	if errors.Is(err, membership.ErrNotFound) || (err == nil && a.Plan.BotID != t.bot.ID) {
		p.notice = noticeNotFound
		return a, false, nil
	}
	return a, err == nil, err
}

func (t *turn) confirmRevoke(p *press, membershipID int64) error {
	a, ok, err := t.ownMembership(p, membershipID)
	if !ok {
		return err
	}
	if a.Membership.Status != "active" {
		return t.memberView(p, a.Membership.MemberID, "That membership has ended already.")
	}
	d, err := membership.GetMember(t.ctx, t.tx, a.Membership.MemberID)
	if err != nil {
		return err
	}
	t.show(p, screen{text: fmt.Sprintf("End %s for %s now?\n\n"+
		"They are removed from the plan's chats (those no other membership of theirs opens) and told.",
		a.Plan.Name, memberLabel(d.Member)),
		buttons: [][]jobs.Button{
			{{Text: "Yes, end access", Data: fmt.Sprintf("%smry:%d", adminPrefix, membershipID)}},
			{{Text: "No, go back", Data: fmt.Sprintf("%smv:%d", adminPrefix, a.Membership.MemberID)}},
		}})
	return nil
}

// revokeMembership ends a membership as the console does: the member
// leaves the chats and is told, by jobs committed with the change.
func (t *turn) revokeMembership(p *press, membershipID int64) error {
	a, ok, err := t.ownMembership(p, membershipID)
	if !ok {
		return err
	}
	e, ended, err := membership.Revoke(t.ctx, t.tx, membershipID)
	if err != nil {
		return err
	}
	if !ended {
		return t.memberView(p, a.Membership.MemberID, "That membership has ended already.")
	}
	t.queue(jobs.RemoveMember(t.bot.TenantID, t.bot.ID, e, jobs.EndedByOwnerText(e)))
	p.notice = "Access ended."
	done := fmt.Sprintf("Done: their access to %s has ended.", e.Plan.Name)
	if len(e.Removed) > 0 { // not when they never joined, or another plan keeps them in
		done = fmt.Sprintf("Done: their access to %s has ended, and they are being removed from %s.", e.Plan.Name, jobs.RemovedFrom(e))
	}
	return t.memberView(p, a.Membership.MemberID, done)
}
