package redis_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tnt/gateway/resources/session"
	"github.com/tnt/gateway/resources/session/redis"
	"github.com/tnt/gateway/resources/session/redis/redistest"
	"github.com/tnt/gateway/resources/session/sessiontest"
)

// MustOpen starts a redis-server and connects a store to it.
func MustOpen(tb testing.TB) session.Store {
	tb.Helper()
	srv := redistest.Start(tb)
	s, err := redis.Open(srv.URL())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) { sessiontest.Run(t, MustOpen) }

// TestFailsClosed: with the server gone every call is ErrUnavailable, never
// a default answer; after a restart with no persistence nothing is
// resurrected.
func TestFailsClosed(t *testing.T) {
	srv := redistest.Start(t)
	s, err := redis.Open(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	now := time.Now()
	in := session.Session{ID: "s1", UserID: "u1", CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour), RefreshHash: "h0"}
	if err := s.Create(ctx, in); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if _, err := s.Get(ctx, "s1"); !errors.Is(err, session.ErrUnavailable) {
		t.Errorf("Get with Redis down: %v", err)
	}
	if _, err := s.RememberNonce(ctx, "n", time.Minute); !errors.Is(err, session.ErrUnavailable) {
		t.Errorf("nonce with Redis down: %v", err)
	}
	if _, _, err := s.Hit(ctx, "k", time.Minute); !errors.Is(err, session.ErrUnavailable) {
		t.Errorf("counter with Redis down: %v", err)
	}
	if _, err := s.Rotate(ctx, "s1", "h0", "h1"); !errors.Is(err, session.ErrUnavailable) {
		t.Errorf("rotate with Redis down: %v", err)
	}
	srv.Restart()
	if _, err := s.Get(ctx, "s1"); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("session after a restart without persistence: %v", err)
	}
	if _, err := s.Rotate(ctx, "s1", "h0", "h1"); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("refresh after a restart: %v", err)
	}
}

func BenchmarkSessionCheck(b *testing.B) {
	s := MustOpen(b)
	now := time.Now()
	ctx := context.Background()
	_ = s.Create(ctx, session.Session{ID: "bench", UserID: "u", CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour)})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Get(ctx, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}
