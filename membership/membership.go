// Package membership owns the rules of who may be where, and until when:
// plans and the chats they open, members (Telegram users of a bot), their
// memberships, orders, and the access codes that grant them. Every
// function here runs inside a tenant.Tx transaction and never talks to
// Telegram: what must follow is returned for the caller to queue.
package membership

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// ErrNotFound is returned for a row that does not exist in this tenant.
var ErrNotFound = errors.New("membership: not found")

// Person is a Telegram user as an update shows them.
type Person struct {
	TelegramUserID int64
	Username       string
	FirstName      string
	LastName       string
}

// DisplayName is how the owner sees the person: @username, else the name.
func (p Person) DisplayName() string {
	if p.Username != "" {
		return "@" + p.Username
	}
	return strings.TrimSpace(p.FirstName + " " + p.LastName)
}

// Member is a Telegram user of one of the tenant's bots.
type Member struct {
	ID    int64
	BotID int64
	Person
}

// UpsertMember records the person as a member of the bot (or refreshes
// their name) and returns the member. Writing to a member also clears
// "unreachable": they just wrote to the bot, so it can write back.
//
// Every private message comes through here, and nearly always the row is
// already as it should be, so it is read first, and written only when it
// is missing or differs: a plain read costs PostgreSQL less than an
// upsert, even one that writes nothing.
func UpsertMember(ctx context.Context, tx pgx.Tx, botID int64, p Person) (Member, error) {
	m := Member{BotID: botID, Person: p}
	var unchanged bool
	err := tx.QueryRow(ctx, memberQuery, botID, p.TelegramUserID, p.Username, p.FirstName, p.LastName).Scan(&m.ID, &unchanged)
	if err == nil && unchanged {
		return m, nil
	}
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return m, fmt.Errorf("membership: upsert member: %w", err)
	}
	m.ID, err = writeMember(ctx, tx, botID, p)
	return m, err
}

// memberQuery reads the member's id, and whether their row is as the
// person ($3-$5) shows them and reachable.
const memberQuery = `SELECT id, username = $3 AND first_name = $4 AND last_name = $5 AND unreachable_at IS NULL
	FROM members WHERE bot_id = $1 AND telegram_user_id = $2`

// writeMember inserts or refreshes the member's row and returns its id.
func writeMember(ctx context.Context, tx pgx.Tx, botID int64, p Person) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `
		INSERT INTO members (tenant_id, bot_id, telegram_user_id, username, first_name, last_name)
		VALUES (gatekey_tenant(), $1, $2, $3, $4, $5)
		ON CONFLICT (tenant_id, bot_id, telegram_user_id) DO UPDATE
		SET username = excluded.username, first_name = excluded.first_name,
		    last_name = excluded.last_name, unreachable_at = NULL
		RETURNING id`,
		botID, p.TelegramUserID, p.Username, p.FirstName, p.LastName).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("membership: upsert member: %w", err)
	}
	return id, nil
}

// MarkUnreachable notes that a member blocked the bot, so nothing more is
// retried towards them until they write again.
func MarkUnreachable(ctx context.Context, tx pgx.Tx, botID, telegramUserID int64) error {
	_, err := tx.Exec(ctx, `UPDATE members SET unreachable_at = now()
		WHERE bot_id = $1 AND telegram_user_id = $2 AND unreachable_at IS NULL`, botID, telegramUserID)
	if err != nil {
		return fmt.Errorf("membership: mark unreachable: %w", err)
	}
	return nil
}
