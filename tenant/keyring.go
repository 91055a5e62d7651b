package tenant

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Keyring encrypts secrets at rest (bot tokens) with AES-256-GCM. Each
// ciphertext is stored with the id of the key that made it, so keys can
// rotate: new values use the current key, old ones still decrypt with the
// key named beside them.
type Keyring struct {
	current string
	ids     []string // current first, then the old keys in the order given
	keys    map[string]cipher.AEAD
}

// NewKeyring takes the current key and any older ones, each 32 bytes
// written as base64 or hex. A key's id is derived from the key itself.
func NewKeyring(current string, old ...string) (*Keyring, error) {
	k := &Keyring{keys: map[string]cipher.AEAD{}}
	for i, s := range append([]string{current}, old...) {
		id, aead, err := parseKey(s)
		if err != nil {
			return nil, fmt.Errorf("tenant: secret key %d: %w", i+1, err)
		}
		if i == 0 {
			k.current = id
		}
		if _, dup := k.keys[id]; !dup {
			k.ids = append(k.ids, id)
		}
		k.keys[id] = aead
	}
	return k, nil
}

func parseKey(s string) (string, cipher.AEAD, error) {
	s = strings.TrimSpace(s)
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(raw) != 32 {
		raw, err = hex.DecodeString(s)
	}
	if err != nil || len(raw) != 32 {
		return "", nil, errors.New("must be 32 bytes, base64 or hex encoded (try: openssl rand -base64 32)")
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return "", nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return "", nil, err
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:4]), aead, nil
}

// Current is the id of the key Seal uses.
func (k *Keyring) Current() string { return k.current }

// IDs are the ids of every key k has: the current one first, then the
// old ones in the order given.
func (k *Keyring) IDs() []string { return append([]string(nil), k.ids...) }

// Has says whether k has the key with this id, so can Open what it made.
func (k *Keyring) Has(keyID string) bool {
	_, ok := k.keys[keyID]
	return ok
}

// Seal encrypts plaintext, binding it to context (so a ciphertext copied
// to another row does not decrypt), and returns it with its key id.
func (k *Keyring) Seal(plaintext, context []byte) (ciphertext []byte, keyID string) {
	aead := k.keys[k.current]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return aead.Seal(nonce, nonce, plaintext, context), k.current
}

// Open decrypts what Seal made.
func (k *Keyring) Open(ciphertext []byte, keyID string, context []byte) ([]byte, error) {
	aead, ok := k.keys[keyID]
	if !ok {
		return nil, fmt.Errorf("tenant: no secret key with id %s (was an old key dropped from GATEKEY_OLD_SECRET_KEYS?)", keyID)
	}
	n := aead.NonceSize()
	if len(ciphertext) < n {
		return nil, errors.New("tenant: ciphertext too short")
	}
	out, err := aead.Open(nil, ciphertext[:n], ciphertext[n:], context)
	if err != nil {
		return nil, fmt.Errorf("tenant: decrypt: %w", err)
	}
	return out, nil
}
