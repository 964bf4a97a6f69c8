package crypto

import (
	"crypto/ed25519"
	"encoding/base64"
	"strings"
)

// SignRecord signs the canonical form of a transaction record with the
// record key and returns "<kid>.<base64url signature>".
func (k *Keyring) SignRecord(canonical []byte) string {
	rk := k.snapshot().records[0]
	return rk.kid + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(rk.key, canonical))
}

// VerifyRecord checks a record signature made by SignRecord with any record
// key the keyring holds.
func (k *Keyring) VerifyRecord(canonical []byte, signature string) bool {
	kid, sig, ok := strings.Cut(signature, ".")
	if !ok || len(signature) > 256 {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || len(raw) != ed25519.SignatureSize {
		return false
	}
	for _, rk := range k.snapshot().records {
		if rk.kid == kid {
			return ed25519.Verify(rk.key.Public().(ed25519.PublicKey), canonical, raw)
		}
	}
	return false
}
