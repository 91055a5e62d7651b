package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// conversationTTL is how long a person may pause inside a flow before the
// bot forgets where they were.
const conversationTTL = 30 * time.Minute

// conversation is where a person is in a multi-step flow with a bot. It is
// kept in PostgreSQL, so a restart or another server loses nothing.
type conversation struct {
	Flow string
	Step string
	Data map[string]any
	// Lapsed is the flow of a conversation that timed out in the last
	// day (the conversation itself is then empty): its late answer is
	// told so, rather than taken for a member's text.
	Lapsed string
}

func loadConversation(ctx context.Context, tx pgx.Tx, botID, userID int64) (conversation, error) {
	var c conversation
	var raw []byte
	var live bool
	// FOR UPDATE: two updates of one person handled at once (a double tap
	// on Create) take the conversation in turn, and the second sees what
	// the first left, not the draft both started from.
	err := tx.QueryRow(ctx, `SELECT flow, step, data, expires_at > now() FROM conversations
		WHERE bot_id = $1 AND telegram_user_id = $2 AND expires_at > now() - interval '1 day' FOR UPDATE`, botID, userID).
		Scan(&c.Flow, &c.Step, &raw, &live)
	if errors.Is(err, pgx.ErrNoRows) {
		return conversation{}, nil
	}
	if err != nil {
		return c, fmt.Errorf("bot: load conversation: %w", err)
	}
	if !live {
		return conversation{Lapsed: c.Flow}, nil
	}
	return c, json.Unmarshal(raw, &c.Data)
}

func saveConversation(ctx context.Context, tx pgx.Tx, botID, userID int64, c conversation) error {
	if c.Data == nil {
		c.Data = map[string]any{}
	}
	_, err := tx.Exec(ctx, `INSERT INTO conversations (tenant_id, bot_id, telegram_user_id, flow, step, data, expires_at)
		VALUES (gatekey_tenant(), $1, $2, $3, $4, $5, now() + $6::interval)
		ON CONFLICT (tenant_id, bot_id, telegram_user_id) DO UPDATE
		SET flow = excluded.flow, step = excluded.step, data = excluded.data, expires_at = excluded.expires_at`,
		botID, userID, c.Flow, c.Step, c.Data, conversationTTL)
	if err != nil {
		return fmt.Errorf("bot: save conversation: %w", err)
	}
	return nil
}

func clearConversation(ctx context.Context, tx pgx.Tx, botID, userID int64) error {
	_, err := tx.Exec(ctx, "DELETE FROM conversations WHERE bot_id = $1 AND telegram_user_id = $2", botID, userID)
	if err != nil {
		return fmt.Errorf("bot: clear conversation: %w", err)
	}
	return nil
}

// cancelConversation forgets where the person was, and says whether a
// flow was open (one timed out does not count).
func cancelConversation(ctx context.Context, tx pgx.Tx, botID, userID int64) (open bool, err error) {
	err = tx.QueryRow(ctx, `WITH gone AS (
			DELETE FROM conversations WHERE bot_id = $1 AND telegram_user_id = $2 RETURNING expires_at > now() AS live
		) SELECT coalesce(bool_or(live), false) FROM gone`, botID, userID).Scan(&open)
	if err != nil {
		return false, fmt.Errorf("bot: cancel conversation: %w", err)
	}
	return open, nil
}

// get reads a flow's data into v, a struct of the flow's own: the data
// goes through JSON, so the flow keeps its types rather than map values.
func (c conversation) get(v any) error {
	raw, err := json.Marshal(c.Data)
	if err == nil {
		err = json.Unmarshal(raw, v)
	}
	if err != nil {
		return fmt.Errorf("bot: read conversation data: %w", err)
	}
	return nil
}

// put stores v, a struct of the flow's own, as the flow's data.
func (c *conversation) put(v any) error {
	raw, err := json.Marshal(v)
	if err == nil {
		c.Data = nil
		err = json.Unmarshal(raw, &c.Data)
	}
	if err != nil {
		return fmt.Errorf("bot: keep conversation data: %w", err)
	}
	return nil
}
