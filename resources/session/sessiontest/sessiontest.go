// Package sessiontest is the conformance suite every session.Store passes.
package sessiontest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tnt/gateway/resources/session"
)

// Opener returns a fresh, empty store; it registers its own cleanup.
type Opener func(tb testing.TB) session.Store

// Run runs the suite.
func Run(t *testing.T, open Opener) {
	t.Run("CreateGet", func(t *testing.T) { testCreateGet(t, open(t)) })
	t.Run("Expiry", func(t *testing.T) { testExpiry(t, open(t)) })
	t.Run("Rotate", func(t *testing.T) { testRotate(t, open(t)) })
	t.Run("ConcurrentRotate", func(t *testing.T) { testConcurrentRotate(t, open(t)) })
	t.Run("RevokeAndList", func(t *testing.T) { testRevokeAndList(t, open(t)) })
	t.Run("RevokeAll", func(t *testing.T) { testRevokeAll(t, open(t)) })
	t.Run("TouchAfterRevoke", func(t *testing.T) { testTouchAfterRevoke(t, open(t)) })
	t.Run("Nonces", func(t *testing.T) { testNonces(t, open(t)) })
	t.Run("Counters", func(t *testing.T) { testCounters(t, open(t)) })
}

func newSession(user string, ttl time.Duration) session.Session {
	var b [8]byte
	_, _ = rand.Read(b[:])
	now := time.Now().UTC().Truncate(time.Millisecond)
	return session.Session{
		ID: "sid-" + user + "-" + hex.EncodeToString(b[:]), UserID: user, Username: "name-" + user, Level: 4, Kind: "access",
		CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(ttl), UserAgent: "ua/1.0", Browser: "Firefox", IP: "127.0.0.1",
		RefreshHash: "hash0", CSRFHash: "csrf0",
	}
}

func testCreateGet(t *testing.T, s session.Store) {
	ctx := context.Background()
	in := newSession("u1", time.Hour)
	if err := s.Create(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != in.ID || got.UserID != "u1" || got.Username != in.Username || got.Level != 4 || got.Kind != "access" ||
		!got.CreatedAt.Equal(in.CreatedAt) || !got.ExpiresAt.Equal(in.ExpiresAt) || got.Browser != "Firefox" || got.IP != "127.0.0.1" ||
		got.UserAgent != "ua/1.0" || got.RefreshHash != "hash0" || got.CSRFHash != "csrf0" {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, in)
	}
	later := in.LastSeen.Add(time.Minute)
	if err := s.Touch(ctx, in.ID, later); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, in.ID); !got.LastSeen.Equal(later) {
		t.Errorf("last seen %v, want %v", got.LastSeen, later)
	}
	if _, err := s.Get(ctx, "nope"); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("unknown sid: %v", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("ping: %v", err)
	}
}

// eventually polls cond until it holds or 30 s pass: what expires does so
// at its time, however busy the machine; the test waits for it, not for a
// guess of how long it takes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still not %s after 30 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testExpiry(t *testing.T, s session.Store) {
	ctx := context.Background()
	in := newSession("u1", 700*time.Millisecond)
	if err := s.Create(ctx, in); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, in.ID); err != nil && time.Now().Before(in.ExpiresAt) {
		t.Fatalf("a live session: %v", err)
	}
	eventually(t, "expired", func() bool {
		_, err := s.Get(ctx, in.ID)
		return errors.Is(err, session.ErrNotFound)
	})
	if time.Now().Before(in.ExpiresAt) {
		t.Error("the session ended before it expired")
	}
	if list, _ := s.List(ctx, "u1"); len(list) != 0 {
		t.Errorf("expired session listed: %v", list)
	}
}

func testRotate(t *testing.T, s session.Store) {
	ctx := context.Background()
	in := newSession("u1", time.Hour)
	_ = s.Create(ctx, in)
	got, err := s.Rotate(ctx, in.ID, "hash0", "hash1")
	if err != nil {
		t.Fatalf("first rotation: %v", err)
	}
	if got.ID != in.ID || got.UserID != "u1" || got.RefreshHash != "hash1" || !got.ExpiresAt.Equal(in.ExpiresAt) || got.CSRFHash != "csrf0" {
		t.Errorf("rotation returned %+v", got)
	}
	if got, _ := s.Get(ctx, in.ID); got.RefreshHash != "hash1" {
		t.Errorf("current hash %q", got.RefreshHash)
	}
	if _, err := s.Rotate(ctx, in.ID, "guess", "hash9"); !errors.Is(err, session.ErrStale) {
		t.Errorf("unknown hash: %v", err)
	}
	if _, err := s.Get(ctx, in.ID); err != nil {
		t.Errorf("a guess must not revoke the session: %v", err)
	}
	if _, err := s.Rotate(ctx, in.ID, "hash0", "hash2"); !errors.Is(err, session.ErrReused) {
		t.Errorf("spent hash: %v", err)
	}
	if _, err := s.Get(ctx, in.ID); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("session after reuse: %v", err)
	}
	if _, err := s.Rotate(ctx, in.ID, "hash1", "hash3"); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("rotation of a revoked session: %v", err)
	}
}

func testConcurrentRotate(t *testing.T, s session.Store) {
	ctx := context.Background()
	in := newSession("u1", time.Hour)
	_ = s.Create(ctx, in)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Rotate(ctx, in.ID, "hash0", fmt.Sprintf("next%d", i)); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d concurrent rotations with one token won, want exactly 1", wins)
	}
}

func testRevokeAndList(t *testing.T, s session.Store) {
	ctx := context.Background()
	a, b, c := newSession("u1", time.Hour), newSession("u1", time.Hour), newSession("u1", time.Hour)
	other := newSession("u2", time.Hour)
	for _, x := range []session.Session{a, b, c, other} {
		if err := s.Create(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	if list, err := s.List(ctx, "u1"); err != nil || len(list) != 3 {
		t.Fatalf("list: %d %v", len(list), err)
	}
	if err := s.Revoke(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, a.ID); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("revoked: %v", err)
	}
	n, err := s.RevokeUser(ctx, "u1", c.ID)
	if err != nil || n != 1 {
		t.Errorf("revoke user keeping one: %d %v", n, err)
	}
	if list, _ := s.List(ctx, "u1"); len(list) != 1 || list[0].ID != c.ID {
		t.Errorf("after revoking all but one: %v", list)
	}
	if _, err := s.Get(ctx, other.ID); err != nil {
		t.Errorf("another user's session: %v", err)
	}
	if n, _ := s.RevokeUser(ctx, "u1", ""); n != 1 {
		t.Errorf("revoke all: %d", n)
	}
}

// testRevokeAll: every session of every user ends, but the one kept, which
// stays listed under its user.
func testRevokeAll(t *testing.T, s session.Store) {
	ctx := context.Background()
	a, b, c, d := newSession("u1", time.Hour), newSession("u1", time.Hour), newSession("u2", time.Hour), newSession("u3", time.Hour)
	for _, x := range []session.Session{a, b, c, d} {
		if err := s.Create(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Rotate(ctx, c.ID, "hash0", "hash1"); err != nil {
		t.Fatal(err)
	}
	n, err := s.RevokeAll(ctx, b.ID)
	if err != nil || n != 3 {
		t.Fatalf("revoke all but one: %d %v", n, err)
	}
	for _, x := range []session.Session{a, c, d} {
		if _, err := s.Get(ctx, x.ID); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("session %s after RevokeAll: %v", x.ID, err)
		}
	}
	if _, err := s.Rotate(ctx, c.ID, "hash1", "hash2"); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("refresh of a session RevokeAll ended: %v", err)
	}
	if list, err := s.List(ctx, "u1"); err != nil || len(list) != 1 || list[0].ID != b.ID {
		t.Errorf("the kept session is not listed alone: %v %v", list, err)
	}
	if list, _ := s.List(ctx, "u2"); len(list) != 0 {
		t.Errorf("an ended session is listed: %v", list)
	}
	if n, err := s.RevokeAll(ctx, ""); err != nil || n != 1 {
		t.Errorf("revoke all: %d %v", n, err)
	}
	if _, err := s.Get(ctx, b.ID); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("kept session after RevokeAll(\"\"): %v", err)
	}
}

// testTouchAfterRevoke: activity recorded on a session that was revoked a
// moment before does not bring it back.
func testTouchAfterRevoke(t *testing.T, s session.Store) {
	ctx := context.Background()
	in := newSession("u1", time.Hour)
	if err := s.Create(ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := s.Revoke(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Touch(ctx, in.ID, time.Now()); err != nil {
		t.Fatalf("touch of a revoked session: %v", err)
	}
	if _, err := s.Get(ctx, in.ID); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("a touch revived a revoked session: %v", err)
	}
	if list, _ := s.List(ctx, "u1"); len(list) != 0 {
		t.Errorf("a touched, revoked session is listed: %v", list)
	}
}

func testNonces(t *testing.T, s session.Store) {
	ctx := context.Background()
	n := fmt.Sprintf("nonce-%d", time.Now().UnixNano())
	start := time.Now()
	if fresh, err := s.RememberNonce(ctx, n, 600*time.Millisecond); !fresh || err != nil {
		t.Fatalf("first: %v %v", fresh, err)
	}
	if fresh, _ := s.RememberNonce(ctx, n, 600*time.Millisecond); fresh && time.Since(start) < 600*time.Millisecond {
		t.Error("nonce accepted twice within its window")
	}
	eventually(t, "forgotten past its window", func() bool {
		fresh, err := s.RememberNonce(ctx, n, time.Second)
		if fresh && time.Since(start) < 600*time.Millisecond {
			t.Fatal("nonce forgotten within its window")
		}
		return fresh && err == nil
	})
}

func testCounters(t *testing.T, s session.Store) {
	ctx := context.Background()
	for i := int64(1); i <= 3; i++ {
		n, left, err := s.Hit(ctx, "fail:alice", time.Minute)
		if err != nil || n != i || left <= 0 || left > time.Minute {
			t.Fatalf("hit %d: %d %v %v", i, n, left, err)
		}
	}
	if n, left, _ := s.Count(ctx, "fail:alice"); n != 3 || left <= 0 {
		t.Errorf("count: %d %v", n, left)
	}
	if n, _, _ := s.Count(ctx, "fail:bob"); n != 0 {
		t.Errorf("unknown counter: %d", n)
	}
	_ = s.Reset(ctx, "fail:alice")
	if n, _, _ := s.Count(ctx, "fail:alice"); n != 0 {
		t.Errorf("after reset: %d", n)
	}
	start := time.Now()
	if _, _, err := s.Hit(ctx, "short", 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	eventually(t, "reset at the end of its window", func() bool {
		n, _, err := s.Count(ctx, "short")
		if n == 0 && err == nil && time.Since(start) < 500*time.Millisecond {
			t.Fatal("counter gone within its window")
		}
		return n == 0 && err == nil
	})
}
