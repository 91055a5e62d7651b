package bot

import (
	"errors"
	"fmt"

	"github.com/gatekey/gatekey/billing"
	"github.com/gatekey/gatekey/jobs"
	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/tenant"
)

// activate redeems what the member sent as a code, and queues everything
// that follows: the confirmation with Join buttons, the reminder and the
// expiry, and the owner's notification.
func (t *turn) activate(member membership.Member, typed string) error {
	if err := clearConversation(t.ctx, t.tx, t.bot.ID, member.TelegramUserID); err != nil {
		return err
	}
	a, err := membership.Activate(t.ctx, t.tx, member, typed)
	var refusal *membership.Refusal
	if errors.As(err, &refusal) {
		t.send(member.TelegramUserID, refusal.Message)
		return nil
	}
	if err == nil {
		err = billing.AfterActivation(t.ctx, t.tx, a) // fee entry, fair-use flag
	}
	if err != nil {
		return err
	}
	t.queue(jobs.SendAccess(t.bot.TenantID, t.bot.ID, member.TelegramUserID, a.Membership.ID, confirmation(a)))
	t.queue(jobs.ScheduleMembership(t.bot.TenantID, t.bot.ID, a.Membership)...)
	return t.notifyOwner(a)
}

func confirmation(a membership.Activation) string {
	if a.Extended {
		return fmt.Sprintf("Code accepted. Your access to %s now lasts %s.", a.Plan.Name, untilText(a.Membership))
	}
	return fmt.Sprintf("Code accepted. %s %s! You have access %s.", membership.Greeting(a.Returning), a.Plan.Name, untilText(a.Membership))
}

func (t *turn) notifyOwner(a membership.Activation) error {
	text := fmt.Sprintf("%s activated code %s for %s (%s, %s).", a.Member.DisplayName(),
		membership.FormatCode(a.Code.Code), a.Plan.Name, membership.GrantNote(a.Extended, a.Returning), untilText(a.Membership))
	admins, err := tenant.Notify(t.ctx, t.tx, t.bot.ID, "code_activated", text)
	if err != nil {
		return err
	}
	for _, admin := range admins {
		t.send(admin.TelegramUserID, text)
	}
	return nil
}
