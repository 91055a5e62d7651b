package membership_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/membership"
)

// A plan's name and description are held to what the form allows, in
// characters, on creation and on edit alike.
func TestPlanTextIsChecked(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, openDB(t), "plans@example.com", "Gold", 9101)
	price := membership.Money{Minor: 500, Currency: "EUR"}
	for _, tc := range []struct {
		name, description string
		ok                bool
	}{
		{strings.Repeat("я", 100), strings.Repeat("ж", 2000), true}, // 200 and 4,000 bytes
		{"Gold", "Line one.\nLine two,\tindented.", true},
		{strings.Repeat("a", 101), "", false},
		{"Gold", strings.Repeat("d", 2001), false},
		{"Gold\x01", "", false},
		{"Gold\nSilver", "", false},
		{"Gold", "bell \a", false},
	} {
		in := membership.NewPlan{BotID: f.bot.ID, Name: tc.name, Description: tc.description, PeriodDays: 30, Price: price}
		err := f.db.Tx(ctx, f.tenant, func(tx pgx.Tx) error {
			_, err := membership.CreatePlan(ctx, tx, in)
			if err == nil {
				return err
			}
			_, err2 := membership.UpdatePlan(ctx, tx, f.plan.ID, in)
			return errors.Join(err, err2)
		})
		var bad *membership.ValidationError
		if tc.ok && err != nil || !tc.ok && !errors.As(err, &bad) {
			t.Errorf("name %.20q, description %.20q: err = %v, want ok %v", tc.name, tc.description, err, tc.ok)
		}
	}
}

// A chat named twice in a new plan is one chat of it, not a chat that is
// not the bot's.
func TestPlanChatNamedTwiceIsOneChat(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, openDB(t), "twice@example.com", "Gold", 9102)
	err := f.db.Tx(ctx, f.tenant, func(tx pgx.Tx) error {
		chat, err := membership.UpsertChat(ctx, tx, membership.Chat{BotID: f.bot.ID, TelegramChatID: -100123, Kind: "channel",
			Title: "News", BotStatus: "administrator", CanInvite: true, CanRestrict: true})
		if err != nil {
			return err
		}
		p, err := membership.CreatePlan(ctx, tx, membership.NewPlan{BotID: f.bot.ID, Name: "Silver", PeriodDays: 30,
			Price: membership.Money{Minor: 100, Currency: "EUR"}, ChatIDs: []int64{chat.ID, chat.ID}})
		if err != nil {
			return err
		}
		if len(p.ChatIDs) != 1 || p.ChatIDs[0] != chat.ID {
			t.Errorf("plan's chats = %v, want [%d]", p.ChatIDs, chat.ID)
		}
		return nil
	})
	if err != nil {
		t.Errorf("a plan with one chat named twice: %v", err)
	}
}
