// Package session defines what the gateway keeps per login (sessions and
// their refresh-token hashes) and the other short-lived security state that
// every replica must share: payload nonces and throttling counters. Backends
// live in sub-packages (redis, sqlite) and pass the sessiontest suite.
package session

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Errors of the session stores.
var (
	// ErrNotFound means the session does not exist: never made, revoked
	// or expired.
	ErrNotFound = errors.New("session not found")
	// ErrReused means a spent refresh token was presented; the store has
	// revoked the whole session.
	ErrReused = errors.New("refresh token reused")
	// ErrStale means the presented refresh token is not the session's
	// current one and was never spent (a guess); nothing changed.
	ErrStale = errors.New("refresh token unknown")
	// ErrUnavailable means the store cannot be reached: callers fail
	// closed.
	ErrUnavailable = errors.New("session store unavailable")
)

// Unavailable wraps a backend error as ErrUnavailable; nil stays nil, so a
// backend can pass every result of its client through it.
func Unavailable(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// KindPending is the kind of a login waiting for its second factor: kept
// like a session for a few minutes, never one that a token opens, and not
// listed among an account's sessions.
const KindPending = "mfa"

// Session is one login: who, at what level, from which device, until when,
// and the hash of its current refresh token (never the token itself).
type Session struct {
	ID          string    `json:"sid"`
	UserID      string    `json:"user_id"`
	Username    string    `json:"username"`
	Level       int       `json:"level"`
	Kind        string    `json:"kind"`
	CreatedAt   time.Time `json:"created_at"`
	LastSeen    time.Time `json:"last_seen"`
	ExpiresAt   time.Time `json:"expires_at"`
	UserAgent   string    `json:"user_agent"`
	Browser     string    `json:"browser"`
	IP          string    `json:"ip"`
	RefreshHash string    `json:"refresh_hash"`
	// CSRFHash is the hash of the CSRF token of a browser session (cookie
	// transport); a refresh through the cookie must present that token,
	// so a CSRF token of one session is worthless for another.
	CSRFHash string `json:"csrf_hash,omitempty"`
	// Stamp is the credential stamp a password login checked, kept by a
	// login that waits for its second factor: the session it becomes is
	// made only if the account still has this credential.
	Stamp string `json:"stamp,omitempty"`
	// EnrolOnly marks a session that may only enrol a second factor.
	EnrolOnly bool `json:"enrol_only,omitempty"`
	// SecondFactor is true for a session opened with a second factor.
	SecondFactor bool `json:"second_factor,omitempty"`
}

// Store keeps sessions, refresh-token hashes, nonces and counters. Every
// entry expires by itself. Implementations fail closed: an unreachable store
// returns ErrUnavailable, never a default answer.
type Store interface {
	// Create stores a new session until s.ExpiresAt.
	Create(ctx context.Context, s Session) error
	// Get returns a live session.
	Get(ctx context.Context, sid string) (Session, error)
	// Touch records activity (best effort; last_seen only).
	Touch(ctx context.Context, sid string, at time.Time) error
	// Rotate swaps the current refresh hash from old to new atomically and
	// returns the session as it is afterwards. Of two concurrent rotations
	// with the same old hash exactly one wins. A spent hash revokes the
	// session and returns ErrReused.
	Rotate(ctx context.Context, sid, oldHash, newHash string) (Session, error)
	// Revoke ends one session at once.
	Revoke(ctx context.Context, sid string) error
	// List returns a user's live sessions.
	List(ctx context.Context, userID string) ([]Session, error)
	// RevokeUser ends every session of a user except keep ("" for all) and
	// returns how many it ended.
	RevokeUser(ctx context.Context, userID, keep string) (int, error)
	// RevokeAll ends every session of every user except keep ("" for all)
	// and returns how many it ended (a restore starts from a clean slate).
	RevokeAll(ctx context.Context, keep string) (int, error)
	// RememberNonce records a nonce for ttl and reports whether it was new.
	RememberNonce(ctx context.Context, nonce string, ttl time.Duration) (bool, error)
	// Hit adds one to a counter that lives for window from its first hit,
	// and returns the count and the time left.
	Hit(ctx context.Context, key string, window time.Duration) (int64, time.Duration, error)
	// Count reads a counter without changing it.
	Count(ctx context.Context, key string) (int64, time.Duration, error)
	// Reset removes a counter.
	Reset(ctx context.Context, key string) error
	// Ping reports whether the store is reachable.
	Ping(ctx context.Context) error
}
