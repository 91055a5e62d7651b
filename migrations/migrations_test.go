package migrations_test

import (
	"context"
	"slices"
	"testing"

	"github.com/gatekey/gatekey/internal/pgtest"
	"github.com/gatekey/gatekey/migrations"
)

// Up on a database that is already current applies nothing, and puts
// back river_tuning.sql's settings if something took them away (as a River
// migration that remakes an index would).
func TestUpKeepsRiversGINPendingListsShort(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	if _, err := pool.Exec(ctx, "ALTER INDEX river_job_args_index RESET (gin_pending_list_limit)"); err != nil {
		t.Fatal(err)
	}
	var applied []string
	if err := migrations.Up(ctx, pool, func(line string) { applied = append(applied, line) }); err != nil {
		t.Fatal(err)
	}
	if len(applied) > 0 {
		t.Errorf("Up on a current database applied %q, want nothing", applied)
	}
	for _, index := range []string{"river_job_args_index", "river_job_metadata_index"} {
		var options []string
		if err := pool.QueryRow(ctx, "SELECT coalesce(reloptions, '{}') FROM pg_class WHERE relname = $1", index).Scan(&options); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(options, "gin_pending_list_limit=256") {
			t.Errorf("%s has options %q, want gin_pending_list_limit=256", index, options)
		}
	}
}
