package tenant_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatekey/gatekey/tenant"
)

func keyring(t *testing.T, current string, old ...string) *tenant.Keyring {
	t.Helper()
	k, err := tenant.NewKeyring(current, old...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

type storedToken struct {
	tenantID, botID int64
	token           string
}

// TestRotateBotTokens: tokens under key A, rotated with (B, old A), are all
// under B and decrypt with B alone; a second run changes nothing; a token
// under a key the keyring lacks is counted, not touched.
func TestRotateBotTokens(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	keyA, keyB, keyC := strings.Repeat("aa", 32), strings.Repeat("bb", 32), strings.Repeat("cc", 32)
	a, b, c := keyring(t, keyA), keyring(t, keyB), keyring(t, keyC)

	var bots []storedToken
	addBots := func(email string, keys *tenant.Keyring, n int, firstTelegramID int64) int64 {
		tenantID, err := db.SignUp(ctx, email, "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		err = db.Tx(ctx, tenantID, func(tx pgx.Tx) error {
			for i := range n {
				token := fmt.Sprintf("%d:token-%s-%d", firstTelegramID+int64(i), email, i)
				bot, err := tenant.AddBot(ctx, tx, keys, firstTelegramID+int64(i), fmt.Sprintf("bot%d", firstTelegramID+int64(i)), token)
				if err != nil {
					return err
				}
				if keys != c {
					bots = append(bots, storedToken{tenantID, bot.ID, token})
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return tenantID
	}
	addBots("one@example.com", a, 102, 1000) // more than one transaction's batch
	other := addBots("two@example.com", a, 2, 2000)
	// A bot of the second tenant under a key nobody configured.
	var lostID int64
	if err := db.Tx(ctx, other, func(tx pgx.Tx) error {
		bot, err := tenant.AddBot(ctx, tx, c, 3000, "lostbot", "3000:lost")
		lostID = bot.ID
		return err
	}); err != nil {
		t.Fatal(err)
	}
	ciphertexts := func() map[int64]string {
		out := map[int64]string{}
		for _, tid := range []int64{bots[0].tenantID, other} {
			err := db.Tx(ctx, tid, func(tx pgx.Tx) error {
				rows, err := tx.Query(ctx, "SELECT id, token_key_id || ':' || encode(token_ciphertext, 'hex') FROM bots")
				if err != nil {
					return err
				}
				m, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct {
					ID int64
					S  string
				}])
				for _, r := range m {
					out[r.ID] = r.S
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		return out
	}
	before := ciphertexts()

	rotating := keyring(t, keyB, keyA)
	r, err := db.RotateBotTokens(ctx, rotating)
	if err != nil {
		t.Fatal(err)
	}
	if r.Reencrypted != 104 || len(r.Unreadable) != 1 || r.Unreadable[c.Current()] != 1 {
		t.Errorf("first run: %+v, want 104 re-encrypted and 1 unreadable under %s", r, c.Current())
	}
	for _, bt := range bots {
		err := db.Tx(ctx, bt.tenantID, func(tx pgx.Tx) error {
			got, err := tenant.BotToken(ctx, tx, b, bt.botID)
			if err == nil && got != bt.token {
				err = fmt.Errorf("decrypts to %q, want %q", got, bt.token)
			}
			return err
		})
		if err != nil {
			t.Fatalf("bot %d with key B alone: %v", bt.botID, err)
		}
	}
	after := ciphertexts()
	if after[lostID] != before[lostID] {
		t.Error("the token under the unknown key was changed")
	}
	if err := db.Tx(ctx, other, func(tx pgx.Tx) error {
		got, err := tenant.BotToken(ctx, tx, c, lostID)
		if err == nil && got != "3000:lost" {
			err = fmt.Errorf("decrypts to %q", got)
		}
		return err
	}); err != nil {
		t.Errorf("the token under the unknown key no longer decrypts with its key: %v", err)
	}
	uses, err := db.TokenKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []tenant.KeyUse{{KeyID: b.Current(), Bots: 104}, {KeyID: c.Current(), Bots: 1}}
	if fmt.Sprint(uses) != fmt.Sprint(want) {
		t.Errorf("TokenKeys = %v, want %v", uses, want)
	}
	if m := tenant.MissingKeys(uses, rotating); fmt.Sprint(m) != fmt.Sprint(want[1:]) {
		t.Errorf("MissingKeys = %v, want %v", m, want[1:])
	}

	// Again: nothing to do, nothing changed.
	r, err = db.RotateBotTokens(ctx, rotating)
	if err != nil {
		t.Fatal(err)
	}
	if r.Reencrypted != 0 || r.Unreadable[c.Current()] != 1 {
		t.Errorf("second run: %+v, want nothing re-encrypted", r)
	}
	again := ciphertexts()
	for id, s := range after {
		if again[id] != s {
			t.Errorf("bot %d's token changed on the second run", id)
		}
	}
	if len(again) != 105 || bytes.Equal([]byte(again[bots[0].botID]), []byte(before[bots[0].botID])) {
		t.Errorf("%d bots; first bot's token not re-encrypted", len(again))
	}
}
