package console

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/gatekey/gatekey/jobs"
	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/tenant"
)

type membersData struct {
	Filter  membership.MemberFilter
	Rows    []membership.MemberRow
	Plans   []membership.Plan
	Bots    map[int64]tenant.Bot
	Older   string
	Error   string
	Statues []string
}

func memberFilter(c *fiber.Ctx) membership.MemberFilter {
	f := membership.MemberFilter{Status: c.Query("status"), Search: strings.TrimSpace(c.Query("q"))}
	f.PlanID, _ = strconv.ParseInt(c.Query("plan"), 10, 64)
	f.BotID, _ = strconv.ParseInt(c.Query("bot"), 10, 64)
	f.BeforeID, _ = strconv.ParseInt(c.Query("before"), 10, 64)
	return f
}

func (con *Console) membersPage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	f := memberFilter(c)
	d := membersData{Filter: f, Statues: []string{"active", "expired", "revoked"}}
	err := con.tx(ctx, session(c).TenantID, func(tx pgx.Tx) error {
		var err error
		if d.Bots, _, err = botsAndChats(ctx, tx); err != nil {
			return err
		}
		if d.Plans, err = membership.AllPlans(ctx, tx, true); err != nil {
			return err
		}
		f.Limit = PageSize + 1
		if d.Rows, err = membership.ListMembers(ctx, tx, f); err != nil {
			return err
		}
		if len(d.Rows) > PageSize {
			d.Rows = d.Rows[:PageSize]
			q := url.Values{}
			for k, v := range map[string]string{"status": f.Status, "q": f.Search} {
				if v != "" {
					q.Set(k, v)
				}
			}
			if f.PlanID != 0 {
				q.Set("plan", strconv.FormatInt(f.PlanID, 10))
			}
			q.Set("before", strconv.FormatInt(d.Rows[len(d.Rows)-1].ID, 10))
			d.Older = "/members?" + q.Encode()
		}
		return nil
	})
	if msg, ok := formError(err); ok {
		d.Error = msg
		return con.render(c, 422, "members", "Members", d)
	}
	if err != nil {
		return con.fail(c, err)
	}
	return con.render(c, 200, "members", "Members", d)
}

type memberData struct {
	membership.MemberDetail
	Bot tenant.Bot
}

func (con *Console) memberPage(c *fiber.Ctx) error {
	id, ok := idParam(c, "id")
	if !ok {
		return con.notFound(c)
	}
	ctx := c.UserContext()
	var d memberData
	err := con.tx(ctx, session(c).TenantID, func(tx pgx.Tx) (err error) {
		if d.MemberDetail, err = membership.GetMember(ctx, tx, id); err != nil {
			return err
		}
		d.Bot, err = tenant.GetBot(ctx, tx, d.BotID)
		return err
	})
	if err != nil {
		return con.fail(c, err)
	}
	return con.render(c, 200, "member", d.DisplayName(), d)
}

// revocation is what revoke did: how many memberships it ended, and the
// titles of the chats the member stays in because the bot cannot remove
// members there.
type revocation struct {
	ended int
	kept  []string
}

// revoke ends a member's memberships (one, or all that are active when
// membershipID is 0) and queues their removal from the chats, in one
// transaction. A membershipID that is not one of the member's is not
// found, and nothing is ended.
func (con *Console) revoke(ctx context.Context, tenantID, memberID, membershipID int64) (revocation, error) {
	var r revocation
	err := con.tx(ctx, tenantID, func(tx pgx.Tx) error {
		r = revocation{}
		d, err := membership.GetMember(ctx, tx, memberID)
		if err != nil {
			return err
		}
		if membershipID != 0 && !hasMembership(d, membershipID) {
			return fmt.Errorf("console: revoke membership %d of member %d: %w", membershipID, memberID, membership.ErrNotFound)
		}
		for _, m := range d.Memberships {
			if m.Status != "active" || (membershipID != 0 && m.ID != membershipID) {
				continue
			}
			e, ok, err := membership.Revoke(ctx, tx, m.ID)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			r.ended++
			for _, ch := range e.Kept {
				if !slices.Contains(r.kept, ch.Title) {
					r.kept = append(r.kept, ch.Title)
				}
			}
			text := jobs.EndedByOwnerText(e)
			if err := jobs.Insert(ctx, con.cfg.River, tx, []river.InsertManyParams{jobs.RemoveMember(tenantID, d.BotID, e, text)}); err != nil {
				return err
			}
		}
		return nil
	})
	return r, err
}

// message tells the owner what a revocation did.
func (r revocation) message() string {
	if r.ended == 0 {
		return "There was no active access to revoke."
	}
	msg := "Access revoked. The member is told so, and taken out of the chats no other plan of theirs covers."
	if len(r.kept) > 0 {
		msg += " The bot cannot remove members from " + strings.Join(r.kept, ", ") +
			": remove them there yourself, and give the bot the right to ban users."
	}
	return msg
}

func hasMembership(d membership.MemberDetail, membershipID int64) bool {
	for _, m := range d.Memberships {
		if m.ID == membershipID {
			return true
		}
	}
	return false
}

func (con *Console) revokeMember(c *fiber.Ctx) error {
	id, ok := idParam(c, "id")
	if !ok {
		return con.notFound(c)
	}
	// No membership_id: all of the member's; a bad one changes nothing.
	msID, err := optionalID(c.FormValue("membership_id"), "membership_id")
	if err != nil {
		con.flash(c, "error", "That access could not be revoked: the form was not valid. Nothing was changed; please reload the page and try again.")
		return redirect(c, fmt.Sprintf("/members/%d", id))
	}
	r, err := con.revoke(c.UserContext(), session(c).TenantID, id, msID)
	if err != nil {
		return con.fail(c, err)
	}
	kind := "ok"
	if len(r.kept) > 0 {
		kind = "warn"
	}
	con.flash(c, kind, r.message())
	return redirect(c, fmt.Sprintf("/members/%d", id))
}
