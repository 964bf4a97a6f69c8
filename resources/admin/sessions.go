package admin

import (
	"context"

	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/session"
)

// UserSession is one of a user's sessions as an administrator sees it: when
// and from where, never its token hashes.
type UserSession struct {
	SID       string `json:"sid"`
	Kind      string `json:"kind"`
	CreatedAt string `json:"created_at"`
	LastSeen  string `json:"last_seen"`
	ExpiresAt string `json:"expires_at"`
	UserAgent string `json:"user_agent"`
	Browser   string `json:"browser"`
	IP        string `json:"ip"`
}

// SessionsRevoked is how many sessions an administrator ended.
type SessionsRevoked struct {
	Revoked int `json:"revoked"`
}

// UserSessionsRequest names the user whose sessions are listed or ended.
type UserSessionsRequest struct {
	UserID string
	IP     string
}

// UserSessions lists a user's sessions. Only the sessions of
// a user below the caller's level are shown, like every act on a user.
func (a *Admin) UserSessions(ctx context.Context, p resources.Principal, req UserSessionsRequest) ([]UserSession, error) {
	if err := a.require(p, objUsers, actManage); err != nil {
		return nil, err
	}
	if _, err := target(ctx, a.store, p, req.UserID); err != nil {
		return nil, err
	}
	list, err := a.sessions.List(ctx, req.UserID)
	if err != nil {
		return nil, err
	}
	out := make([]UserSession, 0, len(list))
	for _, s := range list {
		if s.Kind != session.KindPending {
			out = append(out, userSession(s))
		}
	}
	return out, nil
}

// RevokeUserSessions ends every session of a user below the caller's level
// at once; their access and refresh tokens answer 401 from the next
// request on. The act is audited.
func (a *Admin) RevokeUserSessions(ctx context.Context, p resources.Principal, req UserSessionsRequest) (SessionsRevoked, error) {
	if err := a.require(p, objUsers, actManage); err != nil {
		return SessionsRevoked{}, err
	}
	u, err := target(ctx, a.store, p, req.UserID)
	if err != nil {
		return SessionsRevoked{}, err
	}
	n, err := a.sessions.RevokeUser(ctx, req.UserID, "")
	if err != nil {
		return SessionsRevoked{}, err
	}
	err = a.store.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error {
		return a.audit(ctx, tx, p, req.IP, "revoke_sessions", req.UserID, resources.Document{"username": u.Username, "sessions": int64(n)})
	})
	return SessionsRevoked{Revoked: n}, err
}

func userSession(s session.Session) UserSession {
	return UserSession{
		SID: s.ID, Kind: s.Kind, UserAgent: s.UserAgent, Browser: s.Browser, IP: s.IP,
		CreatedAt: resources.FormatTime(s.CreatedAt), LastSeen: resources.FormatTime(s.LastSeen), ExpiresAt: resources.FormatTime(s.ExpiresAt),
	}
}
