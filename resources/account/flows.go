package account

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"slices"
	"strings"

	"github.com/tnt/gateway/crypto"
	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/session"
)

// allowOnly refuses payload keys beyond the expected ones, so a typo or an
// attempt to smuggle "level" is an error.
func allowOnly(m map[string]any, keys ...string) error {
	for k := range m {
		ok := k == "ts" || k == "nonce"
		for _, want := range keys {
			ok = ok || k == want
		}
		if !ok {
			return resources.Errorf(resources.EPARAMETER, "%s cannot be found in the payload", resources.QuoteName(k))
		}
	}
	return nil
}

// Register creates a level-4 user from an encrypted payload and logs it in.
// Beside the username and password the payload may hold any writable field
// of the profile (an email, names, a birthday), validated by the profile's
// schema; fields a resources file makes required must be there. Emails are
// unique across accounts whatever their case.
func (a *Service) Register(ctx context.Context, payload string, dev Device) (Tokens, error) {
	m, err := a.openPayload(ctx, payload)
	if err != nil {
		return Tokens{}, err
	}
	username, password := textField(m, "username"), textField(m, "password")
	if username == "" {
		return Tokens{}, resources.Errorf(resources.ECREATION, "username is required for creating profile")
	}
	if password == "" {
		return Tokens{}, resources.Errorf(resources.ECREATION, "password is required for creating profile")
	}
	profile, err := a.newAccount(m, username, password)
	if err != nil {
		return Tokens{}, err
	}
	p, err := a.accounts.CreateWith(ctx, username, password, 4, profile)
	if err != nil {
		return Tokens{}, takenName(err, username, profile)
	}
	p.EnrolOnly = a.mfaRequired(p.Level)
	return a.startSession(ctx, p, crypto.KindAccess, dev)
}

// newAccount applies registration's rules to a new account's credentials
// and to the profile fields of its payload m (every key but the
// credentials, ts, nonce and the extra keys a caller reads itself): the
// username's form, the password rules, the reserved names, the profile's
// schema. It returns the profile to store. An empty password is an
// invitation's: the user chooses one later, under the same rules.
func (a *Service) newAccount(m map[string]any, username, password string, extra ...string) (resources.Document, error) {
	if err := validateUsername(username); err != nil {
		return nil, err
	}
	if password != "" {
		if err := validatePassword(username, password); err != nil {
			return nil, err
		}
		if err := a.CheckNewPassword(username, password); err != nil {
			return nil, err
		}
	}
	if slices.Contains(a.cfg.ReservedNames, username) {
		// Answered as a taken name: the operator's bootstrap user is
		// theirs from the first start, created or not.
		return nil, resources.Duplicate("profile", username)
	}
	fields := make(map[string]any, len(m))
	for k, v := range m {
		switch {
		case k == "username", k == "password", k == "ts", k == "nonce", slices.Contains(extra, k):
		default:
			fields[k] = v
		}
	}
	return a.profile.ValidateCreateGiven(fields, resources.FieldUsername)
}

// takenName words a unique-key refusal of a new account as the contract
// does, naming the username or the profile value (an email) that is taken;
// any other error is returned as it is.
func takenName(err error, username string, profile resources.Document) error {
	var dup *resources.DuplicateError
	if !errors.As(err, &dup) {
		return err
	}
	taken := username
	if dup.Field != resources.FieldUsername {
		taken = resources.AsString(profile[dup.Field])
	}
	return resources.Duplicate("profile", taken)
}

// Login checks encrypted credentials and starts a session. The credentials
// name the account by "username" or by "email" (exactly one); every failure
// is the same 401.
func (a *Service) Login(ctx context.Context, payload string, dev Device) (Tokens, error) {
	m, err := a.openPayload(ctx, payload)
	if err != nil {
		return Tokens{}, err
	}
	id, ok := credentialsIdentity(m)
	password := textField(m, "password")
	if !ok || password == "" {
		return Tokens{}, errBadCredentials()
	}
	u, err := a.checkPassword(ctx, id, password, clientOf(dev))
	if err != nil {
		return Tokens{}, err
	}
	return a.signIn(ctx, u, dev)
}

// credentialsIdentity reads the account a login names: a username or an
// email, exactly one of them.
func credentialsIdentity(m map[string]any) (identity, bool) {
	username, email := textField(m, "username"), textField(m, fieldEmail)
	_, hasUsername := m["username"]
	_, hasEmail := m[fieldEmail]
	switch {
	case hasUsername && hasEmail:
		return identity{}, false
	case username != "":
		return byUsername(username), true
	case email != "":
		return byEmail(email), true
	}
	return identity{}, false
}

// AdminSession issues a month-long admin token, bound to a new session, to
// a caller the admin header has just authenticated (levels 0 to 2).
func (a *Service) AdminSession(ctx context.Context, p resources.Principal, dev Device) (Tokens, error) {
	if p.IsGuest() {
		return Tokens{}, resources.Errorf(resources.EAUTHENTICATION, "the admin credentials are required")
	}
	if p.Level > 2 {
		return Tokens{}, resources.Errorf(resources.EPERMISSION, "the admin scheme is for levels 0 to 2")
	}
	return a.startSession(ctx, p, crypto.KindAdmin, dev)
}

// LoginWeChat exchanges a WeChat login code for the user's openid, finds or
// creates the user bound to it and starts a session. The openid comes only
// from WeChat, never from the client.
func (a *Service) LoginWeChat(ctx context.Context, payload string, dev Device) (Tokens, error) {
	if a.wechat == nil {
		return Tokens{}, resources.Errorf(resources.EUNAVAILABLE, "WeChat login is not configured")
	}
	m, err := a.openPayload(ctx, payload)
	if err != nil {
		return Tokens{}, err
	}
	code := textField(m, "code")
	if code == "" || len(code) > 256 {
		return Tokens{}, resources.Errorf(resources.EINVALIDREQUEST, "code is required for the request")
	}
	openid, err := a.wechat.Exchange(ctx, code)
	if resources.ErrorCode(err) == resources.EAUTHENTICATION {
		return Tokens{}, failed(ReasonWeChat, err)
	}
	if err != nil {
		return Tokens{}, err
	}
	u, err := a.wechatAccount(ctx, openid)
	if err != nil {
		return Tokens{}, err
	}
	return a.signIn(ctx, u, dev)
}

// wechatAccount finds the account bound to an openid, or creates it. An
// account is bound only by its stored binding, never by its name: the name
// is derived from the openid, and derived names are reserved (nobody
// registers one), but an account that took one before they were is passed
// over, never signed in to. Concurrent first logins race on the derived
// name's unique index; the loser finds the winner's binding.
func (a *Service) wechatAccount(ctx context.Context, openid string) (resources.User, error) {
	sum := sha256.Sum256([]byte(openid))
	digest := hex.EncodeToString(sum[:])
	for _, username := range []string{wechatPrefix + digest[:24], wechatPrefix + digest[:29]} {
		for range 2 {
			u, found, err := resources.FindUserBy(ctx, a.store, fieldWeChat, openid)
			if err != nil || found {
				return u, err
			}
			p, err := a.accounts.CreateWith(ctx, username, "", 4, resources.Document{fieldWeChat: openid})
			var dup *resources.DuplicateError
			switch {
			case err == nil:
				return resources.LoadUser(ctx, a.store, p.UserID)
			case !errors.As(err, &dup):
				return resources.User{}, err
			}
			// The name is taken: by a concurrent login with this openid
			// (found next time round), or by an account of another
			// binding (then the next name).
			other, found, err := resources.FindUser(ctx, a.store, username)
			if err != nil {
				return resources.User{}, err
			}
			if found && resources.AsString(other.Profile[fieldWeChat]) != openid {
				break
			}
		}
	}
	return resources.User{}, resources.Errorf(resources.ECONFLICT, "the WeChat account is being created; try again")
}

// fieldWeChat is where an account stores the openid it is bound to.
const fieldWeChat = "wechat_openid"

// errRefresh is the one answer for a refresh token that is not accepted.
func errRefresh() error {
	return failed(ReasonRefreshToken, resources.Errorf(resources.EAUTHENTICATION, "the refresh token is invalid"))
}

// RefreshRequest is a refresh: the refresh token, and for a browser that
// sent it as a cookie, the CSRF token it echoed in a header.
type RefreshRequest struct {
	Token string
	// ViaCookie marks the cookie transport: CSRF must then be the CSRF
	// token of the very session the refresh token belongs to.
	ViaCookie bool
	CSRF      string
}

// Refresh spends a refresh token and returns new tokens. A token already
// spent revokes its whole session: one of its holders is not its owner.
// Through the cookie transport the CSRF token is checked against the session
// before anything is spent, so a forged request cannot burn the token.
func (a *Service) Refresh(ctx context.Context, req RefreshRequest) (Tokens, error) {
	sid, secret, ok := strings.Cut(req.Token, ".")
	if !ok || len(sid) != 32 || len(secret) < 40 || len(secret) > 64 {
		return Tokens{}, errRefresh()
	}
	if req.ViaCookie {
		s, err := a.sessions.Get(ctx, sid)
		if errors.Is(err, session.ErrNotFound) {
			return Tokens{}, errRefresh()
		}
		if err != nil {
			return Tokens{}, err
		}
		if s.CSRFHash == "" || subtle.ConstantTimeCompare([]byte(hashSecret(req.CSRF)), []byte(s.CSRFHash)) != 1 {
			return Tokens{}, failed(ReasonCSRF, resources.Errorf(resources.EPERMISSION, "the X-CSRF-Token header does not belong to this session"))
		}
	}
	next := newSecret()
	s, err := a.sessions.Rotate(ctx, sid, hashSecret(secret), hashSecret(next))
	switch {
	case errors.Is(err, session.ErrReused):
		return Tokens{}, failed(ReasonRefreshToken, resources.Errorf(resources.EAUTHENTICATION, "the refresh token was already used; the session is revoked"))
	case errors.Is(err, session.ErrNotFound), errors.Is(err, session.ErrStale):
		return Tokens{}, errRefresh()
	case err != nil:
		return Tokens{}, err
	}
	if s.Kind != crypto.KindAccess {
		return Tokens{}, errRefresh()
	}
	csrf := ""
	if req.ViaCookie {
		csrf = req.CSRF
	}
	return a.issue(s, next, csrf)
}
