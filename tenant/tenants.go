package tenant

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrEmailTaken is returned when an email already has an account.
var ErrEmailTaken = errors.New("an account with this email already exists")

// Settings are a tenant's choices that the product's rules read.
type Settings struct {
	// CodeAutoDeleteDays deletes unused access codes this many days after
	// their creation; 0 keeps them.
	CodeAutoDeleteDays int
	// ZeroPriceDefault makes code activations create orders of amount 0.
	ZeroPriceDefault bool
}

// Tenant is one customer of Gatekey.
type Tenant struct {
	ID          int64
	Name        string
	Status      string
	BillingPlan string
	Settings    Settings
}

// SignUp creates a tenant with its first owner account and returns the
// tenant's id. The email is the owner's login.
func (db *DB) SignUp(ctx context.Context, email, password string) (int64, error) {
	email, err := normaliseEmail(email)
	if err != nil {
		return 0, err
	}
	if msg := passwordProblem(password); msg != "" {
		return 0, errors.New(msg)
	}
	hash := HashPassword(password)
	var id int64
	if err := db.pool.QueryRow(ctx, "SELECT nextval(pg_get_serial_sequence('tenants', 'id'))").Scan(&id); err != nil {
		return 0, fmt.Errorf("tenant: new id: %w", err)
	}
	err = db.Tx(ctx, id, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO tenants (id, name) VALUES ($1, $2)", id, email); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO owner_accounts (tenant_id, email, password_hash) VALUES ($1, $2, $3)", id, email, hash); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO tenant_directory (kind, key, tenant_id) VALUES ('email', $1, $2)", email, id)
		return err
	})
	if isUniqueViolation(err) {
		return 0, ErrEmailTaken
	}
	if err != nil {
		return 0, fmt.Errorf("tenant: sign up: %w", err)
	}
	return id, nil
}

// Get reads the tenant of the transaction.
func Get(ctx context.Context, tx pgx.Tx) (Tenant, error) {
	var t Tenant
	var days *int
	err := tx.QueryRow(ctx, `SELECT id, name, status, billing_plan, code_autodelete_days, zero_price_default
		FROM tenants WHERE id = gatekey_tenant()`).
		Scan(&t.ID, &t.Name, &t.Status, &t.BillingPlan, &days, &t.Settings.ZeroPriceDefault)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("tenant: get: %w", err)
	}
	if days != nil {
		t.Settings.CodeAutoDeleteDays = *days
	}
	return t, nil
}

func normaliseEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 {
		return "", errors.New("that does not look like an email address")
	}
	return s, nil
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}
