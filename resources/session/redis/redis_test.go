package redis_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

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

// TestNoKeyOutlivesItsSession: a touch racing a revocation, and a RevokeAll,
// leave no key behind, and every key that remains has a TTL (an evictable
// or eternal key would be unbounded state).
func TestNoKeyOutlivesItsSession(t *testing.T) {
	srv := redistest.Start(t)
	s, err := redis.Open(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	raw := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer raw.Close()
	ctx := context.Background()
	now := time.Now()
	for i, id := range []string{"s1", "s2", "s3"} {
		in := session.Session{ID: id, UserID: fmt.Sprintf("u%d", i%2), CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour), RefreshHash: "h0"}
		if err := s.Create(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Rotate(ctx, "s2", "h0", "h1"); err != nil {
		t.Fatal(err)
	}
	// Touches racing revocations, many times over: the check-then-write
	// this replaced recreated the key now and then.
	for i := range 300 {
		id := fmt.Sprintf("race%d", i)
		in := session.Session{ID: id, UserID: "u9", CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour)}
		if err := s.Create(ctx, in); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); _ = s.Touch(ctx, id, now.Add(time.Minute)) }()
		go func() { defer wg.Done(); _ = s.Revoke(ctx, id) }()
		wg.Wait()
		if n, err := raw.Exists(ctx, "gw:{"+id+"}:s").Result(); err != nil || n != 0 {
			t.Fatalf("a touch recreated revoked session %s: %d %v", id, n, err)
		}
	}
	if err := s.Revoke(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	keys, err := raw.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if ttl, _ := raw.PTTL(ctx, k).Result(); ttl <= 0 {
			t.Errorf("key %s has no TTL (%v)", k, ttl)
		}
	}
	if _, err := s.RevokeAll(ctx, "s3"); err != nil {
		t.Fatal(err)
	}
	keys, _ = raw.Keys(ctx, "*").Result()
	slices.Sort(keys)
	if want := []string{"gw:u:u0", "gw:{s3}:s"}; !slices.Equal(keys, want) {
		t.Errorf("keys after RevokeAll keeping s3: %v, want %v", keys, want)
	}
}
