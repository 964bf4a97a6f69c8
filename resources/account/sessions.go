package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"sort"
	"time"

	"github.com/tnt/gateway/crypto"
	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/session"
)

// Tokens is what every login-like call returns.
type Tokens struct {
	TokenType        string `json:"token_type"`
	AccessToken      string `json:"access_token"`
	RefreshToken     string `json:"refresh_token,omitempty"`
	ExpiresIn        int64  `json:"expires_in"`
	RefreshExpiresIn int64  `json:"refresh_expires_in,omitempty"`
	// CSRFToken belongs to the session: a browser using the cookie
	// transport gets it as a cookie and echoes it in a header when it
	// refreshes. It is never in the JSON answer.
	CSRFToken string `json:"-"`
	// DeviceToken marks the client as one that signed in to the account:
	// presented again (X-Device-Token, or the device_token cookie), it
	// keeps the account's owner signing in while guesses from unknown
	// clients are throttled.
	DeviceToken string `json:"device_token,omitempty"`
}

// DeviceTrust is how long a device token keeps a client known.
const DeviceTrust = 90 * 24 * time.Hour

// newSecret returns 256 random bits, URL-safe.
func newSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// newSessionID returns 128 random bits in hex: a session's id (32
// characters, as refresh and MFA tokens are checked to hold).
func newSessionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// hashSecret is what the session store keeps of a refresh or CSRF token.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// startSession creates a session and issues its tokens. Admin sessions get
// one long-lived admin token and no refresh token. The session is created
// first and the principal checked against the stored user after: whatever
// admin act races the login (a level change, a deletion, a password change)
// either finds this session and ends it, or is seen here, and the session is
// ended before any token leaves.
func (a *Service) startSession(ctx context.Context, p resources.Principal, kind string, dev Device) (Tokens, error) {
	now := a.now()
	ttl := a.cfg.RefreshTTL
	if kind == crypto.KindAdmin {
		ttl = a.cfg.AdminTTL
	}
	secret, csrf := newSecret(), newSecret()
	s := session.Session{
		ID: newSessionID(), UserID: p.UserID, Username: p.Username, Level: p.Level, Kind: kind,
		CreatedAt: now.UTC(), LastSeen: now.UTC(), ExpiresAt: now.Add(ttl).UTC(),
		UserAgent: resources.ClipText(dev.UserAgent), Browser: resources.ClipText(dev.Browser), IP: dev.IP,
		RefreshHash: hashSecret(secret), CSRFHash: hashSecret(csrf), EnrolOnly: p.EnrolOnly,
		SecondFactor: p.SecondFactor,
	}
	if err := a.sessions.Create(ctx, s); err != nil {
		return Tokens{}, err
	}
	if err := a.accounts.Current(ctx, p); err != nil {
		if rerr := a.sessions.Revoke(context.WithoutCancel(ctx), s.ID); rerr != nil {
			return Tokens{}, rerr
		}
		return Tokens{}, err
	}
	if err := a.capSessions(ctx, p.UserID, s.ID); err != nil {
		return Tokens{}, err
	}
	// The device token names the device by an id of its own (in the
	// sid claim, which no session has).
	deviceToken, _, err := a.tokens.Issue(crypto.KindDevice, p.UserID, p.Username, p.Level, "d"+newSessionID(), DeviceTrust)
	if err != nil {
		return Tokens{}, err
	}
	if kind == crypto.KindAdmin {
		tok, _, err := a.tokens.Issue(crypto.KindAdmin, p.UserID, p.Username, p.Level, s.ID, ttl)
		if err != nil {
			return Tokens{}, err
		}
		return Tokens{TokenType: "bearer", AccessToken: tok, ExpiresIn: int64(ttl.Seconds()), DeviceToken: deviceToken}, nil
	}
	t, err := a.issue(s, secret, csrf)
	t.DeviceToken = deviceToken
	return t, err
}

// MaxSessionsPerUser bounds the live sessions of one account: a new login
// beyond it ends the oldest, so no account accumulates state without end.
const MaxSessionsPerUser = 100

// capSessions ends the oldest sessions of a user beyond MaxSessionsPerUser,
// never the one just made.
func (a *Service) capSessions(ctx context.Context, userID, newest string) error {
	list, err := a.sessions.List(ctx, userID)
	if err != nil || len(list) <= MaxSessionsPerUser {
		return err
	}
	sort.Slice(list, func(i, j int) bool { return list[i].CreatedAt.Before(list[j].CreatedAt) })
	for _, old := range list[:len(list)-MaxSessionsPerUser] {
		if old.ID == newest {
			continue
		}
		if err := a.sessions.Revoke(ctx, old.ID); err != nil {
			return err
		}
	}
	return nil
}

func (a *Service) issue(s session.Session, secret, csrf string) (Tokens, error) {
	tok, _, err := a.tokens.Issue(crypto.KindAccess, s.UserID, s.Username, s.Level, s.ID, a.cfg.AccessTTL)
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{
		TokenType: "bearer", AccessToken: tok, RefreshToken: s.ID + "." + secret,
		ExpiresIn: int64(a.cfg.AccessTTL.Seconds()), RefreshExpiresIn: int64(s.ExpiresAt.Sub(a.now()).Seconds()),
		CSRFToken: csrf,
	}, nil
}

// CheckToken verifies a bearer token and its session: a revoked or expired
// session is refused at once, whatever the token's own expiry.
func (a *Service) CheckToken(ctx context.Context, token string) (resources.Principal, error) {
	c, err := a.tokens.Verify(token, crypto.KindAccess, crypto.KindAdmin)
	if err != nil {
		return resources.Principal{}, resources.Errorf(resources.EAUTHENTICATION, "the access token is invalid")
	}
	s, err := a.sessions.Get(ctx, c.SID)
	if errors.Is(err, session.ErrNotFound) || (err == nil && (s.UserID != c.Subject || s.Kind != c.Kind)) {
		return resources.Principal{}, resources.Errorf(resources.EAUTHENTICATION, "the session has ended")
	}
	if err != nil {
		return resources.Principal{}, err
	}
	if now := a.now(); now.Sub(s.LastSeen) > time.Minute {
		_ = a.sessions.Touch(ctx, s.ID, now.UTC())
	}
	// A session of a level that must have a second factor, opened
	// without one (before the level was listed, say), may only enrol.
	enrolOnly := s.EnrolOnly || (a.mfaRequired(s.Level) && !s.SecondFactor)
	return resources.Principal{UserID: s.UserID, Username: s.Username, Level: s.Level, SessionID: s.ID, EnrolOnly: enrolOnly, SecondFactor: s.SecondFactor}, nil
}

// AuthenticateAdmin checks the admin header's username and password, with
// the same throttling as logins, and requires a level of 0 to 2. An
// account with a second factor also needs its code (otp), accepted once: a
// console trades the header for an admin token (GET /api/admin/auth)
// rather than repeating it. An account whose level must have a second
// factor, and has none, is refused until it enrols.
func (a *Service) AuthenticateAdmin(ctx context.Context, username, password, otp string, dev Device) (resources.Principal, error) {
	u, err := a.checkPasswordCached(ctx, byUsername(username), password, clientOf(dev), true)
	if err != nil {
		return resources.Principal{}, err
	}
	p := principalOf(u)
	if p.Level > 2 {
		return resources.Principal{}, resources.Errorf(resources.EPERMISSION, "the admin scheme is for levels 0 to 2")
	}
	switch {
	case hasTOTP(u) && otp == "":
		return resources.Principal{}, mfaRequiredError(MFAChallenge{Factor: "totp"},
			"a second factor is required: add otp=\"<code>\" to the Authorization header")
	case hasTOTP(u):
		if err := a.useCode(ctx, u.ID, otp, clientOf(dev)); err != nil {
			return resources.Principal{}, err
		}
		p.SecondFactor = true
	case a.mfaRequired(p.Level):
		return resources.Principal{}, mfaRequiredError(MFAChallenge{Factor: "totp", Enrol: true},
			"this level must sign in with a second factor: sign in at /api/auth and enrol one with POST /api/account/mfa/totp")
	}
	return p, nil
}

// SessionView is a session as its owner sees it (no token hash).
type SessionView struct {
	SID       string     `json:"sid"`
	User      string     `json:"user"`
	Level     int        `json:"level"`
	Kind      string     `json:"kind"`
	Current   bool       `json:"current"`
	CreatedAt string     `json:"created_at"`
	LastSeen  string     `json:"last_seen"`
	ExpiresAt string     `json:"expires_at"`
	Device    DeviceView `json:"device"`
}

// DeviceView is the device of a session.
type DeviceView struct {
	UserAgent string `json:"user_agent"`
	Browser   string `json:"browser"`
	IP        string `json:"ip"`
}

func view(s session.Session, current string) SessionView {
	return SessionView{
		SID: s.ID, User: s.Username, Level: s.Level, Kind: s.Kind, Current: s.ID == current,
		CreatedAt: resources.FormatTime(s.CreatedAt), LastSeen: resources.FormatTime(s.LastSeen), ExpiresAt: resources.FormatTime(s.ExpiresAt),
		Device: DeviceView{UserAgent: s.UserAgent, Browser: s.Browser, IP: s.IP},
	}
}

func needSession(p resources.Principal) error {
	if p.IsGuest() {
		return resources.Errorf(resources.EAUTHENTICATION, "authentication is required")
	}
	if p.SessionID == "" {
		return resources.Errorf(resources.ENOTFOUND, "this request carries no session token (the admin header has no session)")
	}
	return nil
}

// CurrentSession returns the caller's session.
func (a *Service) CurrentSession(ctx context.Context, p resources.Principal) (SessionView, error) {
	if err := needSession(p); err != nil {
		return SessionView{}, err
	}
	s, err := a.sessions.Get(ctx, p.SessionID)
	if errors.Is(err, session.ErrNotFound) {
		return SessionView{}, resources.Errorf(resources.EAUTHENTICATION, "the session has ended")
	}
	if err != nil {
		return SessionView{}, err
	}
	return view(s, p.SessionID), nil
}

// Logout revokes the caller's session at once.
func (a *Service) Logout(ctx context.Context, p resources.Principal) error {
	if err := needSession(p); err != nil {
		return err
	}
	return a.sessions.Revoke(ctx, p.SessionID)
}

func mustBeUser(p resources.Principal) error {
	if p.IsGuest() {
		return resources.Errorf(resources.EAUTHENTICATION, "authentication is required")
	}
	return nil
}

// Sessions lists the caller's sessions.
func (a *Service) Sessions(ctx context.Context, p resources.Principal) ([]SessionView, error) {
	if err := mustBeUser(p); err != nil {
		return nil, err
	}
	list, err := a.sessions.List(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	out := make([]SessionView, 0, len(list))
	for _, s := range list {
		if s.Kind != session.KindPending {
			out = append(out, view(s, p.SessionID))
		}
	}
	return out, nil
}

// RevokeSession ends one of the caller's sessions. Another user's session
// is answered as not found, so sids cannot be probed.
func (a *Service) RevokeSession(ctx context.Context, p resources.Principal, sid string) error {
	if err := mustBeUser(p); err != nil {
		return err
	}
	s, err := a.sessions.Get(ctx, sid)
	if errors.Is(err, session.ErrNotFound) || (err == nil && s.UserID != p.UserID) {
		return resources.Errorf(resources.ENOTFOUND, "session %s cannot be found", resources.QuoteName(sid))
	}
	if err != nil {
		return err
	}
	return a.sessions.Revoke(ctx, sid)
}

// RevokeAllSessions ends every session of the caller, this one included.
func (a *Service) RevokeAllSessions(ctx context.Context, p resources.Principal) (int, error) {
	if err := mustBeUser(p); err != nil {
		return 0, err
	}
	return a.sessions.RevokeUser(ctx, p.UserID, "")
}
