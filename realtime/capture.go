package realtime

import (
	"context"
	"sync"

	"github.com/tnt/gateway/resources"
)

// Appender takes committed changes, in commit order.
type Appender interface {
	Append(ctx context.Context, changes []Change) error
}

// CaptureConfig tells Capture what to follow and how.
type CaptureConfig struct {
	// Schemas are the resources whose collections are followed; the
	// gateway's own collections (audit, settings…) are not.
	Schemas []*resources.Schema
	// Serial holds one lock across each write and its append, so that the
	// log's order is the commit order. A store with one writer (SQLite)
	// loses nothing by it; a store with concurrent writers leaves it off.
	Serial bool
	// OnLost is called when committed changes could not be appended: their
	// followers must be told to refetch.
	OnLost func(err error)
}

// Capture wraps store so that every committed write to a followed
// collection reaches log. Updates and deletes read the document before
// writing it inside one transaction, so the before-image is the one the
// write replaced. The result offers FindRaw and Version exactly when store
// does.
func Capture(store resources.Store, log Appender, cfg CaptureConfig) resources.Store {
	c := &capture{Store: store, log: log, cfg: cfg, schemas: map[string]*resources.Schema{}}
	for _, sc := range cfg.Schemas {
		if _, dup := c.schemas[sc.Collection]; !dup {
			c.schemas[sc.Collection] = sc
		}
	}
	if rf, ok := store.(resources.RawFinder); ok {
		return &rawCapture{capture: c, raw: rf}
	}
	return c
}

type capture struct {
	resources.Store
	log     Appender
	cfg     CaptureConfig
	schemas map[string]*resources.Schema
	serial  sync.Mutex
}

// write runs one write and appends what it recorded once it has committed.
func (c *capture) write(ctx context.Context, fn func(rec *recorder) error) error {
	if c.cfg.Serial {
		c.serial.Lock()
		defer c.serial.Unlock()
	}
	rec := &recorder{capture: c}
	if err := fn(rec); err != nil {
		return err
	}
	if len(rec.changes) > 0 {
		// The write has committed: its changes go out even if the caller
		// has stopped waiting.
		if err := c.log.Append(context.WithoutCancel(ctx), rec.changes); err != nil && c.cfg.OnLost != nil {
			c.cfg.OnLost(err)
		}
	}
	return nil
}

func (c *capture) followed(coll string) *resources.Schema { return c.schemas[coll] }

func (c *capture) Insert(ctx context.Context, coll string, doc resources.Document) error {
	if c.followed(coll) == nil {
		return c.Store.Insert(ctx, coll, doc)
	}
	return c.write(ctx, func(rec *recorder) error {
		if err := c.Store.Insert(ctx, coll, doc); err != nil {
			return err
		}
		rec.insert(coll, doc)
		return nil
	})
}

func (c *capture) Update(ctx context.Context, coll, id string, set resources.Document, unset []string) (resources.Document, error) {
	if c.followed(coll) == nil {
		return c.Store.Update(ctx, coll, id, set, unset)
	}
	// In a transaction of its own, which reads the document it replaces.
	var after resources.Document
	err := c.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error {
		var err error
		after, err = tx.Update(ctx, coll, id, set, unset)
		return err
	})
	return after, err
}

func (c *capture) Delete(ctx context.Context, coll, id string) error {
	if c.followed(coll) == nil {
		return c.Store.Delete(ctx, coll, id)
	}
	return c.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error {
		return tx.Delete(ctx, coll, id)
	})
}

func (c *capture) Drop(ctx context.Context, coll string) error {
	if c.followed(coll) == nil {
		return c.Store.Drop(ctx, coll)
	}
	return c.write(ctx, func(rec *recorder) error {
		if err := c.Store.Drop(ctx, coll); err != nil {
			return err
		}
		rec.drop(coll)
		return nil
	})
}

// WithTx records the transaction's writes and appends them once it has
// committed; a retried attempt starts its record afresh.
func (c *capture) WithTx(ctx context.Context, fn func(ctx context.Context, tx resources.Tx) error) error {
	return c.write(ctx, func(rec *recorder) error {
		return c.Store.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error {
			rec.reset()
			return fn(ctx, &recordingTx{Tx: tx, rec: rec})
		})
	})
}

// rawCapture is a capture whose store serves queries as raw JSON.
type rawCapture struct {
	*capture
	raw resources.RawFinder
}

func (c *rawCapture) FindRaw(ctx context.Context, coll string, q resources.Query, each func(doc []byte) error) error {
	return c.raw.FindRaw(ctx, coll, q, each)
}

// Version passes the store's version through.
func (c *rawCapture) Version(ctx context.Context) (uint64, error) {
	return resources.VersionOf(ctx, c.Store)
}

// recorder collects the changes of one write or transaction.
type recorder struct {
	*capture
	changes []Change
	dropped map[string]bool
}

func (r *recorder) reset() { r.changes, r.dropped = r.changes[:0], nil }

func (r *recorder) add(coll string, ch Change) {
	if r.dropped[coll] {
		return // the drop already tells every follower to refetch
	}
	ch.Coll, ch.At = coll, nowMillis()
	r.changes = append(r.changes, ch)
}

func (r *recorder) insert(coll string, doc resources.Document) {
	sc := r.followed(coll)
	r.add(coll, Change{Op: OpCreate, ID: resources.AsString(doc[resources.FieldID]), After: sc.Shareable(doc)})
}

func (r *recorder) drop(coll string) {
	r.add(coll, Change{Op: OpDrop})
	if r.dropped == nil {
		r.dropped = map[string]bool{}
	}
	r.dropped[coll] = true
}

// recordingTx records the writes of a transaction to followed collections,
// reading each document before it is changed.
type recordingTx struct {
	resources.Tx
	rec *recorder
}

func (t *recordingTx) Insert(ctx context.Context, coll string, doc resources.Document) error {
	if err := t.Tx.Insert(ctx, coll, doc); err != nil || t.rec.followed(coll) == nil {
		return err
	}
	t.rec.insert(coll, doc)
	return nil
}

func (t *recordingTx) Update(ctx context.Context, coll, id string, set resources.Document, unset []string) (resources.Document, error) {
	sc := t.rec.followed(coll)
	if sc == nil {
		return t.Tx.Update(ctx, coll, id, set, unset)
	}
	before, err := t.Tx.Get(ctx, coll, id)
	if err != nil {
		return nil, err
	}
	after, err := t.Tx.Update(ctx, coll, id, set, unset)
	if err != nil {
		return nil, err
	}
	t.rec.add(coll, Change{Op: OpUpdate, ID: id, Before: sc.Shareable(before), After: sc.Shareable(after)})
	return after, nil
}

func (t *recordingTx) Delete(ctx context.Context, coll, id string) error {
	sc := t.rec.followed(coll)
	if sc == nil {
		return t.Tx.Delete(ctx, coll, id)
	}
	before, err := t.Tx.Get(ctx, coll, id)
	if err != nil {
		return err
	}
	if err := t.Tx.Delete(ctx, coll, id); err != nil {
		return err
	}
	t.rec.add(coll, Change{Op: OpDelete, ID: id, Before: sc.Shareable(before)})
	return nil
}

func (t *recordingTx) Drop(ctx context.Context, coll string) error {
	if err := t.Tx.Drop(ctx, coll); err != nil || t.rec.followed(coll) == nil {
		return err
	}
	t.rec.drop(coll)
	return nil
}
