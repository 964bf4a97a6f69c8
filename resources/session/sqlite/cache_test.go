package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tnt/gateway/resources/session"
	"github.com/tnt/gateway/resources/session/sessiontest"
	"github.com/tnt/gateway/resources/session/sqlite"
)

func open(tb testing.TB, path string) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(context.Background(), path, time.Minute)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func live(id, user string) session.Session {
	now := time.Now().UTC()
	return session.Session{ID: id, UserID: user, Level: 4, Kind: "access", CreatedAt: now, LastSeen: now,
		ExpiresAt: now.Add(time.Hour), RefreshHash: "h0"}
}

// The cache keeps the store's contract.
func TestCacheConformance(t *testing.T) {
	sessiontest.Run(t, func(tb testing.TB) session.Store {
		return session.NewCache(MustOpen(tb), session.CacheConfig{})
	})
}

// TestCacheServesFromMemoryUntilRevoked: a second check is a hit, and every
// kind of revocation through the cache is refused at the next check.
func TestCacheServesFromMemoryUntilRevoked(t *testing.T) {
	ctx := context.Background()
	c := session.NewCache(open(t, filepath.Join(t.TempDir(), "s.db")), session.CacheConfig{})
	if !c.Live() {
		t.Fatal("the embedded store's cache is not live")
	}
	for _, id := range []string{"a", "b", "d"} {
		if err := c.Create(ctx, live(id, "u-"+id)); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := c.Get(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
	}
	if st := c.Stats(); st.Hits != 6 || st.Misses != 3 {
		t.Fatalf("9 checks of 3 sessions: %+v, want 6 hits and 3 misses", st)
	}
	revoke := map[string]func() error{
		"a": func() error { return c.Revoke(ctx, "a") },
		"b": func() error { _, err := c.RevokeUser(ctx, "u-b", ""); return err },
		"d": func() error { _, err := c.RevokeAll(ctx, ""); return err },
	}
	for _, id := range []string{"a", "b", "d"} {
		if err := revoke[id](); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Get(ctx, id); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("session %s after its revocation: %v", id, err)
		}
	}
}

// TestCacheHearsAnotherProcess: the CLI opens the same file in a process of
// its own (here a second store on the file) and ends a user's sessions; the
// gateway's cache refuses them at its next check.
func TestCacheHearsAnotherProcess(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sessions.db")
	gw := session.NewCache(open(t, path), session.CacheConfig{})
	cli := open(t, path)
	for _, id := range []string{"one", "two", "three"} {
		if err := gw.Create(ctx, live(id, "u")); err != nil {
			t.Fatal(err)
		}
		if _, err := gw.Get(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := cli.Revoke(ctx, "one"); err != nil {
		t.Fatal(err)
	}
	if _, err := gw.Get(ctx, "one"); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("a session the other process revoked: %v", err)
	}
	if _, err := cli.RevokeUser(ctx, "u", ""); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"two", "three"} {
		if _, err := gw.Get(ctx, id); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("session %s after the other process ended its user's sessions: %v", id, err)
		}
	}
}

// blockingGet holds the cache's store read of one session until released,
// so a revocation can land while it is in flight.
type blockingGet struct {
	*sqlite.Store
	sid     string
	reading chan struct{}
	release chan struct{}
	once    sync.Once
}

func (b *blockingGet) Get(ctx context.Context, sid string) (session.Session, error) {
	s, err := b.Store.Get(ctx, sid)
	if sid == b.sid {
		b.once.Do(func() {
			close(b.reading)
			<-b.release
		})
	}
	return s, err
}

// TestCacheDropsAFillThatRacedARevocation: a check reads the session, a
// revocation lands before that read is cached; the stale read may answer
// its own request (it began first) but is not kept for the next. The
// revocation comes through the cache, from another process (the shared
// generation), or as a notice from a feed (Redis pub/sub, no generation).
func TestCacheDropsAFillThatRacedARevocation(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		feed   bool
		revoke func(c *session.Cache, other *sqlite.Store) error
	}{
		{"same process", false, func(c *session.Cache, _ *sqlite.Store) error { return c.Revoke(ctx, "s") }},
		{"other process", false, func(_ *session.Cache, other *sqlite.Store) error { return other.Revoke(ctx, "s") }},
		{"notice from a feed", true, func(c *session.Cache, other *sqlite.Store) error {
			err := other.Revoke(ctx, "s")
			c.End(session.Ended{SID: "s"})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sessions.db")
			b := &blockingGet{Store: open(t, path), sid: "s", reading: make(chan struct{}), release: make(chan struct{})}
			var c *session.Cache
			if tc.feed {
				c = session.NewCache(hidden{b}, session.CacheConfig{})
				c.Up() // as a feed does once subscribed
			} else {
				c = session.NewCache(b, session.CacheConfig{})
			}
			if err := c.Create(ctx, live("s", "u")); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				_, err := c.Get(ctx, "s")
				done <- err
			}()
			<-b.reading
			if err := tc.revoke(c, open(t, path)); err != nil {
				t.Fatal(err)
			}
			close(b.release)
			if err := <-done; err != nil {
				t.Fatalf("the check that began before the revocation: %v", err)
			}
			if _, err := c.Get(ctx, "s"); !errors.Is(err, session.ErrNotFound) {
				t.Errorf("the check after the revocation: %v", err)
			}
		})
	}
}

// hidden is a store without a shared generation or a feed.
type hidden struct{ session.Store }

// TestCacheWithoutAFeedReadsEveryTime: a cache that cannot hear revocations
// never serves from memory.
func TestCacheWithoutAFeedReadsEveryTime(t *testing.T) {
	ctx := context.Background()
	c := session.NewCache(hidden{open(t, filepath.Join(t.TempDir(), "s.db"))}, session.CacheConfig{})
	if c.Live() {
		t.Fatal("live without a way to hear revocations")
	}
	_ = c.Create(ctx, live("s", "u"))
	for range 3 {
		if _, err := c.Get(ctx, "s"); err != nil {
			t.Fatal(err)
		}
	}
	if st := c.Stats(); st.Bypass != 3 || st.Hits != 0 {
		t.Errorf("checks without a feed: %+v", st)
	}
}

// TestCacheForgetsOnDownAndUp: switching to bypass and back starts from an
// empty cache, and entries older than MaxAge are read again.
func TestCacheForgetsOnDownAndUp(t *testing.T) {
	ctx := context.Background()
	var changes []bool
	c := session.NewCache(open(t, filepath.Join(t.TempDir(), "s.db")), session.CacheConfig{
		MaxAge: time.Hour, OnLive: func(l bool) { changes = append(changes, l) }})
	_ = c.Create(ctx, live("s", "u"))
	_, _ = c.Get(ctx, "s")
	c.Down()
	_, _ = c.Get(ctx, "s")
	c.Up()
	_, _ = c.Get(ctx, "s")
	if st := c.Stats(); st.Hits != 0 || st.Misses != 2 || st.Bypass != 1 {
		t.Errorf("fill, down, check, up, check: %+v, want 2 misses and 1 bypass", st)
	}
	if len(changes) != 2 || changes[0] || !changes[1] {
		t.Errorf("OnLive calls: %v, want [false true]", changes)
	}
}

func BenchmarkCachedSessionCheck(b *testing.B) {
	c := session.NewCache(MustOpen(b), session.CacheConfig{})
	ctx := context.Background()
	_ = c.Create(ctx, live("bench", "u"))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Get(ctx, "bench"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
