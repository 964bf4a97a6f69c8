package wallet

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/tnt/gateway/resources"
)

// idempotencyTTL is how long a key's first result is replayed.
const idempotencyTTL = 24 * time.Hour

// keyRow is an Idempotency-Key's first result as the store keeps it.
type keyRow struct {
	ID        string
	Owner     string
	Hash      string
	Created   bool
	Body      string
	CreatedAt time.Time
}

// Stored rows keep the status the first answer had, as every version of the
// gateway wrote them: 201 for a call that made a record, else 200.
const (
	rowCreated = 201
	rowChanged = 200
)

// document is the row as stored.
func (r keyRow) document() resources.Document {
	status := int64(rowChanged)
	if r.Created {
		status = rowCreated
	}
	return resources.Document{
		resources.FieldID: r.ID, resources.FieldOwner: r.Owner, "hash": r.Hash, "status": status, "body": r.Body,
		resources.FieldCreatedAt: resources.FormatTime(r.CreatedAt), "expires_at": resources.FormatTime(r.CreatedAt.Add(idempotencyTTL)),
	}
}

func keyRowFrom(d resources.Document) keyRow {
	status, _ := resources.AsInt(d["status"])
	at, _ := time.Parse(time.RFC3339Nano, resources.AsString(d[resources.FieldCreatedAt]))
	if exp, err := time.Parse(time.RFC3339Nano, resources.AsString(d["expires_at"])); err == nil {
		at = exp.Add(-idempotencyTTL)
	}
	return keyRow{
		ID: resources.AsString(d[resources.FieldID]), Owner: resources.AsString(d[resources.FieldOwner]),
		Hash: resources.AsString(d["hash"]), Created: status == rowCreated, Body: resources.AsString(d["body"]), CreatedAt: at,
	}
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

// request is a money request: its rules, and the client's key.
type request interface {
	validate() error
	key() string
}

func (r PurchaseRequest) key() string { return r.IdempotencyKey }
func (r TransferRequest) key() string { return r.IdempotencyKey }
func (r AdjustRequest) key() string   { return r.IdempotencyKey }

// run is a money call that needs a right and makes its writes once per
// Idempotency-Key: the caller's right, the request's rules, then fn in a
// transaction (see idempotent). op names the call in the request's hash.
func (w *Wallet) run(ctx context.Context, p resources.Principal, object, action, op string, req request, created bool,
	fn func(ctx context.Context, tx resources.Tx) (any, error)) (Receipt, error) {
	if err := w.require(p, object, action); err != nil {
		return Receipt{}, err
	}
	if err := req.validate(); err != nil {
		return Receipt{}, err
	}
	return w.idempotent(ctx, p, req.key(), requestHash(op, req), created, fn)
}

// idempotent runs fn in a store transaction at most once per (caller, key):
// the result is stored in the same transaction as fn's writes, so a retry
// after a success, a crash or a lost response replays the first answer and
// changes nothing. The same key with another request is a 422; while the
// first request runs, a 409. Failed requests are not stored and may be
// retried. created says whether fn makes a new record.
func (w *Wallet) idempotent(ctx context.Context, p resources.Principal, key, reqHash string, created bool,
	fn func(ctx context.Context, tx resources.Tx) (any, error)) (Receipt, error) {
	if key == "" {
		var out Receipt
		err := w.store.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error {
			data, err := fn(ctx, tx)
			if err != nil {
				return err
			}
			b, err := json.Marshal(data)
			out = Receipt{Body: b, Created: created}
			return err
		})
		return out, err
	}
	if !validKey(key) {
		return Receipt{}, resources.Errorf(resources.EINVALIDREQUEST, "Idempotency-Key must be 1 to 255 printable ASCII characters")
	}
	sum := sha256.Sum256([]byte(p.UserID + "\x00" + key))
	id := hex.EncodeToString(sum[:12])
	if out, found, err := w.replay(ctx, w.store, id, reqHash); found || err != nil {
		return out, err
	}
	lock := "idem:" + id
	n, _, err := w.counters.Hit(ctx, lock, time.Minute)
	if err != nil {
		return Receipt{}, err
	}
	if n > 1 {
		return Receipt{}, resources.Errorf(resources.ECONFLICT, "a request with this Idempotency-Key is still running")
	}
	defer func() { _ = w.counters.Reset(context.WithoutCancel(ctx), lock) }()

	var out Receipt
	err = w.store.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error {
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
		out = Receipt{Body: b, Created: created}
		row := keyRow{ID: id, Owner: p.UserID, Hash: reqHash, Created: created, Body: string(b), CreatedAt: w.now()}.document()
		if _, err := tx.Get(ctx, resources.IdempotencyCollection, id); err == nil {
			// An expired entry of the same key: replace it.
			delete(row, resources.FieldID)
			_, err = tx.Update(ctx, resources.IdempotencyCollection, id, row, nil)
			return err
		}
		return tx.Insert(ctx, resources.IdempotencyCollection, row)
	})
	return out, err
}

// replay returns the stored first result of a live key.
func (w *Wallet) replay(ctx context.Context, g resources.Getter, id, reqHash string) (Receipt, bool, error) {
	d, err := g.Get(ctx, resources.IdempotencyCollection, id)
	if errors.Is(err, resources.ErrNotFound) {
		return Receipt{}, false, nil
	}
	if err != nil {
		return Receipt{}, false, err
	}
	row := keyRowFrom(d)
	if w.now().After(row.CreatedAt.Add(idempotencyTTL)) {
		return Receipt{}, false, nil
	}
	if subtle.ConstantTimeCompare([]byte(row.Hash), []byte(reqHash)) != 1 {
		return Receipt{}, true, resources.Errorf(resources.EIDEMPOTENCYREUSED, "this Idempotency-Key was used with a different request")
	}
	return Receipt{Body: json.RawMessage(row.Body), Created: row.Created}, true, nil
}

// SweepIdempotency deletes the keys whose 24 hours have passed, a batch at a
// time, and returns how many it deleted. Every replica may run it; a key
// another replica deleted first is simply gone.
func (w *Wallet) SweepIdempotency(ctx context.Context) (int, error) {
	cutoff := resources.FormatTime(w.now().Add(-idempotencyTTL))
	n := 0
	for {
		docs, err := w.store.Find(ctx, resources.IdempotencyCollection, resources.Query{SortPath: resources.FieldCreatedAt, Limit: 500})
		if err != nil {
			return n, err
		}
		for _, d := range docs {
			if resources.AsString(d[resources.FieldCreatedAt]) >= cutoff {
				return n, nil
			}
			if err := w.store.Delete(ctx, resources.IdempotencyCollection, resources.AsString(d[resources.FieldID])); err != nil && !errors.Is(err, resources.ErrNotFound) {
				return n, err
			}
			n++
		}
		if len(docs) < 500 {
			return n, nil
		}
	}
}
