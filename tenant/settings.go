package tenant

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// MaxCodeAutoDeleteDays bounds the auto-delete setting (ten years).
const MaxCodeAutoDeleteDays = 3650

// UpdateSettings stores the tenant's settings. The auto-delete setting
// judges every existing code by its creation time against the new value,
// so lowering it applies to old codes at once.
func UpdateSettings(ctx context.Context, tx pgx.Tx, s Settings) error {
	if s.CodeAutoDeleteDays < 0 || s.CodeAutoDeleteDays > MaxCodeAutoDeleteDays {
		return errors.New("auto-delete must be off, or 1 to 3650 days")
	}
	_, err := tx.Exec(ctx, `UPDATE tenants SET code_autodelete_days = nullif($1, 0), zero_price_default = $2
		WHERE id = gatekey_tenant()`, s.CodeAutoDeleteDays, s.ZeroPriceDefault)
	if err != nil {
		return fmt.Errorf("tenant: update settings: %w", err)
	}
	return nil
}

// SetAdminNotify turns a bot admin's Telegram notifications on or off.
func SetAdminNotify(ctx context.Context, tx pgx.Tx, botID, telegramUserID int64, notify bool) error {
	tag, err := tx.Exec(ctx, "UPDATE bot_admins SET notify = $3 WHERE bot_id = $1 AND telegram_user_id = $2",
		botID, telegramUserID, notify)
	if err != nil {
		return fmt.Errorf("tenant: set notify: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}
