package jobs_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertest"

	"github.com/gatekey/gatekey/internal/apptest"
	"github.com/gatekey/gatekey/jobs"
	"github.com/gatekey/gatekey/membership"
)

// TestRollbackOf1000ActivationsResumesAfterACrash rolls back a code that
// 1,000 members activated: 900 had no other access and lose it, 100 had
// activated another code first and keep that code's time. A worker dies
// after its first chunk; the job picks up where it stopped.
func TestRollbackOf1000ActivationsResumesAfterACrash(t *testing.T) {
	w := newWorld(t, apptest.Options{})
	ctx := context.Background()
	const total, extended = 1000, 100
	rolled := w.Codes(t, w.demo.TenantID, membership.CodeRequest{PlanID: w.demo.Plan.ID, Count: 1, MaxActivations: total}).Codes[0]
	other := w.Codes(t, w.demo.TenantID, membership.CodeRequest{PlanID: w.demo.Plan.ID, Count: 1, MaxActivations: extended}).Codes[0]

	// Activate through membership directly: the webhook path is tested
	// elsewhere, and 1,100 activations through it would dominate the test.
	w.Tx(t, w.demo.TenantID, func(tx pgx.Tx) error {
		for i := range total {
			m, err := membership.UpsertMember(ctx, tx, w.demo.Bot.ID, membership.Person{TelegramUserID: int64(5_000_000 + i), FirstName: fmt.Sprint("M", i)})
			if err != nil {
				return err
			}
			if i < extended {
				if _, err := membership.Activate(ctx, tx, m, other.Code); err != nil {
					return err
				}
			}
			if _, err := membership.Activate(ctx, tx, m, rolled.Code); err != nil {
				return err
			}
		}
		return nil
	})

	var r membership.Rollback
	w.Tx(t, w.demo.TenantID, func(tx pgx.Tx) error {
		var err error
		r, err = membership.StartRollback(ctx, tx, rolled.ID, "test")
		return err
	})
	if r.Total != total {
		t.Fatalf("rollback counts %d activations, want %d", r.Total, total)
	}
	// The first worker commits one chunk with its follow-up jobs, and dies.
	args := jobs.RollbackCodeArgs{TenantID: w.demo.TenantID, BotID: w.demo.Bot.ID, RollbackID: r.ID}
	deps := jobs.Deps{DB: w.App.DB, Telegram: w.App.Telegram, Log: w.App.Log}
	if done, err := jobs.RollbackOneChunk(rivertest.WorkContext(ctx, w.App.River), deps, args); err != nil || done {
		t.Fatalf("first chunk: done %v, err %v", done, err)
	}
	// Retried, the job resumes.
	w.Tx(t, w.demo.TenantID, func(tx pgx.Tx) error {
		return jobs.Insert(ctx, w.App.River, tx, []river.InsertManyParams{jobs.RollbackCode(w.demo.TenantID, w.demo.Bot.ID, r.ID)})
	})
	w.Idle(t)

	w.Tx(t, w.demo.TenantID, func(tx pgx.Tx) error {
		var err error
		r, err = membership.GetRollback(ctx, tx, r.ID)
		return err
	})
	if r.Status != "done" || r.Undone != total {
		t.Fatalf("rollback %s with %d undone, want done with %d", r.Status, r.Undone, total)
	}
	if r.Shortened != extended {
		t.Errorf("%d memberships shortened, want %d", r.Shortened, extended)
	}
	checks := map[string]int{
		"SELECT count(*) FROM memberships WHERE status = 'revoked'":                                             total - extended,
		"SELECT count(*) FROM memberships WHERE status = 'active' AND ends_at - starts_at = interval '30 days'": extended,
		"SELECT count(*) FROM orders WHERE status = 'refunded'":                                                 total,
		"SELECT count(*) FROM code_activations WHERE rolled_back_at IS NOT NULL":                                total,
		// A removal for each member who lost access, from both chats, in
		// batches; no member taken out of a chat twice.
		"SELECT count(*) FROM river_job, jsonb_array_elements(args->'members') m WHERE kind = 'telegram.remove_members'":                                                                                         total - extended,
		"SELECT count(*) FROM river_job, jsonb_array_elements(args->'members') m, jsonb_array_elements_text(m->'telegram_chat_ids') c WHERE kind = 'telegram.remove_members'":                                    2 * (total - extended),
		"SELECT count(DISTINCT (m->>'telegram_user_id', c)) FROM river_job, jsonb_array_elements(args->'members') m, jsonb_array_elements_text(m->'telegram_chat_ids') c WHERE kind = 'telegram.remove_members'": 2 * (total - extended),
		"SELECT count(*) FROM river_job WHERE kind = 'telegram.remove_member'":                                                                                                                                   0,
		"SELECT count(*) FROM access_codes WHERE id = $1 AND deleted_at IS NOT NULL":                                                                                                                             1,
		"SELECT count(*) FROM notifications WHERE kind = 'code_rolled_back'":                                                                                                                                     1,
	}
	for q, want := range checks {
		args := []any{}
		if strings.Contains(q, "$1") {
			args = append(args, rolled.ID)
		}
		if n := w.Count(t, q, args...); n != want {
			t.Errorf("%s = %d, want %d", q, n, want)
		}
	}
	// The code no longer activates.
	w.Tx(t, w.demo.TenantID, func(tx pgx.Tx) error {
		m, err := membership.UpsertMember(ctx, tx, w.demo.Bot.ID, membership.Person{TelegramUserID: 9_999_999})
		if err != nil {
			return err
		}
		_, err = membership.Activate(ctx, tx, m, rolled.Code)
		if r, ok := err.(*membership.Refusal); !ok || r.Reason != "deleted" {
			t.Errorf("activating a rolled-back code: %v, want refused as deleted", err)
		}
		return nil
	})
}
