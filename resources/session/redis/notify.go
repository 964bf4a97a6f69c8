package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tnt/gateway/resources/session"
)

// How revocations reach every replica's session cache:
//
//   - The revoking process ends the session in Redis, then publishes what it
//     ended on the channel, with a fresh id. PUBLISH answers how many
//     subscribers received it.
//   - Each subscriber forgets what the message names, then pushes an ack on
//     the id's list.
//   - The revoking process waits for that many acks (at most AckWait), so
//     when a logout or a level change returns, every replica that was
//     listening has already applied it.
//   - A subscriber that loses its connection, or whose connection stays
//     silent past a health check, switches its cache to bypass (every
//     request reads Redis) until it has subscribed again, and then starts
//     from an empty cache.
const (
	// healthEvery is how long a silent subscription waits before it
	// pings; a ping unanswered for as long again counts as a cut.
	healthEvery = time.Second
	// AckWait bounds the wait for the replicas' acks. It exceeds two health
	// periods, so a replica whose connection died silently has switched to
	// bypass by the time the revoker stops waiting.
	AckWait = 3 * time.Second
)

func (s *Store) channel() string         { return s.prefix + "ended" }
func (s *Store) ackKey(id string) string { return s.prefix + "ack:" + id }

// encodeEnded is "<id> s <sid>", "<id> u <user>" or "<id> all".
func encodeEnded(id string, e session.Ended) string {
	switch {
	case e.All:
		return id + " all"
	case e.UserID != "":
		return id + " u " + e.UserID
	}
	return id + " s " + e.SID
}

func decodeEnded(msg string) (string, session.Ended, bool) {
	id, rest, _ := strings.Cut(msg, " ")
	kind, arg, _ := strings.Cut(rest, " ")
	switch {
	case id == "":
		return "", session.Ended{}, false
	case kind == "all":
		return id, session.Ended{All: true}, true
	case kind == "u" && arg != "":
		return id, session.Ended{UserID: arg}, true
	case kind == "s" && arg != "":
		return id, session.Ended{SID: arg}, true
	}
	return "", session.Ended{}, false
}

// announce tells every subscribed replica what ended and waits until each
// has applied it (or AckWait passes). The revocation itself is already
// stored: an error here means Redis could not carry the notice, and the
// caller answers that the store is unavailable.
func (s *Store) announce(ctx context.Context, e session.Ended) error {
	var b [12]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	// The notice goes out even when the caller's context has ended: the
	// sessions are gone, and every cache must hear of it.
	ctx = context.WithoutCancel(ctx)
	n, err := s.rdb.Publish(ctx, s.channel(), encodeEnded(id, e)).Result()
	if err != nil {
		return session.Unavailable(err)
	}
	deadline := time.Now().Add(AckWait)
	for got := int64(0); got < n && time.Now().Before(deadline); {
		// BLPOP counts whole seconds; the loop checks the deadline.
		err := s.rdb.BLPop(ctx, time.Second, s.ackKey(id)).Err()
		switch {
		case errors.Is(err, goredis.Nil):
		case err != nil:
			return session.Unavailable(err)
		default:
			got++
		}
	}
	s.rdb.Del(ctx, s.ackKey(id))
	return nil
}

// Watch subscribes to the revocations of every replica and feeds c until
// ctx ends (session.Watcher).
func (s *Store) Watch(ctx context.Context, c *session.Cache) {
	sub := s.subscribe(ctx)
	defer func() { sub.close() }()
	backoff := 50 * time.Millisecond
	pinged := false
	for ctx.Err() == nil {
		msg, err := sub.ps.ReceiveTimeout(ctx, healthEvery)
		if err != nil && ctx.Err() != nil {
			return
		}
		if err != nil {
			var nerr net.Error
			timeout := errors.As(err, &nerr) && nerr.Timeout()
			if timeout && !pinged && sub.ps.Ping(ctx) == nil {
				pinged = true
				continue
			}
			c.Down()
			pinged = false
			// Start over on a new connection: the old one is dead,
			// silent, or refused the subscription.
			sub.close()
			sub = s.subscribe(ctx)
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		pinged = false
		switch m := msg.(type) {
		case *goredis.Subscription:
			if m.Kind == "subscribe" {
				c.Up()
				backoff = 50 * time.Millisecond
			}
		case *goredis.Message:
			id, e, ok := decodeEnded(m.Payload)
			if !ok {
				// Not ours to read: forget everything rather than
				// guess what it meant.
				c.Heard(session.Ended{All: true})
				continue
			}
			c.Heard(e)
			s.ack(ctx, id)
		}
	}
}

// subscription is one subscribed connection, closed when the watch's
// context ends so that a blocked receive returns at once on shutdown.
type subscription struct {
	ps   *goredis.PubSub
	stop func() bool
}

func (s *Store) subscribe(ctx context.Context) subscription {
	ps := s.rdb.Subscribe(ctx, s.channel())
	return subscription{ps: ps, stop: context.AfterFunc(ctx, func() { _ = ps.Close() })}
}

func (x subscription) close() {
	x.stop()
	_ = x.ps.Close()
}

// ack tells the revoker this cache has applied its notice.
func (s *Store) ack(ctx context.Context, id string) {
	_, _ = s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		p.RPush(ctx, s.ackKey(id), 1)
		p.PExpire(ctx, s.ackKey(id), 2*AckWait)
		return nil
	})
}
