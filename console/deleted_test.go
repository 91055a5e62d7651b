package console_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/internal/apptest"
	"github.com/gatekey/gatekey/membership"
)

// autoDelete has the auto-delete setting (3 days) delete codes, as the
// sweep does, after making them old enough.
func autoDelete(t *testing.T, env *apptest.Env, tenantID int64, codes ...membership.Code) {
	t.Helper()
	ctx := context.Background()
	for _, c := range codes {
		if _, err := env.Owner(t).Exec(ctx, "UPDATE access_codes SET created_at = now() - interval '4 days' WHERE id = $1", c.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := env.Owner(t).Exec(ctx, "UPDATE tenants SET code_autodelete_days = 3 WHERE id = $1", tenantID); err != nil {
		t.Fatal(err)
	}
	env.Tx(t, tenantID, func(tx pgx.Tx) error {
		_, err := membership.AutoDeleteUnused(ctx, tx)
		return err
	})
}

// csvColumns reads a codes CSV into code: the status and deleted by columns.
func csvColumns(t *testing.T, body string) map[string][2]string {
	t.Helper()
	records, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(records) == 0 {
		t.Fatalf("CSV %q: %v", body, err)
	}
	if h := records[0]; h[7] != "status" || h[len(h)-1] != "deleted by" {
		t.Fatalf("CSV header %q", h)
	}
	out := map[string][2]string{}
	for _, r := range records[1:] {
		code, _ := membership.NormalizeCode(r[0])
		out[code] = [2]string{r[7], r[len(r)-1]}
	}
	return out
}

// TestDeletedCodesSayWhatDeletedThem: a code auto-delete deleted says so
// in the codes list, the batch's page, both CSV exports and the API, and
// the API gives no link for a deleted code, as the CSV does not.
func TestDeletedCodesSayWhatDeletedThem(t *testing.T) {
	env := apptest.New(t)
	d := env.Demo(t)
	o := signIn(t, env, "owner@example.com", "correct horse battery")
	a := api{t: t, url: env.URL + "/api/v1", key: apiKey(t, env, d.TenantID)}
	batch := env.Codes(t, d.TenantID, membership.CodeRequest{PlanID: d.Plan.ID, Count: 3})
	live, byHand, auto := batch.Codes[0], batch.Codes[1], batch.Codes[2]
	if st := a.call("DELETE", fmt.Sprintf("/codes/%d", byHand.ID), nil, nil); st != 200 {
		t.Fatalf("delete: %d", st)
	}
	autoDelete(t, env, d.TenantID, auto)

	badges := regexp.MustCompile(`<span class="badge s-[a-z-]+">([^<]*)</span>`)
	for _, page := range []string{fmt.Sprintf("/codes?batch=%d", batch.ID), fmt.Sprintf("/codes/batches/%d", batch.ID)} {
		_, body := o.get(page)
		var got []string
		for _, m := range badges.FindAllStringSubmatch(body, -1) {
			got = append(got, m[1])
		}
		// Newest first on both pages.
		if want := "deleted (auto-delete),deleted,active"; strings.Join(got, ",") != want {
			t.Errorf("%s shows statuses %q, want %q", page, strings.Join(got, ","), want)
		}
	}

	want := map[string][2]string{live.Code: {"active", ""}, byHand.Code: {"deleted", "owner"}, auto.Code: {"deleted", "auto-delete"}}
	_, body := o.get(fmt.Sprintf("/codes/export.csv?batch=%d", batch.ID))
	if got := csvColumns(t, body); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("the console's CSV says %v, want %v", got, want)
	}
	body = ""
	if st := a.call("GET", fmt.Sprintf("/codes.csv?batch_id=%d", batch.ID), nil, &body); st != 200 {
		t.Fatalf("API CSV: %d", st)
	}
	if got := csvColumns(t, body); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("the API's CSV says %v, want %v", got, want)
	}

	type apiCode struct {
		ID          int64
		Link        string
		Status      string
		AutoDeleted *bool `json:"auto_deleted"`
	}
	check := func(where string, c apiCode) {
		t.Helper()
		if hasLink := c.Link != ""; hasLink != (c.Status == "active") {
			t.Errorf("%s: %s code %d has link %q", where, c.Status, c.ID, c.Link)
		}
		if c.AutoDeleted == nil {
			t.Errorf("%s: code %d has no auto_deleted", where, c.ID)
			return
		}
		if *c.AutoDeleted != (c.ID == auto.ID) {
			t.Errorf("%s: code %d auto_deleted %v", where, c.ID, *c.AutoDeleted)
		}
	}
	var list struct{ Data []apiCode }
	if st := a.call("GET", fmt.Sprintf("/codes?batch_id=%d", batch.ID), nil, &list); st != 200 || len(list.Data) != 3 {
		t.Fatalf("list: %d, %d codes", st, len(list.Data))
	}
	for _, c := range list.Data {
		check("GET /codes", c)
	}
	for _, id := range []int64{live.ID, byHand.ID, auto.ID} {
		var c apiCode
		if st := a.call("GET", fmt.Sprintf("/codes/%d", id), nil, &c); st != 200 {
			t.Fatalf("GET /codes/%d: %d", id, st)
		}
		check("GET /codes/{id}", c)
	}
}

// TestBatchRollbackOfUnusedCodes: an unused code's page says the batch's
// rollback deleted it (or found it deleted), not "0 of 0" undone, and the
// codes list's batch filter marks the batch as rolled back.
func TestBatchRollbackOfUnusedCodes(t *testing.T) {
	env := apptest.New(t)
	d := env.Demo(t)
	o := signIn(t, env, "owner@example.com", "correct horse battery")
	other := env.Codes(t, d.TenantID, membership.CodeRequest{PlanID: d.Plan.ID, Count: 2})
	batch := env.Codes(t, d.TenantID, membership.CodeRequest{PlanID: d.Plan.ID, Count: 3})
	autoDelete(t, env, d.TenantID, batch.Codes[2])
	rollBackBatch(t, env, o, batch.ID, 3)

	_, body := o.get(fmt.Sprintf("/codes/%d", batch.Codes[0].ID))
	nothing := regexp.MustCompile(`(?s)<p id="rb-nothing">(.*?)</p>`)
	m := nothing.FindStringSubmatch(body)
	if m == nil || strings.Contains(body, "0 of 0") {
		t.Fatalf("an unused code's page after its batch's rollback does not say what happened:\n%s", body)
	}
	text := strings.Join(strings.Fields(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m[1], "")), " ")
	if !strings.HasPrefix(text, fmt.Sprintf("The rollback of batch #%d deleted this code on ", batch.ID)) ||
		!strings.HasSuffix(text, "Nobody had activated it, so there was nothing to take back.") {
		t.Errorf("the code's page says %q", text)
	}
	if !strings.Contains(body, "by the rollback of its batch</dd>") {
		t.Error("the code's Deleted line does not say the rollback deleted it")
	}
	_, body = o.get(fmt.Sprintf("/codes/%d", batch.Codes[2].ID))
	if m = nothing.FindStringSubmatch(body); m == nil || !strings.Contains(m[1], "was rolled back, after this code had been deleted") ||
		!strings.Contains(body, "by auto-delete") {
		t.Errorf("an auto-deleted code's page after its batch's rollback says %q", m)
	}

	_, body = o.get("/codes")
	filter, _, _ := strings.Cut(body[strings.Index(body, `name="batch"`)+1:], "</select>")
	option := func(id int64) string {
		m := regexp.MustCompile(fmt.Sprintf(`<option value="%d"[^>]*>([^<]*)</option>`, id)).FindStringSubmatch(filter)
		if m == nil {
			t.Fatalf("no option for batch %d", id)
		}
		return m[1]
	}
	if got := option(batch.ID); !strings.HasSuffix(got, " · rolled back") {
		t.Errorf("the rolled-back batch's option reads %q", got)
	}
	if got := option(other.ID); strings.Contains(got, "rolled back") {
		t.Errorf("a batch not rolled back reads %q", got)
	}
}
