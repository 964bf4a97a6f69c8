package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/tnt/gateway/resources"
)

// InstrumentStore wraps a document store so that every call is timed into
// gateway_store_duration_seconds{op, outcome}.
func (m *Metrics) InstrumentStore(s resources.Store) resources.Store {
	return &timedStore{Store: s, m: m}
}

type timedStore struct {
	resources.Store
	m *Metrics
}

var _ resources.Store = (*timedStore)(nil)

func (t *timedStore) observe(op string, start time.Time, err error) {
	outcome := "ok"
	switch {
	case err == nil, errors.Is(err, resources.ErrNotFound):
	case resources.ErrorCode(err) == resources.EUNAVAILABLE:
		outcome = "unavailable"
	default:
		var dup *resources.DuplicateError
		if errors.As(err, &dup) {
			outcome = "duplicate"
		} else {
			outcome = "error"
		}
	}
	t.m.store.WithLabelValues(op, outcome).Observe(time.Since(start).Seconds())
}

func (t *timedStore) Insert(ctx context.Context, coll string, doc resources.Document) error {
	start := time.Now()
	err := t.Store.Insert(ctx, coll, doc)
	t.observe("insert", start, err)
	return err
}

func (t *timedStore) Get(ctx context.Context, coll, id string) (d resources.Document, err error) {
	start := time.Now()
	d, err = t.Store.Get(ctx, coll, id)
	t.observe("get", start, err)
	return d, err
}

func (t *timedStore) Find(ctx context.Context, coll string, q resources.Query) (ds []resources.Document, err error) {
	start := time.Now()
	ds, err = t.Store.Find(ctx, coll, q)
	t.observe("find", start, err)
	return ds, err
}

func (t *timedStore) Update(ctx context.Context, coll, id string, set resources.Document, unset []string) (d resources.Document, err error) {
	start := time.Now()
	d, err = t.Store.Update(ctx, coll, id, set, unset)
	t.observe("update", start, err)
	return d, err
}

func (t *timedStore) Delete(ctx context.Context, coll, id string) error {
	start := time.Now()
	err := t.Store.Delete(ctx, coll, id)
	t.observe("delete", start, err)
	return err
}

func (t *timedStore) WithTx(ctx context.Context, fn func(ctx context.Context, tx resources.Tx) error) error {
	start := time.Now()
	err := t.Store.WithTx(ctx, fn)
	t.observe("transaction", start, err)
	return err
}

func (t *timedStore) ReadSnapshot(ctx context.Context, fn func(ctx context.Context, r resources.Tx) error) error {
	start := time.Now()
	err := t.Store.ReadSnapshot(ctx, fn)
	t.observe("snapshot", start, err)
	return err
}

func (t *timedStore) Ping(ctx context.Context) error {
	start := time.Now()
	err := t.Store.Ping(ctx)
	t.observe("ping", start, err)
	return err
}

// FindRaw times the store's raw find, or serves it through Find when the
// store has none.
func (t *timedStore) FindRaw(ctx context.Context, coll string, q resources.Query) ([][]byte, error) {
	start := time.Now()
	var out [][]byte
	var err error
	if rf, ok := t.Store.(resources.RawFinder); ok {
		out, err = rf.FindRaw(ctx, coll, q)
	} else {
		var docs []resources.Document
		docs, err = t.Store.Find(ctx, coll, q)
		for _, d := range docs {
			b, merr := json.Marshal(d)
			if merr != nil {
				err = merr
				break
			}
			out = append(out, b)
		}
	}
	t.observe("find", start, err)
	return out, err
}
