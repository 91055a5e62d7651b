package bot

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/mymmrac/telego"
	"github.com/riverqueue/river"

	"github.com/gatekey/gatekey/jobs"
	"github.com/gatekey/gatekey/membership"
	"github.com/gatekey/gatekey/tenant"
)

// The owner's side of their bot. An owner opens a one-time link from the
// console and becomes an admin of the tenant in this bot; from then on the
// bot answers them admin commands and an admin menu, and everyone else
// still meets a plain member bot. The menu edits itself in place as the
// admin taps through it.
//
// Nothing an admin taps is trusted: callback_data is short text that any
// client can make up. Every action checks again that the person is an
// admin of this bot, and reads what it acts on through the tenant's
// transaction, where row-level security makes another tenant's row
// simply not found; it also checks the row belongs to this bot.

// adminPrefix starts the callback_data of every admin button.
const adminPrefix = "a:"

// Admin flows, as kept in the conversation state.
const (
	flowNewCode    = "admin_newcode"
	flowFindMember = "admin_find"
	flowAutoDelete = "admin_autodelete"
)

func isAdminFlow(flow string) bool { return strings.HasPrefix(flow, "admin_") }

// adminCommands are the commands an admin sees in the bot's menu, set for
// their chat alone when they link.
var adminCommands = []jobs.Command{
	{Command: "newcode", Description: "Create access codes"},
	{Command: "members", Description: "Admin menu: codes, members, settings"},
	{Command: "codes", Description: "Your access codes"},
	{Command: "start", Description: "What your members see"},
	{Command: "cancel", Description: "Stop what you are doing"},
}

// Answers shown as a short notice when a button cannot do what it says.
const (
	noticeStale    = "This button no longer works. Send /members for a fresh menu."
	noticeNotFound = "That is not there any more."
)

// press is one tap on an admin button.
type press struct {
	userID int64
	user   telego.User
	msgID  int    // the message to edit in place; 0: answer with a new message
	notice string // shown briefly to the admin when the tap is answered
}

// screen is what a menu shows: text and its buttons.
type screen struct {
	text    string
	buttons [][]jobs.Button
}

// show puts a screen in front of the admin: in place of the message they
// tapped, or as a new message after a command or something they typed.
func (t *turn) show(p *press, s screen) {
	if p.msgID != 0 {
		t.queue(jobs.EditMessage(jobs.EditMessageArgs{
			TenantID: t.bot.TenantID, BotID: t.bot.ID, ChatID: p.userID, MessageID: p.msgID,
			Text: s.text, Buttons: s.buttons,
		}))
		return
	}
	t.send(p.userID, s.text, s.buttons...)
}

// isAdmin reports whether the Telegram user is an admin of this bot.
func (t *turn) isAdmin(userID int64) (bool, error) {
	_, err := tenant.LookupBotAdmin(t.ctx, t.tx, t.bot.ID, userID)
	if errors.Is(err, tenant.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// onAdminMessage handles what the bot's admins send, and owner links from
// anyone. It reports false when the message is not for the admin side, and
// the member side (bot.go) carries on with it.
func (t *turn) onAdminMessage(member membership.Member, conv conversation, command, payload, text string) (bool, error) {
	userID := member.TelegramUserID
	if command == "/start" && strings.HasPrefix(payload, tenant.OwnerLinkPrefix) {
		return true, t.linkOwner(member, strings.TrimPrefix(payload, tenant.OwnerLinkPrefix))
	}
	isCommand := isAdminCommand(command)
	if !isCommand && (command != "" || !isAdminFlow(conv.Flow)) {
		return false, nil
	}
	admin, err := t.isAdmin(userID)
	if err != nil {
		return true, err
	}
	if !admin {
		if isAdminFlow(conv.Flow) { // no longer an admin: the flow is void
			return false, clearConversation(t.ctx, t.tx, t.bot.ID, userID)
		}
		return false, nil // to a member, /newcode is just an unknown command
	}
	p := &press{userID: userID, user: telego.User{ID: userID, Username: member.Username, FirstName: member.FirstName}}
	if isCommand {
		// A command starts afresh: whatever flow was open is left.
		if err := clearConversation(t.ctx, t.tx, t.bot.ID, userID); err != nil {
			return true, err
		}
		switch command {
		case "/newcode":
			return true, t.startNewCode(p)
		case "/codes":
			return true, t.codesList(p, 0)
		case "/help":
			t.send(userID, "You are an admin of this bot. "+adminHelp, []jobs.Button{{Text: "Open the admin menu", Data: adminPrefix + "m"}})
			return true, nil
		default:
			return true, t.menu(p, "")
		}
	}
	switch conv.Flow {
	case flowNewCode:
		return true, t.newCodeTyped(p, conv, text)
	case flowFindMember:
		return true, t.findMemberTyped(p, conv, text)
	case flowAutoDelete:
		return true, t.autoDeleteTyped(p, conv, text)
	}
	return true, clearConversation(t.ctx, t.tx, t.bot.ID, userID)
}

// isAdminCommand reports whether a command is one of the admin side's.
func isAdminCommand(command string) bool {
	switch command {
	case "/newcode", "/members", "/menu", "/admin", "/codes", "/help":
		return true
	}
	return false
}

// linkOwner redeems an owner link for whoever opened it.
func (t *turn) linkOwner(member membership.Member, token string) error {
	userID := member.TelegramUserID
	wasAdmin, err := t.isAdmin(userID)
	if err != nil {
		return err
	}
	err = tenant.RedeemOwnerLinkToken(t.ctx, t.tx, t.bot.ID, token, userID)
	switch {
	case errors.Is(err, tenant.ErrOwnerLinkInvalid) && !wasAdmin:
		t.send(userID, "This admin link has expired or has already been used. "+
			"Each link works once, for 15 minutes: make a new one in your Gatekey console and open it here.")
		return nil
	case errors.Is(err, tenant.ErrOwnerLinkInvalid), err == nil && wasAdmin:
		t.send(userID, "You are already an admin of this bot. Send /members for the admin menu.")
		return nil
	case err != nil:
		return err
	}
	t.queue(river.InsertManyParams{Args: jobs.SetCommandsArgs{TenantID: t.bot.TenantID, BotID: t.bot.ID, ChatID: userID, Commands: adminCommands}})
	t.send(userID, fmt.Sprintf("You are now an admin of @%s.\n\n%s", t.bot.Username, adminHelp),
		[]jobs.Button{{Text: "Open the admin menu", Data: adminPrefix + "m"}})
	return clearConversation(t.ctx, t.tx, t.bot.ID, userID)
}

// adminHelp lists the admin side's commands: when someone becomes an
// admin, and at an admin's /help.
const adminHelp = "Only you and the other admins see these commands:\n" +
	"/newcode — create an access code, or a batch of them\n" +
	"/members — the admin menu: codes, members, settings\n" +
	"/codes — your recent codes\n" +
	"/cancel — stop what you are doing\n\n" +
	"Everyone else sees the bot as a member does, and so do you with /start."

// onAdminCallback handles a tap on an admin button. Every tap is answered,
// so the admin's client stops its spinner; someone who is not an admin
// gets that answer and nothing else.
func (t *turn) onAdminCallback(q *telego.CallbackQuery) error {
	p := &press{userID: q.From.ID, user: q.From}
	if m := q.Message; m != nil && m.GetChat().ID == q.From.ID && m.GetMessageID() > 0 {
		p.msgID = m.GetMessageID()
	}
	admin, err := t.isAdmin(q.From.ID)
	switch {
	case err == nil && admin:
		err = t.adminAction(p, strings.TrimPrefix(q.Data, adminPrefix))
	case err == nil:
		err = t.refuseFormerAdmin(p)
	}
	t.queue(river.InsertManyParams{Args: jobs.AnswerCallbackArgs{TenantID: t.bot.TenantID, BotID: t.bot.ID, CallbackQueryID: q.ID, Text: p.notice}})
	return err
}

// refuseFormerAdmin tells someone removed as an admin, tapping their old
// menu, why nothing happens. Anyone else's tap (a forged one) is answered
// without a word, giving nothing of the admin side away.
func (t *turn) refuseFormerAdmin(p *press) error {
	was, err := tenant.WasBotAdmin(t.ctx, t.tx, t.bot.ID, p.userID)
	if was {
		p.notice = "You are no longer an admin of this bot, so this menu does nothing."
	}
	return err
}

// adminAction is one admin button: its name, then its arguments.
type adminAction struct {
	args int // how many arguments it takes; -1: the action checks
	do   func(t *turn, p *press, args []string) error
}

// adminActions names every admin button. callback_data is "a:" + name +
// ":"-separated arguments, far below Telegram's 64 bytes.
var adminActions = map[string]adminAction{
	"m":   {0, func(t *turn, p *press, _ []string) error { return t.menu(p, "") }},
	"x":   {-1, (*turn).cancelFlow},
	"ncs": {0, func(t *turn, p *press, _ []string) error { return t.startNewCode(p) }},
	"nc":  {-1, (*turn).newCodePress},
	"cl":  {1, withPage((*turn).codesList)},
	"b":   {2, withIDPage((*turn).batchView)},
	"bc":  {1, withID((*turn).resendBatch)},
	"c":   {1, withID(func(t *turn, p *press, id int64) error { return t.codeView(p, id, "") })},
	"cd":  {1, withID((*turn).confirmDelete)},
	"cdy": {1, withID((*turn).deleteCode)},
	"cr":  {1, withID((*turn).confirmRollback)},
	"cry": {1, withID((*turn).rollbackCode)},
	"mb":  {0, func(t *turn, p *press, _ []string) error { return t.membersMenu(p) }},
	"mf":  {0, func(t *turn, p *press, _ []string) error { return t.startFindMember(p) }},
	"mv":  {1, withID(func(t *turn, p *press, id int64) error { return t.memberView(p, id, "") })},
	"mr":  {1, withID((*turn).confirmRevoke)},
	"mry": {1, withID((*turn).revokeMembership)},
	"s":   {0, func(t *turn, p *press, _ []string) error { return t.settings(p, "") }},
	"sa":  {0, func(t *turn, p *press, _ []string) error { return t.autoDeleteMenu(p) }},
	"sad": {1, withNumber((*turn).setAutoDelete)},
	"sat": {0, func(t *turn, p *press, _ []string) error { return t.startAutoDeleteTyped(p) }},
	"sz":  {1, withBool((*turn).setZeroPriceDefault)},
	"n":   {1, withBool((*turn).setNotify)},
	"f":   {0, func(t *turn, p *press, _ []string) error { return t.fairUse(p) }},
}

func (t *turn) adminAction(p *press, data string) error {
	name, rest, _ := strings.Cut(data, ":")
	var args []string
	if rest != "" {
		args = strings.Split(rest, ":")
	}
	a, ok := adminActions[name]
	if !ok || (a.args >= 0 && len(args) != a.args) {
		p.notice = noticeStale
		return nil
	}
	return a.do(t, p, args)
}

// parseID reads a positive id written exactly as Gatekey writes ids, so a
// tampered argument ("+7", "007", "-1") is refused rather than read.
func parseID(s string) (int64, bool) {
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0 && strconv.FormatInt(id, 10) == s
}

// parseSmall reads a number from 0 to 1,000,000 written plainly.
func parseSmall(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0 && n <= 1_000_000 && strconv.Itoa(n) == s
}

func withID(fn func(t *turn, p *press, id int64) error) func(*turn, *press, []string) error {
	return func(t *turn, p *press, args []string) error {
		id, ok := parseID(args[0])
		if !ok {
			p.notice = noticeStale
			return nil
		}
		return fn(t, p, id)
	}
}

func withPage(fn func(t *turn, p *press, page int) error) func(*turn, *press, []string) error {
	return withNumber(fn)
}

func withNumber(fn func(t *turn, p *press, n int) error) func(*turn, *press, []string) error {
	return func(t *turn, p *press, args []string) error {
		n, ok := parseSmall(args[0])
		if !ok {
			p.notice = noticeStale
			return nil
		}
		return fn(t, p, n)
	}
}

func withIDPage(fn func(t *turn, p *press, id int64, page int) error) func(*turn, *press, []string) error {
	return func(t *turn, p *press, args []string) error {
		id, ok := parseID(args[0])
		page, ok2 := parseSmall(args[1])
		if !ok || !ok2 {
			p.notice = noticeStale
			return nil
		}
		return fn(t, p, id, page)
	}
}

func withBool(fn func(t *turn, p *press, on bool) error) func(*turn, *press, []string) error {
	return func(t *turn, p *press, args []string) error {
		if args[0] != "0" && args[0] != "1" {
			p.notice = noticeStale
			return nil
		}
		return fn(t, p, args[0] == "1")
	}
}

// menu is the admin menu. note, if any, heads it: the result of what the
// admin just did.
func (t *turn) menu(p *press, note string) error {
	var active, open int
	err := t.tx.QueryRow(t.ctx, `SELECT
		(SELECT count(DISTINCT ms.member_id) FROM memberships ms
			JOIN members m ON m.tenant_id = ms.tenant_id AND m.id = ms.member_id
			WHERE m.bot_id = $1 AND ms.status = 'active'),
		(SELECT count(*) FROM access_codes WHERE bot_id = $1 AND deleted_at IS NULL
			AND activations < max_activations AND (expires_at IS NULL OR expires_at > now()))`, t.bot.ID).Scan(&active, &open)
	if err != nil {
		return fmt.Errorf("bot: admin menu: %w", err)
	}
	admin, err := tenant.LookupBotAdmin(t.ctx, t.tx, t.bot.ID, p.userID)
	if err != nil {
		return err
	}
	var b strings.Builder
	if note != "" {
		b.WriteString(note + "\n\n")
	}
	fmt.Fprintf(&b, "Admin menu of @%s\n\nMembers with access: %d\nCodes that can still be activated: %d", t.bot.Username, active, open)
	notify := jobs.Button{Text: "Notifications: on", Data: adminPrefix + "n:0"}
	if !admin.Notify {
		notify = jobs.Button{Text: "Notifications: off", Data: adminPrefix + "n:1"}
	}
	t.show(p, screen{text: b.String(), buttons: [][]jobs.Button{
		{{Text: "New code", Data: adminPrefix + "ncs"}, {Text: "Access codes", Data: adminPrefix + "cl:0"}},
		{{Text: "Members", Data: adminPrefix + "mb"}, {Text: "Settings", Data: adminPrefix + "s"}},
		{notify, {Text: "Fair use", Data: adminPrefix + "f"}},
	}})
	return nil
}

// openPrompt keeps flow open for what the admin types next and shows
// its question. nonce names this flow: its Cancel button carries it, so
// that the button of an earlier prompt, still in the chat, cannot cancel
// another flow opened since.
func (t *turn) openPrompt(p *press, flow, nonce string, s screen) error {
	conv := conversation{Flow: flow, Data: map[string]any{"nonce": nonce}}
	if err := saveConversation(t.ctx, t.tx, t.bot.ID, p.userID, conv); err != nil {
		return err
	}
	s.buttons = append(s.buttons, []jobs.Button{{Text: "Cancel", Data: adminPrefix + "x:" + nonce}})
	t.show(p, s)
	return nil
}

// flowNonce is the nonce of an open flow (a /newcode draft keeps it
// under the same key), or "" when there is none.
func flowNonce(conv conversation) string {
	n, _ := conv.Data["nonce"].(string)
	return n
}

// cancelFlow leaves the admin flow its Cancel button belongs to. A Cancel
// of a flow already over (answered, cancelled, or replaced by a newer
// one) leaves alone whatever is open now, and its message too.
func (t *turn) cancelFlow(p *press, args []string) error {
	conv, err := loadConversation(t.ctx, t.tx, t.bot.ID, p.userID)
	if err != nil {
		return err
	}
	if len(args) != 1 || args[0] == "" || !isAdminFlow(conv.Flow) || flowNonce(conv) != args[0] {
		p.notice = "That step is over, so this Cancel button does nothing now."
		return nil
	}
	if err := clearConversation(t.ctx, t.tx, t.bot.ID, p.userID); err != nil {
		return err
	}
	p.notice = "Cancelled."
	return t.menu(p, "Cancelled.")
}

// backToMenu is the last row of most screens.
func backToMenu() []jobs.Button {
	return []jobs.Button{{Text: "« Menu", Data: adminPrefix + "m"}}
}
