package jobs

import (
	"context"
	"time"

	"github.com/gatekey/gatekey/membership"
)

// RollbackOneChunk works one chunk of a rollback as its worker does, then
// stops: a worker that dies between two chunks. ctx must carry a River
// client (rivertest.WorkContext).
func RollbackOneChunk(ctx context.Context, deps Deps, a RollbackCodeArgs) (done bool, err error) {
	return (&RollbackCodeWorker{deps: deps}).chunk(ctx, a, newPacer(time.Now()))
}

// SweepBatch is how many memberships the reconciler handles in one
// transaction.
const SweepBatch = sweepBatch

// RenewText is what a member is told about renewing a plan while the
// tenant is active.
func RenewText(p membership.Plan) string { return renewText(p, false) }
