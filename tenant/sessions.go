package tenant

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// Owners sign in to the console with email and password; a session is a
// cookie "<tenant id>.<secret>". The tenant id only says where to look:
// the session is found by the secret's hash inside that tenant's
// transaction, so a forged id finds nothing.

// SessionTTL is how long a sign-in lasts.
const SessionTTL = 30 * 24 * time.Hour

// Login brake: this many failed sign-ins from one address, within the
// window, and its further tries wait for the window. An email has a brake
// of its own, for guessing spread over many addresses, at five times
// that: a brake of one address's size would let anyone who knows an
// owner's email lock the owner out with ten requests.
const (
	MaxLoginFailures         = 10
	MaxLoginFailuresPerEmail = 5 * MaxLoginFailures
	LoginFailureWindow       = 15 * time.Minute
	// MaxSignUps is how many accounts one address may create per window.
	MaxSignUps = 10
)

// ErrBadLogin is a sign-in with an unknown email or a wrong password; the
// two are not told apart, so emails cannot be probed.
var ErrBadLogin = errors.New("that email and password do not match an account")

// TooManyAttemptsError says how long to wait after too many tries.
type TooManyAttemptsError struct{ Wait time.Duration }

func (e *TooManyAttemptsError) Error() string {
	m := int(e.Wait.Minutes() + 0.999)
	if m <= 1 {
		return "Too many attempts. Please wait a minute and try again."
	}
	return fmt.Sprintf("Too many attempts. Please wait %d minutes and try again.", m)
}

// Session is a signed-in owner.
type Session struct {
	ID        int64
	TenantID  int64
	AccountID int64
	Email     string
	CSRFToken string // goes in every form the session posts
	ExpiresAt time.Time
	// Suspended is the tenant's state when the session was read, so every
	// page can say so without a query of its own.
	Suspended bool
}

// dummyHash is checked against when the email is unknown, so that a wrong
// email takes as long as a wrong password.
var dummyHash = HashPassword("gatekey dummy password")

// LogIn checks an owner's email and password and opens a session. ip is
// the client's address, for the brake. It returns the cookie value.
func (db *DB) LogIn(ctx context.Context, email, password, ip string) (Session, string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if err := db.checkAttempts(ctx, "login", email, ip, MaxLoginFailures, MaxLoginFailuresPerEmail); err != nil {
		return Session{}, "", err
	}
	tenantID, err := db.Lookup(ctx, "email", email)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Session{}, "", err
	}
	var accountID int64
	hash := dummyHash
	if err == nil {
		err = db.Tx(ctx, tenantID, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, "SELECT id, password_hash FROM owner_accounts WHERE email = $1", email).Scan(&accountID, &hash)
		})
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return Session{}, "", fmt.Errorf("tenant: log in: %w", err)
		}
	}
	if !CheckPassword(hash, password) || accountID == 0 {
		if err := db.recordAttempt(ctx, "login", email, ip); err != nil {
			return Session{}, "", err
		}
		return Session{}, "", ErrBadLogin
	}
	// Only this address's failures are forgiven: another address's
	// guesses at the same email keep counting against that address.
	if _, err := db.pool.Exec(ctx, "DELETE FROM login_attempts WHERE kind = 'login' AND email = $1 AND ip = $2", email, ip); err != nil {
		return Session{}, "", fmt.Errorf("tenant: log in: %w", err)
	}
	return db.NewSession(ctx, tenantID, accountID)
}

// InputError is sign-up input that cannot be used, with a message for
// the person typing it.
type InputError struct{ Message string }

func (e *InputError) Error() string { return e.Message }

// SignUpFrom is SignUp with the brake on addresses that create many
// accounts; it returns the first session of the new tenant and its cookie.
// Bad input is an *InputError; a taken email is ErrEmailTaken.
func (db *DB) SignUpFrom(ctx context.Context, email, password, ip string) (Session, string, error) {
	if _, err := normaliseEmail(email); err != nil {
		return Session{}, "", &InputError{"That does not look like an email address."}
	}
	if msg := passwordProblem(password); msg != "" {
		return Session{}, "", &InputError{msg}
	}
	if err := db.checkAttempts(ctx, "signup", "", ip, MaxSignUps, 0); err != nil {
		return Session{}, "", err
	}
	tenantID, err := db.SignUp(ctx, email, password)
	if err != nil {
		return Session{}, "", err
	}
	if err := db.recordAttempt(ctx, "signup", "", ip); err != nil {
		return Session{}, "", err
	}
	var accountID int64
	err = db.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT id FROM owner_accounts ORDER BY id LIMIT 1").Scan(&accountID)
	})
	if err != nil {
		return Session{}, "", fmt.Errorf("tenant: sign up: %w", err)
	}
	return db.NewSession(ctx, tenantID, accountID)
}

// checkAttempts refuses when the address has ipLimit attempts of kind in
// the window, or the email (if any) emailLimit.
func (db *DB) checkAttempts(ctx context.Context, kind, email, ip string, ipLimit, emailLimit int) error {
	var byEmail, byIP int
	var oldest *time.Time
	err := db.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE email = $2 AND $2 <> ''), count(*) FILTER (WHERE ip = $3),
			min(at) FROM login_attempts WHERE kind = $1 AND at > now() - $4::interval AND ((email = $2 AND $2 <> '') OR ip = $3)`,
		kind, email, ip, LoginFailureWindow).Scan(&byEmail, &byIP, &oldest)
	if err != nil {
		return fmt.Errorf("tenant: count attempts: %w", err)
	}
	if byIP < ipLimit && (email == "" || byEmail < emailLimit) {
		return nil
	}
	wait := LoginFailureWindow
	if oldest != nil {
		wait = time.Until(oldest.Add(LoginFailureWindow))
	}
	return &TooManyAttemptsError{Wait: max(wait, time.Second)}
}

func (db *DB) recordAttempt(ctx context.Context, kind, email, ip string) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO login_attempts (kind, email, ip) VALUES ($1, $2, $3)`, kind, email, ip)
	if err == nil {
		// Sweep what no window needs any more; the index on at keeps it cheap.
		_, err = db.pool.Exec(ctx, `DELETE FROM login_attempts WHERE at < now() - interval '1 day'`)
	}
	if err != nil {
		return fmt.Errorf("tenant: record attempt: %w", err)
	}
	return nil
}

// NewSession opens a session for an owner account and returns the cookie
// value.
func (db *DB) NewSession(ctx context.Context, tenantID, accountID int64) (Session, string, error) {
	secret := randomToken(32)
	s := Session{TenantID: tenantID, AccountID: accountID, CSRFToken: randomToken(24)}
	err := db.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		// Expired sessions of the tenant go as new ones come.
		if _, err := tx.Exec(ctx, "DELETE FROM owner_sessions WHERE expires_at < now()"); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `INSERT INTO owner_sessions (tenant_id, account_id, token_hash, csrf_token, expires_at)
			VALUES (gatekey_tenant(), $1, $2, $3, now() + $4::interval)
			RETURNING id, expires_at, (SELECT email FROM owner_accounts WHERE id = $1)`,
			accountID, hashToken(secret), s.CSRFToken, SessionTTL).Scan(&s.ID, &s.ExpiresAt, &s.Email)
	})
	if err != nil {
		return s, "", fmt.Errorf("tenant: new session: %w", err)
	}
	return s, strconv.FormatInt(tenantID, 10) + "." + secret, nil
}

// SessionByCookie finds the live session a cookie value names, or
// ErrNotFound.
func (db *DB) SessionByCookie(ctx context.Context, cookie string) (Session, error) {
	tenantID, secret, ok := splitCookie(cookie)
	if !ok {
		return Session{}, ErrNotFound
	}
	s := Session{TenantID: tenantID}
	err := db.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT s.id, s.account_id, a.email, s.csrf_token, s.expires_at,
				(SELECT status = '`+StatusSuspended+`' FROM tenants WHERE id = s.tenant_id)
			FROM owner_sessions s JOIN owner_accounts a ON a.tenant_id = s.tenant_id AND a.id = s.account_id
			WHERE s.token_hash = $1 AND s.expires_at > now()`, hashToken(secret)).
			Scan(&s.ID, &s.AccountID, &s.Email, &s.CSRFToken, &s.ExpiresAt, &s.Suspended)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return s, ErrNotFound
	}
	if err != nil {
		return s, fmt.Errorf("tenant: session: %w", err)
	}
	return s, nil
}

// LogOut ends the session a cookie value names; an unknown one is ignored.
func (db *DB) LogOut(ctx context.Context, cookie string) error {
	tenantID, secret, ok := splitCookie(cookie)
	if !ok {
		return nil
	}
	err := db.Tx(ctx, tenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "DELETE FROM owner_sessions WHERE token_hash = $1", hashToken(secret))
		return err
	})
	if err != nil {
		return fmt.Errorf("tenant: log out: %w", err)
	}
	return nil
}

func splitCookie(cookie string) (int64, string, bool) {
	id, secret, ok := strings.Cut(cookie, ".")
	tenantID, err := strconv.ParseInt(id, 10, 64)
	if !ok || err != nil || tenantID <= 0 || len(secret) < 32 || len(secret) > 100 {
		return 0, "", false
	}
	return tenantID, secret, true
}

func hashToken(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

// randomToken returns n random bytes, base64url encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// passwordProblem says what is wrong with a new password, or "" if
// nothing is: lengths count characters, not bytes, and a password of
// spaces alone guards nothing.
func passwordProblem(password string) string {
	switch n := utf8.RuneCountInString(password); {
	case n < 10:
		return "The password must be at least 10 characters."
	case n > 1000:
		return "The password can be at most 1000 characters."
	case strings.TrimSpace(password) == "":
		return "The password cannot be spaces alone."
	}
	return ""
}
