package crypto

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestTokens(t *testing.T) {
	c := &clock{time.Now()}
	k := MustOpenKeyring(t, c)
	tokens := NewTokens(k, TokenConfig{Issuer: "gateway", Audience: "api", Now: c.now})
	tok, exp, err := tokens.Issue(KindAccess, "uid1", "alice", 4, "sid1", 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if exp.Sub(c.t) != 15*time.Minute {
		t.Errorf("exp %v", exp)
	}
	claims, err := tokens.Verify(tok, KindAccess)
	if err != nil || claims.Subject != "uid1" || claims.User != "alice" || claims.Level != 4 || claims.SID != "sid1" || claims.ID == "" {
		t.Fatalf("verify: %+v %v", claims, err)
	}
	head, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if !strings.Contains(string(head), `"kid"`) || !strings.Contains(string(head), `"EdDSA"`) {
		t.Errorf("header: %s", head)
	}

	other := NewTokens(k, TokenConfig{Issuer: "other", Audience: "api", Now: c.now})
	wrongIss, _, _ := other.Issue(KindAccess, "uid1", "alice", 4, "sid1", time.Minute)
	otherAud := NewTokens(k, TokenConfig{Issuer: "gateway", Audience: "elsewhere", Now: c.now})
	wrongAud, _, _ := otherAud.Issue(KindAccess, "uid1", "alice", 4, "sid1", time.Minute)
	admin, _, _ := tokens.Issue(KindAdmin, "uid1", "alice", 2, "sid1", time.Minute)
	expired, _, _ := NewTokens(k, TokenConfig{Issuer: "gateway", Audience: "api", Now: func() time.Time { return c.t.Add(-time.Hour) }}).Issue(KindAccess, "u", "a", 4, "s", time.Minute)

	// alg none, and HS256 keyed with the public key (algorithm confusion).
	noneTok := unsigned(t, `{"alg":"none","typ":"JWT"}`, claims)
	pub, _ := x509.MarshalPKIXPublicKey(k.signer().key.Public())
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	hs.Header["kid"] = k.signer().kid
	hsTok, _ := hs.SignedString(pub)
	noExp := claims
	noExp.ExpiresAt = nil
	noExpTok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, noExp)
	noExpTok.Header["kid"] = k.signer().kid
	noExpStr, _ := noExpTok.SignedString(k.signer().key)
	parts := strings.Split(tok, ".")
	badSig := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))

	refused := map[string]string{
		"wrong issuer": wrongIss, "wrong audience": wrongAud, "admin kind as access": admin, "expired": expired,
		"alg none": noneTok, "HS256 with the public key": hsTok, "no exp": noExpStr, "bad signature": badSig,
		"unknown kid":   withKid(t, tok, "nope"),
		"path kid":      withKid(t, tok, "../x"),
		"injection kid": withKid(t, tok, "' OR 1=1 --"),
		"100k dots":     "Bearer" + strings.Repeat(".", 100_000),
		"empty":         "",
		"garbage":       "a.b.c",
	}
	for name, s := range refused {
		if _, err := tokens.Verify(s, KindAccess); err != ErrBadToken {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := tokens.Verify(admin, KindAdmin, KindAccess); err != nil {
		t.Errorf("admin token where admin tokens are allowed: %v", err)
	}
}

func unsigned(t *testing.T, header string, c Claims) string {
	t.Helper()
	body, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString(body) + "."
}

func withKid(t *testing.T, tok, kid string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	head, _ := base64.RawURLEncoding.DecodeString(parts[0])
	var h map[string]any
	_ = json.Unmarshal(head, &h)
	h["kid"] = kid
	b, _ := json.Marshal(h)
	parts[0] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

// BenchmarkVerifyToken is the steady state: a client reusing its token hits
// the verified-signature cache (the session is still checked per request).
func BenchmarkVerifyToken(b *testing.B) {
	k := MustOpenKeyring(b, &clock{time.Now()})
	tokens := NewTokens(k, TokenConfig{Issuer: "gateway", Audience: "api"})
	tok, _, _ := tokens.Issue(KindAccess, "uid1", "alice", 4, "sid1", time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tokens.Verify(tok, KindAccess); err != nil {
			b.Fatal(err)
		}
	}
}

// TestVerifiedCacheKeepsTheRules: a cached token still expires, still must be
// of an allowed kind, and is dropped when the keyring reloads.
func TestVerifiedCacheKeepsTheRules(t *testing.T) {
	c := &clock{time.Now()}
	k := MustOpenKeyring(t, c)
	tokens := NewTokens(k, TokenConfig{Issuer: "gateway", Audience: "api", Now: c.now})
	tok, _, _ := tokens.Issue(KindAccess, "u", "user", 4, "s", 30*time.Second)
	if _, err := tokens.Verify(tok, KindAccess); err != nil {
		t.Fatal(err)
	}
	if _, err := tokens.Verify(tok, KindAdmin); err != ErrBadToken {
		t.Errorf("cached token of another kind: %v", err)
	}
	c.t = c.t.Add(40 * time.Second)
	if _, err := tokens.Verify(tok, KindAccess); err != ErrBadToken {
		t.Errorf("cached token past its expiry: %v", err)
	}
	c.t = c.t.Add(-40 * time.Second)
	tok2, _, _ := tokens.Issue(KindAccess, "u", "user", 4, "s", 10*time.Hour)
	if _, err := tokens.Verify(tok2, KindAccess); err != nil {
		t.Fatal(err)
	}
	// Rotation out of the grace period: the cache does not outlive the key.
	if err := k.Rotate(); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(2 * time.Hour)
	if err := k.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, err := tokens.Verify(tok2, KindAccess); err != ErrBadToken {
		t.Errorf("token of a dropped key, from the cache: %v", err)
	}
}

func BenchmarkVerifyTokenUncached(b *testing.B) {
	k := MustOpenKeyring(b, &clock{time.Now()})
	tokens := NewTokens(k, TokenConfig{Issuer: "gateway", Audience: "api"})
	toks := make([]string, b.N)
	for i := range toks {
		toks[i], _, _ = tokens.Issue(KindAccess, "uid1", "alice", 4, "sid1", time.Hour)
	}
	b.ResetTimer()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := tokens.Verify(toks[i], KindAccess); err != nil {
			b.Fatal(err)
		}
	}
}
