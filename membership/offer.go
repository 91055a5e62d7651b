package membership

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// Offer is what a bot's welcome shows a member: the plans on offer, the
// member's own active memberships, and whether the plans can be paid for.
type Offer struct {
	Plans  []Plan    // the bot's plans that are not archived, oldest first
	Access []Holding // the member's active memberships, soonest end first
	// Payable is true when the tenant's Stripe account can take payments,
	// as billing.StripeAccount.CanCharge says; it is read here so that the
	// welcome costs one statement (without plans it stays false: there is
	// nothing to pay for).
	Payable bool
}

// Holding is one of a member's active memberships, as the welcome lists it.
type Holding struct {
	Membership Membership
	PlanName   string
	// AllJoined is true when the member is in every chat of the plan.
	AllJoined bool
}

// GetOffer reads a member's Offer in one statement: the plans are those
// ListPlans returns, the memberships those ActiveMemberships returns, with
// their plans' names (archived plans too) and whether the member has
// joined each of their chats (as GetAccess tells it).
func GetOffer(ctx context.Context, tx pgx.Tx, botID, memberID int64) (Offer, error) {
	rows, err := tx.Query(ctx, offerByMemberID, botID, memberID)
	if err != nil {
		return Offer{}, fmt.Errorf("membership: get offer: %w", err)
	}
	return scanOffer(rows, memberID)
}

// Welcome does what UpsertMember and GetOffer do, for a /start, the most
// common update: the member's row and their Offer are read in one round
// trip, and the row is written only when it is missing or differs (a new
// member then has no memberships, so the Offer read with it holds).
func Welcome(ctx context.Context, tx pgx.Tx, botID int64, p Person) (Member, Offer, error) {
	var batch pgx.Batch
	w := QueueWelcome(&batch, botID, p)
	if err := tx.SendBatch(ctx, &batch).Close(); err != nil {
		return w.member, Offer{}, fmt.Errorf("membership: welcome: %w", err)
	}
	return w.Finish(ctx, tx)
}

// WelcomeReads are Welcome's reads, queued on a batch that may carry
// other statements before them: the webhook sends them with an update's
// first statement, so that a /start's welcome costs no round trip of its
// own. Once the batch has run, Finish completes the welcome.
type WelcomeReads struct {
	member    Member
	unchanged bool // the member's row is as the person shows them
	offer     Offer
}

// QueueWelcome queues Welcome's reads for the person on batch.
func QueueWelcome(batch *pgx.Batch, botID int64, p Person) *WelcomeReads {
	w := &WelcomeReads{member: Member{BotID: botID, Person: p}}
	batch.Queue(memberQuery, botID, p.TelegramUserID, p.Username, p.FirstName, p.LastName).QueryRow(func(row pgx.Row) error {
		err := row.Scan(&w.member.ID, &w.unchanged)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // a newcomer: Finish writes their row
		}
		return err
	})
	batch.Queue(offerByTelegramUser, botID, p.TelegramUserID).
		Query(func(rows pgx.Rows) (err error) {
			w.offer, err = scanOffer(rows, w.member.ID) // the member's id was read just before
			return err
		})
	return w
}

// Finish writes the member's row when it is missing or differs, and
// returns the member and their Offer.
func (w *WelcomeReads) Finish(ctx context.Context, tx pgx.Tx) (Member, Offer, error) {
	if w.member.ID == 0 || !w.unchanged {
		id, err := writeMember(ctx, tx, w.member.BotID, w.member.Person)
		if err != nil {
			return w.member, Offer{}, err
		}
		w.member.ID = id
	}
	return w.member, w.offer, nil
}

// The two ways an Offer is read: bot $1 and member $2, or bot $1 and the
// member who is Telegram user $2. Built once: a welcome's statement was
// otherwise a kilobyte to build again at every /start.
var (
	offerByMemberID     = offerQuery("$2")
	offerByTelegramUser = offerQuery("(SELECT id FROM members WHERE bot_id = $1 AND telegram_user_id = $2)")
)

// offerQuery reads an Offer, for bot $1 and the member whose id memberID
// (an SQL expression) gives.
func offerQuery(memberID string) string {
	return `WITH access AS (
			SELECT ms.id, ms.plan_id, ms.starts_at, ms.ends_at,
				NOT EXISTS (SELECT FROM plan_chats pc WHERE pc.plan_id = ms.plan_id AND NOT EXISTS (
					SELECT FROM member_chats mc WHERE mc.member_id = ms.member_id AND mc.chat_id = pc.chat_id
					AND mc.status = 'joined')) AS all_joined
			FROM memberships ms WHERE ms.member_id = ` + memberID + ` AND ms.status = 'active'
		)
		SELECT ` + planColumns + `, p.bot_id = $1 AND p.archived_at IS NULL,
			a.id, a.starts_at, a.ends_at, a.all_joined,
			(SELECT coalesce(stripe_account_id, '') <> '' AND stripe_charges_enabled FROM tenants WHERE id = gatekey_tenant())
		FROM plans p LEFT JOIN access a ON a.plan_id = p.id
		WHERE (p.bot_id = $1 AND p.archived_at IS NULL) OR p.id IN (SELECT plan_id FROM access)
		ORDER BY p.id`
}

// scanOffer reads offerQuery's rows, and closes them.
func scanOffer(rows pgx.Rows, memberID int64) (Offer, error) {
	defer rows.Close()
	var o Offer
	for rows.Next() {
		var (
			offered, payable bool
			msID             *int64
			startsAt         *time.Time
			endsAt           *time.Time
			allJoined        *bool
		)
		p, err := scanPlan(withColumns{rows, []any{&offered, &msID, &startsAt, &endsAt, &allJoined, &payable}})
		if err != nil {
			return Offer{}, fmt.Errorf("membership: get offer: %w", err)
		}
		if offered {
			o.Plans = append(o.Plans, p)
		}
		if msID != nil {
			o.Access = append(o.Access, Holding{
				Membership: Membership{ID: *msID, MemberID: memberID, PlanID: p.ID, Status: "active", StartsAt: *startsAt, EndsAt: endsAt},
				PlanName:   p.Name,
				AllJoined:  *allJoined,
			})
		}
		o.Payable = payable
	}
	if err := rows.Err(); err != nil {
		return Offer{}, fmt.Errorf("membership: get offer: %w", err)
	}
	slices.SortFunc(o.Access, func(a, b Holding) int { return soonestEndFirst(a.Membership, b.Membership) })
	return o, nil
}

// soonestEndFirst orders memberships as ActiveMemberships does: by end,
// lifetime last, then by id.
func soonestEndFirst(a, b Membership) int {
	switch {
	case a.EndsAt == nil && b.EndsAt != nil:
		return 1
	case a.EndsAt != nil && b.EndsAt == nil:
		return -1
	case a.EndsAt != nil && !a.EndsAt.Equal(*b.EndsAt):
		return a.EndsAt.Compare(*b.EndsAt)
	}
	return cmp.Compare(a.ID, b.ID)
}
