// Package timed decorates a document store so that every call is timed:
// each operation, each transaction and each operation inside one, with its
// outcome. It only times: it never changes what the store does or which of
// its methods a caller can use (a store without a raw-JSON query path gets
// none from it).
package timed

import (
	"context"
	"errors"
	"time"

	"github.com/tnt/gateway/resources"
)

// Observer records one store call: its operation, its outcome (ok,
// unavailable, duplicate, error) and how long it took.
type Observer interface {
	ObserveStore(op, outcome string, d time.Duration)
}

// Wrap returns s timed into obs. The result offers FindRaw exactly when s
// does.
func Wrap(s resources.Store, obs Observer) resources.Store {
	t := &store{Store: s, obs: obs}
	if rf, ok := s.(resources.RawFinder); ok {
		return &rawStore{store: t, raw: rf}
	}
	return t
}

var (
	_ resources.Store     = (*store)(nil)
	_ resources.RawFinder = (*rawStore)(nil)
	_ resources.Tx        = (*tx)(nil)
)

// Outcome names how a store call ended, for its label.
func Outcome(err error) string {
	var dup *resources.DuplicateError
	switch {
	case err == nil, errors.Is(err, resources.ErrNotFound):
		return "ok"
	case resources.ErrorCode(err) == resources.EUNAVAILABLE:
		return "unavailable"
	case errors.As(err, &dup):
		return "duplicate"
	}
	return "error"
}

// timeCall runs f and records it under op.
func timeCall[T any](obs Observer, op string, f func() (T, error)) (T, error) {
	start := time.Now()
	v, err := f()
	obs.ObserveStore(op, Outcome(err), time.Since(start))
	return v, err
}

// timeErr is timeCall for a call with an error only.
func timeErr(obs Observer, op string, f func() error) error {
	_, err := timeCall(obs, op, func() (struct{}, error) { return struct{}{}, f() })
	return err
}

type store struct {
	resources.Store
	obs Observer
}

func (t *store) Insert(ctx context.Context, coll string, doc resources.Document) error {
	return timeErr(t.obs, "insert", func() error { return t.Store.Insert(ctx, coll, doc) })
}

func (t *store) Get(ctx context.Context, coll, id string) (resources.Document, error) {
	return timeCall(t.obs, "get", func() (resources.Document, error) { return t.Store.Get(ctx, coll, id) })
}

func (t *store) Find(ctx context.Context, coll string, q resources.Query) ([]resources.Document, error) {
	return timeCall(t.obs, "find", func() ([]resources.Document, error) { return t.Store.Find(ctx, coll, q) })
}

func (t *store) Update(ctx context.Context, coll, id string, set resources.Document, unset []string) (resources.Document, error) {
	return timeCall(t.obs, "update", func() (resources.Document, error) { return t.Store.Update(ctx, coll, id, set, unset) })
}

func (t *store) Delete(ctx context.Context, coll, id string) error {
	return timeErr(t.obs, "delete", func() error { return t.Store.Delete(ctx, coll, id) })
}

func (t *store) Drop(ctx context.Context, coll string) error {
	return timeErr(t.obs, "drop", func() error { return t.Store.Drop(ctx, coll) })
}

func (t *store) Ping(ctx context.Context) error {
	return timeErr(t.obs, "ping", func() error { return t.Store.Ping(ctx) })
}

// WithTx times the whole transaction (retries included) and every
// operation inside it.
func (t *store) WithTx(ctx context.Context, fn func(ctx context.Context, tx resources.Tx) error) error {
	return timeErr(t.obs, "transaction", func() error {
		return t.Store.WithTx(ctx, func(ctx context.Context, inner resources.Tx) error {
			return fn(ctx, &tx{Tx: inner, obs: t.obs, prefix: "tx_"})
		})
	})
}

// ReadSnapshot times the whole snapshot read and every read inside it.
func (t *store) ReadSnapshot(ctx context.Context, fn func(ctx context.Context, r resources.Tx) error) error {
	return timeErr(t.obs, "snapshot", func() error {
		return t.Store.ReadSnapshot(ctx, func(ctx context.Context, inner resources.Tx) error {
			return fn(ctx, &tx{Tx: inner, obs: t.obs, prefix: "snapshot_"})
		})
	})
}

// rawStore is a timed store whose backend serves queries as raw JSON.
type rawStore struct {
	*store
	raw resources.RawFinder
}

func (t *rawStore) FindRaw(ctx context.Context, coll string, q resources.Query, each func(doc []byte) error) error {
	return timeErr(t.obs, "find", func() error { return t.raw.FindRaw(ctx, coll, q, each) })
}

// Version passes the backend's version through, untimed (it is a memory
// read on the embedded store); a backend without one answers an error.
func (t *rawStore) Version(ctx context.Context) (uint64, error) {
	return resources.VersionOf(ctx, t.Store)
}

// tx times the operations of a transaction, under op names with a prefix.
type tx struct {
	resources.Tx
	obs    Observer
	prefix string
}

func (t *tx) Get(ctx context.Context, coll, id string) (resources.Document, error) {
	return timeCall(t.obs, t.prefix+"get", func() (resources.Document, error) { return t.Tx.Get(ctx, coll, id) })
}

func (t *tx) Insert(ctx context.Context, coll string, doc resources.Document) error {
	return timeErr(t.obs, t.prefix+"insert", func() error { return t.Tx.Insert(ctx, coll, doc) })
}

func (t *tx) Update(ctx context.Context, coll, id string, set resources.Document, unset []string) (resources.Document, error) {
	return timeCall(t.obs, t.prefix+"update", func() (resources.Document, error) { return t.Tx.Update(ctx, coll, id, set, unset) })
}

func (t *tx) Find(ctx context.Context, coll string, q resources.Query) ([]resources.Document, error) {
	return timeCall(t.obs, t.prefix+"find", func() ([]resources.Document, error) { return t.Tx.Find(ctx, coll, q) })
}

func (t *tx) Delete(ctx context.Context, coll, id string) error {
	return timeErr(t.obs, t.prefix+"delete", func() error { return t.Tx.Delete(ctx, coll, id) })
}

func (t *tx) Drop(ctx context.Context, coll string) error {
	return timeErr(t.obs, t.prefix+"drop", func() error { return t.Tx.Drop(ctx, coll) })
}
