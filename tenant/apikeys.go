package tenant

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// API keys let an owner's scripts use the owner API. A key reads
// "gk_<prefix>_<secret>": the prefix is public and finds the tenant
// through the directory; the whole key is kept only as its SHA-256, which
// is right for a key with 192 random bits (no password to stretch).

// ErrBadAPIKey is a key that does not exist or is malformed.
var ErrBadAPIKey = errors.New("this API key is not valid")

// ErrAPIKeyRevoked is a key its owner revoked.
var ErrAPIKeyRevoked = errors.New("this API key was revoked")

// APIKey is an API key as the console lists it; the key itself is shown
// once, when it is created, and never kept.
type APIKey struct {
	ID         int64
	TenantID   int64
	Name       string
	Prefix     string
	CreatedBy  string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

const apiKeyColumns = "id, tenant_id, name, prefix, created_by, created_at, last_used_at, revoked_at"

func scanAPIKey(row pgx.Row) (APIKey, error) {
	var k APIKey
	err := row.Scan(&k.ID, &k.TenantID, &k.Name, &k.Prefix, &k.CreatedBy, &k.CreatedAt, &k.LastUsedAt, &k.RevokedAt)
	return k, err
}

// CreateAPIKey makes a key for the tenant and returns it with the full key,
// which the caller shows once.
func CreateAPIKey(ctx context.Context, tx pgx.Tx, name, createdBy string) (APIKey, string, error) {
	k, full, _, err := CreateAPIKeyOnce(ctx, tx, name, createdBy, "")
	return k, full, err
}

// CreateAPIKeyOnce is CreateAPIKey for a request with a key (the console
// form's; "" for none). Sent again with the same key, it makes no second
// key: it returns the one the first made, with repeated set and no full
// key, since only the key's hash is kept.
func CreateAPIKeyOnce(ctx context.Context, tx pgx.Tx, name, createdBy, requestKey string) (k APIKey, full string, repeated bool, err error) {
	name = strings.TrimSpace(name)
	if name == "" {
		name = "API key"
	}
	if len(name) > 100 {
		return k, "", false, errors.New("the key's name must be at most 100 characters")
	}
	prefix := strings.ToLower(strings.NewReplacer("-", "x", "_", "y").Replace(randomToken(6)))
	full = "gk_" + prefix + "_" + randomToken(24)
	k, err = scanAPIKey(tx.QueryRow(ctx, `INSERT INTO api_keys (tenant_id, name, prefix, key_hash, created_by, request_key)
		VALUES (gatekey_tenant(), $1, $2, $3, $4, nullif($5, ''))
		ON CONFLICT (tenant_id, request_key) WHERE request_key IS NOT NULL DO NOTHING RETURNING `+apiKeyColumns,
		name, prefix, hashToken(full), createdBy, requestKey))
	if errors.Is(err, pgx.ErrNoRows) {
		k, err = scanAPIKey(tx.QueryRow(ctx, "SELECT "+apiKeyColumns+" FROM api_keys WHERE request_key = $1", requestKey))
		if err != nil {
			return k, "", false, fmt.Errorf("tenant: create API key: the one made already: %w", err)
		}
		return k, "", true, nil
	}
	if err != nil {
		return k, "", false, fmt.Errorf("tenant: create API key: %w", err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO tenant_directory (kind, key, tenant_id) VALUES ('api_key', $1, gatekey_tenant())", prefix); err != nil {
		return k, "", false, fmt.Errorf("tenant: create API key: %w", err)
	}
	return k, full, false, nil
}

// ListAPIKeys lists the tenant's keys, newest first, revoked ones too.
func ListAPIKeys(ctx context.Context, tx pgx.Tx) ([]APIKey, error) {
	rows, err := tx.Query(ctx, "SELECT "+apiKeyColumns+" FROM api_keys ORDER BY id DESC")
	if err != nil {
		return nil, fmt.Errorf("tenant: list API keys: %w", err)
	}
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (APIKey, error) { return scanAPIKey(r) })
	if err != nil {
		return nil, fmt.Errorf("tenant: list API keys: %w", err)
	}
	return keys, nil
}

// RevokeAPIKey stops a key from working, at once. Its directory entry
// stays, so a script still using it is told it was revoked.
func RevokeAPIKey(ctx context.Context, tx pgx.Tx, keyID int64) error {
	tag, err := tx.Exec(ctx, "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1", keyID)
	if err != nil {
		return fmt.Errorf("tenant: revoke API key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// AuthenticateAPIKey finds the key a request presents: ErrBadAPIKey for
// one that does not exist, ErrAPIKeyRevoked for a revoked one.
func (db *DB) AuthenticateAPIKey(ctx context.Context, key string) (APIKey, error) {
	prefix, ok := apiKeyPrefix(key)
	if !ok {
		return APIKey{}, ErrBadAPIKey
	}
	tenantID, err := db.Lookup(ctx, "api_key", prefix)
	if errors.Is(err, ErrNotFound) {
		return APIKey{}, ErrBadAPIKey
	}
	if err != nil {
		return APIKey{}, err
	}
	var k APIKey
	err = db.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		var hash []byte
		err := tx.QueryRow(ctx, "SELECT key_hash FROM api_keys WHERE prefix = $1", prefix).Scan(&hash)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && subtle.ConstantTimeCompare(hash, hashToken(key)) != 1) {
			return ErrBadAPIKey
		}
		if err != nil {
			return err
		}
		// Note the use, at most once a minute, to keep requests read-mostly.
		_, err = tx.Exec(ctx, `UPDATE api_keys SET last_used_at = now() WHERE prefix = $1 AND revoked_at IS NULL
			AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`, prefix)
		if err != nil {
			return err
		}
		k, err = scanAPIKey(tx.QueryRow(ctx, "SELECT "+apiKeyColumns+" FROM api_keys WHERE prefix = $1", prefix))
		return err
	})
	if errors.Is(err, ErrBadAPIKey) {
		return k, err
	}
	if err != nil {
		return k, fmt.Errorf("tenant: authenticate API key: %w", err)
	}
	if k.RevokedAt != nil {
		return k, ErrAPIKeyRevoked
	}
	return k, nil
}

// apiKeyPrefix takes the public prefix out of "gk_<prefix>_<secret>".
func apiKeyPrefix(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, "gk_")
	if !ok || len(key) > 100 {
		return "", false
	}
	prefix, secret, ok := strings.Cut(rest, "_")
	if !ok || len(prefix) != 8 || len(secret) < 32 {
		return "", false
	}
	return prefix, true
}
