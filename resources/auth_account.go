package resources

import (
	"context"
	"errors"

	"github.com/tnt/gateway/resources/session"
)

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
		CreatedAt: FormatTime(s.CreatedAt), LastSeen: FormatTime(s.LastSeen), ExpiresAt: FormatTime(s.ExpiresAt),
		Device: DeviceView{UserAgent: s.UserAgent, Browser: s.Browser, IP: s.IP},
	}
}

func needSession(p Principal) error {
	if p.IsGuest() {
		return Errorf(EAUTHENTICATION, "authentication is required")
	}
	if p.SessionID == "" {
		return Errorf(ENOTFOUND, "this request carries no session token (the admin header has no session)")
	}
	return nil
}

// CurrentSession returns the caller's session.
func (a *Auth) CurrentSession(ctx context.Context, p Principal) (SessionView, error) {
	if err := needSession(p); err != nil {
		return SessionView{}, err
	}
	s, err := a.sessions.Get(ctx, p.SessionID)
	if errors.Is(err, session.ErrNotFound) {
		return SessionView{}, Errorf(EAUTHENTICATION, "the session has ended")
	}
	if err != nil {
		return SessionView{}, err
	}
	return view(s, p.SessionID), nil
}

// Logout revokes the caller's session at once.
func (a *Auth) Logout(ctx context.Context, p Principal) error {
	if err := needSession(p); err != nil {
		return err
	}
	return a.sessions.Revoke(ctx, p.SessionID)
}

func mustBeUser(p Principal) error {
	if p.IsGuest() {
		return Errorf(EAUTHENTICATION, "authentication is required")
	}
	return nil
}

// Sessions lists the caller's sessions.
func (a *Auth) Sessions(ctx context.Context, p Principal) ([]SessionView, error) {
	if err := mustBeUser(p); err != nil {
		return nil, err
	}
	list, err := a.sessions.List(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	out := make([]SessionView, len(list))
	for i, s := range list {
		out[i] = view(s, p.SessionID)
	}
	return out, nil
}

// RevokeSession ends one of the caller's sessions. Another user's session
// is answered as not found, so sids cannot be probed.
func (a *Auth) RevokeSession(ctx context.Context, p Principal, sid string) error {
	if err := mustBeUser(p); err != nil {
		return err
	}
	s, err := a.sessions.Get(ctx, sid)
	if errors.Is(err, session.ErrNotFound) || (err == nil && s.UserID != p.UserID) {
		return Errorf(ENOTFOUND, "session %s cannot be found", quoteName(sid))
	}
	if err != nil {
		return err
	}
	return a.sessions.Revoke(ctx, sid)
}

// RevokeAllSessions ends every session of the caller, this one included.
func (a *Auth) RevokeAllSessions(ctx context.Context, p Principal) (int, error) {
	if err := mustBeUser(p); err != nil {
		return 0, err
	}
	return a.sessions.RevokeUser(ctx, p.UserID, "")
}

// ChangePassword checks the old password from an encrypted payload, sets
// the new one and revokes every other session of the user.
func (a *Auth) ChangePassword(ctx context.Context, p Principal, payload string, ip string) error {
	if err := mustBeUser(p); err != nil {
		return err
	}
	m, err := a.openPayload(ctx, payload)
	if err != nil {
		return err
	}
	if err := allowOnly(m, "old_password", "new_password"); err != nil {
		return err
	}
	if _, err := a.checkPassword(ctx, p.Username, textField(m, "old_password"), ip); err != nil {
		return err
	}
	next := textField(m, "new_password")
	if err := a.CheckNewPassword(p.Username, next); err != nil {
		return err
	}
	if err := a.accounts.SetPassword(ctx, p.UserID, next); err != nil {
		return err
	}
	_, err = a.sessions.RevokeUser(ctx, p.UserID, p.SessionID)
	return err
}

// DeleteAccount checks the password from an encrypted payload and removes
// the account and all its sessions. Level-0 accounts are removed with the
// operator's CLI, so the last DBA cannot vanish through the API.
func (a *Auth) DeleteAccount(ctx context.Context, p Principal, payload string, ip string) error {
	if err := mustBeUser(p); err != nil {
		return err
	}
	m, err := a.openPayload(ctx, payload)
	if err != nil {
		return err
	}
	if err := allowOnly(m, "password"); err != nil {
		return err
	}
	if _, err := a.checkPassword(ctx, p.Username, textField(m, "password"), ip); err != nil {
		return err
	}
	if p.Level == 0 {
		return Errorf(EPERMISSION, "a level-0 account is removed with the operator's CLI")
	}
	if err := a.accounts.Delete(ctx, p.UserID); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	_, err = a.sessions.RevokeUser(ctx, p.UserID, "")
	return err
}

// Me returns the caller's account: id, username, email, level, balance,
// creation time and profile fields; never a credential.
func (a *Auth) Me(ctx context.Context, p Principal, profile *Schema) (Document, error) {
	if err := mustBeUser(p); err != nil {
		return nil, err
	}
	user, err := a.accounts.User(ctx, p.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(EAUTHENTICATION, "the account no longer exists")
	}
	if err != nil {
		return nil, err
	}
	out := Document{FieldID: user[FieldID], FieldCreatedAt: user[FieldCreatedAt]}
	for _, name := range profile.FieldNames() {
		if v, ok := user[name]; ok {
			out[name] = v
		}
	}
	return out, nil
}

// Available reports whether a username is free (and well-formed).
func (a *Auth) Available(ctx context.Context, username string) (bool, error) {
	if !usernamePattern.MatchString(username) {
		return false, Errorf(EVALUE, "username must be 4 to 32 characters of a-z, 0-9 and _")
	}
	user, err := a.accounts.FindUser(ctx, username)
	return user == nil, err
}

// Balance returns the caller's wallet balance.
func (a *Auth) Balance(ctx context.Context, p Principal) (int64, error) {
	if err := mustBeUser(p); err != nil {
		return 0, err
	}
	user, err := a.accounts.User(ctx, p.UserID)
	if err != nil {
		return 0, err
	}
	n, _ := toInt(user[fieldBalance])
	return n, nil
}

// Ping checks the session store (readiness).
func (a *Auth) Ping(ctx context.Context) error { return a.sessions.Ping(ctx) }
