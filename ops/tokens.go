package ops

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gatekey/gatekey/tenant"
)

// Staff tokens read "gk_ops_" and 32 random bytes in base64url. Only the
// token's SHA-256 is kept, and a presented token is found by its hash:
// with 256 random bits there is nothing to stretch, and nothing to guess.

// TokenPrefix starts every staff token, so that one pasted in the wrong
// place is easy to recognise (and to scan for).
const TokenPrefix = "gk_ops_"

// Roles of a staff token.
const (
	RoleAdmin = "admin" // reads and changes
	RoleRead  = "read"  // reads only
)

var (
	// ErrTokenName is a name that staff could not tell apart in the log.
	ErrTokenName = errors.New("a token's name is 1 to 100 letters, digits and . _ @ + -, starting with a letter or digit")
	// ErrTokenRole is a role other than admin or read.
	ErrTokenRole = errors.New("a token's role is admin or read")
	// ErrTokenExists is a name that a live token already has.
	ErrTokenExists = errors.New("a live staff token already has this name: revoke it first, or choose another name")
	// ErrNoSuchToken is a name that no live token has.
	ErrNoSuchToken = errors.New("no live staff token has this name")
)

var tokenName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$`)
var tokenShape = regexp.MustCompile(`^` + TokenPrefix + `[A-Za-z0-9_-]{43}$`)

// Token is a staff token as ops keeps it; the token itself is shown once,
// when it is made, and never kept.
type Token struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Role       string     `json:"role"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// CanWrite reports whether the token may change things.
func (t Token) CanWrite() bool { return t.Role == RoleAdmin }

const tokenColumns = "id, name, role, created_at, last_used_at, revoked_at"

func scanToken(row pgx.Row) (Token, error) {
	var t Token
	err := row.Scan(&t.ID, &t.Name, &t.Role, &t.CreatedAt, &t.LastUsedAt, &t.RevokedAt)
	return t, err
}

// Operator is who ran a command that makes or revokes a staff token, as
// far as the machine running it can tell: the operating system's user and
// host name (and the user sudo was run by, if it was). There is no staff
// token to name, and these are only as telling as the machine's accounts:
// a shared root account says little.
type Operator struct {
	User     string
	Host     string
	SudoUser string // SUDO_USER, when run under sudo
}

// auditCLI writes the ops audit entry of `gatekey ops token <command>`
// in tx, so that no token is made or revoked without its entry. The entry
// is filed under the token it is about, with the method CLI: a search by
// the token's name finds its whole life, its calls between its creation
// and its revocation.
func auditCLI(ctx context.Context, tx pgx.Tx, command string, t Token, by Operator) error {
	sum := map[string]any{"role": t.Role, "os_user": by.User, "host": by.Host}
	if by.SudoUser != "" {
		sum["sudo_user"] = by.SudoUser
	}
	return insertEntry(ctx, tx, entry{TokenID: &t.ID, TokenName: t.Name, Method: methodCLI,
		Path: "gatekey ops token " + command, Status: 200, Summary: sum})
}

// CreateToken makes a staff token and returns it with the token itself,
// which the caller shows once; the ops audit log records who made it.
func CreateToken(ctx context.Context, db *tenant.DB, name, role string, by Operator) (Token, string, error) {
	if !tokenName.MatchString(name) {
		return Token{}, "", ErrTokenName
	}
	if role != RoleAdmin && role != RoleRead {
		return Token{}, "", ErrTokenRole
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return Token{}, "", fmt.Errorf("ops: create token: %w", err)
	}
	full := TokenPrefix + base64.RawURLEncoding.EncodeToString(secret)
	var t Token
	err := pgx.BeginFunc(ctx, db.Pool(), func(tx pgx.Tx) error {
		var err error
		t, err = scanToken(tx.QueryRow(ctx, `INSERT INTO ops_tokens (name, role, token_hash)
			VALUES ($1, $2, $3) RETURNING `+tokenColumns, name, role, hashToken(full)))
		if err != nil {
			return err
		}
		return auditCLI(ctx, tx, "create", t, by)
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return Token{}, "", ErrTokenExists
	}
	if err != nil {
		return Token{}, "", fmt.Errorf("ops: create token: %w", err)
	}
	return t, full, nil
}

// RevokeToken stops the live token of that name from working, at once;
// the ops audit log records who revoked it.
func RevokeToken(ctx context.Context, db *tenant.DB, name string, by Operator) (Token, error) {
	var t Token
	err := pgx.BeginFunc(ctx, db.Pool(), func(tx pgx.Tx) error {
		var err error
		t, err = scanToken(tx.QueryRow(ctx, `UPDATE ops_tokens SET revoked_at = now()
			WHERE name = $1 AND revoked_at IS NULL RETURNING `+tokenColumns, name))
		if err != nil {
			return err
		}
		return auditCLI(ctx, tx, "revoke", t, by)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return t, ErrNoSuchToken
	}
	if err != nil {
		return t, fmt.Errorf("ops: revoke token: %w", err)
	}
	return t, nil
}

// ListTokens lists every staff token, revoked ones too, oldest first.
func ListTokens(ctx context.Context, db *tenant.DB) ([]Token, error) {
	rows, err := db.Pool().Query(ctx, "SELECT "+tokenColumns+" FROM ops_tokens ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("ops: list tokens: %w", err)
	}
	tokens, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Token, error) { return scanToken(r) })
	if err != nil {
		return nil, fmt.Errorf("ops: list tokens: %w", err)
	}
	return tokens, nil
}

var (
	errBadToken     = errors.New("not a staff token")
	errRevokedToken = errors.New("revoked staff token")
)

// findToken finds the token a request presents: errBadToken for one that
// does not exist or is malformed, errRevokedToken for a revoked one.
func findToken(ctx context.Context, db *tenant.DB, presented string) (Token, error) {
	if !tokenShape.MatchString(presented) {
		return Token{}, errBadToken
	}
	t, err := scanToken(db.Pool().QueryRow(ctx, "SELECT "+tokenColumns+" FROM ops_tokens WHERE token_hash = $1", hashToken(presented)))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return t, errBadToken
	case err != nil:
		return t, fmt.Errorf("ops: find token: %w", err)
	case t.RevokedAt != nil:
		return t, errRevokedToken
	}
	// Note the use, at most once a minute, to keep calls read-mostly.
	if t.LastUsedAt == nil || time.Since(*t.LastUsedAt) > time.Minute {
		if _, err := db.Pool().Exec(ctx, "UPDATE ops_tokens SET last_used_at = now() WHERE id = $1", t.ID); err != nil {
			return t, fmt.Errorf("ops: note token use: %w", err)
		}
	}
	return t, nil
}

func hashToken(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}
