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

type store struct {
	resources.Store
	obs Observer
}

func (t *store) observe(op string, start time.Time, err error) {
	t.obs.ObserveStore(op, Outcome(err), time.Since(start))
}

func (t *store) Insert(ctx context.Context, coll string, doc resources.Document) error {
	start := time.Now()
	err := t.Store.Insert(ctx, coll, doc)
	t.observe("insert", start, err)
	return err
}

func (t *store) Get(ctx context.Context, coll, id string) (resources.Document, error) {
	start := time.Now()
	d, err := t.Store.Get(ctx, coll, id)
	t.observe("get", start, err)
	return d, err
}

func (t *store) Find(ctx context.Context, coll string, q resources.Query) ([]resources.Document, error) {
	start := time.Now()
	ds, err := t.Store.Find(ctx, coll, q)
	t.observe("find", start, err)
	return ds, err
}

func (t *store) Update(ctx context.Context, coll, id string, set resources.Document, unset []string) (resources.Document, error) {
	start := time.Now()
	d, err := t.Store.Update(ctx, coll, id, set, unset)
	t.observe("update", start, err)
	return d, err
}

func (t *store) Delete(ctx context.Context, coll, id string) error {
	start := time.Now()
	err := t.Store.Delete(ctx, coll, id)
	t.observe("delete", start, err)
	return err
}

func (t *store) Drop(ctx context.Context, coll string) error {
	start := time.Now()
	err := t.Store.Drop(ctx, coll)
	t.observe("drop", start, err)
	return err
}

func (t *store) Ping(ctx context.Context) error {
	start := time.Now()
	err := t.Store.Ping(ctx)
	t.observe("ping", start, err)
	return err
}

// WithTx times the whole transaction (retries included) and every
// operation inside it.
func (t *store) WithTx(ctx context.Context, fn func(ctx context.Context, tx resources.Tx) error) error {
	start := time.Now()
	err := t.Store.WithTx(ctx, func(ctx context.Context, inner resources.Tx) error {
		return fn(ctx, &tx{Tx: inner, obs: t.obs, prefix: "tx_"})
	})
	t.observe("transaction", start, err)
	return err
}

// ReadSnapshot times the whole snapshot read and every read inside it.
func (t *store) ReadSnapshot(ctx context.Context, fn func(ctx context.Context, r resources.Tx) error) error {
	start := time.Now()
	err := t.Store.ReadSnapshot(ctx, func(ctx context.Context, inner resources.Tx) error {
		return fn(ctx, &tx{Tx: inner, obs: t.obs, prefix: "snapshot_"})
	})
	t.observe("snapshot", start, err)
	return err
}

// rawStore is a timed store whose backend serves queries as raw JSON.
type rawStore struct {
	*store
	raw resources.RawFinder
}

func (t *rawStore) FindRaw(ctx context.Context, coll string, q resources.Query) ([][]byte, error) {
	start := time.Now()
	out, err := t.raw.FindRaw(ctx, coll, q)
	t.observe("find", start, err)
	return out, err
}

// tx times the operations of a transaction, under op names with a prefix.
type tx struct {
	resources.Tx
	obs    Observer
	prefix string
}

func (t *tx) observe(op string, start time.Time, err error) {
	t.obs.ObserveStore(t.prefix+op, Outcome(err), time.Since(start))
}

func (t *tx) Get(ctx context.Context, coll, id string) (resources.Document, error) {
	start := time.Now()
	d, err := t.Tx.Get(ctx, coll, id)
	t.observe("get", start, err)
	return d, err
}

func (t *tx) Insert(ctx context.Context, coll string, doc resources.Document) error {
	start := time.Now()
	err := t.Tx.Insert(ctx, coll, doc)
	t.observe("insert", start, err)
	return err
}

func (t *tx) Update(ctx context.Context, coll, id string, set resources.Document, unset []string) (resources.Document, error) {
	start := time.Now()
	d, err := t.Tx.Update(ctx, coll, id, set, unset)
	t.observe("update", start, err)
	return d, err
}

func (t *tx) Find(ctx context.Context, coll string, q resources.Query) ([]resources.Document, error) {
	start := time.Now()
	ds, err := t.Tx.Find(ctx, coll, q)
	t.observe("find", start, err)
	return ds, err
}

func (t *tx) Delete(ctx context.Context, coll, id string) error {
	start := time.Now()
	err := t.Tx.Delete(ctx, coll, id)
	t.observe("delete", start, err)
	return err
}

func (t *tx) Drop(ctx context.Context, coll string) error {
	start := time.Now()
	err := t.Tx.Drop(ctx, coll)
	t.observe("drop", start, err)
	return err
}
