package realtime

import (
	"context"
	"errors"

	"github.com/tnt/gateway/resources"

	"github.com/tnt/gateway/resources/session"
)

// Sessions wraps a session store so that each revocation made through it
// ends the streams it affects before it returns (API.md §10: no event is
// delivered after the revoking call has returned).
func (h *Hub) Sessions(store session.Store) session.Store {
	return &revoking{Store: store, hub: h}
}

type revoking struct {
	session.Store
	hub *Hub
}

func (r *revoking) Revoke(ctx context.Context, sid string) error {
	err := r.Store.Revoke(ctx, sid)
	r.hub.Revoked(session.Ended{SID: sid})
	return err
}

func (r *revoking) RevokeUser(ctx context.Context, userID, keep string) (int, error) {
	n, err := r.Store.RevokeUser(ctx, userID, keep)
	r.hub.Revoked(session.Ended{UserID: userID})
	return n, err
}

func (r *revoking) RevokeAll(ctx context.Context, keep string) (int, error) {
	n, err := r.Store.RevokeAll(ctx, keep)
	r.hub.Revoked(session.Ended{All: true})
	return n, err
}

func (r *revoking) Rotate(ctx context.Context, sid, oldHash, newHash string) (session.Session, error) {
	s, err := r.Store.Rotate(ctx, sid, oldHash, newHash)
	if errors.Is(err, session.ErrReused) {
		r.hub.Revoked(session.Ended{SID: sid})
	}
	return s, err
}

// Bindings checks stream bindings: a session against the session store, an
// admin-scheme binding against the stored user (Current: same level, same
// credential).
type Bindings struct {
	Sessions session.Store
	Current  func(ctx context.Context, p resources.Principal) error
}

// StillValid reports whether b still holds; an error when it cannot tell.
func (c Bindings) StillValid(ctx context.Context, b Binding) (bool, error) {
	switch {
	case b.SID != "":
		s, err := c.Sessions.Get(ctx, b.SID)
		if errors.Is(err, session.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return s.UserID == b.UserID && s.Level == b.Level, nil
	case b.UserID != "":
		err := c.Current(ctx, b.Principal())
		if err == nil {
			return true, nil
		}
		if resources.ErrorCode(err) == resources.EAUTHENTICATION {
			return false, nil
		}
		return false, err
	}
	return true, nil
}
