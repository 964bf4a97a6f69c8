package crypto

import (
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clock is a movable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// MustOpenKeyring opens a keyring with 2048-bit keys (fast to make) in a
// temp dir.
func MustOpenKeyring(tb testing.TB, c *clock) *Keyring {
	tb.Helper()
	k, err := OpenKeyring(KeyringConfig{Path: filepath.Join(tb.TempDir(), "keys", "keyring.json"), RSABits: 2048, Grace: time.Hour, Now: c.now})
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func TestKeyringPersistsAndRotates(t *testing.T) {
	c := &clock{time.Now()}
	k := MustOpenKeyring(t, c)
	info := k.PayloadPublicKey()
	if !strings.HasPrefix(info.PublicKey, "-----BEGIN PUBLIC KEY-----") || info.Alg != "RSA-OAEP-256" || info.Enc != "A256GCM" || info.Kid == "" {
		t.Fatalf("gpk: %+v", info)
	}
	st, _ := os.Stat(k.cfg.Path)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("keyring file mode %v", st.Mode().Perm())
	}
	// Reopening finds the same keys.
	k2, err := OpenKeyring(k.cfg)
	if err != nil || k2.PayloadPublicKey().Kid != info.Kid {
		t.Fatalf("reopen: %v", err)
	}
	old, err := SealPayload(info, []byte(`{"x":1}`))
	if err != nil {
		t.Fatal(err)
	}
	oldJWT, _, _ := NewTokens(k, TokenConfig{Issuer: "i", Audience: "a", Now: c.now}).Issue(KindAccess, "u", "user", 4, "s", time.Hour)

	if err := k.Rotate(); err != nil {
		t.Fatal(err)
	}
	if k.PayloadPublicKey().Kid == info.Kid {
		t.Fatal("rotation kept the same key")
	}
	if len(k.JWKS().Keys) != 2 {
		t.Errorf("JWKS during grace: %d keys", len(k.JWKS().Keys))
	}
	// The other replica picks the rotation up from the file (its time is
	// set apart from the first write's, as a later write's would be).
	later := time.Now().Add(time.Minute)
	_ = os.Chtimes(k.cfg.Path, later, later)
	if err := k2.ReloadIfChanged(); err != nil || k2.PayloadPublicKey().Kid != k.PayloadPublicKey().Kid {
		t.Errorf("replica reload: %v", err)
	}
	if _, err := k.OpenPayload(old); err != nil {
		t.Errorf("previous key within the grace period: %v", err)
	}
	tokens := NewTokens(k, TokenConfig{Issuer: "i", Audience: "a", Now: c.now})
	if _, err := tokens.Verify(oldJWT, KindAccess); err != nil {
		t.Errorf("token of the previous signing key within the grace period: %v", err)
	}
	// After the grace period the old key is gone.
	c.t = c.t.Add(2 * time.Hour)
	if err := k.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, err := k.OpenPayload(old); err == nil {
		t.Error("previous key still decrypts after the grace period")
	}
	if len(k.JWKS().Keys) != 1 {
		t.Errorf("JWKS after grace: %d keys", len(k.JWKS().Keys))
	}
	b, _ := json.Marshal(k.JWKS())
	if strings.Contains(string(b), `"d"`) {
		t.Errorf("JWKS holds private material: %s", b)
	}
}

func TestDefaultKeySize(t *testing.T) {
	if testing.Short() {
		t.Skip("3072-bit key generation")
	}
	k, err := OpenKeyring(KeyringConfig{Path: filepath.Join(t.TempDir(), "keyring.json"), Grace: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if bits := k.PayloadPublicKey().JWK.Key.(*rsa.PublicKey).N.BitLen(); bits != 3072 {
		t.Errorf("default RSA key: %d bits", bits)
	}
	if _, err := OpenKeyring(KeyringConfig{Path: filepath.Join(t.TempDir(), "k.json"), RSABits: 1024}); err == nil {
		t.Error("1024-bit keys accepted")
	}
}

func TestRecordSignaturesSurviveRotation(t *testing.T) {
	k := MustOpenKeyring(t, &clock{time.Now()})
	sig := k.SignRecord([]byte(`{"total":100}`))
	if !k.VerifyRecord([]byte(`{"total":100}`), sig) {
		t.Fatal("own signature refused")
	}
	for _, bad := range []string{"", "x", sig + "A", strings.Replace(sig, ".", ".A", 1)} {
		if k.VerifyRecord([]byte(`{"total":100}`), bad) {
			t.Errorf("signature %q accepted", bad)
		}
	}
	if k.VerifyRecord([]byte(`{"total":1000}`), sig) {
		t.Error("altered record accepted")
	}
	if err := k.Rotate(); err != nil {
		t.Fatal(err)
	}
	if !k.VerifyRecord([]byte(`{"total":100}`), sig) {
		t.Error("record signature lost with a key rotation")
	}
}

func TestKeysDescribeUseAgeAndEnd(t *testing.T) {
	c := &clock{time.Now()}
	k := MustOpenKeyring(t, c)
	first := k.PayloadPublicKey().Kid
	if err := k.Rotate(); err != nil {
		t.Fatal(err)
	}
	uses := map[string]int{}
	for _, in := range k.Keys() {
		uses[in.Use]++
		if in.Created.IsZero() {
			t.Errorf("key %s has no creation time", in.Kid)
		}
		if in.Use == "payload" && in.Kid == first {
			if in.Current || in.Expires.IsZero() {
				t.Errorf("rotated-out payload key: %+v", in)
			}
		}
		if in.Current != in.Expires.IsZero() {
			t.Errorf("a current key has an end, or a retired one none: %+v", in)
		}
	}
	if uses["payload"] != 2 || uses["token"] != 2 || uses["record"] != 1 {
		t.Errorf("keys by use: %v", uses)
	}
	b, _ := json.Marshal(k.Keys())
	if strings.Contains(string(b), "PRIVATE") {
		t.Errorf("key descriptions hold material: %s", b)
	}
}

// TestRecordKeysVerifyOffline: the published record keys alone verify a
// record's signature, after rotations too, and they are not the keys that
// verify JWTs (a record signature can never pass for a token).
func TestRecordKeysVerifyOffline(t *testing.T) {
	k := MustOpenKeyring(t, &clock{time.Now()})
	canonical := []byte(`{"_id":"abc","total":100}`)
	sig := k.SignRecord(canonical)
	if err := k.Rotate(); err != nil {
		t.Fatal(err)
	}
	kid, encoded, _ := strings.Cut(sig, ".")
	raw, err := base64.RawURLEncoding.DecodeString(encoded)
	if err != nil {
		t.Fatal(err)
	}
	verified := false
	for _, key := range k.RecordKeys().Keys {
		pub, ok := key.Key.(ed25519.PublicKey)
		if !ok || key.Algorithm != "EdDSA" || key.Use != "sig" {
			t.Fatalf("record key %s: %T %s %s", key.KeyID, key.Key, key.Algorithm, key.Use)
		}
		if key.KeyID == kid {
			verified = ed25519.Verify(pub, canonical, raw) && !ed25519.Verify(pub, []byte(`{"_id":"abc","total":1000}`), raw)
		}
		if tokenKeys := k.JWKS(); len(tokenKeys.Key(key.KeyID)) != 0 {
			t.Errorf("record key %s is also a token key", key.KeyID)
		}
	}
	if !verified {
		t.Fatalf("no published record key verifies %q", sig)
	}
}
