package jobs

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/tenant"
)

// RemindMembershipArgs reminds a member a day before a membership ending
// at EndsAt ends. If the membership was renewed, its end moved, and this
// job does nothing: the renewal scheduled a reminder of its own.
type RemindMembershipArgs struct {
	TenantID     int64     `json:"tenant_id"`
	BotID        int64     `json:"bot_id"`
	MembershipID int64     `json:"membership_id"`
	EndsAt       time.Time `json:"ends_at"`
}

func (RemindMembershipArgs) Kind() string { return "membership.remind" }

func (RemindMembershipArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// ExpireMembershipArgs ends a membership at its end and removes the member
// from the chats no other membership of theirs opens.
type ExpireMembershipArgs struct {
	TenantID     int64     `json:"tenant_id"`
	BotID        int64     `json:"bot_id"`
	MembershipID int64     `json:"membership_id"`
	EndsAt       time.Time `json:"ends_at"`
}

func (ExpireMembershipArgs) Kind() string { return "membership.expire" }

func (ExpireMembershipArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// ScheduleMembership queues the reminder and the expiry of a membership
// that was just granted or extended; nothing for a lifetime one.
func ScheduleMembership(tenantID, botID int64, m membership.Membership) []river.InsertManyParams {
	if m.EndsAt == nil {
		return nil
	}
	end := *m.EndsAt
	jobs := []river.InsertManyParams{{Args: ExpireMembershipArgs{tenantID, botID, m.ID, end}, InsertOpts: &river.InsertOpts{
		ScheduledAt: end, UniqueOpts: river.UniqueOpts{ByArgs: true}}}}
	// A grant that leaves a day or less needs no reminder (membership.Grant
	// marks it reminded); should the clocks disagree, the reconciler sends it.
	if remind := end.Add(-membership.ReminderLead); remind.After(time.Now()) {
		jobs = append(jobs, river.InsertManyParams{Args: RemindMembershipArgs{tenantID, botID, m.ID, end}, InsertOpts: &river.InsertOpts{
			ScheduledAt: remind, UniqueOpts: river.UniqueOpts{ByArgs: true}}})
	}
	return jobs
}

// RemindMembershipWorker works RemindMembershipArgs.
type RemindMembershipWorker struct {
	river.WorkerDefaults[RemindMembershipArgs]
	deps Deps
}

func (w *RemindMembershipWorker) Work(ctx context.Context, job *river.Job[RemindMembershipArgs]) error {
	a := job.Args
	return w.deps.DB.Tx(ctx, a.TenantID, func(tx pgx.Tx) error {
		r, ok, err := membership.TakeReminder(ctx, tx, a.MembershipID, a.EndsAt)
		if err != nil || !ok {
			return err
		}
		paused, err := tenant.IsSuspended(ctx, tx)
		if err != nil {
			return err
		}
		return insertTx(ctx, tx, reminderMessage(a.TenantID, r, paused))
	})
}

// ExpireMembershipWorker works ExpireMembershipArgs.
type ExpireMembershipWorker struct {
	river.WorkerDefaults[ExpireMembershipArgs]
	deps Deps
}

func (w *ExpireMembershipWorker) Work(ctx context.Context, job *river.Job[ExpireMembershipArgs]) error {
	a := job.Args
	return w.deps.DB.Tx(ctx, a.TenantID, func(tx pgx.Tx) error {
		e, ok, err := membership.Expire(ctx, tx, a.MembershipID)
		if err != nil || !ok {
			return err
		}
		paused, err := tenant.IsSuspended(ctx, tx)
		if err != nil {
			return err
		}
		return insertTx(ctx, tx, RemoveMember(a.TenantID, a.BotID, e, endedText(e, paused)))
	})
}

// reminderMessage is the reminder of r; paused is whether the tenant is
// suspended (renewText).
func reminderMessage(tenantID int64, r membership.Reminder, paused bool) river.InsertManyParams {
	text := fmt.Sprintf("Your access to %s ends on %s.\n\n%s", r.Plan.Name, membership.FormatDate(*r.Membership.EndsAt), renewText(r.Plan, paused))
	msg := SendMessage(SendMessageArgs{TenantID: tenantID, BotID: r.Plan.BotID, ChatID: r.TelegramUserID, Text: text})
	msg.InsertOpts = &river.InsertOpts{Priority: PriorityBulk}
	return msg
}

// endedText tells a member their access has ended, and names the chats
// they were taken out of, if any: not those they never joined, those the
// bot may not remove them from, or those another plan of theirs opens,
// which it says they keep. paused is whether the tenant is suspended
// (renewText).
func endedText(e membership.Ending, paused bool) string {
	ended := fmt.Sprintf("Your access to %s has ended.", e.Plan.Name)
	if len(e.Removed) > 0 {
		ended = fmt.Sprintf("Your access to %s has ended, and you have been removed from %s.", e.Plan.Name, RemovedFrom(e))
	}
	if e.Stays {
		ended += " You keep its other chats through your other access."
	}
	return ended + "\n\n" + renewText(e.Plan, paused)
}

// EndedByOwnerText tells a member that the owner ended their access
// (from the console or the bot), and what that took them out of.
func EndedByOwnerText(e membership.Ending) string {
	return fmt.Sprintf("Your access to %s was ended by its owner.", e.Plan.Name) + removalNote(e)
}

// removalNote is what an ending the member did not expect adds: the chats
// it took them out of, and those their other access keeps.
func removalNote(e membership.Ending) string {
	note := ""
	if len(e.Removed) > 0 {
		note = fmt.Sprintf(" You have been removed from %s.", RemovedFrom(e))
	}
	if e.Stays {
		note += " You keep its other chats through your other access."
	}
	return note
}

// RemovedFrom names the chats e took the member out of: "its chats" when
// they are all of the plan's.
func RemovedFrom(e membership.Ending) string {
	titles := make([]string, 0, len(e.Removed))
	all := len(e.Removed) == len(e.Plan.ChatIDs)
	for _, c := range e.Removed {
		titles = append(titles, c.Title)
		all = all && slices.Contains(e.Plan.ChatIDs, c.ID)
	}
	if all {
		return "its chats"
	}
	if n := len(titles); n > 1 {
		return strings.Join(titles[:n-1], ", ") + " and " + titles[n-1]
	}
	return titles[0]
}

// renewText tells a member how to renew p. While the tenant is suspended
// (paused) the bot answers every code and /start with "temporarily
// unavailable", so inviting them to send one would only turn them away:
// they are told renewals are paused, and nothing of why, which is between
// Gatekey and the owner.
func renewText(p membership.Plan, paused bool) string {
	switch {
	case paused && p.Archived:
		return "This plan is no longer offered."
	case paused:
		return "Renewals are paused for the moment. Please check back here later to renew."
	case p.Archived:
		return "This plan is no longer offered: send /start to see what is."
	}
	return "To renew, send a new access code here, or send /start to see the plans."
}

// insertTx queues follow-up jobs from inside a worker, in tx.
func insertTx(ctx context.Context, tx pgx.Tx, params ...river.InsertManyParams) error {
	if len(params) == 0 {
		return nil
	}
	_, err := river.ClientFromContext[pgx.Tx](ctx).InsertManyTx(ctx, tx, params)
	if err != nil {
		return fmt.Errorf("jobs: insert follow-up: %w", err)
	}
	return nil
}
