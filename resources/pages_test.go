package resources_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/domaintest"
	"github.com/tnt/gateway/resources/sqlite"
)

// pagesService is a service on store, its collections made.
func pagesService(t *testing.T, kit *domaintest.Kit, store resources.Store) *resources.Service {
	t.Helper()
	svc := resources.NewService(store, kit.Registry, kit.Policy, resources.ServiceConfig{})
	if err := svc.Prepare(kit.Ctx); err != nil {
		t.Fatal(err)
	}
	return svc
}

// names runs the query of every gym as an Admin and returns their names.
func gymNames(t *testing.T, svc *resources.Service, ctx context.Context) []string {
	t.Helper()
	admin := resources.Principal{UserID: "0123456789abcdef01234567", Username: "admin", Level: 2}
	res, err := svc.Execute(ctx, admin, "gym", &resources.Envelope{Operation: resources.OpQuery, Data: map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range docs(t, res) {
		out = append(out, d["name"].(string))
	}
	return out
}

func insertGym(t *testing.T, st resources.Store, ctx context.Context, name string) string {
	t.Helper()
	id := resources.NewID(time.Now())
	if err := st.Insert(ctx, "gym", resources.Document{"_id": id, "name": name}); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestPagesSeeEveryWriter: a repeated query is answered from the page
// cache, and a write by this store, or by another process on the same file
// (the CLI), is in the very next answer.
func TestPagesSeeEveryWriter(t *testing.T) {
	kit := domaintest.MustOpen(t, "")
	svc := pagesService(t, kit, kit.Store)
	first := insertGym(t, kit.Store, kit.Ctx, "first")
	for range 3 {
		if got := gymNames(t, svc, kit.Ctx); len(got) != 1 {
			t.Fatalf("gyms: %v", got)
		}
	}
	insertGym(t, kit.Store, kit.Ctx, "second")
	if got := gymNames(t, svc, kit.Ctx); len(got) != 2 {
		t.Fatalf("after a write through the store: %v", got)
	}
	other, err := sqlite.Open(kit.Ctx, kit.DBPath, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	insertGym(t, other, kit.Ctx, "third")
	if got := gymNames(t, svc, kit.Ctx); len(got) != 3 {
		t.Fatalf("after a write by another process: %v", got)
	}
	if err := other.Delete(kit.Ctx, "gym", first); err != nil {
		t.Fatal(err)
	}
	if got := gymNames(t, svc, kit.Ctx); len(got) != 2 {
		t.Fatalf("after a deletion by another process: %v", got)
	}
}

// slowFind holds the first query's rows, once read, until released, so a
// write can land after the rows were read and before the answer is kept.
type slowFind struct {
	*sqlite.Store
	once             sync.Once
	reading, release chan struct{}
}

func (s *slowFind) FindRaw(ctx context.Context, coll string, q resources.Query, each func([]byte) error) error {
	var rows [][]byte
	if err := s.Store.FindRaw(ctx, coll, q, func(doc []byte) error {
		rows = append(rows, append([]byte(nil), doc...))
		return nil
	}); err != nil {
		return err
	}
	s.once.Do(func() {
		close(s.reading)
		<-s.release
	})
	for _, r := range rows {
		if err := each(r); err != nil {
			return err
		}
	}
	return nil
}

// TestPageFilledDuringAWriteIsNotServedAfterIt: the version is read before
// the query; a write that lands while the query runs makes the next answer
// read the store again.
func TestPageFilledDuringAWriteIsNotServedAfterIt(t *testing.T) {
	kit := domaintest.MustOpen(t, "")
	st := kit.Store
	slow := &slowFind{Store: st, reading: make(chan struct{}), release: make(chan struct{})}
	svc := pagesService(t, kit, slow)
	insertGym(t, st, kit.Ctx, "before")
	done := make(chan []string, 1)
	go func() { done <- gymNames(t, svc, kit.Ctx) }()
	<-slow.reading
	insertGym(t, st, kit.Ctx, "during")
	close(slow.release)
	<-done
	if got := gymNames(t, svc, kit.Ctx); len(got) != 2 {
		t.Fatalf("the answer after the write: %v", got)
	}
}

// TestPagesStayWithinBounds: many distinct queries keep at most the
// cache's bound of pages, and every answer is still right.
func TestPagesStayWithinBounds(t *testing.T) {
	kit := domaintest.MustOpen(t, "")
	svc := pagesService(t, kit, kit.Store)
	insertGym(t, kit.Store, kit.Ctx, "only")
	admin := resources.Principal{UserID: "0123456789abcdef01234567", Username: "admin", Level: 2}
	for i := range 1500 {
		name, want := fmt.Sprintf("none %d", i), 0
		if i%10 == 0 {
			name, want = "only", 1
		}
		res, err := svc.Execute(kit.Ctx, admin, "gym", &resources.Envelope{Operation: resources.OpQuery,
			Data: map[string]any{"name": name}})
		if err != nil {
			t.Fatal(err)
		}
		if got := docs(t, res); len(got) != want {
			t.Fatalf("query %d for %q: %v", i, name, got)
		}
	}
	if n := resources.CachedPages(svc); n > 1024 {
		t.Errorf("%d pages kept, bound 1024", n)
	}
}

// TestPageKeysNeverCollide: queries that differ only in their limit, asked
// in turns, each get their own answer from the cache.
func TestPageKeysNeverCollide(t *testing.T) {
	kit := domaintest.MustOpen(t, "")
	svc := pagesService(t, kit, kit.Store)
	for i := range 12 {
		insertGym(t, kit.Store, kit.Ctx, fmt.Sprintf("gym %02d", i))
	}
	admin := resources.Principal{UserID: "0123456789abcdef01234567", Username: "admin", Level: 2}
	count := func(find int) int {
		res, err := svc.Execute(kit.Ctx, admin, "gym", &resources.Envelope{Operation: resources.OpQuery,
			Data: map[string]any{"find": json.Number(strconv.Itoa(find))}})
		if err != nil {
			t.Fatal(err)
		}
		return len(docs(t, res))
	}
	for _, find := range []int{1, 11, 1, 11, 2, 12} {
		if got := count(find); got != find {
			t.Errorf("find %d: %d documents", find, got)
		}
	}
}
