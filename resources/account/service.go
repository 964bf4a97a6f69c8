// Package account holds accounts and authentication: registration and login
// with encrypted credentials, WeChat login, admin tokens, sessions with
// rotated refresh tokens, throttled failures, and the caller's own account
// (password, deletion, profile view). It takes typed requests, returns typed
// results, knows nothing of HTTP and imports no other area.
package account

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/tnt/gateway/crypto"
	"github.com/tnt/gateway/policy"
	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/mail"
	"github.com/tnt/gateway/resources/session"
)

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

// Config holds token lifetimes and throttling limits.
type Config struct {
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
	// FailuresPerAccount are the failed logins an account allows in
	// FailWindow from clients it does not know, from every address
	// together, before such clients get 429; clients with its device
	// token go on.
	FailuresPerAccount int64
	// ReservedNames are usernames nobody may register: the configured
	// bootstrap user's, kept for the operator from the first start.
	ReservedNames []string
	// PublicURL is the gateway's address as browsers reach it: an
	// admin's reset link opens its console there.
	PublicURL string
	// MFALevels are the levels that must have a second factor: without
	// one, their sign-in gives a session that may only enrol it.
	MFALevels []int
	// MFAIssuer names the gateway in authenticator apps.
	MFAIssuer string
	// ResetsPerAccount and ResetsPerClient bound the reset mails an
	// account receives and the reset requests a client address makes in
	// ResetWindow; beyond them requests still answer 202 and send nothing.
	ResetsPerAccount int64
	ResetsPerClient  int64
	ResetWindow      time.Duration
}

func (c *Config) defaults() {
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
	if c.FailuresPerAccount == 0 {
		c.FailuresPerAccount = 20
	}
	if c.FailWindow == 0 {
		c.FailWindow = 15 * time.Minute
	}
	if c.MFAIssuer == "" {
		c.MFAIssuer = "gateway"
	}
	if c.ResetsPerAccount == 0 {
		c.ResetsPerAccount = 3
	}
	if c.ResetsPerClient == 0 {
		c.ResetsPerClient = 10
	}
	if c.ResetWindow == 0 {
		c.ResetWindow = time.Hour
	}
}

// Device describes where a login comes from; it is recorded in the session.
type Device struct {
	UserAgent string
	Browser   string
	IP        string
	// DeviceToken is the token an earlier sign-in gave this client, if
	// it presents one; it is checked, never recorded.
	DeviceToken string
}

// Service runs logins, tokens and sessions: registration and login with
// encrypted credentials, WeChat login, admin tokens, refresh with rotation
// and reuse detection, and the session and account routes.
type Service struct {
	store    resources.Store
	rights   Rights
	profile  *resources.Schema
	accounts *Accounts
	sessions session.Store
	tokens   TokenIssuer
	payloads PayloadOpener
	wechat   WeChatExchanger
	cfg      Config
	now      func() time.Time
	blocked  blocklist
	mailer   Mailer
	sealer   Sealer
	// requests are the reset requests waiting for the recovery worker
	// (Run), which answers them off the request's path.
	requests chan ResetRequest
	log      *slog.Logger
	files    resources.FileForgetter
}

// Mailer sends the account mails (*mail.Mailer): it queues and returns.
type Mailer interface {
	Send(k mail.Kind, to string, d mail.Data) error
	Link(k mail.Kind, token string) string
}

// Sealer seals small secrets kept at rest (crypto.Keyring): the TOTP
// secrets.
type Sealer interface {
	Seal(purpose string, plaintext, aad []byte) (string, error)
	Open(purpose, sealed string, aad []byte) ([]byte, error)
}

// Rights lists a level's permissions as "object:action" (*policy.Holder).
type Rights interface {
	Permissions(l policy.Level) []string
}

// Deps are the parts the service works with.
type Deps struct {
	Store    resources.Store
	Registry *resources.Registry
	Accounts *Accounts
	Sessions session.Store
	Tokens   TokenIssuer
	Payloads PayloadOpener
	// WeChat may be nil: WeChat login then answers 503.
	WeChat WeChatExchanger
	// Rights says what a level may do under the policy in force
	// (*policy.Holder), for the caller's own account.
	Rights Rights
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Mailer may be nil: routes that must send a mail then answer 503,
	// and an admin's reset answers with a link.
	Mailer Mailer
	// Sealer seals TOTP secrets; second factors need it.
	Sealer Sealer
	// Log receives what the recovery worker cannot do (never a token);
	// discarded when nil.
	Log *slog.Logger
	// Files removes the files of a deleted account (files.Janitor); may
	// be nil.
	Files resources.FileForgetter
}

// New builds the service. The profile resource must declare the account
// fields the service shows and relies on.
func New(d Deps, cfg Config) (*Service, error) {
	cfg.defaults()
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if err := resources.NeedFields(d.Registry, "profile", map[string]resources.FieldType{
		resources.FieldUsername: resources.TypeString, resources.FieldLevel: resources.TypeInt,
	}); err != nil {
		return nil, fmt.Errorf("account: %w", err)
	}
	profile, _ := d.Registry.Schema("profile")
	for _, name := range resources.AccountFields() {
		if slices.Contains(profile.FieldNames(), name) {
			return nil, fmt.Errorf("account: resource profile must not declare %s: the gateway keeps it, beside the profile", name)
		}
	}
	if d.Sealer == nil {
		return nil, fmt.Errorf("account: a sealer for second factors is required")
	}
	return &Service{store: d.Store, rights: d.Rights, profile: profile, accounts: d.Accounts, sessions: d.Sessions, tokens: d.Tokens,
		payloads: d.Payloads, wechat: d.WeChat, cfg: cfg, now: d.Now, blocked: loadBlocklist(), mailer: d.Mailer, sealer: d.Sealer,
		requests: make(chan ResetRequest, 1000), log: d.Log, files: d.Files}, nil
}

// Prepare creates the collection of one-time tokens.
func (a *Service) Prepare(ctx context.Context) error {
	return a.store.EnsureCollection(ctx, TokensSpec)
}

// BlocklistSize is how many common passwords are refused.
func (a *Service) BlocklistSize() int { return len(a.blocked) }

// CheckNewPassword applies the password rules to a new password.
func (a *Service) CheckNewPassword(username, password string) error {
	return a.blocked.check(username, password)
}

// Ping checks the session store (readiness).
func (a *Service) Ping(ctx context.Context) error { return a.sessions.Ping(ctx) }
