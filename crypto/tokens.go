package crypto

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Token kinds: distinct, and never accepted in each other's place.
const (
	KindAccess = "access"
	KindAdmin  = "admin"
	// KindDevice marks a client that signed in to the account before; it
	// grants nothing, and no route takes it as a credential.
	KindDevice = "device"
)

// ErrBadToken is the one error for a JWT that is not accepted.
var ErrBadToken = errors.New("token refused")

// maxTokenLen bounds a JWT before it is parsed (RFC 8725: no unbounded
// splitting or decoding of hostile input).
const maxTokenLen = 4096

// Claims are the gateway's JWT claims.
type Claims struct {
	jwt.RegisteredClaims
	User  string `json:"user"`
	Level int    `json:"level"`
	SID   string `json:"sid"`
	Kind  string `json:"typ"`
}

// TokenConfig names the issuer and audience the tokens carry.
type TokenConfig struct {
	Issuer   string
	Audience string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Tokens issues and verifies the gateway's JWTs: EdDSA with the keyring's
// current signing key, a kid in the header, iss/aud/exp required.
type Tokens struct {
	kr     *Keyring
	cfg    TokenConfig
	parser *jwt.Parser
	cache  verified
}

// verified remembers tokens whose signature was checked, so that a client
// making many calls with one token pays for one Ed25519 verification. It is
// only a signature cache: the caller still checks the session on every
// request, so revocation stays immediate. Entries live at most a minute,
// never past the token's expiry, and die when the keyring reloads.
type verified struct {
	mu      sync.Mutex
	entries map[string]verifiedEntry
}

type verifiedEntry struct {
	claims     Claims
	until      time.Time
	generation uint64
}

const (
	verifiedMax = 50_000
	verifiedTTL = time.Minute
)

func (v *verified) get(token string, now time.Time, gen uint64) (Claims, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	e, ok := v.entries[token]
	if !ok || now.After(e.until) || e.generation != gen {
		return Claims{}, false
	}
	return e.claims, true
}

func (v *verified) put(token string, c Claims, now time.Time, gen uint64) {
	until := now.Add(verifiedTTL)
	if c.ExpiresAt != nil && c.ExpiresAt.Before(until) {
		until = c.ExpiresAt.Time
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.entries == nil {
		v.entries = make(map[string]verifiedEntry)
	}
	if len(v.entries) >= verifiedMax {
		for k, e := range v.entries {
			if now.After(e.until) || e.generation != gen || len(v.entries) >= verifiedMax {
				delete(v.entries, k)
			}
		}
	}
	v.entries[token] = verifiedEntry{claims: c, until: until, generation: gen}
}

// NewTokens returns the token service.
func NewTokens(kr *Keyring, cfg TokenConfig) *Tokens {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithLeeway(5*time.Second),
		jwt.WithTimeFunc(cfg.Now),
		jwt.WithStrictDecoding(),
	)
	return &Tokens{kr: kr, cfg: cfg, parser: parser}
}

// Issue signs a token of the given kind for ttl and returns it with its
// expiry. iss, aud, iat, exp and a fresh jti are set here.
func (t *Tokens) Issue(kind, userID, username string, level int, sid string, ttl time.Duration) (string, time.Time, error) {
	now := t.cfg.Now()
	exp := now.Add(ttl)
	var jti [16]byte
	_, _ = rand.Read(jti[:])
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.cfg.Issuer,
			Audience:  jwt.ClaimStrings{t.cfg.Audience},
			Subject:   userID,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
			ID:        base64.RawURLEncoding.EncodeToString(jti[:]),
		},
		User: username, Level: level, SID: sid, Kind: kind,
	}
	signer := t.kr.signer()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	tok.Header["kid"] = signer.kid
	s, err := tok.SignedString(signer.key)
	return s, exp, err
}

// Verify checks a token's signature (by kid), algorithm, issuer, audience,
// expiry and kind. The token is trusted only when this returns no error.
func (t *Tokens) Verify(token string, kinds ...string) (Claims, error) {
	if len(token) == 0 || len(token) > maxTokenLen {
		return Claims{}, ErrBadToken
	}
	now, gen := t.cfg.Now(), t.kr.Generation()
	if c, ok := t.cache.get(token, now, gen); ok {
		if !slices.Contains(kinds, c.Kind) {
			return Claims{}, ErrBadToken
		}
		return c, nil
	}
	var c Claims
	parsed, err := t.parser.ParseWithClaims(token, &c, func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		key, ok := t.kr.verificationKey(kid)
		if !ok {
			return nil, ErrBadToken
		}
		return key, nil
	})
	if err != nil || !parsed.Valid {
		return Claims{}, ErrBadToken
	}
	if c.Subject == "" || c.SID == "" {
		return Claims{}, ErrBadToken
	}
	t.cache.put(token, c, now, gen)
	if !slices.Contains(kinds, c.Kind) {
		return Claims{}, ErrBadToken
	}
	return c, nil
}
