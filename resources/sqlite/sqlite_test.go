package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/sqlite"
	"github.com/tnt/gateway/resources/storetest"
)

// MustOpen opens a store on a fresh file in the test's temp dir.
func MustOpen(tb testing.TB) resources.Store {
	tb.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "gateway.db"), 4)
	if err != nil {
		tb.Fatalf("open sqlite: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, MustOpen)
}

func TestPersistsAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway.db")
	ctx := context.Background()
	spec := resources.CollectionSpec{Name: "gym", Unique: []string{"name"}}
	s, err := sqlite.Open(ctx, path, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureCollection(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if err := s.Insert(ctx, "gym", resources.Document{"_id": "0123456789abcdef01234567", "name": "kept"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := sqlite.Open(ctx, path, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got, err := s2.Get(ctx, "gym", "0123456789abcdef01234567")
	if err != nil || got["name"] != "kept" {
		t.Fatalf("after reopen: %v, %v", got, err)
	}
}

func TestClosedStoreIsUnavailable(t *testing.T) {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gateway.db"), 2)
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	if err := s.Ping(context.Background()); resources.ErrorCode(err) != resources.EUNAVAILABLE {
		t.Fatalf("Ping on a closed store: %v (code %s), want unavailable", err, resources.ErrorCode(err))
	}
}
