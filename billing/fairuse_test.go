package billing_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/billing"
	"github.com/gatekey/gatekey/membership"
)

func TestAllowanceArithmetic(t *testing.T) {
	cases := []struct {
		floor, ratioPct, paid, want int
	}{
		{50, 100, 0, 50},     // no sales: the floor
		{50, 100, 49, 50},    // ratio below the floor
		{50, 100, 50, 50},    // exactly equal
		{50, 100, 51, 51},    // the ratio takes over, one past the floor
		{50, 150, 40, 60},    // a ratio of 1.5
		{50, 150, 33, 50},    // 49.5 rounds down, below the floor
		{10, 50, 21, 10},     // 10.5 rounds down to the floor
		{10, 50, 22, 11},     // 0.5 × 22
		{0, 0, 1000, 0},      // staff can close free codes entirely
		{0, 100, 7, 7},       // no floor: the ratio alone
		{1000, 100, 7, 1000}, // a raised floor
	}
	for _, c := range cases {
		if got := billing.Allowance(c.floor, c.ratioPct, c.paid); got != c.want {
			t.Errorf("Allowance(floor %d, ratio %d%%, paid %d) = %d, want %d", c.floor, c.ratioPct, c.paid, got, c.want)
		}
	}
}

func TestFairUseMeter(t *testing.T) {
	at := billing.FairUse{Limited: true, Floor: 50, RatioPct: 100, Used: 50, Allowance: 50}
	if at.Over() || at.Remaining() != 0 {
		t.Errorf("exactly at the allowance: over %v, remaining %d; want not over, 0 left", at.Over(), at.Remaining())
	}
	over := at
	over.Used = 51
	if !over.Over() || over.Remaining() != 0 {
		t.Errorf("one over: over %v, remaining %d", over.Over(), over.Remaining())
	}
	if s := over.Text(); !strings.Contains(s, "51 of 50") || !strings.Contains(s, "1 over") || !strings.Contains(s, "keep working") {
		t.Errorf("over text = %q", s)
	}
	under := at
	under.Used = 12
	if s := under.Text(); !strings.Contains(s, "12 of 50") || !strings.Contains(s, "may give out 38 more") {
		t.Errorf("under text = %q", s)
	}
	held := under
	held.Open = 30
	if s := held.Text(); held.Remaining() != 8 || !strings.Contains(s, "activated 30 more times, so new ones may give out 8 more") {
		t.Errorf("12 used and 30 open of 50: remaining %d, text %q", held.Remaining(), s)
	}
	big := billing.FairUse{Limited: true, Floor: 50, RatioPct: 100, Paid: 1200, Used: 1000, Open: 2000025, Allowance: 1200}
	if s := big.Text(); !strings.Contains(s, "1,000 of 1,200") || !strings.Contains(s, "activated 2,000,025 more times") {
		t.Errorf("big numbers: %q", s)
	}
	flat := billing.FairUse{Used: 5000}
	if flat.Over() || !strings.Contains(flat.Text(), "unlimited") {
		t.Errorf("flat plan: over %v, text %q", flat.Over(), flat.Text())
	}
}

// The limit on creating free codes, at its edges: what codes already
// given out can still be activated counts, as do activations; codes whose
// activations fit the allowance exactly are made; one activation more is
// refused with a message that shows usage, allowance, and how to go on.
func TestCreateCodesHeldToAllowance(t *testing.T) {
	f := newFixture(t, false)
	f.exec("UPDATE tenants SET fairuse_floor = 10")

	three := f.mustCodes(membership.CodeRequest{Count: 2, MaxActivations: 3}) // 6 of 10 open
	b := f.mustCodes(membership.CodeRequest{Count: 1, MaxActivations: 4})     // 10 of 10
	for i := 0; i < 4; i++ {
		f.activate(b.Codes[0].Code)
	}
	if fu := f.fairUse(); fu.Used != 4 || fu.Open != 6 || fu.Allowance != 10 || fu.Remaining() != 0 {
		t.Fatalf("after 4 free activations, 6 open: %+v", fu)
	}

	before := f.count("SELECT count(*) FROM access_codes")
	_, err := f.createCodes(membership.CodeRequest{Count: 1, MaxActivations: 1})
	var fe *billing.FairUseError
	if !errors.As(err, &fe) {
		t.Fatalf("a free activation with none left: err = %v, want a FairUseError", err)
	}
	if fe.Requested != 1 || fe.FairUse.Remaining() != 0 {
		t.Errorf("refusal: requested %d, remaining %d", fe.Requested, fe.FairUse.Remaining())
	}
	msg := err.Error()
	for _, want := range []string{"This code allows 1 free activation,", "0 of your 10", "(4 used, and free codes already given out can be activated 6 more times)",
		"make the codes priced", "delete unused free codes", "flat plan", "ask Gatekey support"} {
		if !strings.Contains(msg, want) {
			t.Errorf("refusal message lacks %q:\n%s", want, msg)
		}
	}
	if after := f.count("SELECT count(*) FROM access_codes"); after != before {
		t.Errorf("a refused request made %d codes", after-before)
	}

	// A deleted code, or one that has expired, holds nothing.
	f.exec("UPDATE access_codes SET deleted_at = now() WHERE id = $1", three.Codes[0].ID)
	f.exec("UPDATE access_codes SET expires_at = now() - interval '1 minute' WHERE id = $1", three.Codes[1].ID)
	f.mustCodes(membership.CodeRequest{Count: 3, MaxActivations: 2}) // exactly the 6 freed
	if _, err := f.createCodes(membership.CodeRequest{Count: 1}); !errors.As(err, &fe) {
		t.Errorf("one more free code at the allowance: err = %v, want a FairUseError", err)
	}

	// A request wrong in itself says so, whatever the allowance.
	var ve *membership.ValidationError
	if _, err := f.createCodes(membership.CodeRequest{Count: membership.MaxBatchSize + 1}); !errors.As(err, &ve) || !strings.Contains(err.Error(), "from 1 to") {
		t.Errorf("%d free codes with none left: err = %v, want the batch size's limit", membership.MaxBatchSize+1, err)
	}

	// Priced codes are not held to the allowance, and hold none of it.
	f.mustCodes(membership.CodeRequest{Count: 50, MaxActivations: 10, ZeroPriced: boolp(false)})
	if fu := f.fairUse(); fu.Open != 6 {
		t.Errorf("priced codes counted as open free activations: %+v", fu)
	}

	// But "priced" codes of a plan that costs nothing give free access:
	// they are held to the allowance, and hold it.
	free := f.newPlan("Free plan", membership.Money{Currency: "USD"})
	if _, err := f.createCodes(membership.CodeRequest{PlanID: free.ID, Count: 1, ZeroPriced: boolp(false)}); !errors.As(err, &fe) {
		t.Errorf("a priced code of a free plan with no allowance left: err = %v, want a FairUseError", err)
	}
	f.exec("UPDATE tenants SET fairuse_floor = 20")
	f.mustCodes(membership.CodeRequest{PlanID: free.ID, Count: 2, MaxActivations: 2, ZeroPriced: boolp(false)})
	if fu := f.fairUse(); fu.Open != 10 {
		t.Errorf("after 4 priced activations of a free plan, %d open, want 6 + 4: %+v", fu.Open, fu)
	}
}

// Batch after batch, each within what is left, cannot give out more free
// activations than the allowance: the second batch of 50 is refused.
func TestBatchesTogetherHeldToAllowance(t *testing.T) {
	f := newFixture(t, false) // the default floor: 50
	f.mustCodes(membership.CodeRequest{Count: 50, MaxActivations: 1})
	_, err := f.createCodes(membership.CodeRequest{Count: 50, MaxActivations: 1})
	var fe *billing.FairUseError
	if !errors.As(err, &fe) || fe.FairUse.Open != 50 {
		t.Fatalf("a second batch of 50 free codes on an allowance of 50: err = %v, want a FairUseError with 50 open", err)
	}
	if n := f.count("SELECT count(*) FROM access_codes"); n != 50 {
		t.Errorf("%d codes, want the first batch's 50", n)
	}
}

// Codes already given out keep working past the allowance (a member is
// never punished), and going past it raises the flag staff see.
func TestIssuedCodesWorkPastAllowanceAndFlagTheTenant(t *testing.T) {
	f := newFixture(t, false)
	f.exec("UPDATE tenants SET fairuse_floor = 5")
	code := f.mustCodes(membership.CodeRequest{Count: 1, MaxActivations: 5}).Codes[0].Code
	// Staff lower the allowance after the code was given out.
	f.exec("UPDATE tenants SET fairuse_floor = 3")

	for i := 1; i <= 3; i++ {
		f.activate(code)
	}
	if n := f.count("SELECT count(*) FROM tenants WHERE fairuse_flagged_at IS NOT NULL"); n != 0 {
		t.Fatal("flag raised exactly at the allowance")
	}
	f.activate(code) // one over
	fu := f.fairUse()
	if fu.Used != 4 || !fu.Over() || fu.FlaggedAt == nil {
		t.Fatalf("one over the allowance: %+v", fu)
	}
	flagged := *fu.FlaggedAt
	a := f.activate(code) // still works, flag unchanged
	if a.Membership.Status != "active" {
		t.Errorf("activation past the allowance: membership %+v", a.Membership)
	}
	if fu := f.fairUse(); fu.Used != 5 || !fu.FlaggedAt.Equal(flagged) {
		t.Errorf("after another: used %d, flagged %v (first %v)", fu.Used, fu.FlaggedAt, flagged)
	}
	if n := f.count("SELECT count(*) FROM memberships WHERE status = 'active'"); n != 5 {
		t.Errorf("%d active memberships, want 5", n)
	}
}

// Paid orders raise the allowance by the ratio; staff can override floor
// and ratio, and the flat plan has no limit.
func TestAllowanceFollowsPaidOrdersAndStaffOverrides(t *testing.T) {
	f := newFixture(t, false)
	f.exec("UPDATE tenants SET fairuse_floor = 2, fairuse_ratio_pct = 150")
	priced := f.mustCodes(membership.CodeRequest{Count: 1, MaxActivations: 4, ZeroPriced: boolp(false)}).Codes[0].Code
	for i := 0; i < 4; i++ {
		f.activate(priced)
	}
	if fu := f.fairUse(); fu.Paid != 4 || fu.Allowance != 6 {
		t.Fatalf("4 paid orders at 150%%: %+v, want allowance 6", fu)
	}
	f.mustCodes(membership.CodeRequest{Count: 6})
	if _, err := f.createCodes(membership.CodeRequest{Count: 7}); !errors.As(err, new(*billing.FairUseError)) {
		t.Fatalf("7 free codes: err = %v, want a refusal", err)
	}

	// Staff raise the floor: the same request now goes through.
	f.exec("UPDATE tenants SET fairuse_floor = 100")
	f.mustCodes(membership.CodeRequest{Count: 7})
	// Staff set the ratio to 0 and the floor back: free codes are closed.
	f.exec("UPDATE tenants SET fairuse_floor = 0, fairuse_ratio_pct = 0")
	if _, err := f.createCodes(membership.CodeRequest{Count: 1}); !errors.As(err, new(*billing.FairUseError)) {
		t.Fatalf("with floor and ratio 0: err = %v, want a refusal", err)
	}
	// On the flat plan, free codes are unlimited.
	f.exec("UPDATE tenants SET billing_plan = 'flat'")
	f.mustCodes(membership.CodeRequest{Count: 500, MaxActivations: 1000})
	if fu := f.fairUse(); fu.Limited || fu.Over() {
		t.Errorf("flat plan: %+v", fu)
	}
}

// A plan made free may not turn its live priced codes into free codes past
// the allowance: the edit is refused and changes nothing, and goes through
// once the codes are gone.
func TestMakingAPlanFreeIsHeldToTheAllowance(t *testing.T) {
	f := newFixture(t, false)
	f.exec("UPDATE tenants SET fairuse_floor = 10")
	b := f.mustCodes(membership.CodeRequest{Count: 2, MaxActivations: 10, ZeroPriced: boolp(false)})
	edit := func(price int64) error {
		return f.db.Tx(f.ctx, f.tenantID, func(tx pgx.Tx) error {
			_, err := billing.UpdatePlan(f.ctx, tx, f.plan.ID, membership.NewPlan{Name: f.plan.Name, PeriodDays: 30,
				Price: membership.Money{Minor: price, Currency: "USD"}, ChatIDs: []int64{f.chat.ID}})
			return err
		})
	}
	var v *membership.ValidationError
	if err := edit(0); !errors.As(err, &v) || !strings.Contains(err.Error(), "activated 20 more times") {
		t.Fatalf("making the plan free with 20 priced activations open on an allowance of 10: %v", err)
	}
	if n := f.count("SELECT count(*) FROM plans WHERE price_minor = 999"); n != 1 {
		t.Error("a refused edit changed the plan's price")
	}
	if err := edit(500); err != nil {
		t.Errorf("another price: %v", err)
	}
	f.exec("UPDATE access_codes SET deleted_at = now() WHERE batch_id = $1", b.ID)
	if err := edit(0); err != nil {
		t.Errorf("making the plan free with no live codes: %v", err)
	}
}
