package membership_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/billing"
	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/tenant"
)

// GetOffer reads in one statement what the welcome used to read in
// several: the plans ListPlans lists, the memberships ActiveMemberships
// lists with their plans' names and whether GetAccess shows every chat
// joined, and whether billing lets the tenant charge.
func TestOfferIsWhatTheSeparateReadsSay(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	f := newFixture(t, db, "offer@example.com", "Gold", 7101)
	var ann, ben membership.Member
	err := db.Tx(ctx, f.tenant, func(tx pgx.Tx) error {
		var chats [2]membership.Chat
		for i := range chats {
			c, err := membership.UpsertChat(ctx, tx, membership.Chat{BotID: f.bot.ID, TelegramChatID: -100 - int64(i),
				Kind: "channel", Title: "Chat", BotStatus: "administrator", CanInvite: true, CanRestrict: true})
			if err != nil {
				return err
			}
			chats[i] = c
		}
		other, err := tenant.AddBot(ctx, tx, keys, 7102, "other_bot", "2:x")
		if err != nil {
			return err
		}
		plan := func(botID int64, name string, days int, chats ...membership.Chat) membership.Plan {
			in := membership.NewPlan{BotID: botID, Name: name, PeriodDays: days, Price: membership.Money{Minor: 100, Currency: "EUR"}}
			for _, c := range chats {
				in.ChatIDs = append(in.ChatIDs, c.ID)
			}
			p, perr := membership.CreatePlan(ctx, tx, in)
			if perr != nil {
				t.Fatal(perr)
			}
			return p
		}
		silver := plan(f.bot.ID, "Silver", 7, chats[0], chats[1])
		life := plan(f.bot.ID, "Life", 0, chats[0])
		old := plan(f.bot.ID, "Old", 3, chats[1])
		plan(other.ID, "Elsewhere", 30)
		if ann, err = membership.UpsertMember(ctx, tx, f.bot.ID, membership.Person{TelegramUserID: 1, Username: "ann"}); err != nil {
			return err
		}
		if ben, err = membership.UpsertMember(ctx, tx, f.bot.ID, membership.Person{TelegramUserID: 2, Username: "ben"}); err != nil {
			return err
		}
		for _, p := range []membership.Plan{f.plan, silver, life, old} {
			if _, err := membership.Grant(ctx, tx, ann.ID, p); err != nil {
				return err
			}
		}
		if _, err := membership.ObserveJoin(ctx, tx, f.bot.ID, chats[0].TelegramChatID, 1, ""); err != nil {
			return err
		}
		return membership.ArchivePlan(ctx, tx, old.ID)
	})
	if err != nil {
		t.Fatal(err)
	}

	check := func(stripe string) {
		t.Helper()
		err := db.Tx(ctx, f.tenant, func(tx pgx.Tx) error {
			if stripe != "" {
				if _, err := tx.Exec(ctx, stripe); err != nil {
					return err
				}
			}
			for _, m := range []membership.Member{ann, ben} {
				got, err := membership.GetOffer(ctx, tx, f.bot.ID, m.ID)
				if err != nil {
					return err
				}
				var want membership.Offer
				if want.Plans, err = membership.ListPlans(ctx, tx, f.bot.ID); err != nil {
					return err
				}
				ms, err := membership.ActiveMemberships(ctx, tx, m.ID)
				if err != nil {
					return err
				}
				for _, ms := range ms {
					acc, err := membership.GetAccess(ctx, tx, ms.ID)
					if err != nil {
						return err
					}
					h := membership.Holding{Membership: ms, PlanName: acc.Plan.Name, AllJoined: true}
					for _, c := range acc.Chats {
						h.AllJoined = h.AllJoined && c.Joined
					}
					want.Access = append(want.Access, h)
				}
				acct, err := billing.GetStripeAccount(ctx, tx)
				if err != nil {
					return err
				}
				want.Payable = acct.CanCharge()
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s, member %s:\n got  %+v\n want %+v", stripe, m.Username, got, want)
				}
				// Welcome, a /start's one round trip, reads the same.
				wm, wo, err := membership.Welcome(ctx, tx, f.bot.ID, m.Person)
				if err != nil {
					return err
				}
				if wm != m || !reflect.DeepEqual(wo, want) {
					t.Errorf("%s, Welcome for %s:\n got  %+v %+v\n want %+v %+v", stripe, m.Username, wm, wo, m, want)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	check("")
	check("UPDATE tenants SET stripe_account_id = 'acct_1Offer' WHERE id = gatekey_tenant()")
	check("UPDATE tenants SET stripe_charges_enabled = true WHERE id = gatekey_tenant()")

	// The memberships come soonest end first, lifetime last; an archived
	// plan is not on offer but its membership still shows.
	err = db.Tx(ctx, f.tenant, func(tx pgx.Tx) error {
		o, err := membership.GetOffer(ctx, tx, f.bot.ID, ann.ID)
		if err != nil {
			return err
		}
		var names []string
		for _, h := range o.Access {
			names = append(names, h.PlanName)
		}
		if want := []string{"Old", "Silver", "Gold", "Life"}; !reflect.DeepEqual(names, want) {
			t.Errorf("access %v, want %v", names, want)
		}
		if len(o.Plans) != 3 || !o.Access[3].AllJoined || o.Access[1].AllJoined || !o.Access[2].AllJoined {
			t.Errorf("offer %+v", o)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Welcome records the member as UpsertMember does: a newcomer's row is
// made, a changed name is written, and an unreachable member who writes
// again is reachable; a row as it should be is not written at all.
func TestWelcomeRecordsTheMember(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	f := newFixture(t, db, "welcome@example.com", "Gold", 7201)
	type row struct {
		id          int64
		username    string
		unreachable bool
		xmin        string // the transaction that last wrote the row
		returned    int64  // the id Welcome returned
	}
	welcome := func(p membership.Person, before string) row {
		t.Helper()
		var r row
		err := db.Tx(ctx, f.tenant, func(tx pgx.Tx) error {
			if before != "" {
				if _, err := tx.Exec(ctx, before); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		err = db.Tx(ctx, f.tenant, func(tx pgx.Tx) error {
			m, o, err := membership.Welcome(ctx, tx, f.bot.ID, p)
			if err != nil {
				return err
			}
			if len(o.Plans) != 1 || o.Plans[0].Name != "Gold" || len(o.Access) != 0 {
				t.Errorf("offer %+v", o)
			}
			r.returned = m.ID
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		err = db.Tx(ctx, f.tenant, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT id, username, unreachable_at IS NOT NULL, xmin::text FROM members
				WHERE bot_id = $1 AND telegram_user_id = $2`, f.bot.ID, p.TelegramUserID).
				Scan(&r.id, &r.username, &r.unreachable, &r.xmin)
		})
		if err != nil {
			t.Fatalf("the member's row: %v", err)
		}
		if r.returned != r.id {
			t.Errorf("Welcome returned member id %d, the row's is %d", r.returned, r.id)
		}
		return r
	}
	cara := membership.Person{TelegramUserID: 31, Username: "cara", FirstName: "Cara"}
	first := welcome(cara, "")
	if first.username != "cara" || first.unreachable {
		t.Fatalf("newcomer recorded as %+v", first)
	}
	if again := welcome(cara, ""); again != first {
		t.Errorf("an unchanged member was written: %+v, then %+v", first, again)
	}
	cara.Username = "cara_b"
	renamed := welcome(cara, "")
	if renamed.id != first.id || renamed.username != "cara_b" || renamed.xmin == first.xmin {
		t.Errorf("renamed member: %+v after %+v", renamed, first)
	}
	back := welcome(cara, "UPDATE members SET unreachable_at = now()")
	if back.id != first.id || back.unreachable {
		t.Errorf("a member who wrote again is still unreachable: %+v", back)
	}
}
