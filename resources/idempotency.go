package resources

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"
)

// IdempotencyCollection keeps the first result of each Idempotency-Key.
const IdempotencyCollection = "idempotency"

// idempotencyTTL is how long a key's first result is replayed.
const idempotencyTTL = 24 * time.Hour

// Outcome is a money route's answer, replayable byte for byte.
type Outcome struct {
	Status int
	Data   json.RawMessage
}

// inflight locks a key while its first request runs (session.Store).
type inflight interface {
	Hit(ctx context.Context, key string, window time.Duration) (int64, time.Duration, error)
	Count(ctx context.Context, key string) (int64, time.Duration, error)
	Reset(ctx context.Context, key string) error
}

// RequestHash identifies a request's content for Idempotency-Key checks:
// the route and the body's JSON value (so formatting does not matter).
func RequestHash(route string, body any) string {
	b, _ := json.Marshal(body) // decoded JSON: maps marshal with sorted keys
	h := sha256.New()
	h.Write([]byte(route))
	h.Write([]byte{0})
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

func validKey(key string) bool {
	if len(key) == 0 || len(key) > 255 {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return false
		}
	}
	return true
}

// idempotent runs fn in a store transaction at most once per (caller, key):
// the result is stored in the same transaction as fn's writes, so a retry
// after a success, a crash or a lost response replays the first answer and
// changes nothing. The same key with another body is a 422; while the first
// request runs, a 409. Failed requests are not stored and may be retried.
func (w *Wallet) idempotent(ctx context.Context, p Principal, key, reqHash string, status int,
	fn func(ctx context.Context, tx Tx) (any, error)) (Outcome, error) {
	if key == "" {
		var out Outcome
		err := w.store.WithTx(ctx, func(ctx context.Context, tx Tx) error {
			data, err := fn(ctx, tx)
			if err != nil {
				return err
			}
			b, err := json.Marshal(data)
			out = Outcome{Status: status, Data: b}
			return err
		})
		return out, err
	}
	if !validKey(key) {
		return Outcome{}, Errorf(EINVALIDREQUEST, "Idempotency-Key must be 1 to 255 printable ASCII characters")
	}
	sum := sha256.Sum256([]byte(p.UserID + "\x00" + key))
	id := hex.EncodeToString(sum[:12])
	if out, found, err := w.replay(ctx, w.store, id, reqHash); found || err != nil {
		return out, err
	}
	lock := "idem:" + id
	n, _, err := w.locks.Hit(ctx, lock, time.Minute)
	if err != nil {
		return Outcome{}, err
	}
	if n > 1 {
		return Outcome{}, Errorf(ECONFLICT, "a request with this Idempotency-Key is still running")
	}
	defer func() { _ = w.locks.Reset(context.WithoutCancel(ctx), lock) }()

	var out Outcome
	err = w.store.WithTx(ctx, func(ctx context.Context, tx Tx) error {
		prev, found, err := w.replay(ctx, tx, id, reqHash)
		if err != nil {
			return err
		}
		if found {
			// The first request finished between the check above and the
			// lock: answer with its result.
			out = prev
			return nil
		}
		data, err := fn(ctx, tx)
		if err != nil {
			return err
		}
		b, err := json.Marshal(data)
		if err != nil {
			return err
		}
		out = Outcome{Status: status, Data: b}
		now := w.now()
		rec := Document{
			FieldID: id, FieldOwner: p.UserID, "hash": reqHash, "status": int64(status), "body": string(b),
			FieldCreatedAt: FormatTime(now), "expires_at": FormatTime(now.Add(idempotencyTTL)),
		}
		if _, err := tx.Get(ctx, IdempotencyCollection, id); err == nil {
			// An expired entry of the same key: replace it.
			delete(rec, FieldID)
			_, err = tx.Update(ctx, IdempotencyCollection, id, rec, nil)
			return err
		}
		return tx.Insert(ctx, IdempotencyCollection, rec)
	})
	return out, err
}

// getter reads one document (a Store or a Tx).
type getter interface {
	Get(ctx context.Context, coll, id string) (Document, error)
}

// replay returns the stored first result of a live key.
func (w *Wallet) replay(ctx context.Context, g getter, id, reqHash string) (Outcome, bool, error) {
	d, err := g.Get(ctx, IdempotencyCollection, id)
	if errors.Is(err, ErrNotFound) {
		return Outcome{}, false, nil
	}
	if err != nil {
		return Outcome{}, false, err
	}
	if exp, _ := time.Parse(time.RFC3339Nano, stringOf(d["expires_at"])); w.now().After(exp) {
		return Outcome{}, false, nil
	}
	if subtle.ConstantTimeCompare([]byte(stringOf(d["hash"])), []byte(reqHash)) != 1 {
		return Outcome{}, true, Errorf(EIDEMPOTENCYREUSED, "this Idempotency-Key was used with a different request")
	}
	status, _ := toInt(d["status"])
	return Outcome{Status: int(status), Data: json.RawMessage(stringOf(d["body"]))}, true, nil
}

// SweepIdempotency deletes the keys whose 24 hours have passed, a batch at a
// time, and returns how many it deleted. Every replica may run it; a key
// another replica deleted first is simply gone.
func (w *Wallet) SweepIdempotency(ctx context.Context) (int, error) {
	cutoff := FormatTime(w.now().Add(-idempotencyTTL))
	n := 0
	for {
		docs, err := w.store.Find(ctx, IdempotencyCollection, Query{SortPath: FieldCreatedAt, Limit: 500})
		if err != nil {
			return n, err
		}
		swept := 0
		for _, d := range docs {
			if stringOf(d[FieldCreatedAt]) >= cutoff {
				return n, nil
			}
			if err := w.store.Delete(ctx, IdempotencyCollection, stringOf(d[FieldID])); err != nil && !errors.Is(err, ErrNotFound) {
				return n, err
			}
			n++
			swept++
		}
		if swept < 500 {
			return n, nil
		}
	}
}
