package membership_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/membership"
)

// TestDashboardAndMemberList: zero-priced activations count as
// activations, not revenue; paid orders count as both paid orders and
// revenue; the member list shows each membership's source.
func TestDashboardAndMemberList(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	f := newFixture(t, db, "a@example.com", "Gold", 7001)
	zero, priced := true, false
	free, _ := f.create(t, membership.CodeRequest{PlanID: f.plan.ID, Count: 1, ZeroPriced: &zero})
	paid, _ := f.create(t, membership.CodeRequest{PlanID: f.plan.ID, Count: 1, ZeroPriced: &priced})
	f.create(t, membership.CodeRequest{PlanID: f.plan.ID, Count: 3}) // outstanding
	err := db.Tx(ctx, f.tenant, func(tx pgx.Tx) error {
		ann, err := membership.UpsertMember(ctx, tx, f.bot.ID, membership.Person{TelegramUserID: 1, Username: "ann"})
		if err != nil {
			return err
		}
		ben, err := membership.UpsertMember(ctx, tx, f.bot.ID, membership.Person{TelegramUserID: 2, FirstName: "Ben", LastName: "Ray"})
		if err != nil {
			return err
		}
		if _, err := membership.Activate(ctx, tx, ann, free.Codes[0].Code); err != nil {
			return err
		}
		_, err = membership.Activate(ctx, tx, ben, paid.Codes[0].Code)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Tx(ctx, f.tenant, func(tx pgx.Tx) error {
		s, err := membership.Dashboard(ctx, tx, 30, time.Now())
		if err != nil {
			return err
		}
		today := s.Days[len(s.Days)-1]
		if s.ActiveMembers != 2 || s.CodesOutstanding != 3 || s.Activations != 2 || s.PaidOrders != 1 ||
			today.Activations != 2 || today.PaidOrders != 1 || len(s.Days) != 30 ||
			len(s.Revenue) != 1 || s.Revenue[0] != (membership.Money{Minor: 500, Currency: "EUR"}) {
			t.Errorf("dashboard = %+v", s)
		}
		rows, err := membership.ListMembers(ctx, tx, membership.MemberFilter{Search: "ben ray"})
		if err != nil {
			return err
		}
		if len(rows) != 1 || rows[0].Source != membership.SourceCode || rows[0].Code != paid.Codes[0].Code || rows[0].PlanName != "Gold" ||
			rows[0].CodeUndone {
			t.Errorf("search for Ben: %+v", rows)
		}
		// The code's activation undone since (its membership kept by
		// another grant, say): the row says so.
		if _, err := tx.Exec(ctx, "UPDATE code_activations SET rolled_back_at = now() WHERE member_id = $1", rows[0].MemberID); err != nil {
			return err
		}
		if rows, err = membership.ListMembers(ctx, tx, membership.MemberFilter{Search: "ben ray"}); err != nil || len(rows) != 1 || !rows[0].CodeUndone {
			t.Errorf("Ben's row after his code's activation was undone: %+v %v", rows, err)
		}
		all, err := membership.ListMembers(ctx, tx, membership.MemberFilter{Limit: 1})
		if err != nil || len(all) != 1 {
			return err
		}
		older, err := membership.ListMembers(ctx, tx, membership.MemberFilter{BeforeID: all[0].ID})
		if len(older) != 1 || older[0].ID >= all[0].ID {
			t.Errorf("second page: %+v", older)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestParseMoney(t *testing.T) {
	for in, want := range map[[2]string]membership.Money{
		{"9.99", "usd"}: {999, "USD"}, {"9,9", "EUR"}: {990, "EUR"}, {"10", "USD"}: {1000, "USD"},
		{"1 000", "JPY"}: {1000, "JPY"}, {"", "USD"}: {0, "USD"}, {".5", "USD"}: {50, "USD"},
		{"999999.99", "USD"}: {membership.MaxPriceMinor, "USD"}, {"99999999", "JPY"}: {membership.MaxPriceMinor, "JPY"},
	} {
		got, err := membership.ParseMoney(in[0], in[1])
		if err != nil || got != want {
			t.Errorf("ParseMoney(%q, %q) = %+v, %v; want %+v", in[0], in[1], got, err, want)
		}
		if want.Minor > 0 {
			back, _ := membership.ParseMoney(got.Decimal(), got.Currency)
			if back != got {
				t.Errorf("%+v.Decimal() = %q does not read back", got, got.Decimal())
			}
		}
	}
	if _, err := membership.ParseMoney("9.5", "JPY"); err == nil || !strings.Contains(err.Error(), "whole number in JPY") {
		t.Errorf("ParseMoney(9.5, JPY): %v, want to be told JPY takes whole numbers", err)
	}
	for _, in := range [][2]string{{"9.999", "USD"}, {"-1", "USD"}, {"1.5", "JPY"}, {"abc", "USD"}, {"1", "US"}, {"1.2.3", "USD"},
		{"1000000", "USD"}, {"99999999999", "USD"}, {"100000000", "JPY"}} {
		if _, err := membership.ParseMoney(in[0], in[1]); err == nil {
			t.Errorf("ParseMoney(%q, %q) accepted", in[0], in[1])
		}
	}
}

// Three letters are not enough: a price is in a currency people pay in.
func TestParseMoneyRefusesCodesThatAreNotCurrencies(t *testing.T) {
	for _, code := range []string{"XYZ", "xyz", "XXX", "XTS", "XAU", "XDR", "USN", "HRK", "DEM"} {
		_, err := membership.ParseMoney("5", code)
		want := strings.ToUpper(code) + " is not a currency code Gatekey knows: use an ISO 4217 code such as USD or EUR"
		if err == nil || err.Error() != want {
			t.Errorf("ParseMoney(5, %q): %v, want %q", code, err, want)
		}
	}
	for _, code := range []string{"USD", "usd", " eur ", "JPY", "GBP", "VES", "SLE", "ZWG", "XCG", "XOF"} {
		if _, err := membership.ParseMoney("5", code); err != nil {
			t.Errorf("ParseMoney(5, %q): %v", code, err)
		}
	}
}
