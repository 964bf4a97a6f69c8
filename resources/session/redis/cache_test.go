package redis_test

import (
	"context"
	"errors"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tnt/gateway/resources/session"
	"github.com/tnt/gateway/resources/session/redis"
	"github.com/tnt/gateway/resources/session/redis/redistest"
)

// replica is one gateway's view: its own connection pool, its own cache fed
// by its own subscription, and the cache's changes between live and bypass.
type replica struct {
	store *redis.Store
	cache *session.Cache
	live  chan bool
}

func startReplica(t *testing.T, url string) *replica {
	t.Helper()
	st, err := redis.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{store: st, live: make(chan bool, 16)}
	r.cache = session.NewCache(st, session.CacheConfig{OnLive: func(l bool) { r.live <- l }})
	stop := r.cache.Start(context.Background())
	t.Cleanup(func() {
		stop()
		_ = st.Close()
	})
	r.await(t, true)
	return r
}

// await waits for the cache to change to want (an event, not a time).
func (r *replica) await(t *testing.T, want bool) {
	t.Helper()
	select {
	case got := <-r.live:
		if got != want {
			t.Fatalf("the cache went live=%v, want live=%v", got, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the cache did not go live=%v within 30 s", want)
	}
}

func liveSession(id, user string) session.Session {
	now := time.Now().UTC()
	return session.Session{ID: id, UserID: user, Level: 4, Kind: "access", CreatedAt: now, LastSeen: now,
		ExpiresAt: now.Add(time.Hour), RefreshHash: "h0"}
}

// warm makes r's cache hold the sessions, and checks it serves them from
// memory.
func warm(t *testing.T, r *replica, ids ...string) {
	t.Helper()
	for _, id := range ids {
		for range 2 {
			if _, err := r.cache.Get(context.Background(), id); err != nil {
				t.Fatalf("check of %s on a replica: %v", id, err)
			}
		}
	}
}

func mustGone(t *testing.T, r *replica, what string, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if _, err := r.cache.Get(context.Background(), id); !errors.Is(err, session.ErrNotFound) {
			t.Errorf("%s: session %s on the other replica: %v", what, id, err)
		}
	}
}

// TestRevocationReachesEveryReplica: whatever ends sessions on one replica
// (or the CLI, with no cache of its own) is refused by the other replica's
// cache at its very next check, with no wait in between: the revoking call
// returns only once every subscribed cache has applied the notice.
func TestRevocationReachesEveryReplica(t *testing.T) {
	srv := redistest.Start(t)
	a, b := startReplica(t, srv.URL()), startReplica(t, srv.URL())
	cli, err := redis.Open(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx := context.Background()
	for _, id := range []string{"logout", "user-1", "user-2", "cli", "reuse", "all-1", "all-2"} {
		if err := a.cache.Create(ctx, liveSession(id, "u-"+id[:3])); err != nil {
			t.Fatal(err)
		}
	}
	warm(t, b, "logout", "user-1", "user-2", "cli", "reuse", "all-1", "all-2")
	before := b.cache.Stats()
	if before.Hits == 0 {
		t.Fatalf("the second checks were not served from memory: %+v", before)
	}

	if err := a.cache.Revoke(ctx, "logout"); err != nil {
		t.Fatal(err)
	}
	mustGone(t, b, "logout on A", "logout")
	if _, err := a.cache.RevokeUser(ctx, "u-use", ""); err != nil {
		t.Fatal(err)
	}
	mustGone(t, b, "level change on A", "user-1", "user-2")
	if err := cli.Revoke(ctx, "cli"); err != nil {
		t.Fatal(err)
	}
	mustGone(t, b, "revocation by the CLI", "cli")
	if _, err := a.cache.Rotate(ctx, "reuse", "h0", "h1"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.cache.Rotate(ctx, "reuse", "h0", "h2"); !errors.Is(err, session.ErrReused) {
		t.Fatalf("a spent refresh hash: %v", err)
	}
	mustGone(t, b, "refresh token reuse on A", "reuse")
	if _, err := a.cache.RevokeAll(ctx, ""); err != nil {
		t.Fatal(err)
	}
	mustGone(t, b, "restore on A", "all-1", "all-2")
}

// TestSubscriptionCut: the replicas' subscriptions are cut and refused for
// a while. The cache switches to bypass at once (every check reads Redis,
// so a revocation it cannot hear of is still refused), and when it
// subscribes again it starts empty: a session ended while it was deaf is
// not served from what it held before.
func TestSubscriptionCut(t *testing.T) {
	srv := redistest.Start(t)
	b := startReplica(t, srv.URL())
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer admin.Close()
	ctx := context.Background()
	for _, id := range []string{"deaf-1", "deaf-2", "kept"} {
		if err := b.cache.Create(ctx, liveSession(id, "u")); err != nil {
			t.Fatal(err)
		}
	}
	warm(t, b, "deaf-1", "deaf-2", "kept")

	// Cut: no client may subscribe, and the subscribed ones are dropped.
	if err := admin.Do(ctx, "ACL", "SETUSER", "default", "-subscribe").Err(); err != nil {
		t.Fatal(err)
	}
	if err := admin.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	b.await(t, false)
	// Ended with no notice at all (as if the message were lost): in bypass
	// the replica reads Redis and refuses it.
	if err := admin.Del(ctx, "gw:{deaf-1}:s").Err(); err != nil {
		t.Fatal(err)
	}
	mustGone(t, b, "ended while the subscription is down", "deaf-1")
	bypass := b.cache.Stats().Bypass
	warm(t, b, "kept")
	if got := b.cache.Stats().Bypass - bypass; got != 2 {
		t.Errorf("checks while the subscription is down read Redis %d times of 2", got)
	}
	// Still deaf: another silent end, then the subscription comes back.
	if err := admin.Del(ctx, "gw:{deaf-2}:s").Err(); err != nil {
		t.Fatal(err)
	}
	if err := admin.Do(ctx, "ACL", "SETUSER", "default", "+subscribe").Err(); err != nil {
		t.Fatal(err)
	}
	b.await(t, true)
	mustGone(t, b, "ended while deaf, checked after the subscription is back", "deaf-2")
	warm(t, b, "kept")
}
