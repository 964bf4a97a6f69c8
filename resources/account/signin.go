package account

import (
	"context"
	"crypto/subtle"
	"errors"
	"strings"
	"time"

	"github.com/tnt/gateway/crypto"
	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/session"
)

// MFATTL is how long a login waits for its second factor.
const MFATTL = 5 * time.Minute

// MFAChallenge is the data of a MfaRequiredError: the token that continues
// a login with POST /api/auth/mfa (none for the admin scheme, which takes
// the code in its header), and whether the account must enrol first.
type MFAChallenge struct {
	Token     string `json:"mfa_token,omitempty"`
	ExpiresIn int64  `json:"expires_in,omitempty"`
	Factor    string `json:"factor"`
	Enrol     bool   `json:"enrol,omitempty"`
}

// mfaRequiredError is the answer to a correct password of an account that
// signs in with a second factor.
func mfaRequiredError(c MFAChallenge, message string) error {
	return &resources.DataError{Err: resources.Errorf(resources.EMFAREQUIRED, "%s", message), Data: c}
}

// signIn follows a checked password (or WeChat's word) on the account as
// that check read it: an account with a second factor gets a challenge
// instead of a session; an account whose level must have one, and has
// none, gets a session that may only enrol.
func (a *Service) signIn(ctx context.Context, u resources.User, dev Device) (Tokens, error) {
	p := principalOf(u)
	if hasTOTP(u) {
		return Tokens{}, a.challenge(ctx, p, dev)
	}
	p.EnrolOnly = a.mfaRequired(p.Level)
	return a.startSession(ctx, p, crypto.KindAccess, dev)
}

// challenge keeps a login waiting for its code, with the credential stamp
// the password matched, and answers MfaRequiredError with its token.
func (a *Service) challenge(ctx context.Context, p resources.Principal, dev Device) error {
	secret := newSecret()
	now := a.now().UTC()
	s := session.Session{
		ID: newSessionID(), UserID: p.UserID, Username: p.Username, Level: p.Level, Kind: session.KindPending,
		CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(MFATTL),
		UserAgent: resources.ClipText(dev.UserAgent), Browser: resources.ClipText(dev.Browser), IP: dev.IP,
		RefreshHash: hashSecret(secret), Stamp: p.Stamp,
	}
	if err := a.sessions.Create(ctx, s); err != nil {
		return err
	}
	return mfaRequiredError(MFAChallenge{Token: s.ID + "." + secret, ExpiresIn: int64(MFATTL.Seconds()), Factor: "totp"},
		"a second factor is required: send the mfa_token with a code to POST /api/auth/mfa")
}

// CompleteMFA finishes a login that waits for its second factor: the
// login's token and a TOTP or recovery code. The token is spent once, by
// the first request with a good code; the session is made only if the
// account still has the credential and level the password matched.
func (a *Service) CompleteMFA(ctx context.Context, token, code string, dev Device) (Tokens, error) {
	sid, secret, ok := strings.Cut(token, ".")
	if !ok || len(sid) != 32 || len(secret) < 40 || len(secret) > 64 {
		return Tokens{}, errToken()
	}
	s, err := a.sessions.Get(ctx, sid)
	if errors.Is(err, session.ErrNotFound) || (err == nil && (s.Kind != session.KindPending || subtle.ConstantTimeCompare([]byte(s.RefreshHash), []byte(hashSecret(secret))) != 1)) {
		return Tokens{}, errToken()
	}
	if err != nil {
		return Tokens{}, err
	}
	if err := a.useCode(ctx, s.UserID, code, clientOf(dev)); err != nil {
		return Tokens{}, err
	}
	if _, err := a.sessions.Rotate(ctx, sid, s.RefreshHash, hashSecret(newSecret())); err != nil {
		if errors.Is(err, session.ErrNotFound) || errors.Is(err, session.ErrReused) || errors.Is(err, session.ErrStale) {
			return Tokens{}, errToken()
		}
		return Tokens{}, err
	}
	if err := a.sessions.Revoke(ctx, sid); err != nil {
		return Tokens{}, err
	}
	return a.startSession(ctx, resources.Principal{UserID: s.UserID, Username: s.Username, Level: s.Level, Stamp: s.Stamp, SecondFactor: true}, crypto.KindAccess, dev)
}
