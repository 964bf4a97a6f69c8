package resources

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/tnt/gateway/crypto"
	"github.com/tnt/gateway/resources/session"
)

//go:embed common_passwords.txt
var commonPasswords string

// PayloadOpener decrypts encrypted payloads (crypto.Keyring).
type PayloadOpener interface {
	OpenPayload(token string) ([]byte, error)
}

// TokenIssuer issues and verifies the gateway's JWTs (crypto.Tokens).
type TokenIssuer interface {
	Issue(kind, userID, username string, level int, sid string, ttl time.Duration) (string, time.Time, error)
	Verify(token string, kinds ...string) (crypto.Claims, error)
}

// WeChatExchanger trades a mini-program login code for the user's openid.
type WeChatExchanger interface {
	Exchange(ctx context.Context, code string) (openid string, err error)
}

// AuthConfig holds token lifetimes and throttling limits.
type AuthConfig struct {
	AccessTTL  time.Duration
	RefreshTTL time.Duration
	AdminTTL   time.Duration
	// PayloadWindow is how far a payload's ts may be from the clock.
	PayloadWindow time.Duration
	// FailuresPerUser and FailuresPerIP are the failed logins allowed in
	// FailWindow before further attempts get 429.
	FailuresPerUser int64
	FailuresPerIP   int64
	FailWindow      time.Duration
}

func (c *AuthConfig) defaults() {
	if c.AccessTTL == 0 {
		c.AccessTTL = 15 * time.Minute
	}
	if c.RefreshTTL == 0 {
		c.RefreshTTL = 720 * time.Hour
	}
	if c.AdminTTL == 0 {
		c.AdminTTL = 720 * time.Hour
	}
	if c.PayloadWindow == 0 {
		c.PayloadWindow = 300 * time.Second
	}
	if c.FailuresPerUser == 0 {
		c.FailuresPerUser = 10
	}
	if c.FailuresPerIP == 0 {
		c.FailuresPerIP = 50
	}
	if c.FailWindow == 0 {
		c.FailWindow = 15 * time.Minute
	}
}

// Device describes where a login comes from; it is recorded in the session.
type Device struct {
	UserAgent string
	Browser   string
	IP        string
}

// Auth runs logins, tokens and sessions: registration and login with
// encrypted credentials, WeChat login, admin tokens, refresh with rotation
// and reuse detection, and the session and account routes.
type Auth struct {
	accounts *Accounts
	sessions session.Store
	tokens   TokenIssuer
	payloads PayloadOpener
	wechat   WeChatExchanger
	cfg      AuthConfig
	now      func() time.Time
	blocked  map[string]struct{}
}

// NewAuth builds the service. wechat may be nil (WeChat login answers 503).
func NewAuth(accounts *Accounts, sessions session.Store, tokens TokenIssuer, payloads PayloadOpener, wechat WeChatExchanger, cfg AuthConfig, now func() time.Time) *Auth {
	cfg.defaults()
	if now == nil {
		now = time.Now
	}
	blocked := make(map[string]struct{}, 10_000)
	sc := bufio.NewScanner(strings.NewReader(commonPasswords))
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" {
			blocked[w] = struct{}{}
		}
	}
	return &Auth{accounts: accounts, sessions: sessions, tokens: tokens, payloads: payloads, wechat: wechat, cfg: cfg, now: now, blocked: blocked}
}

// BlocklistSize is how many common passwords are refused.
func (a *Auth) BlocklistSize() int { return len(a.blocked) }

// CheckNewPassword applies the password rules to a new password.
func (a *Auth) CheckNewPassword(username, password string) error {
	if err := ValidateCredentials(username, password); err != nil {
		return err
	}
	if _, common := a.blocked[strings.ToLower(password)]; common {
		return Errorf(EVALUE, "password is too common; choose another")
	}
	return nil
}

// errPayload is the one answer for any encrypted payload that is refused.
func errPayload() error {
	return Errorf(EAUTHENTICATION, "the encrypted payload was refused")
}

// openPayload decrypts and checks an encrypted payload: a JSON object with
// a fresh ts and a nonce of at least 16 random bytes not seen before. Every
// failure is the same 401, except an unreachable session store (503): the
// nonce check fails closed.
func (a *Auth) openPayload(ctx context.Context, token string) (map[string]any, error) {
	pt, err := a.payloads.OpenPayload(token)
	if err != nil {
		return nil, errPayload()
	}
	v, err := DecodeJSON(pt, JSONLimits{MaxDepth: 2, MaxElements: 32})
	if err != nil {
		return nil, errPayload()
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errPayload()
	}
	ts, ok := toInt(m["ts"])
	if !ok {
		return nil, errPayload()
	}
	if d := a.now().Sub(time.Unix(ts, 0)); d > a.cfg.PayloadWindow || d < -a.cfg.PayloadWindow {
		return nil, errPayload()
	}
	nonce, _ := m["nonce"].(string)
	if len(nonce) > 128 {
		return nil, errPayload()
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(nonce, "="))
	if err != nil || len(raw) < 16 {
		return nil, errPayload()
	}
	// The nonce is remembered by its bytes, not its text: padding or
	// unused trailing bits give one nonce many spellings, and each
	// spelling must replay as the same nonce.
	fresh, err := a.sessions.RememberNonce(ctx, "p:"+hex.EncodeToString(raw), 2*a.cfg.PayloadWindow)
	if err != nil {
		return nil, err
	}
	if !fresh {
		return nil, errPayload()
	}
	return m, nil
}

// textField reads a string from a decrypted payload.
func textField(m map[string]any, name string) string {
	s, _ := m[name].(string)
	return s
}

// failureKeys names the failed-login counters of an attempt: one per client
// address, and one per (canonical username, client address). Failures are
// never counted per username alone, so nobody can lock an account's owner
// out from elsewhere (NIST SP 800-63B §5.2.2); a username that cannot exist
// (it fails the pattern, such as a case variant of a real one) is counted
// against the client only, and grows no state of its own.
func failureKeys(username, ip string) (user, client string) {
	client = "fail:ip:" + ip
	if usernamePattern.MatchString(username) {
		user = "fail:u:" + username + ":" + ip
	}
	return user, client
}

// throttle refuses a login attempt when the client address has failed too
// often in the window, or has failed too often for this username (429 with
// Retry-After). Counters live in the session store, so every replica shares
// them.
func (a *Auth) throttle(ctx context.Context, username, ip string) error {
	user, client := failureKeys(username, ip)
	for _, c := range []struct {
		key   string
		limit int64
	}{{user, a.cfg.FailuresPerUser}, {client, a.cfg.FailuresPerIP}} {
		if c.key == "" {
			continue
		}
		n, left, err := a.sessions.Count(ctx, c.key)
		if err != nil {
			return err
		}
		if n >= c.limit {
			return &RetryError{Err: Errorf(ERATELIMITED, "too many failed logins; try again later"), After: left}
		}
	}
	return nil
}

func (a *Auth) recordFailure(ctx context.Context, username, ip string) {
	user, client := failureKeys(username, ip)
	if user != "" {
		_, _, _ = a.sessions.Hit(ctx, user, a.cfg.FailWindow)
	}
	_, _, _ = a.sessions.Hit(ctx, client, a.cfg.FailWindow)
}

// checkPassword authenticates with throttling: refused early when over the
// limit, counted when wrong, the user's count from this client cleared when
// right. Only the admin header (checked on every call of a console) uses the
// credential cache; logins always hash.
func (a *Auth) checkPassword(ctx context.Context, username, password, ip string) (Principal, error) {
	return a.checkPasswordCached(ctx, username, password, ip, false)
}

func (a *Auth) checkPasswordCached(ctx context.Context, username, password, ip string, cached bool) (Principal, error) {
	if err := a.throttle(ctx, username, ip); err != nil {
		return Principal{}, err
	}
	authenticate := a.accounts.AuthenticateFresh
	if cached {
		authenticate = a.accounts.Authenticate
	}
	p, err := authenticate(ctx, username, password)
	if ErrorCode(err) == EAUTHENTICATION {
		a.recordFailure(ctx, username, ip)
	}
	if err != nil {
		return Principal{}, err
	}
	if user, _ := failureKeys(username, ip); user != "" {
		_ = a.sessions.Reset(ctx, user)
	}
	return p, nil
}

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
}

// newSecret returns 256 random bits, URL-safe.
func newSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
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
func (a *Auth) startSession(ctx context.Context, p Principal, kind string, dev Device) (Tokens, error) {
	now := a.now()
	ttl := a.cfg.RefreshTTL
	if kind == crypto.KindAdmin {
		ttl = a.cfg.AdminTTL
	}
	var sid [16]byte
	_, _ = rand.Read(sid[:])
	secret, csrf := newSecret(), newSecret()
	s := session.Session{
		ID: hex.EncodeToString(sid[:]), UserID: p.UserID, Username: p.Username, Level: p.Level, Kind: kind,
		CreatedAt: now.UTC(), LastSeen: now.UTC(), ExpiresAt: now.Add(ttl).UTC(),
		UserAgent: clipText(dev.UserAgent), Browser: clipText(dev.Browser), IP: dev.IP,
		RefreshHash: hashSecret(secret), CSRFHash: hashSecret(csrf),
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
	if kind == crypto.KindAdmin {
		tok, _, err := a.tokens.Issue(crypto.KindAdmin, p.UserID, p.Username, p.Level, s.ID, ttl)
		if err != nil {
			return Tokens{}, err
		}
		return Tokens{TokenType: "bearer", AccessToken: tok, ExpiresIn: int64(ttl.Seconds())}, nil
	}
	return a.issue(s, secret, csrf)
}

// MaxSessionsPerUser bounds the live sessions of one account: a new login
// beyond it ends the oldest, so no account accumulates state without end.
const MaxSessionsPerUser = 100

// capSessions ends the oldest sessions of a user beyond MaxSessionsPerUser,
// never the one just made.
func (a *Auth) capSessions(ctx context.Context, userID, newest string) error {
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

func (a *Auth) issue(s session.Session, secret, csrf string) (Tokens, error) {
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
func (a *Auth) CheckToken(ctx context.Context, token string) (Principal, error) {
	c, err := a.tokens.Verify(token, crypto.KindAccess, crypto.KindAdmin)
	if err != nil {
		return Principal{}, Errorf(EAUTHENTICATION, "the access token is invalid")
	}
	s, err := a.sessions.Get(ctx, c.SID)
	if errors.Is(err, session.ErrNotFound) || (err == nil && (s.UserID != c.Subject || s.Kind != c.Kind)) {
		return Principal{}, Errorf(EAUTHENTICATION, "the session has ended")
	}
	if err != nil {
		return Principal{}, err
	}
	if now := a.now(); now.Sub(s.LastSeen) > time.Minute {
		_ = a.sessions.Touch(ctx, s.ID, now.UTC())
	}
	return Principal{UserID: s.UserID, Username: s.Username, Level: s.Level, SessionID: s.ID}, nil
}

// AuthenticateAdmin checks the admin header's username and password, with
// the same throttling as logins, and requires a level of 0 to 2.
func (a *Auth) AuthenticateAdmin(ctx context.Context, username, password, ip string) (Principal, error) {
	p, err := a.checkPasswordCached(ctx, username, password, ip, true)
	if err != nil {
		return Principal{}, err
	}
	if p.Level > 2 {
		return Principal{}, Errorf(EPERMISSION, "the admin scheme is for levels 0 to 2")
	}
	return p, nil
}
