package bot

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/jobs"
	"github.com/gatekey/gatekey/membership"
)

// The codes part of the admin menu: recent codes and batches with their
// status, a batch's codes, and one code with its activations, where the
// admin can delete it or roll it back.

// Page sizes: short enough that a screen fits a phone.
const (
	codesPageSize   = 6
	batchPageSize   = 8
	activationsShow = 10
)

// batchRow is a line of the codes list: a single code, or a batch of them
// counted by status.
type batchRow struct {
	ID, FirstCodeID                  int64
	FirstCode, PlanName              string
	Count, MaxActivations, Used      int
	Active, UsedUp, Expired, Deleted int
	CreatedAt                        time.Time
}

// listBatchRows reads a page of the bot's batches, newest first, with
// their codes counted by status in one query.
func (t *turn) listBatchRows(page int) (rows []batchRow, more bool, err error) {
	r, err := t.tx.Query(t.ctx, `SELECT b.id, min(c.id), min(c.code), p.name, b.code_count, b.max_activations,
			coalesce(sum(c.activations), 0),
			count(*) FILTER (WHERE c.deleted_at IS NULL AND (c.expires_at IS NULL OR c.expires_at > now()) AND c.activations < c.max_activations),
			count(*) FILTER (WHERE c.deleted_at IS NULL AND (c.expires_at IS NULL OR c.expires_at > now()) AND c.activations >= c.max_activations),
			count(*) FILTER (WHERE c.deleted_at IS NULL AND c.expires_at <= now()),
			count(*) FILTER (WHERE c.deleted_at IS NOT NULL),
			b.created_at
		FROM code_batches b
		JOIN plans p ON p.tenant_id = b.tenant_id AND p.id = b.plan_id
		JOIN access_codes c ON c.tenant_id = b.tenant_id AND c.batch_id = b.id
		WHERE b.bot_id = $1
		GROUP BY b.tenant_id, b.id, p.name ORDER BY b.id DESC LIMIT $2 OFFSET $3`, t.bot.ID, codesPageSize+1, page*codesPageSize)
	if err != nil {
		return nil, false, fmt.Errorf("bot: list batches: %w", err)
	}
	rows, err = pgx.CollectRows(r, func(r pgx.CollectableRow) (batchRow, error) {
		var b batchRow
		err := r.Scan(&b.ID, &b.FirstCodeID, &b.FirstCode, &b.PlanName, &b.Count, &b.MaxActivations, &b.Used,
			&b.Active, &b.UsedUp, &b.Expired, &b.Deleted, &b.CreatedAt)
		return b, err
	})
	if err != nil {
		return nil, false, fmt.Errorf("bot: list batches: %w", err)
	}
	if len(rows) > codesPageSize {
		return rows[:codesPageSize], true, nil
	}
	return rows, false, nil
}

// status names a single code's status from its batch's counts.
func (b batchRow) status() string {
	switch {
	case b.Deleted > 0:
		return membership.StatusDeleted
	case b.Expired > 0:
		return membership.StatusExpired
	case b.UsedUp > 0:
		return membership.StatusUsedUp
	}
	return membership.StatusActive
}

// counts says how a batch's codes stand, leaving out empty kinds.
func (b batchRow) counts() string {
	var parts []string
	for _, c := range []struct {
		n    int
		name string
	}{{b.Active, membership.StatusActive}, {b.UsedUp, membership.StatusUsedUp}, {b.Expired, membership.StatusExpired}, {b.Deleted, membership.StatusDeleted}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.name))
		}
	}
	return strings.Join(parts, ", ")
}

// codesList is the codes part of the menu: recent codes and batches.
func (t *turn) codesList(p *press, page int) error {
	rows, more, err := t.listBatchRows(page)
	if err != nil {
		return err
	}
	s := screen{}
	var b strings.Builder
	switch {
	case len(rows) == 0 && page == 0:
		b.WriteString("You have no access codes yet. Make one with New code.")
	case len(rows) == 0:
		b.WriteString("There are no more codes.")
	default:
		fmt.Fprintf(&b, "Access codes, newest first (page %d). Tap one to see it, delete it or roll it back.\n", page+1)
	}
	for i, r := range rows {
		n := page*codesPageSize + i + 1
		if r.Count == 1 {
			fmt.Fprintf(&b, "\n%d. %s · %s · %s · %d/%d used", n, membership.FormatCode(r.FirstCode), r.PlanName, r.status(), r.Used, r.MaxActivations)
			s.buttons = append(s.buttons, []jobs.Button{{Text: fmt.Sprintf("%d. %s · %s", n, membership.FormatCode(r.FirstCode), r.status()),
				Data: fmt.Sprintf("%sc:%d", adminPrefix, r.FirstCodeID)}})
			continue
		}
		fmt.Fprintf(&b, "\n%d. Batch of %d · %s · %s · %s", n, r.Count, r.PlanName, r.counts(), membership.Plural(r.Used, "activation", "activations"))
		s.buttons = append(s.buttons, []jobs.Button{{Text: fmt.Sprintf("%d. Batch of %d · %s", n, r.Count, r.CreatedAt.UTC().Format("2 Jan 15:04")),
			Data: fmt.Sprintf("%sb:%d:0", adminPrefix, r.ID)}})
	}
	s.text = b.String()
	if nav := pager(adminPrefix+"cl:%d", page, more); nav != nil {
		s.buttons = append(s.buttons, nav)
	}
	s.buttons = append(s.buttons, []jobs.Button{{Text: "New code", Data: adminPrefix + "ncs"}}, backToMenu())
	t.show(p, s)
	return nil
}

// pager is the row of paging buttons; format takes the page number.
func pager(format string, page int, more bool) []jobs.Button {
	var nav []jobs.Button
	if page > 0 {
		nav = append(nav, jobs.Button{Text: "‹ Newer", Data: fmt.Sprintf(format, page-1)})
	}
	if more {
		nav = append(nav, jobs.Button{Text: "Older ›", Data: fmt.Sprintf(format, page+1)})
	}
	return nav
}

// batchView shows a batch and a page of its codes.
func (t *turn) batchView(p *press, batchID int64, page int) error {
	batch, err := membership.GetBatch(t.ctx, t.tx, batchID)
	if errors.Is(err, membership.ErrNotFound) || (err == nil && batch.BotID != t.bot.ID) {
		p.notice = noticeNotFound
		return nil
	}
	if err != nil {
		return err
	}
	pages := max(1, (batch.Count+batchPageSize-1)/batchPageSize)
	page = min(page, pages-1) // a page past the end (an old or forged button) shows the last
	codes, err := membership.ListCodes(t.ctx, t.tx, membership.CodeFilter{BotID: t.bot.ID, BatchID: batchID, Limit: (page+1)*batchPageSize + 1})
	if err != nil {
		return err
	}
	more := len(codes) > (page+1)*batchPageSize
	codes = codes[min(len(codes), page*batchPageSize):min(len(codes), (page+1)*batchPageSize)]
	priced := "zero-priced"
	if !batch.ZeroPriced {
		priced = "priced"
	}
	uses := eachUsesText(batch.MaxActivations)
	s := screen{text: fmt.Sprintf("Batch of %s for %s\nCreated %s by %s\n%s · %s · %s\n\nPage %d of %d: tap a code to see it.",
		membership.Plural(batch.Count, "code", "codes"), batch.PlanName, membership.FormatDate(batch.CreatedAt), batch.CreatedBy,
		strings.ToUpper(uses[:1])+uses[1:], expiryPhrase(batch.ExpiresAt), priced, page+1, pages)}
	now := time.Now()
	for _, c := range codes {
		s.buttons = append(s.buttons, []jobs.Button{{Text: fmt.Sprintf("%s · %s · %d/%d", membership.FormatCode(c.Code), c.Status(now), c.Activations, c.MaxActivations),
			Data: fmt.Sprintf("%sc:%d", adminPrefix, c.ID)}})
	}
	if nav := pager(fmt.Sprintf("%sb:%d:%%d", adminPrefix, batchID), page, more); nav != nil {
		s.buttons = append(s.buttons, nav)
	}
	s.buttons = append(s.buttons,
		[]jobs.Button{{Text: "Send the CSV file again", Data: fmt.Sprintf("%sbc:%d", adminPrefix, batchID)}},
		[]jobs.Button{{Text: "« Access codes", Data: adminPrefix + "cl:0"}})
	t.show(p, s)
	return nil
}

// resendBatch sends a batch's CSV again, as its codes stand now.
func (t *turn) resendBatch(p *press, batchID int64) error {
	batch, err := membership.GetBatch(t.ctx, t.tx, batchID)
	if errors.Is(err, membership.ErrNotFound) || (err == nil && batch.BotID != t.bot.ID) {
		p.notice = noticeNotFound
		return nil
	}
	if err != nil {
		return err
	}
	p.notice = "The CSV file is on its way."
	t.queue(jobs.SendCodesCSV(jobs.SendCodesCSVArgs{
		TenantID: t.bot.TenantID, BotID: t.bot.ID, ChatID: p.userID, BatchID: batchID,
		Caption: fmt.Sprintf("The batch of %s for %s, as it stands now (see the status column).", membership.Plural(batch.Count, "code", "codes"), batch.PlanName),
	}))
	return nil
}

// ownCode reads a code of this bot; ok is false (and the admin told) when
// there is none: another tenant's code is not found at all, and another
// bot's is not this admin's to touch.
func (t *turn) ownCode(p *press, codeID int64) (membership.Code, bool, error) {
	c, err := membership.GetCode(t.ctx, t.tx, codeID)
	if errors.Is(err, membership.ErrNotFound) || (err == nil && c.BotID != t.bot.ID) {
		p.notice = noticeNotFound
		return c, false, nil
	}
	return c, err == nil, err
}

// codeView shows one code, its activations and any rollback, with note
// (the result of what the admin just did) above.
func (t *turn) codeView(p *press, codeID int64, note string) error {
	c, ok, err := t.ownCode(p, codeID)
	if !ok {
		return err
	}
	acts, err := membership.ListCodeActivations(t.ctx, t.tx, c.ID, activationsShow)
	if err != nil {
		return err
	}
	rb, err := membership.RollbackOfCode(t.ctx, t.tx, c.ID)
	hasRollback := err == nil
	if err != nil && !errors.Is(err, membership.ErrNotFound) {
		return err
	}
	var b strings.Builder
	if note != "" {
		b.WriteString(note + "\n\n")
	}
	now := time.Now()
	status := c.Status(now)
	fmt.Fprintf(&b, "Code %s\n", membership.FormatCode(c.Code))
	if status == membership.StatusActive { // a link to a code that no longer works would only disappoint
		fmt.Fprintf(&b, "Activation link: %s\n", membership.ActivationLink(t.bot.Username, c.Code))
	}
	fmt.Fprintf(&b, "\nPlan: %s\nStatus: %s · used %d of %d\n", c.PlanName, status, c.Activations, c.MaxActivations)
	switch {
	case c.DeletedAt != nil: // it no longer works, whatever its expiry said
	case status == membership.StatusExpired:
		fmt.Fprintf(&b, "Expiry: expired on %s\n", membership.FormatDate(*c.ExpiresAt))
	default:
		fmt.Fprintf(&b, "Expiry: %s\n", expiryText(c.ExpiresAt))
	}
	if c.ZeroPriced {
		b.WriteString("Orders: zero-priced\n")
	} else {
		b.WriteString("Orders: at the plan's price\n")
	}
	fmt.Fprintf(&b, "Created: %s\n", membership.FormatDate(c.CreatedAt))
	if c.DeletedAt != nil {
		fmt.Fprintf(&b, "Deleted: %s%s\n", membership.FormatDate(*c.DeletedAt), deletedByText(c))
	}
	if len(acts) > 0 {
		b.WriteString("\nActivations, newest first:\n")
		for _, a := range acts {
			fmt.Fprintf(&b, "• %s, %s", a.Member.DisplayName(), membership.FormatDate(a.At))
			if a.RolledBackAt != nil {
				b.WriteString(" (rolled back)")
			}
			b.WriteString("\n")
		}
		if c.Activations > len(acts) {
			fmt.Fprintf(&b, "…and %d earlier.\n", c.Activations-len(acts))
		}
	}
	if hasRollback && rb.Total > 0 { // a rollback with nothing to undo only deleted the code, which Deleted says
		b.WriteString("\n" + rollbackText(rb))
	}
	var row []jobs.Button
	if c.DeletedAt == nil {
		row = append(row, jobs.Button{Text: "Delete", Data: fmt.Sprintf("%scd:%d", adminPrefix, c.ID)})
	}
	if !hasRollback && c.Activations > 0 { // as the console: a code nobody activated has nothing to roll back
		row = append(row, jobs.Button{Text: "Roll back", Data: fmt.Sprintf("%scr:%d", adminPrefix, c.ID)})
	}
	if hasRollback && rb.Status != "done" { // the screen cannot change by itself; this shows how far it got
		row = append(row, jobs.Button{Text: "Refresh", Data: fmt.Sprintf("%sc:%d", adminPrefix, c.ID)})
	}
	s := screen{text: b.String()}
	if len(row) > 0 {
		s.buttons = append(s.buttons, row)
	}
	s.buttons = append(s.buttons, t.backFromCode(c), backToMenu())
	t.show(p, s)
	return nil
}

// backFromCode goes back to the code's batch, or to the list for a code
// made on its own.
func (t *turn) backFromCode(c membership.Code) []jobs.Button {
	if batch, err := membership.GetBatch(t.ctx, t.tx, c.BatchID); err == nil && batch.Count > 1 {
		return []jobs.Button{{Text: "« Batch", Data: fmt.Sprintf("%sb:%d:0", adminPrefix, c.BatchID)}}
	}
	return []jobs.Button{{Text: "« Access codes", Data: adminPrefix + "cl:0"}}
}

// deletedByText says what deleted a code, when it was not a person.
func deletedByText(c membership.Code) string {
	switch c.DeletedBy() {
	case membership.DeletedByAutoDelete:
		return ", by auto-delete: nobody had used it"
	case membership.DeletedByRollback:
		return ", by a rollback"
	}
	return ""
}

func rollbackText(r membership.Rollback) string {
	if r.Status == "done" && r.FinishedAt != nil {
		return fmt.Sprintf("Rolled back on %s: %s.", membership.FormatDate(*r.FinishedAt), r.Outcome("; "))
	}
	return fmt.Sprintf("Rollback in progress: %d of %s undone so far.", r.Undone, membership.Plural(r.Total, "activation", "activations"))
}

func (t *turn) confirmDelete(p *press, codeID int64) error {
	c, ok, err := t.ownCode(p, codeID)
	if !ok {
		return err
	}
	if c.DeletedAt != nil {
		return t.codeView(p, c.ID, "This code is deleted already.")
	}
	granted := "Nobody has activated it yet."
	if c.Activations > 0 {
		granted = fmt.Sprintf("What it already granted (%s) stays; to take that back too, roll the code back instead.",
			membership.Plural(c.Activations, "activation", "activations"))
	}
	t.show(p, screen{text: fmt.Sprintf("Delete code %s?\n\nIt stops working at once. %s", membership.FormatCode(c.Code), granted),
		buttons: [][]jobs.Button{
			{{Text: "Yes, delete it", Data: fmt.Sprintf("%scdy:%d", adminPrefix, c.ID)}},
			{{Text: "No, keep it", Data: fmt.Sprintf("%sc:%d", adminPrefix, c.ID)}},
		}})
	return nil
}

// deleteCode deletes the code as the console does, and says so. A stale
// Yes (the code was deleted or rolled back meanwhile) deletes nothing,
// and its notice says what happened instead.
func (t *turn) deleteCode(p *press, codeID int64) error {
	c, ok, err := t.ownCode(p, codeID)
	if !ok {
		return err
	}
	_, err = membership.RollbackOfCode(t.ctx, t.tx, codeID)
	if err == nil { // the rollback deleted it, and took back what it gave
		p.notice = "Already rolled back."
		return t.codeView(p, c.ID, fmt.Sprintf("Code %s was rolled back, which deleted it: it no longer works, and the access it gave has been taken back.", membership.FormatCode(c.Code)))
	}
	if !errors.Is(err, membership.ErrNotFound) {
		return err
	}
	if c.DeletedAt != nil {
		p.notice = "Already deleted."
		return t.codeView(p, c.ID, "This code is deleted already.")
	}
	if c, err = membership.DeleteCode(t.ctx, t.tx, codeID); err != nil {
		return err
	}
	p.notice = "Code deleted."
	msg := fmt.Sprintf("Deleted: code %s no longer works.", membership.FormatCode(c.Code))
	if c.Activations > 0 {
		msg += " Memberships it granted stay."
	}
	return t.codeView(p, c.ID, msg)
}

func (t *turn) confirmRollback(p *press, codeID int64) error {
	c, ok, err := t.ownCode(p, codeID)
	if !ok {
		return err
	}
	if c.Activations == 0 {
		return t.nothingToRollBack(p, c)
	}
	t.show(p, screen{text: fmt.Sprintf("Roll back code %s?\n\n"+
		"This deletes the code and undoes its %s: each member loses the time the code gave them, "+
		"whoever is left without access is removed from the plan's chats and told, and whoever keeps access is told its new end. This cannot be undone.",
		membership.FormatCode(c.Code), membership.Plural(c.Activations, "activation", "activations")),
		buttons: [][]jobs.Button{
			{{Text: "Yes, roll it back", Data: fmt.Sprintf("%scry:%d", adminPrefix, c.ID)}},
			{{Text: "No, leave it", Data: fmt.Sprintf("%sc:%d", adminPrefix, c.ID)}},
		}})
	return nil
}

// rollbackCode starts the rollback as the console does: the record and
// its job commit together. The job messages the admins when it is done.
func (t *turn) rollbackCode(p *press, codeID int64) error {
	c, ok, err := t.ownCode(p, codeID)
	if !ok {
		return err
	}
	if c.Activations == 0 {
		return t.nothingToRollBack(p, c)
	}
	r, err := membership.StartRollback(t.ctx, t.tx, c.ID, rollbackRequester(p.userID))
	if errors.Is(err, membership.ErrRollbackStarted) {
		p.notice = "This code is being rolled back already."
		return t.codeView(p, c.ID, "")
	}
	if err != nil {
		return err
	}
	t.queue(jobs.RollbackCode(t.bot.TenantID, t.bot.ID, r.ID))
	p.notice = "Rollback started."
	return t.codeView(p, c.ID, fmt.Sprintf("Rolling back code %s: the code is deleted, and %s being undone. "+
		"I will send you a summary here when it is done.", membership.FormatCode(c.Code), membership.Plural(r.Total, "activation is", "activations are")))
}

// nothingToRollBack answers a Roll back button (an old one: the code's
// screen offers none) of a code nobody activated, which a rollback would
// only delete.
func (t *turn) nothingToRollBack(p *press, c membership.Code) error {
	p.notice = "Nothing to take back."
	note := "Nobody has activated this code, so there is nothing to take back."
	if c.DeletedAt == nil {
		note += " To stop it working, delete it."
	}
	return t.codeView(p, c.ID, note)
}

// rollbackRequester records who asked for a rollback, in the form the
// rollback job reads to tell them the result.
func rollbackRequester(telegramUserID int64) string {
	return fmt.Sprintf("telegram:%d", telegramUserID)
}
