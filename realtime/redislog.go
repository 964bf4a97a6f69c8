package realtime

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tnt/gateway/resources/session/redis"
)

// RedisLog is the Log every replica shares through Redis: the changes are a
// Redis stream (its entry ids are the positions), tickets and stream
// descriptors plain keys with a TTL. A write on any replica reaches every
// replica's hub, and a client may resume on any replica.
type RedisLog struct {
	rdb    *goredis.Client
	prefix string
	epoch  string
}

// waitFor bounds one blocking read, so a hub notices its context ending.
const waitFor = 2 * time.Second

// redisLogMaxLen bounds the changes kept in Redis (about 100 MB at 1 KB a
// change), whatever the retention: past it a resuming client refetches.
const redisLogMaxLen = 100_000

// OpenRedisLog connects to the Redis URL, with the options of the session
// store; it does not wait for the server.
func OpenRedisLog(url string) (*RedisLog, error) {
	opts, err := redis.ClientOptions(url)
	if err != nil {
		return nil, err
	}
	return &RedisLog{rdb: goredis.NewClient(opts), prefix: "gw:rt:"}, nil
}

func (l *RedisLog) stream() string             { return l.prefix + "log" }
func (l *RedisLog) epochKey() string           { return l.prefix + "epoch" }
func (l *RedisLog) horizonKey() string         { return l.prefix + "horizon" }
func (l *RedisLog) idKey() string              { return l.prefix + "idkey" }
func (l *RedisLog) ticketKey(h string) string  { return l.prefix + "t:" + h }
func (l *RedisLog) streamKey(id string) string { return l.prefix + "s:" + id }

// Close closes the connection pool.
func (l *RedisLog) Close() error { return l.rdb.Close() }

// Append adds the changes to the stream in one round trip, in order.
func (l *RedisLog) Append(ctx context.Context, changes []Change) error {
	_, err := l.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, c := range changes {
			body, err := encodeChange(c)
			if err != nil {
				return err
			}
			// Trimmed by length too, so a burst of writes cannot fill the
			// Redis that also keeps the sessions; Mark's horizon follows.
			p.XAdd(ctx, &goredis.XAddArgs{Stream: l.stream(), MaxLen: redisLogMaxLen, Approx: true, Values: []any{"c", body}})
		}
		return nil
	})
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// Next blocks on the stream for entries after pos.
func (l *RedisLog) Next(ctx context.Context, after uint64, max int) ([]Entry, error) {
	res, err := l.rdb.XRead(ctx, &goredis.XReadArgs{Streams: []string{l.stream(), redisID(after)}, Count: int64(max), Block: waitFor}).Result()
	if errors.Is(err, goredis.Nil) {
		return nil, nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, unavailable(err)
	}
	var out []Entry
	for _, s := range res {
		out, err = appendEntries(out, s.Messages)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Range reads the entries with after < pos <= upTo.
func (l *RedisLog) Range(ctx context.Context, after, upTo uint64, max int) ([]Entry, error) {
	msgs, err := l.rdb.XRangeN(ctx, l.stream(), "("+redisID(after), redisID(upTo), int64(max)).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	return appendEntries(nil, msgs)
}

func appendEntries(out []Entry, msgs []goredis.XMessage) ([]Entry, error) {
	for _, m := range msgs {
		pos, ok := parseRedisID(m.ID)
		body, _ := m.Values["c"].(string)
		if !ok {
			return nil, fmt.Errorf("realtime log: entry id %q", m.ID)
		}
		c, err := decodeChange([]byte(body))
		if err != nil {
			return nil, fmt.Errorf("realtime log: entry %s: %w", m.ID, err)
		}
		out = append(out, Entry{Pos: pos, Change: c})
	}
	return out, nil
}

// Mark reads the epoch (setting one on a new log), the last entry and the
// horizon.
func (l *RedisLog) Mark(ctx context.Context) (Mark, error) {
	// One round trip: a new log gets its epoch and key first.
	var epoch, key, horizon *goredis.StringCmd
	var last, first *goredis.XMessageSliceCmd
	_, err := l.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		p.SetNX(ctx, l.epochKey(), newID(6), 0)
		p.SetNX(ctx, l.idKey(), hex.EncodeToString(randomBytes(16)), 0)
		epoch, key, horizon = p.Get(ctx, l.epochKey()), p.Get(ctx, l.idKey()), p.Get(ctx, l.horizonKey())
		last, first = p.XRevRangeN(ctx, l.stream(), "+", "-", 1), p.XRangeN(ctx, l.stream(), "-", "+", 1)
		return nil
	})
	var m Mark
	if err != nil && !errors.Is(err, goredis.Nil) { // no horizon yet is Nil
		return m, unavailable(err)
	}
	if err := epoch.Err(); err != nil {
		return m, unavailable(err)
	}
	m.Epoch = epoch.Val()
	if m.Key, err = hex.DecodeString(key.Val()); err != nil || len(m.Key) != 16 {
		return m, unavailable(fmt.Errorf("the log's key is damaged"))
	}
	if err := horizon.Err(); err != nil && !errors.Is(err, goredis.Nil) {
		return m, unavailable(err)
	}
	m.Horizon, _ = strconv.ParseUint(horizon.Val(), 10, 64)
	msgs, err := last.Result()
	if err != nil {
		return m, unavailable(err)
	}
	if len(msgs) > 0 {
		m.Head, _ = parseRedisID(msgs[0].ID)
	}
	// Entries go from the front only: whatever precedes the oldest one
	// kept may be gone (trimmed by length), so only a client that saw the
	// entry just before it, or a later one, can resume.
	oldest, err := first.Result()
	if err != nil {
		return m, unavailable(err)
	}
	if len(oldest) > 0 {
		if p, ok := parseRedisID(oldest[0].ID); ok && p > 0 {
			m.Horizon = max(m.Horizon, p-1)
		}
	}
	m.Head = max(m.Head, m.Horizon)
	return m, nil
}

// Prune trims the entries older than keep and moves the horizon.
func (l *RedisLog) Prune(ctx context.Context, keep time.Duration) error {
	cut := time.Now().Add(-keep).UnixMilli()
	if cut <= 0 {
		return nil
	}
	if err := l.rdb.XTrimMinID(ctx, l.stream(), strconv.FormatInt(cut, 10)+"-0").Err(); err != nil {
		return unavailable(err)
	}
	// Every entry before cut-0 is gone; the horizon is the last position
	// before it. It only moves forward.
	h := uint64(cut)<<seqBits - 1
	script := `local h = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > h then redis.call('SET', KEYS[1], ARGV[1]) end
return 1`
	if err := l.rdb.Eval(ctx, script, []string{l.horizonKey()}, strconv.FormatUint(h, 10)).Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

// PutTicket stores a ticket with its TTL.
func (l *RedisLog) PutTicket(ctx context.Context, hash string, b Binding, ttl time.Duration) error {
	if err := l.rdb.Set(ctx, l.ticketKey(hash), descriptor{Binding: b}.encode(), ttl).Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

// TakeTicket reads and deletes a ticket in one step.
func (l *RedisLog) TakeTicket(ctx context.Context, hash string) (Binding, bool, error) {
	body, err := l.rdb.GetDel(ctx, l.ticketKey(hash)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return Binding{}, false, nil
	}
	if err != nil {
		return Binding{}, false, unavailable(err)
	}
	d, ok := decodeDescriptor(body)
	return d.Binding, ok, nil
}

// SaveStream keeps a stream's descriptor with its TTL.
func (l *RedisLog) SaveStream(ctx context.Context, clientID string, desc []byte, ttl time.Duration) error {
	if err := l.rdb.Set(ctx, l.streamKey(clientID), desc, ttl).Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

// LoadStream reads a stream's descriptor.
func (l *RedisLog) LoadStream(ctx context.Context, clientID string) ([]byte, bool, error) {
	body, err := l.rdb.Get(ctx, l.streamKey(clientID)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, unavailable(err)
	}
	return body, true, nil
}

// seqBits is how many low bits of a position hold the sequence part of a
// Redis stream id ("<ms>-<seq>"); the milliseconds fill the rest.
const seqBits = 20

func redisID(pos uint64) string {
	return strconv.FormatUint(pos>>seqBits, 10) + "-" + strconv.FormatUint(pos&(1<<seqBits-1), 10)
}

func parseRedisID(id string) (uint64, bool) {
	ms, seq, ok := strings.Cut(id, "-")
	m, err1 := strconv.ParseUint(ms, 10, 64)
	s, err2 := strconv.ParseUint(seq, 10, 64)
	if !ok || err1 != nil || err2 != nil || s >= 1<<seqBits || m >= 1<<(64-seqBits) {
		return 0, false
	}
	return m<<seqBits | s, true
}
