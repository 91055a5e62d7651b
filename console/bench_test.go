package console_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatekey/gatekey/internal/app"
	"github.com/gatekey/gatekey/internal/apptest"
)

// seedTenant fills the demo tenant behind the application's back (as the
// database owner, for speed): codes in batches of 500, and members who
// each activated one of them, with a membership and an order.
func seedTenant(b testing.TB, env *apptest.Env, d app.Demo, codes, members int) {
	b.Helper()
	ctx := context.Background()
	db := env.Owner(b)
	batches := (codes + 499) / 500
	_, err := db.Exec(ctx, `INSERT INTO code_batches (tenant_id, bot_id, plan_id, code_count, max_activations, zero_priced)
		SELECT $1, $2, $3, 500, 1, true FROM generate_series(1, $4)`, d.TenantID, d.Bot.ID, d.Plan.ID, batches)
	if err != nil {
		b.Fatal(err)
	}
	// md5 in upper case is hexadecimal, which is Crockford base32 too.
	_, err = db.Exec(ctx, `INSERT INTO access_codes (tenant_id, bot_id, plan_id, batch_id, code, max_activations, zero_priced, created_at)
		SELECT $1, $2, $3, (SELECT min(id) FROM code_batches WHERE tenant_id = $1) + (i - 1) / 500,
			upper(substr(md5('seed' || i), 1, 16)), 1, true, now() - make_interval(secs => $4 - i)
		FROM generate_series(1, $4) AS i`, d.TenantID, d.Bot.ID, d.Plan.ID, codes)
	if err != nil {
		b.Fatal(err)
	}
	_, err = db.Exec(ctx, `
		WITH m AS (
			INSERT INTO members (tenant_id, bot_id, telegram_user_id, username, first_name)
			SELECT $1, $2, 5000000 + i, 'member' || i, 'Member ' || i FROM generate_series(1, $4) AS i
			RETURNING id, telegram_user_id - 5000000 AS n
		), ms AS (
			INSERT INTO memberships (tenant_id, member_id, plan_id, starts_at, ends_at)
			SELECT $1, id, $3, now(), now() + interval '30 days' FROM m RETURNING id, member_id
		), o AS (
			INSERT INTO orders (tenant_id, member_id, plan_id, membership_id, source, amount_minor, currency)
			SELECT $1, member_id, $3, id, 'access_code', 0, 'USD' FROM ms RETURNING id, member_id, membership_id
		)
		INSERT INTO code_activations (tenant_id, code_id, member_id, membership_id, order_id, extended, added_from, added_until)
		SELECT $1, c.id, o.member_id, o.membership_id, o.id, false, now(), now() + interval '30 days'
		FROM o JOIN m ON m.id = o.member_id
		JOIN access_codes c ON c.tenant_id = $1 AND c.code = upper(substr(md5('seed' || m.n), 1, 16))`,
		d.TenantID, d.Bot.ID, d.Plan.ID, members)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec(ctx, `UPDATE access_codes SET activations = 1 WHERE tenant_id = $1
		AND id IN (SELECT code_id FROM code_activations WHERE tenant_id = $1)`, d.TenantID); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkConsolePages times the console's pages, server and loopback
// HTTP, for a tenant with 10,000 codes and 10,000 members.
func BenchmarkConsolePages(b *testing.B) {
	env := apptest.Start(b, apptest.Options{})
	d := env.Demo(b)
	seedTenant(b, env, d, 10_000, 10_000)
	o := signIn(b, env, "owner@example.com", "correct horse battery")
	var codeID, memberID, midCode, midMembership int64
	db := env.Owner(b)
	ctx := context.Background()
	if err := db.QueryRow(ctx, `SELECT max(code_id), max(member_id) FROM code_activations`).Scan(&codeID, &memberID); err != nil {
		b.Fatal(err)
	}
	if err := db.QueryRow(ctx, `SELECT (SELECT id FROM access_codes ORDER BY id OFFSET 5000 LIMIT 1), (SELECT id FROM memberships ORDER BY id OFFSET 5000 LIMIT 1)`).Scan(&midCode, &midMembership); err != nil {
		b.Fatal(err)
	}
	pages := []struct{ name, path string }{
		{"dashboard", "/dashboard"},
		{"codes", "/codes"},
		{"codes-page-100", fmt.Sprintf("/codes?before=%d", midCode)},
		{"codes-filtered", fmt.Sprintf("/codes?plan=%d&status=used+up", d.Plan.ID)},
		{"codes-search", "/codes?q=ab1"},
		{"code", fmt.Sprintf("/codes/%d", codeID)},
		{"members", "/members"},
		{"members-page-100", fmt.Sprintf("/members?before=%d", midMembership)},
		{"members-search", "/members?q=member77"},
		{"member", fmt.Sprintf("/members/%d", memberID)},
		{"plans", "/plans"},
		{"settings", "/settings"},
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			o.t = b
			if status, body := o.get(p.path); status != 200 {
				b.Fatalf("%s: %d %s", p.path, status, body)
			}
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				o.get(p.path)
			}
			b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N)/1000, "ms/page")
		})
	}
}

// BenchmarkCSVExport streams 100,000 codes as CSV and reports the rate and
// the most heap the process held meanwhile.
func BenchmarkCSVExport(b *testing.B) {
	env := apptest.Start(b, apptest.Options{})
	d := env.Demo(b)
	seedTenant(b, env, d, 100_000, 0)
	o := signIn(b, env, "owner@example.com", "correct horse battery")
	o.t = b
	path := fmt.Sprintf("/codes/export.csv?plan=%d", d.Plan.ID)
	// A low GC target makes the heap in use follow what is live, so the
	// peak shows whether the export is held in memory (12 MB of CSV) or not.
	defer debug.SetGCPercent(debug.SetGCPercent(5))
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	go func() {
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}
	}()
	b.ResetTimer()
	var bytes int64
	for range b.N {
		res, err := o.client.Get(env.URL + path)
		if err != nil {
			b.Fatal(err)
		}
		if res.StatusCode != http.StatusOK {
			b.Fatalf("export: %d", res.StatusCode)
		}
		rows := 0
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			rows++
			bytes += int64(len(sc.Bytes()) + 1)
		}
		res.Body.Close()
		if rows != 100_001 {
			b.Fatalf("export has %d lines, want 100,001", rows)
		}
	}
	b.StopTimer()
	close(stop)
	b.SetBytes(bytes / int64(b.N))
	b.ReportMetric(float64(b.N)*100_000/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(peak.Load()-min(peak.Load(), base.HeapInuse))/(1<<20), "peak-heap-growth-MB")
}
