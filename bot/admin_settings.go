package bot

import (
	"fmt"
	"strings"

	"github.com/gatekey/gatekey/billing"
	"github.com/gatekey/gatekey/jobs"
	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/tenant"
)

// The settings part of the admin menu (the tenant's auto-delete and
// pricing defaults, the same ones the console changes), the admin's own
// notifications, and the fair-use standing.

func (t *turn) settings(p *press, note string) error {
	tn, err := tenant.Get(t.ctx, t.tx)
	if err != nil {
		return err
	}
	var b strings.Builder
	if note != "" {
		b.WriteString(note + "\n\n")
	}
	b.WriteString("Settings\n\n")
	if days := tn.Settings.CodeAutoDeleteDays; days > 0 {
		fmt.Fprintf(&b, "Auto-delete unused codes: after %s\n", membership.Plural(days, "day", "days"))
	} else {
		b.WriteString("Auto-delete unused codes: off (codes stay until used or deleted)\n")
	}
	zero := jobs.Button{Text: "Make codes priced by default", Data: adminPrefix + "sz:0"}
	if tn.Settings.ZeroPriceDefault {
		b.WriteString("New codes are zero-priced: an activation records an order of 0, which analytics and commissions leave out.")
	} else {
		b.WriteString("New codes are priced: an activation records an order at the plan's price.")
		zero = jobs.Button{Text: "Make codes zero-priced by default", Data: adminPrefix + "sz:1"}
	}
	t.show(p, screen{text: b.String(), buttons: [][]jobs.Button{
		{{Text: "Change auto-delete", Data: adminPrefix + "sa"}},
		{zero},
		backToMenu(),
	}})
	return nil
}

func (t *turn) autoDeleteMenu(p *press) error {
	t.show(p, screen{text: "Delete codes nobody has used, this many days after they were made?\n\n" +
		"The setting applies to every code at once, old ones included: " +
		"lowering it can delete older unused codes right away. Codes with any activation are never auto-deleted.",
		buttons: [][]jobs.Button{
			{{Text: "Off", Data: adminPrefix + "sad:0"}, {Text: "7 days", Data: adminPrefix + "sad:7"},
				{Text: "30 days", Data: adminPrefix + "sad:30"}, {Text: "90 days", Data: adminPrefix + "sad:90"}},
			{{Text: "Type a number", Data: adminPrefix + "sat"}},
			{{Text: "« Settings", Data: adminPrefix + "s"}},
		}})
	return nil
}

func (t *turn) startAutoDeleteTyped(p *press) error {
	return t.openPrompt(p, flowAutoDelete, newNonce(), screen{text: autoDeletePrompt})
}

var autoDeletePrompt = fmt.Sprintf("Send the number of days after which unused codes are deleted, from 1 to %s, or 0 to turn auto-delete off.",
	membership.Thousands(tenant.MaxCodeAutoDeleteDays))

func (t *turn) autoDeleteTyped(p *press, conv conversation, text string) error {
	days, problem := parseTypedNumber(text, 0, tenant.MaxCodeAutoDeleteDays, "days")
	if problem != "" { // asked again within the same flow: its Cancel still works
		return t.openPrompt(p, flowAutoDelete, flowNonce(conv), screen{text: problem + "\n\n" + autoDeletePrompt})
	}
	if err := clearConversation(t.ctx, t.tx, t.bot.ID, p.userID); err != nil {
		return err
	}
	return t.setAutoDelete(p, days)
}

func (t *turn) setAutoDelete(p *press, days int) error {
	if days > tenant.MaxCodeAutoDeleteDays {
		p.notice = noticeStale
		return nil
	}
	tn, err := tenant.Get(t.ctx, t.tx)
	if err != nil {
		return err
	}
	tn.Settings.CodeAutoDeleteDays = days
	if err := tenant.UpdateSettings(t.ctx, t.tx, tn.Settings); err != nil {
		return err
	}
	note := "Saved: auto-delete is off."
	if days > 0 {
		n, err := membership.UnusedCodesOlderThan(t.ctx, t.tx, days)
		if err != nil {
			return err
		}
		note = fmt.Sprintf("Saved: unused codes are deleted %s after they were made (%s old enough to go now).",
			membership.Plural(days, "day", "days"), membership.Plural(n, "code is", "codes are"))
	}
	p.notice = "Saved."
	return t.settings(p, note)
}

func (t *turn) setZeroPriceDefault(p *press, zero bool) error {
	tn, err := tenant.Get(t.ctx, t.tx)
	if err != nil {
		return err
	}
	tn.Settings.ZeroPriceDefault = zero
	if err := tenant.UpdateSettings(t.ctx, t.tx, tn.Settings); err != nil {
		return err
	}
	p.notice = "Saved."
	return t.settings(p, "Saved.")
}

// setNotify turns this admin's activation notifications on or off; the
// other admins keep theirs.
func (t *turn) setNotify(p *press, on bool) error {
	if err := tenant.SetAdminNotify(t.ctx, t.tx, t.bot.ID, p.userID, on); err != nil {
		return err
	}
	if on {
		p.notice = "Notifications on."
		return t.menu(p, "Notifications on: I will tell you here whenever someone activates a code.")
	}
	p.notice = "Notifications off."
	return t.menu(p, "Notifications off: activations are no longer announced to you here. They still show in your console.")
}

func (t *turn) fairUse(p *press) error {
	f, err := billing.GetFairUse(t.ctx, t.tx)
	if err != nil {
		return err
	}
	var text string
	if !f.Limited {
		text = fmt.Sprintf("Fair use\n\nYour billing plan puts no limit on free codes.\n"+
			"Zero-priced activations in the last 30 days: %d.", f.Used)
	} else {
		text = fmt.Sprintf("Fair use of free codes\n\n"+
			"On pay-as-you-go, zero-priced codes are meant to sit beside paid sales, not replace them.\n\n"+
			"Zero-priced activations in the last 30 days: %d of %d.\n"+
			"Free codes already given out can be activated %d more times, so new ones may give out %d more.\n"+
			"Your allowance is the larger of %d and %d%% of your paid orders (%d in the last 30 days).\n"+
			"Priced codes do not count.", f.Used, f.Allowance, f.Open, f.Remaining(), f.Floor, f.RatioPct, f.Paid)
	}
	t.show(p, screen{text: text, buttons: [][]jobs.Button{backToMenu()}})
	return nil
}
