package wallet_test

import (
	"testing"
	"time"

	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/domaintest"
	"github.com/tnt/gateway/resources/wallet"
)

// TestSweepIdempotency: keys past their 24 hours are deleted from the store,
// younger ones stay.
func TestSweepIdempotency(t *testing.T) {
	kit := domaintest.MustOpen(t, "")
	st, ctx, now := kit.Store, kit.Ctx, time.Now()
	w, err := wallet.New(st, kit.Registry, kit.Policy, kit.Keyring, kit.Sessions, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 1200 {
		age := 25 * time.Hour
		if i%3 == 0 {
			age = time.Hour
		}
		at := now.Add(-age).Add(time.Duration(i) * time.Millisecond)
		if err := st.Insert(ctx, resources.IdempotencyCollection, resources.Document{
			"_id": resources.NewID(at), "created_at": resources.FormatTime(at), "expires_at": resources.FormatTime(at.Add(24 * time.Hour)),
		}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := w.SweepIdempotency(ctx)
	if err != nil || n != 800 {
		t.Fatalf("swept %d, %v; want 800", n, err)
	}
	left, _ := st.Find(ctx, resources.IdempotencyCollection, resources.Query{SortPath: "_id", Limit: 2000})
	if len(left) != 400 {
		t.Errorf("%d keys left, want the 400 young ones", len(left))
	}
}
