package membership

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// Refusal is an activation that did not happen, with a message for the
// member. Apart from counting wrong guesses, a refusal changes nothing.
type Refusal struct {
	Reason  string // unknown, deleted, expired, used_up, already_activated, lifetime, too_many_attempts
	Message string
}

func (r *Refusal) Error() string { return "membership: code refused: " + r.Reason }

// Guessing brake: this many unknown codes within the window, and the
// member must wait for the window to pass.
const (
	MaxCodeFailures   = 5
	CodeFailureWindow = 10 * time.Minute
)

// Membership is a member's access to a plan's chats for a period.
type Membership struct {
	ID       int64
	MemberID int64
	PlanID   int64
	Status   string // active, expired, revoked
	StartsAt time.Time
	EndsAt   *time.Time // nil: lifetime
}

// Order records what a grant was worth: 0 for a zero-priced code.
type Order struct {
	ID     int64
	Amount Money
	Source string
}

// Activation is a code turned into a membership.
type Activation struct {
	ID         int64
	Code       Code
	Plan       Plan
	Member     Member
	Membership Membership
	Order      Order
	Extended   bool // an active membership was extended rather than created
	Returning  bool // a new membership of a member who had the plan before
}

// Activate redeems a code (as typed; it is normalised here) for member.
// It either grants or extends the plan's membership, records the order and
// the activation, and returns them; or it returns a *Refusal. It locks the
// code's row, so concurrent activations of one code are counted exactly.
func Activate(ctx context.Context, tx pgx.Tx, member Member, typed string) (Activation, error) {
	a := Activation{Member: member}
	failures, wait, err := lockedOut(ctx, tx, member.ID)
	if err != nil || wait > 0 {
		if err != nil {
			return a, err
		}
		return a, &Refusal{"too_many_attempts", fmt.Sprintf(
			"Too many wrong codes. Please wait %s before sending another code or opening an activation link.", minutes(wait))}
	}
	candidates := FindCodes(typed)
	if len(candidates) == 0 && !LooksLikeCode(typed) {
		return a, notACode
	}
	var used bool
	err = ErrNotFound
	sure := len(candidates) == 0 // a code mistyped
	for _, c := range candidates {
		if a.Code, used, err = lockCode(ctx, tx, member.BotID, c.Code, member.ID); !errors.Is(err, ErrNotFound) {
			break
		}
		sure = sure || c.Sure
	}
	switch {
	case errors.Is(err, ErrNotFound) && !sure:
		return a, notACode // words, most likely: not counted
	case errors.Is(err, ErrNotFound):
		return a, wrongCode(ctx, tx, member.ID)
	case err != nil:
		return a, err
	}
	if r := refuse(a.Code, used); r != nil {
		return a, r
	}
	return a, redeem(ctx, tx, &a, failures > 0)
}

// redeem does the granting part of Activate for a code that may be used;
// resetFailures clears the member's count of wrong codes.
func redeem(ctx context.Context, tx pgx.Tx, a *Activation, resetFailures bool) error {
	var err error
	if a.Plan, err = GetPlan(ctx, tx, a.Code.PlanID); err != nil {
		return err
	}
	if by, err := lifetimeCover(ctx, tx, a.Member.ID, a.Plan.ID); err != nil || by != "" {
		if err != nil {
			return err
		}
		return &Refusal{"covered", fmt.Sprintf("Your lifetime access to %s already opens every chat of %s, so this code would add nothing. "+
			"It is left unused: keep it, or give it to someone else.", by, a.Plan.Name)}
	}
	g, err := Grant(ctx, tx, a.Member.ID, a.Plan)
	if errors.Is(err, errAlreadyLifetime) {
		return &Refusal{"lifetime", fmt.Sprintf("You already have lifetime access to %s, so there is nothing to add.", a.Plan.Name)}
	}
	if err != nil {
		return err
	}
	a.Membership, a.Extended, a.Returning = g.Membership, g.Extended, g.Returning
	price := a.Plan.Price
	if a.Code.ZeroPriced {
		price.Minor = 0
	}
	if a.Order, err = createOrder(ctx, tx, a.Member.ID, a.Plan.ID, a.Membership.ID, "access_code", price); err != nil {
		return err
	}
	// One round trip records the activation and counts it on the code.
	err = tx.QueryRow(ctx, `WITH activation AS (
			INSERT INTO code_activations
			(tenant_id, code_id, member_id, membership_id, order_id, extended, added_from, added_until)
			VALUES (gatekey_tenant(), $1, $2, $3, $4, $5, $6, $7) RETURNING id),
		counted AS (UPDATE access_codes SET activations = activations + 1 WHERE id = $1)
		SELECT id FROM activation`,
		a.Code.ID, a.Member.ID, a.Membership.ID, a.Order.ID, g.Extended, g.AddedFrom, g.AddedUntil).Scan(&a.ID)
	if err == nil && resetFailures {
		_, err = tx.Exec(ctx, `UPDATE members SET code_failures = 0, code_failures_since = NULL WHERE id = $1`, a.Member.ID)
	}
	if err != nil {
		return fmt.Errorf("membership: record activation: %w", err)
	}
	a.Code.Activations++
	return nil
}

// lockCode locks the code's row, and tells in the same round trip whether
// memberID has activated it before (an activation rolled back does not
// count: its code is deleted, and that is what the member is told).
func lockCode(ctx context.Context, tx pgx.Tx, botID int64, code string, memberID int64) (c Code, used bool, err error) {
	c, err = scanCode(withColumns{tx.QueryRow(ctx, "SELECT "+codeColumns+
		`, EXISTS (SELECT FROM code_activations a WHERE a.code_id = c.id AND a.member_id = $3 AND a.rolled_back_at IS NULL)
		FROM access_codes c JOIN plans p ON p.tenant_id = c.tenant_id AND p.id = c.plan_id
		WHERE c.bot_id = $1 AND c.code = $2 FOR UPDATE OF c`, botID, code, memberID), []any{&used}})
	if errors.Is(err, pgx.ErrNoRows) {
		return c, false, ErrNotFound
	}
	if err != nil {
		return c, false, fmt.Errorf("membership: look up code: %w", err)
	}
	return c, used, nil
}

// withColumns is a row with columns after those its reader scans, which
// go to more.
type withColumns struct {
	pgx.Row
	more []any
}

func (r withColumns) Scan(dest ...any) error { return r.Row.Scan(append(dest, r.more...)...) }

// refuse says why an existing code cannot be activated by this member now
// (used: they activated it before).
func refuse(c Code, used bool) *Refusal {
	switch {
	case used:
		return &Refusal{"already_activated", "You have already activated this code. Send /start to see your access."}
	case c.Status(time.Now()) == StatusDeleted:
		return &Refusal{"deleted", "That code is no longer valid. If you think this is a mistake, ask whoever gave it to you."}
	case c.Status(time.Now()) == StatusExpired:
		return &Refusal{"expired", fmt.Sprintf("That code expired on %s. Ask whoever gave it to you for a new one.", FormatDate(*c.ExpiresAt))}
	case c.Status(time.Now()) == StatusUsedUp:
		return &Refusal{"used_up", "That code has already been used as many times as it allows: ask whoever gave it to you for a new one."}
	}
	return nil
}

// lockedOut locks the member's row (one activation per member at a time),
// and returns their count of recent wrong codes and how long they must
// still wait after too many.
func lockedOut(ctx context.Context, tx pgx.Tx, memberID int64) (failures int, wait time.Duration, err error) {
	var seconds float64
	err = tx.QueryRow(ctx, `SELECT code_failures,
		coalesce(extract(epoch FROM code_failures_since + $2::interval - now()), 0)::float8
		FROM members WHERE id = $1 FOR UPDATE`, memberID, CodeFailureWindow).Scan(&failures, &seconds)
	if err != nil {
		return 0, 0, fmt.Errorf("membership: lock member: %w", err)
	}
	if failures >= MaxCodeFailures && seconds > 0 {
		return failures, time.Duration(seconds * float64(time.Second)), nil
	}
	return failures, 0, nil
}

// countFailure counts a wrong code in the member's current window, or
// starts a new window.
func countFailure(ctx context.Context, tx pgx.Tx, memberID int64) (failures int, left time.Duration, err error) {
	var seconds float64
	err = tx.QueryRow(ctx, `UPDATE members SET
		code_failures = CASE WHEN code_failures_since > now() - $2::interval THEN code_failures + 1 ELSE 1 END,
		code_failures_since = CASE WHEN code_failures_since > now() - $2::interval THEN code_failures_since ELSE now() END
		WHERE id = $1
		RETURNING code_failures, extract(epoch FROM code_failures_since + $2::interval - now())::float8`,
		memberID, CodeFailureWindow).Scan(&failures, &seconds)
	if err != nil {
		return 0, 0, fmt.Errorf("membership: count wrong code: %w", err)
	}
	return failures, time.Duration(seconds * float64(time.Second)), nil
}

// lifetimeCover names another plan the member holds for life that opens
// every chat of planID, or returns "": a code for planID would then spend
// an activation on nothing.
func lifetimeCover(ctx context.Context, tx pgx.Tx, memberID, planID int64) (string, error) {
	var name string
	err := tx.QueryRow(ctx, `SELECT p.name FROM memberships m JOIN plans p ON p.tenant_id = m.tenant_id AND p.id = m.plan_id
		WHERE m.member_id = $1 AND m.status = 'active' AND m.ends_at IS NULL AND m.plan_id <> $2
		AND EXISTS (SELECT FROM plan_chats WHERE plan_id = $2)
		AND NOT EXISTS (SELECT FROM plan_chats pc WHERE pc.plan_id = $2 AND NOT EXISTS (
			SELECT FROM plan_chats opc WHERE opc.plan_id = m.plan_id AND opc.chat_id = pc.chat_id))
		ORDER BY m.id LIMIT 1`, memberID, planID).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("membership: lifetime cover: %w", err)
	}
	return name, nil
}

// notACode answers text that was not meant as a code.
var notACode = &Refusal{"not_a_code", "That is not an access code: a code is 16 letters and digits, such as 7K3M-Q9TX-2PWD-H4NB. " +
	"Send it as it is written, or open the activation link that came with it."}

// wrongCode counts a wrong code and refuses it, warning the member when
// one more would make them wait, and saying how long when it does.
func wrongCode(ctx context.Context, tx pgx.Tx, memberID int64) error {
	failures, left, err := countFailure(ctx, tx, memberID)
	if err != nil {
		return err
	}
	const wrong = "That code is not valid for this bot."
	switch {
	case failures >= MaxCodeFailures:
		return &Refusal{"unknown", fmt.Sprintf("%s That was %d wrong codes: please wait %s before sending another code or opening an activation link.",
			wrong, failures, minutes(left))}
	case failures == MaxCodeFailures-1:
		return &Refusal{"unknown", fmt.Sprintf("%s Check it carefully before you send it again: after one more wrong code, you will have to wait %s.",
			wrong, minutes(left))}
	}
	return &Refusal{"unknown", wrong + " Check it and send it again."}
}

func minutes(d time.Duration) string {
	m := int(d.Minutes() + 0.999)
	if m <= 1 {
		return "a minute"
	}
	return fmt.Sprintf("%d minutes", m)
}

// FormatDate is how dates appear in messages: "2 Jan 2026 15:04 UTC".
func FormatDate(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 UTC") }

// Plural is a count as messages give it: "1 code", "2 codes", "0 codes",
// "1,000,000 activations".
func Plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return Thousands(n) + " " + many
}

// Thousands writes n with commas between thousands: 1,000,000.
func Thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
