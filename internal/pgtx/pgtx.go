// Package pgtx runs transactions that begin in the same round trip as
// their first batch of queries, which pgx's Batch.BeginTx allows and
// pgx.BeginTxFunc alone does not: BEGIN otherwise costs a round trip of
// its own, a tenth or more of a short transaction's time.
package pgtx

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// BatchFunc runs fn in a transaction whose BEGIN is sent with first's
// queries, in one round trip; first's query callbacks run before fn. As
// with pgx.BeginTxFunc, the transaction commits when fn returns nil and
// rolls back on an error (first's or fn's, returned as it is) or a panic.
// first is a plain batch (no Batch.BeginTx of its own), and is consumed.
func BatchFunc(ctx context.Context, pool *pgxpool.Pool, first *pgx.Batch, fn func(pgx.Tx) error) error {
	var b pgx.Batch
	b.BeginTx(pgx.TxOptions{})
	b.QueuedQueries = append(b.QueuedQueries, first.QueuedQueries...)
	return pgx.BeginTxFunc(ctx, batchBegin{pool, &b}, pgx.TxOptions{}, fn)
}

// batchBegin is a beginner for pgx.BeginTxFunc whose BeginTx sends a batch
// that begins with BEGIN.
type batchBegin struct {
	pool  *pgxpool.Pool
	batch *pgx.Batch
}

func (s batchBegin) BeginTx(ctx context.Context, _ pgx.TxOptions) (pgx.Tx, error) {
	br := s.pool.SendBatch(ctx, s.batch)
	tx := br.Tx()
	if err := br.Close(); err != nil {
		_ = tx.Rollback(ctx) // also gives the connection back to the pool
		return nil, err
	}
	return tx, nil
}
