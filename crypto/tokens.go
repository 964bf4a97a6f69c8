package crypto

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Token kinds: distinct, and never accepted in each other's place.
const (
	KindAccess = "access"
	KindAdmin  = "admin"
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
	if !slices.Contains(kinds, c.Kind) || c.Subject == "" || c.SID == "" {
		return Claims{}, ErrBadToken
	}
	return c, nil
}
