// Package webhooks receives what other services push to Gatekey: Telegram
// updates for each connected bot, and (later) Stripe events. A delivery is
// answered 200 only after everything it causes is committed, so a failure
// is always safe to deliver again.
package webhooks

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"
	"github.com/mymmrac/telego"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatekey/gatekey/bot"
	"github.com/gatekey/gatekey/internal/nulcheck"
	"github.com/gatekey/gatekey/jobs"
	"github.com/gatekey/gatekey/tenant"
)

// MaxUpdateBytes bounds one update. Telegram's are a few kilobytes.
const MaxUpdateBytes = 1 << 20

// SecretHeader carries the secret_token given to setWebhook.
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

// Telegram handles POST /telegram/:botID.
type Telegram struct {
	DB    *tenant.DB
	River *jobs.Client
	Log   *slog.Logger

	// owners remembers which tenant owns a bot, so that an update costs
	// no directory lookup once its bot is known. An entry cannot mislead:
	// bot ids are never reused and a bot never changes tenant, and a bot
	// removed since is not found by GetBot inside the transaction, which
	// answers 404 as the directory would have. Unknown bots are not kept.
	owners     sync.Map // bot id (int64) → tenant id (int64)
	ownersSize atomic.Int64

	// PerBot bounds how many of one bot's updates are handled at once
	// (0: PerBotConcurrency); see intake.go.
	PerBot int
	intake intake
}

// maxOwners bounds the owners cache; past it, the cache starts afresh.
const maxOwners = 1 << 20

var (
	updatesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatekey_telegram_updates_total",
		Help: "Telegram webhook deliveries by HTTP status.",
	}, []string{"status"})
	updateSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "gatekey_telegram_update_seconds",
		Help:    "Time to handle one Telegram update, from request to answer.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
	})
)

func init() { prometheus.MustRegister(updatesTotal, updateSeconds) }

var errBadSecret = errors.New("bad secret")

// Register mounts the handler.
func (h *Telegram) Register(app fiber.Router) {
	app.Post("/telegram/:botID", h.receive)
}

func (h *Telegram) receive(c *fiber.Ctx) error {
	start := time.Now()
	status := h.handle(c)
	updatesTotal.WithLabelValues(strconv.Itoa(status)).Inc()
	updateSeconds.Observe(time.Since(start).Seconds())
	return c.SendStatus(status)
}

// handle returns the HTTP status to answer; Telegram redelivers on
// anything but 2xx, which is what every failure below wants.
func (h *Telegram) handle(c *fiber.Ctx) int {
	ctx := c.UserContext()
	botID, err := strconv.ParseInt(c.Params("botID"), 10, 64)
	if err != nil || botID <= 0 {
		return fiber.StatusNotFound
	}
	release, ok := h.intake.acquire(ctx, botID, cmp.Or(h.PerBot, PerBotConcurrency))
	if !ok {
		c.Set(fiber.HeaderRetryAfter, "1")
		return fiber.StatusTooManyRequests
	}
	defer release()
	tenantID, err := h.owner(ctx, botID)
	if errors.Is(err, tenant.ErrNotFound) {
		return fiber.StatusNotFound
	}
	if err != nil {
		h.Log.ErrorContext(ctx, "telegram webhook: lookup", "bot", botID, "err", err)
		return fiber.StatusInternalServerError
	}
	secret := c.Get(SecretHeader)
	// A NUL in a member's text, or bytes that are not UTF-8, could not be
	// stored, and refusing the update would only have Telegram deliver it
	// again: they become U+FFFD.
	body := nulcheck.StorableJSON(c.Body())

	status := fiber.StatusOK
	u, parsed := smallUpdate(body)
	if parsed && (u.Message != nil || u.CallbackQuery != nil) {
		err = h.applyChecked(c, tenantID, botID, secret, u)
	} else {
		err = h.DB.Tx(ctx, tenantID, func(tx pgx.Tx) (err error) {
			status, err = h.applyLong(c, tx, botID, secret, body, u, parsed)
			return err
		})
	}
	switch {
	case err == nil:
		return status
	case errors.Is(err, tenant.ErrNotFound):
		return fiber.StatusNotFound
	case errors.Is(err, errBadSecret):
		return fiber.StatusUnauthorized
	default:
		h.Log.ErrorContext(ctx, "telegram webhook: handle update", "bot", botID, "err", err)
		return fiber.StatusInternalServerError
	}
}

// applyLong is the long way in, for what applyChecked does not take: it
// reads the bot and checks the secret, then parses the body if smallUpdate
// did not (answering 413 or 400 for one too large or not an update), then
// applies it.
func (h *Telegram) applyLong(c *fiber.Ctx, tx pgx.Tx, botID int64, secret string, body []byte, u telego.Update, parsed bool) (int, error) {
	ctx := c.UserContext()
	b, err := tenant.GetBot(ctx, tx, botID)
	if err != nil {
		return 0, err
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(b.WebhookSecret)) != 1 {
		return 0, errBadSecret
	}
	if !parsed {
		if len(body) > MaxUpdateBytes {
			return fiber.StatusRequestEntityTooLarge, nil
		}
		if u = (telego.Update{}); json.Unmarshal(body, &u) != nil || u.UpdateID <= 0 {
			return fiber.StatusBadRequest, nil
		}
	}
	return fiber.StatusOK, h.apply(c, tx, b, u)
}

// owner returns the tenant that owns the bot, from the cache or the
// directory.
func (h *Telegram) owner(ctx context.Context, botID int64) (int64, error) {
	if id, ok := h.owners.Load(botID); ok {
		return id.(int64), nil
	}
	id, err := h.DB.Lookup(ctx, "bot", strconv.FormatInt(botID, 10))
	if err != nil {
		return 0, err
	}
	if h.ownersSize.Add(1) > maxOwners {
		h.owners.Clear()
		h.ownersSize.Store(1)
	}
	h.owners.Store(botID, id)
	return id, nil
}

// apply records the update as seen (a redelivery stops here), lets the
// bot decide, and queues what it decided, all in tx.
func (h *Telegram) apply(c *fiber.Ctx, tx pgx.Tx, b tenant.Bot, u telego.Update) error {
	ctx := c.UserContext()
	if bot.Ignores(b, u) {
		return nil // nothing to do, now or on a redelivery: nothing written, no commit to wait for
	}
	// The tenant's status comes back with the insert, to cost no round trip.
	var status string
	err := tx.QueryRow(ctx, `INSERT INTO processed_updates (tenant_id, bot_id, update_id)
		VALUES (gatekey_tenant(), $1, $2) ON CONFLICT DO NOTHING
		RETURNING (SELECT status FROM tenants WHERE id = gatekey_tenant())`, b.ID, u.UpdateID).Scan(&status)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // already handled
	}
	if err != nil {
		return err
	}
	return h.decide(c, tx, b, u, status, nil)
}

// smallUpdateBytes bounds the bodies parsed before their secret is
// checked (see smallUpdate): a few times the usual size of an update, and
// parsed in about the time the database's check of the secret takes, so a
// stranger's request costs no more than it did.
const smallUpdateBytes = 16 << 10

// smallUpdate parses a body of at most smallUpdateBytes, so that a
// member's message or button press, most of what arrives, can have its
// secret checked and be recorded in one statement (applyChecked). ok is
// false for a larger body or one that is not an update: it goes the long
// way, the secret first, then the body.
func smallUpdate(body []byte) (u telego.Update, ok bool) {
	if len(body) > smallUpdateBytes {
		return u, false
	}
	err := json.Unmarshal(body, &u)
	return u, err == nil && u.UpdateID > 0
}

// applyChecked does what GetBot, the secret check and apply do, for a
// member's message or button press (which bot.Ignores never ignores), with
// the bot read and the update recorded in one statement. The update is
// recorded only if the secret matches: the statement compares SHA-256
// digests (so its plain comparison leaks nothing of the secret), and the
// constant-time comparison of the secrets themselves decides, rolling
// everything back when they differ. The statement travels with BEGIN
// (tenant.TxBatch), and with the reads the bot will begin with
// (bot.ReadAhead): they change nothing, and what they read is dropped when
// the update is refused or seen before.
func (h *Telegram) applyChecked(c *fiber.Ctx, tenantID, botID int64, secret string, u telego.Update) error {
	ctx := c.UserContext()
	digest := sha256.Sum256([]byte(secret))
	var b tenant.Bot
	var recorded bool
	var status string
	var batch pgx.Batch
	batch.Queue(`WITH bot AS (
			SELECT `+tenant.BotColumns+` FROM bots WHERE id = $1
		), recorded AS (
			INSERT INTO processed_updates (tenant_id, bot_id, update_id)
			SELECT gatekey_tenant(), id, $2 FROM bot WHERE sha256(convert_to(webhook_secret, 'UTF8')) = $3
			ON CONFLICT DO NOTHING RETURNING 1
		)
		SELECT `+tenant.BotColumns+`,
			EXISTS (SELECT FROM recorded), (SELECT status FROM tenants WHERE id = gatekey_tenant())
		FROM bot`, botID, u.UpdateID, digest[:]).
		QueryRow(func(row pgx.Row) error { return row.Scan(append(b.Fields(), &recorded, &status)...) })
	ahead := bot.ReadAhead(&batch, botID, u)
	began := false // whether the batch went through, for what an error says
	err := h.DB.TxBatch(ctx, tenantID, &batch, func(tx pgx.Tx) error {
		began = true
		if subtle.ConstantTimeCompare([]byte(secret), []byte(b.WebhookSecret)) != 1 {
			return errBadSecret
		}
		if !recorded {
			return nil // already handled
		}
		return h.decide(c, tx, b, u, status, ahead)
	})
	switch {
	case began || err == nil:
		return err
	case errors.Is(err, pgx.ErrNoRows):
		return tenant.ErrNotFound
	default:
		return fmt.Errorf("webhooks: record update: %w", err)
	}
}

// decide lets the bot decide what to do with a recorded update, and
// queues it; status is the tenant's, ahead what bot.ReadAhead read (or nil).
func (h *Telegram) decide(c *fiber.Ctx, tx pgx.Tx, b tenant.Bot, u telego.Update, status string, ahead *bot.Ahead) error {
	ctx := c.UserContext()
	out, handled, err := whileSuspended(ctx, tx, b, u, status)
	if !handled && err == nil {
		out, err = bot.Handle(ctx, tx, b, u, ahead)
	}
	if err != nil {
		return err
	}
	return jobs.Insert(ctx, h.River, tx, out)
}
