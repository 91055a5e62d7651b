package membership_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/internal/pgtest"
	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/tenant"
)

type fixture struct {
	db     *tenant.DB
	tenant int64
	bot    tenant.Bot
	plan   membership.Plan
}

var keys, _ = tenant.NewKeyring(strings.Repeat("ab", 32))

// newFixture makes a tenant with a bot and a plan named planName.
func newFixture(t testing.TB, db *tenant.DB, email, planName string, telegramID int64) fixture {
	t.Helper()
	ctx := context.Background()
	f := fixture{db: db}
	var err error
	if f.tenant, err = db.SignUp(ctx, email, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	err = db.Tx(ctx, f.tenant, func(tx pgx.Tx) error {
		if f.bot, err = tenant.AddBot(ctx, tx, keys, telegramID, "club_bot", "1:x"); err != nil {
			return err
		}
		f.plan, err = membership.CreatePlan(ctx, tx, membership.NewPlan{BotID: f.bot.ID, Name: planName, PeriodDays: 30,
			Price: membership.Money{Minor: 500, Currency: "EUR"}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func openDB(t testing.TB) *tenant.DB {
	db, err := tenant.Open(context.Background(), pgtest.NewDatabase(t), 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

func (f fixture) create(t testing.TB, req membership.CodeRequest) (membership.Batch, error) {
	var b membership.Batch
	err := f.db.Tx(context.Background(), f.tenant, func(tx pgx.Tx) error {
		var err error
		b, err = membership.CreateCodes(context.Background(), tx, req)
		return err
	})
	return b, err
}

func (f fixture) csv(t testing.TB, filter membership.CodeFilter) []byte {
	var buf bytes.Buffer
	err := f.db.Tx(context.Background(), f.tenant, func(tx pgx.Tx) error {
		return membership.WriteCodesCSV(context.Background(), tx, &buf, f.bot.Username, filter)
	})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestBadCodeRequestsCreateNothing(t *testing.T) {
	db := openDB(t)
	f := newFixture(t, db, "a@example.com", "Gold", 1)
	other := newFixture(t, db, "b@example.com", "Other", 2)
	archived := newFixture(t, db, "c@example.com", "Old", 3)
	_ = db.Tx(context.Background(), archived.tenant, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), "UPDATE plans SET archived_at = now()")
		return err
	})
	past := time.Now().Add(-time.Minute)
	cases := map[string]struct {
		f   fixture
		req membership.CodeRequest
	}{
		"no codes":              {f, membership.CodeRequest{PlanID: f.plan.ID, Count: 0}},
		"501 codes":             {f, membership.CodeRequest{PlanID: f.plan.ID, Count: 501}},
		"max activations 0":     {f, membership.CodeRequest{PlanID: f.plan.ID, Count: 1, MaxActivations: -1}},
		"too many activations":  {f, membership.CodeRequest{PlanID: f.plan.ID, Count: 1, MaxActivations: 1_000_001}},
		"expiry in the past":    {f, membership.CodeRequest{PlanID: f.plan.ID, Count: 1, ExpiresAt: &past}},
		"another tenant's plan": {f, membership.CodeRequest{PlanID: other.plan.ID, Count: 1}},
		"archived plan":         {archived, membership.CodeRequest{PlanID: archived.plan.ID, Count: 1}},
	}
	for name, c := range cases {
		_, err := c.f.create(t, c.req)
		var v *membership.ValidationError
		if !errors.As(err, &v) || v.Message == "" {
			t.Errorf("%s: err = %v, want a ValidationError with a message", name, err)
		}
	}
	for _, fx := range []fixture{f, other, archived} {
		if csv := fx.csv(t, membership.CodeFilter{}); bytes.Count(csv, []byte("\n")) != 1 {
			t.Errorf("tenant %d has codes after bad requests:\n%s", fx.tenant, csv)
		}
	}
}

func TestBatchOf500ExportsToCSVAndEscapesFormulas(t *testing.T) {
	db := openDB(t)
	f := newFixture(t, db, "a@example.com", `=HYPERLINK("x")`, 1)
	expires := time.Now().Add(72 * time.Hour).Truncate(time.Second)
	b, err := f.create(t, membership.CodeRequest{PlanID: f.plan.ID, Count: 500, MaxActivations: 3, ExpiresAt: &expires})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Codes) != 500 {
		t.Fatalf("batch has %d codes, want 500", len(b.Codes))
	}
	records, err := csv.NewReader(bytes.NewReader(f.csv(t, membership.CodeFilter{BatchID: b.ID}))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 501 || strings.Join(records[0], ",") != strings.Join(membership.CSVHeader, ",") {
		t.Fatalf("CSV has %d rows, header %v", len(records), records[0])
	}
	want := map[string]bool{}
	for _, c := range b.Codes {
		want[c.Code] = true
	}
	for _, r := range records[1:] {
		code, ok := membership.NormalizeCode(r[0])
		if !ok || !want[code] {
			t.Fatalf("CSV row %v has a code that is not in the batch", r)
		}
		delete(want, code)
		if r[1] != "https://t.me/club_bot?start="+code {
			t.Errorf("activation link %q", r[1])
		}
		if r[2] != `'=HYPERLINK("x")` {
			t.Errorf("plan cell %q is not escaped", r[2])
		}
		if r[3] != "3" || r[4] != "0" || r[5] != expires.UTC().Format(time.RFC3339) || r[7] != "active" {
			t.Errorf("row %v: want max 3, used 0, expiry %s, active", r, expires.UTC().Format(time.RFC3339))
		}
	}
	if len(want) != 0 {
		t.Errorf("%d codes of the batch are missing from the CSV", len(want))
	}
	// A deleted code's row has no activation link: a link mailed from it
	// would open the bot only to be refused.
	if err := f.db.Tx(context.Background(), f.tenant, func(tx pgx.Tx) error {
		_, err := membership.DeleteCode(context.Background(), tx, b.Codes[0].ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	records, _ = csv.NewReader(bytes.NewReader(f.csv(t, membership.CodeFilter{BatchID: b.ID}))).ReadAll()
	for _, r := range records[1:] {
		if code, _ := membership.NormalizeCode(r[0]); code == b.Codes[0].Code && (r[1] != "" || r[7] != "deleted") {
			t.Errorf("deleted code's row %v, want no link and status deleted", r)
		}
	}
}

func TestCodeStatusesFilter(t *testing.T) {
	db := openDB(t)
	f := newFixture(t, db, "a@example.com", "Gold", 1)
	soon := time.Now().Add(time.Hour)
	b, err := f.create(t, membership.CodeRequest{PlanID: f.plan.ID, Count: 4, ExpiresAt: &soon})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	err = db.Tx(ctx, f.tenant, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE access_codes SET deleted_at = now() WHERE id = $1;`, b.Codes[0].ID)
		if err == nil {
			_, err = tx.Exec(ctx, `UPDATE access_codes SET expires_at = now() - interval '1 second' WHERE id = $1`, b.Codes[1].ID)
		}
		if err == nil {
			_, err = tx.Exec(ctx, `UPDATE access_codes SET activations = 1 WHERE id = $1`, b.Codes[2].ID)
		}
		if err != nil {
			return err
		}
		for status, want := range map[string]int64{membership.StatusDeleted: b.Codes[0].ID, membership.StatusExpired: b.Codes[1].ID,
			membership.StatusUsedUp: b.Codes[2].ID, membership.StatusActive: b.Codes[3].ID} {
			codes, err := membership.ListCodes(ctx, tx, membership.CodeFilter{Status: status})
			if err != nil {
				return err
			}
			if len(codes) != 1 || codes[0].ID != want || codes[0].Status(time.Now()) != status {
				t.Errorf("status %q lists %+v, want code %d", status, codes, want)
			}
		}
		found, err := membership.ListCodes(ctx, tx, membership.CodeFilter{Search: strings.ToLower(membership.FormatCode(b.Codes[3].Code))[2:9]})
		if err != nil {
			return err
		}
		if len(found) != 1 || found[0].ID != b.Codes[3].ID {
			t.Errorf("search by part of a code found %d codes", len(found))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// BenchmarkCreateBatchWithCSV is issue 3's "500-code batch (insert + CSV)".
func BenchmarkCreateBatchWithCSV(b *testing.B) {
	db := openDB(b)
	f := newFixture(b, db, "a@example.com", "Gold", 1)
	ctx := context.Background()
	for b.Loop() {
		err := db.Tx(ctx, f.tenant, func(tx pgx.Tx) error {
			batch, err := membership.CreateCodes(ctx, tx, membership.CodeRequest{PlanID: f.plan.ID, Count: 500})
			if err != nil {
				return err
			}
			return membership.WriteCodesCSV(ctx, tx, &bytes.Buffer{}, f.bot.Username, membership.CodeFilter{BatchID: batch.ID})
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// TestRequestKeyMakesOneBatch: a request sent again with its key finds
// the batch it made, also when the first is still committing; the key
// with another request is refused.
func TestRequestKeyMakesOneBatch(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, openDB(t), "keys@example.com", "Gold", 9006)
	req := membership.CodeRequest{PlanID: f.plan.ID, Count: 2, RequestKey: "api:order-7"}
	create := func(req membership.CodeRequest) (b membership.Batch, err error) {
		err = f.db.Tx(ctx, f.tenant, func(tx pgx.Tx) error {
			b, err = membership.CreateCodes(ctx, tx, req)
			return err
		})
		return b, err
	}

	// The twin arrives while the first has not committed: its insert
	// waits, then finds the first's batch.
	inserted, commit := make(chan struct{}), make(chan struct{})
	firstDone := make(chan error, 1)
	var first membership.Batch
	go func() {
		firstDone <- f.db.Tx(ctx, f.tenant, func(tx pgx.Tx) (err error) {
			first, err = membership.CreateCodes(ctx, tx, req)
			close(inserted)
			<-commit
			return err
		})
	}()
	<-inserted
	twinDone := make(chan struct{})
	var twin membership.Batch
	var twinErr error
	go func() {
		defer close(twinDone)
		twin, twinErr = create(req)
	}()
	waited := waitForLockWait(t, f.db)
	close(commit)
	if err := <-firstDone; err != nil {
		t.Fatal(err)
	}
	<-twinDone
	if !waited {
		t.Fatal("the twin never waited for the first's insert")
	}
	if twinErr != nil || !twin.Repeated || first.Repeated || twin.ID != first.ID || len(twin.Codes) != 2 ||
		twin.Codes[0].Code != first.Codes[0].Code || twin.Codes[1].Code != first.Codes[1].Code {
		t.Fatalf("twin = %+v, %v; want the first batch %+v, repeated", twin, twinErr, first)
	}

	// Sent again later, the same.
	if again, err := create(req); err != nil || !again.Repeated || again.ID != first.ID {
		t.Errorf("again = %+v, %v", again, err)
	}
	other := req
	other.Count = 3
	if _, err := create(other); !errors.Is(err, membership.ErrRequestKeyReused) {
		t.Errorf("the key with another count: %v", err)
	}
	var batches, codes int
	f.db.Tx(ctx, f.tenant, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT (SELECT count(*) FROM code_batches), (SELECT count(*) FROM access_codes)").Scan(&batches, &codes)
	})
	if batches != 1 || codes != 2 {
		t.Errorf("%d batches, %d codes; want 1 and 2", batches, codes)
	}
}

// waitForLockWait waits (up to 5 s) until a session of db's database
// waits for a lock. It asks as the administrator: the app role does not
// see other sessions' waits.
func waitForLockWait(t *testing.T, db *tenant.DB) bool {
	t.Helper()
	ctx := context.Background()
	var name string
	admin, err := pgx.Connect(ctx, pgtest.AdminURL())
	if err == nil {
		defer admin.Close(ctx)
		err = db.Pool().QueryRow(ctx, "SELECT current_database()").Scan(&name)
	}
	for i := 0; err == nil && i < 500; i++ {
		var n int
		err = admin.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'", name).Scan(&n)
		if n > 0 {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Error(err)
	}
	return false
}

// TestCSVSaysWhatDeletedACode: the export's last column tells a code
// deleted by auto-delete from one a rollback deleted and one the owner
// deleted (also when the owner's deleted code was rolled back later), and
// auto-delete reports what it deleted, bot by bot.
func TestCSVSaysWhatDeletedACode(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, openDB(t), "deleted@example.com", "Gold", 9010)
	b, err := f.create(t, membership.CodeRequest{PlanID: f.plan.ID, Count: 5})
	if err != nil {
		t.Fatal(err)
	}
	live, byHand, handThenRollback, rolledBack, auto := b.Codes[0], b.Codes[1], b.Codes[2], b.Codes[3], b.Codes[4]
	var deleted []membership.AutoDeletion
	err = f.db.Tx(ctx, f.tenant, func(tx pgx.Tx) error {
		for _, c := range []membership.Code{byHand, handThenRollback} {
			if _, err := membership.DeleteCode(ctx, tx, c.ID); err != nil {
				return err
			}
		}
		// The rest of these codes are new, and auto-delete must leave them.
		if _, err := tx.Exec(ctx, "UPDATE access_codes SET created_at = now() - interval '4 days' WHERE id = $1", auto.ID); err != nil {
			return err
		}
		if err := tenant.UpdateSettings(ctx, tx, tenant.Settings{CodeAutoDeleteDays: 3}); err != nil {
			return err
		}
		deleted, err = membership.AutoDeleteUnused(ctx, tx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []membership.AutoDeletion{{BotID: f.bot.ID, Codes: 1, Days: 3}}; !slices.Equal(deleted, want) {
		t.Errorf("auto-delete reported %+v, want %+v", deleted, want)
	}
	// Rollbacks in later transactions: one deletes its code, the other
	// finds its code deleted by hand already.
	for _, c := range []membership.Code{rolledBack, handThenRollback} {
		err := f.db.Tx(ctx, f.tenant, func(tx pgx.Tx) error {
			_, err := membership.StartRollback(ctx, tx, c.ID, "test")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	records, err := csv.NewReader(bytes.NewReader(f.csv(t, membership.CodeFilter{BatchID: b.ID}))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := records[0]
	if header[len(header)-1] != "deleted by" || header[7] != "status" {
		t.Fatalf("CSV header %q: want status in its place and \"deleted by\" last", header)
	}
	got := map[string][2]string{} // code: status, deleted by
	for _, r := range records[1:] {
		code, _ := membership.NormalizeCode(r[0])
		got[code] = [2]string{r[7], r[len(r)-1]}
	}
	want := map[string][2]string{
		live.Code:             {"active", ""},
		byHand.Code:           {"deleted", "owner"},
		handThenRollback.Code: {"deleted", "owner"},
		rolledBack.Code:       {"deleted", "rollback"},
		auto.Code:             {"deleted", "auto-delete"},
	}
	if !maps.Equal(got, want) {
		t.Errorf("CSV status and deleted by:\n got %v\nwant %v", got, want)
	}

	// A sweep with nothing due reports nothing (and the owner hears nothing).
	err = f.db.Tx(ctx, f.tenant, func(tx pgx.Tx) error {
		deleted, err = membership.AutoDeleteUnused(ctx, tx)
		return err
	})
	if err != nil || len(deleted) != 0 {
		t.Errorf("a second auto-delete reported %+v, %v; want nothing", deleted, err)
	}
}
