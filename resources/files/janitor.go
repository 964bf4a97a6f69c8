package files

import (
	"context"
	"log/slog"
	"time"

	"github.com/tnt/gateway/resources"
)

// Janitor removes the files of documents that are gone. It needs only the
// blobs, so the resource engine can hold it before the files service that
// needs the engine exists.
type Janitor struct {
	blobs Blobs
	store resources.Store
	log   *slog.Logger
}

// NewJanitor builds a janitor: the files' records (for the uploaders'
// quotas) are in store; log may be nil.
func NewJanitor(blobs Blobs, store resources.Store, log *slog.Logger) *Janitor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Janitor{blobs: blobs, store: store, log: log}
}

// Forget removes every file of a document that is gone; what fails is
// left to the sweep.
func (j *Janitor) Forget(ctx context.Context, collection, id string) {
	j.forget(ctx, collection+"/"+id+"/")
}

// ForgetCollection removes every file of a dropped collection.
func (j *Janitor) ForgetCollection(ctx context.Context, collection string) {
	j.forget(ctx, collection+"/")
}

func (j *Janitor) forget(ctx context.Context, prefix string) {
	ctx = context.WithoutCancel(ctx)
	var keys []string
	err := j.blobs.List(ctx, prefix, func(key string, _ int64, _ time.Time) error { keys = append(keys, key); return nil })
	for _, k := range keys {
		if derr := j.blobs.Delete(ctx, k); derr != nil && err == nil {
			err = derr
		}
	}
	if err == nil && len(keys) > 0 {
		err = j.store.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error { return forgetRecords(ctx, tx, keys) })
	}
	if err != nil {
		j.log.Warn("files of a removed document stay until the sweep", slog.String("prefix", prefix), slog.String("error", err.Error()))
	}
}
