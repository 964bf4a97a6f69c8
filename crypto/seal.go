package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
)

// ErrSealed is the one error for a sealed value that does not open: altered,
// sealed for another purpose or another record, or by another keyring.
var ErrSealed = errors.New("crypto: the sealed value does not open")

// sealPrefix marks the format of a sealed value, so a later format can be
// told apart.
const sealPrefix = "s1."

// sealKey derives the AES-256 key of one purpose from the keyring's archive
// secret, which is never rotated: what is sealed today opens as long as the
// keyring is kept, and replicas sharing the keyring share the key.
func (k *Keyring) sealKey(purpose string) []byte {
	_, secret := k.ArchiveKey()
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("gateway seal\x00" + purpose))
	return mac.Sum(nil)
}

// Seal encrypts a small secret kept at rest (a TOTP secret) with AES-GCM
// under a key of its purpose; aad binds it to its record (the account's
// id), so a sealed value copied to another record does not open there.
func (k *Keyring) Seal(purpose string, plaintext, aad []byte) (string, error) {
	gcm, err := newGCM(k.sealKey(purpose))
	if err != nil {
		return "", err
	}
	nonce := make([]byte, gcm.NonceSize(), gcm.NonceSize()+len(plaintext)+gcm.Overhead())
	_, _ = rand.Read(nonce)
	return sealPrefix + base64.RawURLEncoding.EncodeToString(gcm.Seal(nonce, nonce, plaintext, aad)), nil
}

// Open decrypts what Seal sealed for the same purpose and aad.
func (k *Keyring) Open(purpose, sealed string, aad []byte) ([]byte, error) {
	body, ok := strings.CutPrefix(sealed, sealPrefix)
	if !ok {
		return nil, ErrSealed
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return nil, ErrSealed
	}
	gcm, err := newGCM(k.sealKey(purpose))
	if err != nil {
		return nil, err
	}
	if len(raw) < gcm.NonceSize()+gcm.Overhead() {
		return nil, ErrSealed
	}
	out, err := gcm.Open(nil, raw[:gcm.NonceSize()], raw[gcm.NonceSize():], aad)
	if err != nil {
		return nil, ErrSealed
	}
	return out, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
