// Package redis is the shared session store (github.com/redis/go-redis/v9):
// every replica sees the same sessions, refresh-token hashes, nonces and
// counters, and a revocation on one is refused on all at the next request:
// every revocation is announced over pub/sub to the replicas' session
// caches (notify.go).
// Keys of one session share a hash tag, so its scripts work on Redis Cluster.
package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tnt/gateway/resources/session"
)

// Store is a session.Store on Redis.
type Store struct {
	rdb    goredis.UniversalClient
	prefix string
	rotate *goredis.Script
	hit    *goredis.Script
	touch  *goredis.Script
}

var _ session.Store = (*Store)(nil)

// rotateScript: KEYS session, spent; ARGV old, new. Returns {1, data, seen}
// rotated, {0} no session, {-1} reuse (session deleted), {-2} unknown hash.
const rotateScript = `
local cur = redis.call('HGET', KEYS[1], 'cur')
if not cur then return {0} end
if cur == ARGV[1] then
  redis.call('HSET', KEYS[1], 'cur', ARGV[2])
  redis.call('SADD', KEYS[2], ARGV[1])
  redis.call('PEXPIRE', KEYS[2], redis.call('PTTL', KEYS[1]))
  local v = redis.call('HMGET', KEYS[1], 'data', 'seen')
  return {1, v[1], v[2]}
end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then
  redis.call('DEL', KEYS[1], KEYS[2])
  return {-1}
end
return {-2}`

// touchScript: KEYS session; ARGV seen ms. Sets last-seen only on a session
// that still exists, atomically: a check then a write could recreate a
// revoked session's key as a hash with no TTL.
const touchScript = `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'seen', ARGV[1]) end
return 0`

// hitScript: KEYS counter; ARGV window ms. Returns {count, pttl}.
const hitScript = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}`

// Open connects to the Redis URL (redis:// or rediss://, password in the
// URL). It does not wait for the server; Ping does.
func Open(url string) (*Store, error) {
	opts, err := ClientOptions(url)
	if err != nil {
		return nil, err
	}
	return &Store{rdb: goredis.NewClient(opts), prefix: "gw:",
		rotate: goredis.NewScript(rotateScript), hit: goredis.NewScript(hitScript), touch: goredis.NewScript(touchScript)}, nil
}

// ClientOptions are the gateway's options for a Redis URL (redis:// or
// rediss://, password in the URL): short timeouts, and failing fast and
// closed when Redis is down. Every part of the gateway that uses Redis
// connects with them.
func ClientOptions(url string) (*goredis.Options, error) {
	opts, err := goredis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	opts.DialTimeout = 3 * time.Second
	opts.ReadTimeout = 2 * time.Second
	opts.WriteTimeout = 2 * time.Second
	// Retries are cheap (a dead pooled connection fails at once, and so
	// does a refused dial), and they carry requests over the stale
	// connections left by a Redis restart.
	opts.MaxRetries = 3
	// Fail fast and closed when Redis is down: one dial, no back-off
	// series that would hold every request for seconds.
	opts.DialerRetries = 1
	opts.DialerRetryTimeout = 10 * time.Millisecond
	return opts, nil
}

// Close closes the connection pool.
func (s *Store) Close() error { return s.rdb.Close() }

func (s *Store) sessKey(sid string) string  { return s.prefix + "{" + sid + "}:s" }
func (s *Store) spentKey(sid string) string { return s.prefix + "{" + sid + "}:spent" }
func (s *Store) userKey(uid string) string  { return s.prefix + "u:" + uid }

// Create stores a new session with a TTL until it expires.
func (s *Store) Create(ctx context.Context, in session.Session) error {
	data, err := json.Marshal(in)
	if err != nil {
		return err
	}
	ttl := time.Until(in.ExpiresAt)
	if ttl <= 0 {
		return nil
	}
	_, err = s.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		k := s.sessKey(in.ID)
		p.HSet(ctx, k, "data", data, "cur", in.RefreshHash, "seen", in.LastSeen.UnixMilli())
		p.PExpireAt(ctx, k, in.ExpiresAt)
		return nil
	})
	if err != nil {
		return session.Unavailable(err)
	}
	uk := s.userKey(in.UserID)
	if err := s.rdb.SAdd(ctx, uk, in.ID).Err(); err != nil {
		return session.Unavailable(err)
	}
	// The index lives as long as the longest session in it.
	if left, err := s.rdb.PTTL(ctx, uk).Result(); err == nil && left < ttl {
		s.rdb.PExpire(ctx, uk, ttl)
	}
	return nil
}

func decode(vals []any) (session.Session, error) {
	var out session.Session
	data, _ := vals[0].(string)
	cur, _ := vals[1].(string)
	seen, _ := vals[2].(string)
	if data == "" {
		return out, session.ErrNotFound
	}
	if err := json.Unmarshal([]byte(data), &out); err != nil {
		return out, fmt.Errorf("session store: corrupt session: %w", err)
	}
	out.RefreshHash = cur
	if ms, err := strconv.ParseInt(seen, 10, 64); err == nil {
		out.LastSeen = time.UnixMilli(ms).UTC()
	}
	return out, nil
}

// Get returns a live session.
func (s *Store) Get(ctx context.Context, sid string) (session.Session, error) {
	vals, err := s.rdb.HMGet(ctx, s.sessKey(sid), "data", "cur", "seen").Result()
	if err != nil {
		return session.Session{}, session.Unavailable(err)
	}
	return decode(vals)
}

// Touch records activity, only on a session that still exists.
func (s *Store) Touch(ctx context.Context, sid string, at time.Time) error {
	return session.Unavailable(s.touch.Run(ctx, s.rdb, []string{s.sessKey(sid)}, at.UnixMilli()).Err())
}

// Rotate swaps the refresh hash atomically (one Lua script).
func (s *Store) Rotate(ctx context.Context, sid, oldHash, newHash string) (session.Session, error) {
	res, err := s.rotate.Run(ctx, s.rdb, []string{s.sessKey(sid), s.spentKey(sid)}, oldHash, newHash).Slice()
	if err != nil || len(res) == 0 {
		return session.Session{}, session.Unavailable(err)
	}
	code, _ := res[0].(int64)
	switch code {
	case 1:
		if len(res) != 3 {
			return session.Session{}, session.ErrNotFound
		}
		return decode([]any{res[1], newHash, res[2]})
	case 0:
		return session.Session{}, session.ErrNotFound
	case -1:
		if err := s.announce(ctx, session.Ended{SID: sid}); err != nil {
			return session.Session{}, err
		}
		return session.Session{}, session.ErrReused
	}
	return session.Session{}, session.ErrStale
}

// Revoke ends one session.
func (s *Store) Revoke(ctx context.Context, sid string) error {
	vals, err := s.rdb.HMGet(ctx, s.sessKey(sid), "data", "cur", "seen").Result()
	if err != nil {
		return session.Unavailable(err)
	}
	if err := s.rdb.Del(ctx, s.sessKey(sid), s.spentKey(sid)).Err(); err != nil {
		return session.Unavailable(err)
	}
	if x, err := decode(vals); err == nil {
		s.rdb.SRem(ctx, s.userKey(x.UserID), sid)
	}
	return s.announce(ctx, session.Ended{SID: sid})
}

// List returns a user's live sessions; index entries of ended sessions are
// cleaned up on the way.
func (s *Store) List(ctx context.Context, userID string) ([]session.Session, error) {
	sids, err := s.rdb.SMembers(ctx, s.userKey(userID)).Result()
	if err != nil {
		return nil, session.Unavailable(err)
	}
	var out []session.Session
	for _, sid := range sids {
		x, err := s.Get(ctx, sid)
		if errors.Is(err, session.ErrNotFound) {
			s.rdb.SRem(ctx, s.userKey(userID), sid)
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

// RevokeUser ends a user's sessions except keep.
func (s *Store) RevokeUser(ctx context.Context, userID, keep string) (int, error) {
	sids, err := s.rdb.SMembers(ctx, s.userKey(userID)).Result()
	if err != nil {
		return 0, session.Unavailable(err)
	}
	n := 0
	for _, sid := range sids {
		if sid == keep {
			continue
		}
		removed, err := s.rdb.Del(ctx, s.sessKey(sid), s.spentKey(sid)).Result()
		if err != nil {
			// Some may be gone already: the caches must hear of it.
			return n, errors.Join(session.Unavailable(err), s.announce(ctx, session.Ended{UserID: userID}))
		}
		if removed > 0 {
			n++
		}
		s.rdb.SRem(ctx, s.userKey(userID), sid)
	}
	return n, s.announce(ctx, session.Ended{UserID: userID})
}

// RevokeAll ends every session except keep: it walks the key space with
// SCAN (never KEYS, which blocks the server) and deletes session keys, their
// spent-hash sets and the per-user indexes in batches.
func (s *Store) RevokeAll(ctx context.Context, keep string) (int, error) {
	n, err := s.revokeAll(ctx, keep)
	// Announced even after a failure part-way: some sessions may be gone.
	return n, errors.Join(err, s.announce(ctx, session.Ended{All: true}))
}

func (s *Store) revokeAll(ctx context.Context, keep string) (int, error) {
	var kept session.Session
	if keep != "" {
		x, err := s.Get(ctx, keep)
		switch {
		case err == nil:
			kept = x
		case !errors.Is(err, session.ErrNotFound):
			return 0, err
		}
	}
	n := 0
	for _, pattern := range []string{s.prefix + "{*}:s", s.prefix + "{*}:spent", s.prefix + "u:*"} {
		iter := s.rdb.Scan(ctx, 0, pattern, 500).Iterator()
		var batch []string
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			removed, err := s.rdb.Del(ctx, batch...).Result()
			if err != nil {
				return session.Unavailable(err)
			}
			if strings.HasSuffix(pattern, ":s") {
				n += int(removed)
			}
			batch = batch[:0]
			return nil
		}
		for iter.Next(ctx) {
			k := iter.Val()
			if kept.ID != "" && (k == s.sessKey(kept.ID) || k == s.spentKey(kept.ID)) {
				continue
			}
			if batch = append(batch, k); len(batch) == 500 {
				if err := flush(); err != nil {
					return n, err
				}
			}
		}
		if err := iter.Err(); err != nil {
			return n, session.Unavailable(err)
		}
		if err := flush(); err != nil {
			return n, err
		}
	}
	if kept.ID != "" {
		uk := s.userKey(kept.UserID)
		if err := s.rdb.SAdd(ctx, uk, kept.ID).Err(); err != nil {
			return n, session.Unavailable(err)
		}
		s.rdb.PExpireAt(ctx, uk, kept.ExpiresAt)
	}
	return n, nil
}

// RememberNonce records a nonce with SET NX.
func (s *Store) RememberNonce(ctx context.Context, nonce string, ttl time.Duration) (bool, error) {
	ok, err := s.rdb.SetNX(ctx, s.prefix+"n:"+nonce, 1, ttl).Result()
	return ok, session.Unavailable(err)
}

// Hit adds one to a counter.
func (s *Store) Hit(ctx context.Context, key string, window time.Duration) (int64, time.Duration, error) {
	vals, err := s.hit.Run(ctx, s.rdb, []string{s.prefix + "c:" + key}, window.Milliseconds()).Int64Slice()
	if err != nil || len(vals) != 2 {
		return 0, 0, session.Unavailable(err)
	}
	return vals[0], time.Duration(vals[1]) * time.Millisecond, nil
}

// Count reads a counter.
func (s *Store) Count(ctx context.Context, key string) (int64, time.Duration, error) {
	k := s.prefix + "c:" + key
	n, err := s.rdb.Get(ctx, k).Int64()
	if errors.Is(err, goredis.Nil) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, session.Unavailable(err)
	}
	ttl, err := s.rdb.PTTL(ctx, k).Result()
	return n, ttl, session.Unavailable(err)
}

// Reset removes a counter.
func (s *Store) Reset(ctx context.Context, key string) error {
	return session.Unavailable(s.rdb.Del(ctx, s.prefix+"c:"+key).Err())
}

// Ping checks that the server answers.
func (s *Store) Ping(ctx context.Context) error {
	return session.Unavailable(s.rdb.Ping(ctx).Err())
}

// slogPrinter sends go-redis's own messages to the gateway's JSON log.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Printf(ctx context.Context, format string, v ...any) {
	p.log.WarnContext(ctx, "redis client", slog.String("detail", fmt.Sprintf(format, v...)))
}

// RouteClientLogs makes go-redis log through l. go-redis keeps one logger per
// process, so this is called once, from main.
func RouteClientLogs(l *slog.Logger) { goredis.SetLogger(slogPrinter{l}) }

// EvictionPolicy reports the server's maxmemory-policy; anything but
// noeviction can silently drop nonces, revocations and refresh tokens.
func (s *Store) EvictionPolicy(ctx context.Context) (string, error) {
	res, err := s.rdb.ConfigGet(ctx, "maxmemory-policy").Result()
	if err != nil {
		return "", session.Unavailable(err)
	}
	return res["maxmemory-policy"], nil
}
