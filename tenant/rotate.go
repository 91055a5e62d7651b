package tenant

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// KeyUse is how many bot tokens are encrypted with one key id.
type KeyUse struct {
	KeyID string
	Bots  int
}

// TokenKeys counts the bots' tokens by the id of the key that encrypts
// them, across every tenant, in one read-only query (CrossTenant): ids in
// use first, most used first. Only key ids and counts are read, never a
// token.
func (db *DB) TokenKeys(ctx context.Context) ([]KeyUse, error) {
	var uses []KeyUse
	err := db.CrossTenant(ctx, "keys: bot tokens by key id", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, "SELECT token_key_id, count(*) FROM bots GROUP BY token_key_id ORDER BY 2 DESC, 1")
		if err != nil {
			return err
		}
		uses, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (KeyUse, error) {
			var u KeyUse
			return u, r.Scan(&u.KeyID, &u.Bots)
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("tenant: bot tokens by key: %w", err)
	}
	return uses, nil
}

// MissingKeys are the uses whose key id keys does not have: those bots'
// tokens cannot be decrypted, so every Telegram call for them fails.
func MissingKeys(uses []KeyUse, keys *Keyring) []KeyUse {
	var missing []KeyUse
	for _, u := range uses {
		if !keys.Has(u.KeyID) {
			missing = append(missing, u)
		}
	}
	return missing
}

// Rotation is what RotateBotTokens did.
type Rotation struct {
	Reencrypted int // tokens now under the current key that were not
	// Unreadable are the tokens left as they were, by key id, because
	// keys has no key with that id: they need that key back to rotate.
	Unreadable map[string]int
}

// rotateBatch is how many bots one transaction of RotateBotTokens
// re-encrypts: small, so that it holds few row locks and for little time
// beside a running Gatekey.
const rotateBatch = 100

// RotateBotTokens re-encrypts with keys' current key every bot token
// encrypted with another key, tenant by tenant through Tx (so row-level
// security holds), at most rotateBatch bots a transaction. A token whose
// key keys does not have is left as it is and counted in Unreadable. It
// is safe to run again, and beside a running Gatekey: each row is locked
// and read again before it is rewritten, so a token replaced meanwhile is
// never overwritten with the old one.
func (db *DB) RotateBotTokens(ctx context.Context, keys *Keyring) (Rotation, error) {
	r := Rotation{Unreadable: map[string]int{}}
	var tenants []int64
	err := db.CrossTenant(ctx, "keys: tenants with bot tokens to re-encrypt", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, "SELECT DISTINCT tenant_id FROM bots WHERE token_key_id <> $1 ORDER BY 1", keys.Current())
		if err != nil {
			return err
		}
		tenants, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		return err
	})
	if err != nil {
		return r, fmt.Errorf("tenant: rotate bot tokens: %w", err)
	}
	for _, tenantID := range tenants {
		after := int64(0)
		for {
			n, last, err := db.rotateTenantBatch(ctx, tenantID, keys, after, &r)
			if err != nil {
				return r, fmt.Errorf("tenant: rotate bot tokens of tenant %d: %w", tenantID, err)
			}
			if n < rotateBatch {
				break
			}
			after = last
		}
	}
	return r, nil
}

// rotateTenantBatch re-encrypts the tenant's next bots after the id
// after, and returns how many it looked at and the last one's id.
func (db *DB) rotateTenantBatch(ctx context.Context, tenantID int64, keys *Keyring, after int64, r *Rotation) (n int, last int64, err error) {
	type row struct {
		id     int64
		sealed []byte
		keyID  string
	}
	var done int
	unreadable := map[string]int{}
	err = db.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, token_ciphertext, token_key_id FROM bots
			WHERE token_key_id <> $1 AND id > $2 ORDER BY id LIMIT $3 FOR UPDATE`, keys.Current(), after, rotateBatch)
		if err != nil {
			return err
		}
		bots, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
			var b row
			return b, r.Scan(&b.id, &b.sealed, &b.keyID)
		})
		if err != nil {
			return err
		}
		n = len(bots)
		for _, b := range bots {
			last = b.id
			if !keys.Has(b.keyID) {
				unreadable[b.keyID]++
				continue
			}
			token, err := keys.Open(b.sealed, b.keyID, tokenContext(b.id))
			if err != nil {
				return fmt.Errorf("bot %d: %w", b.id, err)
			}
			sealed, keyID := keys.Seal(token, tokenContext(b.id))
			if _, err := tx.Exec(ctx, "UPDATE bots SET token_ciphertext = $2, token_key_id = $3 WHERE id = $1", b.id, sealed, keyID); err != nil {
				return err
			}
			done++
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	r.Reencrypted += done
	for id, c := range unreadable {
		r.Unreadable[id] += c
	}
	return n, last, nil
}
