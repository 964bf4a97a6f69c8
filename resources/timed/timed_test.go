package timed_test

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/sqlite"
	"github.com/tnt/gateway/resources/timed"
)

// calls records what the decorator observed.
type calls struct {
	mu  sync.Mutex
	ops []string
}

func (c *calls) ObserveStore(op, outcome string, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops = append(c.ops, op+":"+outcome)
}

// hidden is a store with no raw-JSON path of its own.
type hidden struct{ resources.Store }

func openSQLite(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"), 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.EnsureCollection(context.Background(), resources.CollectionSpec{Name: "things"}); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestTimesEverythingAndChoosesNothing: every call is observed with its
// outcome, transactions and the operations inside them included; FindRaw is
// offered exactly when the backend has it.
func TestTimesEverythingAndChoosesNothing(t *testing.T) {
	ctx := context.Background()
	st := openSQLite(t)
	obs := &calls{}
	s := timed.Wrap(st, obs)
	if _, ok := s.(resources.RawFinder); !ok {
		t.Error("the SQLite store's raw path is hidden by the decorator")
	}
	if _, ok := timed.Wrap(hidden{st}, obs).(resources.RawFinder); ok {
		t.Error("the decorator made up a raw path for a store without one")
	}
	id := resources.NewID(time.Now())
	if err := s.Insert(ctx, "things", resources.Document{"_id": id, "n": int64(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "things", resources.NewID(time.Now())); err == nil {
		t.Fatal("an unknown id was found")
	}
	err := s.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error {
		if _, err := tx.Get(ctx, "things", id); err != nil {
			return err
		}
		_, err := tx.Update(ctx, "things", id, resources.Document{"n": int64(2)}, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.(resources.RawFinder).FindRaw(ctx, "things", resources.Query{SortPath: "_id", Limit: 5}, func([]byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	want := []string{"insert:ok", "get:ok", "tx_get:ok", "tx_update:ok", "transaction:ok", "find:ok"}
	if !slices.Equal(obs.ops, want) {
		t.Errorf("observed %v, want %v", obs.ops, want)
	}
}
