package sandbox

import (
	"errors"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/gatekey/gatekey/jobs"
	"github.com/gatekey/gatekey/membership"
)

// The clock control: a membership is moved to just inside its reminder
// window, or to its end, and the reconciler job is queued at once, so the
// reminder and the removal arrive through the same workers as they do
// after a real day or month. Nothing else in Gatekey moves time.

// Fast-forward targets.
const (
	toReminder = "reminder"
	toEnd      = "end"
)

// fastForward moves one membership of the bot the page plays, under the
// bot's tenant.
func (s *Sandbox) fastForward(c *fiber.Ctx) error {
	w := s.world.Load()
	bot, err := s.botParam(c, w)
	if err != nil {
		return problem(c, err)
	}
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return fail(c, fiber.StatusNotFound, "There is no such membership.")
	}
	target := form(c, "to")
	if target != toReminder && target != toEnd {
		return fail(c, fiber.StatusBadRequest, `Fast-forward goes "to reminder" or "to end".`)
	}
	var done string
	ctx := c.UserContext()
	err = w.app.DB.Tx(ctx, bot.TenantID, func(tx pgx.Tx) error {
		acc, err := membership.GetAccess(ctx, tx, id)
		if err != nil {
			return err
		}
		if acc.Plan.BotID != bot.ID {
			return membership.ErrNotFound
		}
		now := time.Now()
		to := now.Add(-time.Second)
		done = "Moved to the end: the bot will tell the member, and take them out of the plan's chats where it has the right to ban."
		if target == toReminder {
			// A minute inside the reminder window, so the reminder is due
			// but the end is not.
			to = now.Add(membership.ReminderLead - time.Minute)
			done = "Moved to a day before the end: the reminder is on its way."
			if e := acc.Membership.EndsAt; e != nil && (e.Before(to) || e.Sub(acc.Membership.StartsAt) <= membership.ReminderLead) {
				to = *acc.Membership.EndsAt
				done = "This membership already ends within a day: its reminder has gone, or was never due (access of a day or less is told its end when it starts)."
			}
		}
		if _, err := membership.FastForward(ctx, tx, id, to); err != nil {
			return err
		}
		return jobs.Insert(ctx, w.app.River, tx, []river.InsertManyParams{{Args: jobs.ReconcileArgs{}}})
	})
	var bad *membership.ValidationError
	switch {
	case errors.Is(err, membership.ErrNotFound):
		return fail(c, fiber.StatusNotFound, "There is no such membership.")
	case errors.As(err, &bad):
		return fail(c, fiber.StatusBadRequest, bad.Message)
	case err != nil:
		return err
	}
	return c.JSON(fiber.Map{"ok": true, "message": done})
}
