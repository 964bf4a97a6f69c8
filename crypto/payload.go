package crypto

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"

	"github.com/go-jose/go-jose/v4"
)

// ErrBadPayload is the one error for any encrypted payload that cannot be
// opened, whatever the cause, so failures teach an attacker nothing.
var ErrBadPayload = errors.New("encrypted payload refused")

// maxPayloadLen bounds an encrypted payload before any work is spent on it.
const maxPayloadLen = 16 << 10

// OpenPayload decrypts an encrypted payload: a JWE compact serialization
// (RSA-OAEP-256 with A256GCM, kid of a current or grace-period key) or the
// base64 of one RSA-OAEP (SHA-256) block. The JWE header is checked against
// the allow-list before any RSA work: other algorithms, compression, embedded
// or remote keys and unknown kids are refused at once.
func (k *Keyring) OpenPayload(token string) ([]byte, error) {
	token = strings.TrimSpace(token)
	if len(token) == 0 || len(token) > maxPayloadLen {
		return nil, ErrBadPayload
	}
	if strings.Count(token, ".") == 4 {
		return k.openJWE(token)
	}
	return k.openBlock(token)
}

func (k *Keyring) openJWE(token string) ([]byte, error) {
	head, _, _ := strings.Cut(token, ".")
	if len(head) > 1024 {
		return nil, ErrBadPayload
	}
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return nil, ErrBadPayload
	}
	var h map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&h); err != nil || dec.More() {
		return nil, ErrBadPayload
	}
	for name := range h {
		switch name {
		case "alg", "enc", "kid", "typ", "cty":
		default: // zip, jwk, jku, x5u, x5c, crit, p2c, epk, ... are refused
			return nil, ErrBadPayload
		}
	}
	if h["alg"] != string(jose.RSA_OAEP_256) || h["enc"] != string(jose.A256GCM) {
		return nil, ErrBadPayload
	}
	keys := k.decryptionKeys()
	if kid, has := h["kid"]; has {
		s, _ := kid.(string)
		keys = pick(keys, s)
		if len(keys) == 0 {
			return nil, ErrBadPayload
		}
	}
	jwe, err := jose.ParseEncryptedCompact(token, []jose.KeyAlgorithm{jose.RSA_OAEP_256}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		return nil, ErrBadPayload
	}
	for _, rk := range keys {
		if pt, err := jwe.Decrypt(rk.key); err == nil {
			return pt, nil
		}
	}
	return nil, ErrBadPayload
}

// pick finds the key a JWE names: by the kid the gateway publishes, or by
// the key's RFC 7638 thumbprint.
func pick(keys []rsaKey, kid string) []rsaKey {
	for _, rk := range keys {
		if rk.kid == kid || rk.thumbprint == kid {
			return []rsaKey{rk}
		}
	}
	return nil
}

func (k *Keyring) openBlock(token string) ([]byte, error) {
	var ct []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if ct, err = enc.DecodeString(token); err == nil {
			break
		}
	}
	if err != nil {
		return nil, ErrBadPayload
	}
	for _, rk := range k.decryptionKeys() {
		if len(ct) != rk.key.Size() {
			continue
		}
		if pt, err := rsa.DecryptOAEP(sha256.New(), nil, rk.key, ct, nil); err == nil {
			return pt, nil
		}
	}
	return nil, ErrBadPayload
}

// SealPayload encrypts plaintext to the current payload key as a JWE, the
// way a client does (the CLI and tests use it).
func SealPayload(info PublicKeyInfo, plaintext []byte) (string, error) {
	enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.RSA_OAEP_256, Key: info.JWK.Key, KeyID: info.Kid}, nil)
	if err != nil {
		return "", err
	}
	obj, err := enc.Encrypt(plaintext)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

// SealBlock encrypts a short plaintext as one RSA-OAEP (SHA-256) block,
// base64-encoded: the other payload form the gateway accepts.
func SealBlock(info PublicKeyInfo, plaintext []byte) (string, error) {
	pub, ok := info.JWK.Key.(*rsa.PublicKey)
	if !ok {
		return "", errors.New("not an RSA key")
	}
	ct, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, plaintext, nil)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(ct), nil
}
