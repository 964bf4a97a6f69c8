// Package storetest is the conformance suite every resources.Store backend
// passes: the same behaviour, written once, run against each backend.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tnt/gateway/resources"
)

// Opener returns a fresh, empty store for one test; it registers its own
// cleanup on tb.
type Opener func(tb testing.TB) resources.Store

const coll = "things"

func spec() resources.CollectionSpec {
	return resources.CollectionSpec{Name: coll, Unique: []string{"name", "email"}, Indexed: []string{"kind.name", "n", "owner", "created_at"}}
}

func prepared(t *testing.T, open Opener) (resources.Store, context.Context) {
	t.Helper()
	s := open(t)
	ctx := context.Background()
	if err := s.EnsureCollection(ctx, spec()); err != nil {
		t.Fatalf("EnsureCollection: %v", err)
	}
	// A second call must be harmless (every start calls it).
	if err := s.EnsureCollection(ctx, spec()); err != nil {
		t.Fatalf("EnsureCollection again: %v", err)
	}
	return s, ctx
}

func doc(i int, name string) resources.Document {
	return resources.Document{
		resources.FieldID: fmt.Sprintf("%024x", i+1),
		"name":            name,
		"n":               int64(i),
		"x":               float64(i) + 0.5,
		"ok":              i%2 == 0,
		"kind":            resources.Document{"name": []string{"alpha", "beta"}[i%2]},
		"tags":            []any{"t1", "t2"},
		"owner":           fmt.Sprintf("owner%d", i%3),
		"created_at":      resources.FormatTime(time.Unix(1_700_000_000+int64(i), 0)),
	}
}

// Run runs the whole suite against the backend open returns.
func Run(t *testing.T, open Opener) {
	t.Run("InsertGet", func(t *testing.T) { testInsertGet(t, open) })
	t.Run("Duplicate", func(t *testing.T) { testDuplicate(t, open) })
	t.Run("Equals", func(t *testing.T) { testEquals(t, open) })
	t.Run("Contains", func(t *testing.T) { testContains(t, open) })
	t.Run("SortAndPages", func(t *testing.T) { testPages(t, open) })
	t.Run("Update", func(t *testing.T) { testUpdate(t, open) })
	t.Run("DeleteDrop", func(t *testing.T) { testDeleteDrop(t, open) })
	t.Run("Transactions", func(t *testing.T) { testTransactions(t, open) })
	t.Run("ConcurrentTransactions", func(t *testing.T) { testConcurrentTransactions(t, open) })
	t.Run("ReadSnapshot", func(t *testing.T) { testReadSnapshot(t, open) })
	t.Run("FindRaw", func(t *testing.T) { testFindRaw(t, open) })
	t.Run("SecondUniqueKey", func(t *testing.T) { testSecondUniqueKey(t, open) })
	t.Run("OwnerScope", func(t *testing.T) { testOwnerScope(t, open) })
}

// testSecondUniqueKey: a collection with two unique keys refuses a second
// document with either, names the key that collided, and lets any number
// of documents go without the second key.
func testSecondUniqueKey(t *testing.T, open Opener) {
	s, ctx := prepared(t, open)
	withEmail := func(i int, name, email string) resources.Document {
		d := doc(i, name)
		if email != "" {
			d["email"] = email
		}
		return d
	}
	if err := s.Insert(ctx, coll, withEmail(1, "a", "a@example.org")); err != nil {
		t.Fatal(err)
	}
	var dup *resources.DuplicateError
	if err := s.Insert(ctx, coll, withEmail(2, "b", "a@example.org")); !errors.As(err, &dup) || dup.Field != "email" {
		t.Errorf("a taken email: %v, want DuplicateError on email", err)
	}
	if err := s.Insert(ctx, coll, withEmail(3, "a", "c@example.org")); !errors.As(err, &dup) || dup.Field != "name" {
		t.Errorf("a taken name: %v, want DuplicateError on name", err)
	}
	for i, n := range []string{"d", "e"} {
		if err := s.Insert(ctx, coll, withEmail(4+i, n, "")); err != nil {
			t.Errorf("a document without an email: %v", err)
		}
	}
	if _, err := s.Update(ctx, coll, fmt.Sprintf("%024x", 5), resources.Document{"email": "a@example.org"}, nil); !errors.As(err, &dup) || dup.Field != "email" {
		t.Errorf("update onto a taken email: %v", err)
	}
	if _, err := s.Update(ctx, coll, fmt.Sprintf("%024x", 5), resources.Document{"email": "d@example.org"}, nil); err != nil {
		t.Errorf("update onto a free email: %v", err)
	}
	got := find(t, s, resources.Query{Conditions: []resources.Condition{{Path: "email", Op: resources.Equals, Value: "d@example.org"}}, Limit: 5})
	if !slices.Equal(got, []string{"d"}) {
		t.Errorf("find by the second key: %v", got)
	}
}

// testOwnerScope: the condition the engine adds for a caller who may see
// only its own documents (query_own) keeps every page, and every cursor, to
// that owner's documents.
func testOwnerScope(t *testing.T, open Opener) {
	s, ctx := prepared(t, open)
	seed(t, s, ctx, "a", "b", "c", "d", "e", "f", "g")
	own := resources.Condition{Path: resources.FieldOwner, Op: resources.Equals, Value: "owner1"}
	var all []string
	q := resources.Query{Conditions: []resources.Condition{own}, SortPath: "n", SortDesc: true, Limit: 1}
	for range 10 {
		docs, err := s.Find(ctx, coll, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(docs) == 0 {
			break
		}
		for _, d := range docs {
			if d[resources.FieldOwner] != "owner1" {
				t.Fatalf("another owner's document in a scoped page: %v", d)
			}
			all = append(all, resources.AsString(d["name"]))
		}
		last := docs[len(docs)-1]
		q.After = &resources.Cursor{Value: last["n"], ID: resources.AsString(last[resources.FieldID])}
	}
	if !slices.Equal(all, []string{"e", "b"}) {
		t.Errorf("owner1's documents page by page: %v, want [e b]", all)
	}
	// A cursor taken from another owner's document still yields only the
	// caller's documents after it.
	q = resources.Query{Conditions: []resources.Condition{own}, SortPath: resources.FieldID, Limit: 10,
		After: &resources.Cursor{ID: fmt.Sprintf("%024x", 1)}}
	if got := find(t, s, q); !slices.Equal(got, []string{"b", "e"}) {
		t.Errorf("after another owner's document: %v", got)
	}
}

// testFindRaw: a backend with a raw-JSON query path returns the same
// documents, in the same order, as Find, each as one JSON object; an updated
// document reads the same both ways.
func testFindRaw(t *testing.T, open Opener) {
	s, ctx := prepared(t, open)
	rf, ok := s.(resources.RawFinder)
	if !ok {
		t.Skip("this backend serves queries through Find only")
	}
	seed(t, s, ctx, "a", "b", "c", "d")
	if _, err := s.Update(ctx, coll, doc(1, "b")[resources.FieldID].(string), resources.Document{"note": "<&> \"ü\"", "n": int64(42)}, nil); err != nil {
		t.Fatal(err)
	}
	for _, q := range []resources.Query{
		{SortPath: resources.FieldID, Limit: 10},
		{Conditions: []resources.Condition{{Path: "kind.name", Op: resources.Equals, Value: "beta"}}, SortPath: "n", SortDesc: true, Limit: 10},
		{SortPath: "n", Limit: 2},
	} {
		docs, err := s.Find(ctx, coll, q)
		if err != nil {
			t.Fatal(err)
		}
		var raws [][]byte
		err = rf.FindRaw(ctx, coll, q, func(doc []byte) error {
			raws = append(raws, append([]byte(nil), doc...))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(raws) != len(docs) {
			t.Fatalf("%+v: FindRaw %d documents, Find %d", q, len(raws), len(docs))
		}
		for i, raw := range raws {
			v, err := resources.DecodeJSON(raw, resources.DefaultJSONLimits())
			if err != nil {
				t.Fatalf("raw document %d is not JSON: %s", i, raw)
			}
			got, _ := json.Marshal(resources.Numbers(v))
			want, _ := json.Marshal(docs[i])
			if string(got) != string(want) {
				t.Errorf("document %d:\n raw %s\nfind %s", i, got, want)
			}
		}
	}
}

// testReadSnapshot: a snapshot does not see writes made after it began, and
// does not block them.
func testReadSnapshot(t *testing.T, open Opener) {
	s, ctx := prepared(t, open)
	seed(t, s, ctx, "a", "b")
	err := s.ReadSnapshot(ctx, func(ctx context.Context, r resources.Tx) error {
		first, err := r.Find(ctx, coll, resources.Query{SortPath: resources.FieldID, Limit: 10})
		if err != nil {
			return err
		}
		if err := s.Insert(context.Background(), coll, doc(5, "late")); err != nil {
			return fmt.Errorf("a write during a snapshot: %w", err)
		}
		again, err := r.Find(ctx, coll, resources.Query{SortPath: resources.FieldID, Limit: 10})
		if err != nil {
			return err
		}
		if len(first) != 2 || len(again) != 2 {
			t.Errorf("snapshot saw %d then %d documents, want 2 and 2", len(first), len(again))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := find(t, s, resources.Query{}); len(got) != 3 {
		t.Errorf("after the snapshot: %v", got)
	}
}

func testTransactions(t *testing.T, open Opener) {
	s, ctx := prepared(t, open)
	seed(t, s, ctx, "a", "b")
	idA, idB := fmt.Sprintf("%024x", 1), fmt.Sprintf("%024x", 2)
	// A failing transaction leaves nothing behind.
	boom := errors.New("boom")
	err := s.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error {
		if _, err := tx.Update(ctx, coll, idA, resources.Document{"n": int64(100)}, nil); err != nil {
			return err
		}
		if err := tx.Insert(ctx, coll, doc(9, "new")); err != nil {
			return err
		}
		if got, err := tx.Get(ctx, coll, idA); err != nil || got["n"] != int64(100) {
			t.Errorf("the transaction does not read its own write: %v %v", got, err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("WithTx returned %v, want the callback's error", err)
	}
	if got, _ := s.Get(ctx, coll, idA); got["n"] != int64(0) {
		t.Errorf("rolled-back update is visible: %v", got["n"])
	}
	if names := find(t, s, resources.Query{Conditions: []resources.Condition{eq("name", "new")}}); len(names) != 0 {
		t.Errorf("rolled-back insert is visible")
	}
	// A successful one commits every write.
	err = s.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error {
		if _, err := tx.Update(ctx, coll, idA, resources.Document{"n": int64(7)}, nil); err != nil {
			return err
		}
		if err := tx.Delete(ctx, coll, idB); err != nil {
			return err
		}
		docs, err := tx.Find(ctx, coll, resources.Query{SortPath: resources.FieldID, Limit: 10})
		if err != nil || len(docs) != 1 {
			t.Errorf("find inside the transaction: %d %v", len(docs), err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, coll, idA); got["n"] != int64(7) {
		t.Errorf("committed update: %v", got["n"])
	}
	if _, err := s.Get(ctx, coll, idB); !errors.Is(err, resources.ErrNotFound) {
		t.Errorf("committed delete: %v", err)
	}
	var dup *resources.DuplicateError
	err = s.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error { return tx.Insert(ctx, coll, doc(20, "a")) })
	if !errors.As(err, &dup) {
		t.Errorf("duplicate inside a transaction: %v", err)
	}
}

// testConcurrentTransactions: read-modify-write in concurrent transactions
// loses no update.
func testConcurrentTransactions(t *testing.T, open Opener) {
	s, ctx := prepared(t, open)
	seed(t, s, ctx, "counter")
	id := fmt.Sprintf("%024x", 1)
	const workers = 20
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error {
				d, err := tx.Get(ctx, coll, id)
				if err != nil {
					return err
				}
				_, err = tx.Update(ctx, coll, id, resources.Document{"n": d["n"].(int64) + 1}, nil)
				return err
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("transaction: %v", err)
		}
	}
	if got, _ := s.Get(ctx, coll, id); got["n"] != int64(workers) {
		t.Errorf("after %d increments: %v", workers, got["n"])
	}
}

func testInsertGet(t *testing.T, open Opener) {
	s, ctx := prepared(t, open)
	d := doc(7, "seven")
	d["big"] = int64(9007199254740993) // 2^53+1: exact, not rounded through a float
	if err := s.Insert(ctx, coll, d); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	got, err := s.Get(ctx, coll, d[resources.FieldID].(string))
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got["name"] != "seven" || got["n"] != int64(7) || got["x"] != 7.5 || got["ok"] != false {
		t.Errorf("Get returned %#v", got)
	}
	if got["big"] != int64(9007199254740993) {
		t.Errorf("big integer came back as %#v", got["big"])
	}
	if k, _ := got["kind"].(map[string]any); k["name"] != "beta" {
		t.Errorf("nested object came back as %#v", got["kind"])
	}
	if tags, _ := got["tags"].([]any); len(tags) != 2 || tags[0] != "t1" {
		t.Errorf("array came back as %#v", got["tags"])
	}
	if _, err := s.Get(ctx, coll, fmt.Sprintf("%024x", 999)); !errors.Is(err, resources.ErrNotFound) {
		t.Errorf("Get of unknown id: %v, want ErrNotFound", err)
	}
}

func testDuplicate(t *testing.T, open Opener) {
	s, ctx := prepared(t, open)
	if err := s.Insert(ctx, coll, doc(1, "same")); err != nil {
		t.Fatal(err)
	}
	var dup *resources.DuplicateError
	err := s.Insert(ctx, coll, doc(2, "same"))
	if !errors.As(err, &dup) || dup.Field != "name" {
		t.Fatalf("second insert with the same name: %v, want DuplicateError on name", err)
	}
	if err := s.Insert(ctx, coll, doc(2, "Same")); err != nil {
		t.Errorf("names differing in case are distinct: %v", err)
	}
	if _, err := s.Update(ctx, coll, fmt.Sprintf("%024x", 3), resources.Document{"name": "same"}, nil); !errors.As(err, &dup) {
		t.Errorf("update onto a taken name: %v, want DuplicateError", err)
	}
}

func seed(t *testing.T, s resources.Store, ctx context.Context, names ...string) {
	t.Helper()
	for i, n := range names {
		if err := s.Insert(ctx, coll, doc(i, n)); err != nil {
			t.Fatalf("seed %s: %v", n, err)
		}
	}
}

func find(t *testing.T, s resources.Store, q resources.Query) []string {
	t.Helper()
	if q.SortPath == "" {
		q.SortPath = resources.FieldID
	}
	if q.Limit == 0 {
		q.Limit = 100
	}
	docs, err := s.Find(context.Background(), coll, q)
	if err != nil {
		t.Fatalf("Find(%+v): %v", q, err)
	}
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i], _ = d["name"].(string)
	}
	return out
}

func eq(path string, v any) resources.Condition {
	return resources.Condition{Path: path, Op: resources.Equals, Value: v}
}

func same(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	return slices.Equal(a, b)
}

func testEquals(t *testing.T, open Opener) {
	s, ctx := prepared(t, open)
	seed(t, s, ctx, "a", "b", "c", "d", "$ne", ".*")
	cases := []struct {
		name string
		q    resources.Query
		want []string
	}{
		{"string", resources.Query{Conditions: []resources.Condition{eq("name", "c")}}, []string{"c"}},
		{"int", resources.Query{Conditions: []resources.Condition{eq("n", int64(3))}}, []string{"d"}},
		{"int is typed: text 3 matches nothing", resources.Query{Conditions: []resources.Condition{eq("n", "3")}}, []string{}},
		{"float", resources.Query{Conditions: []resources.Condition{eq("x", 1.5)}}, []string{"b"}},
		{"bool", resources.Query{Conditions: []resources.Condition{eq("ok", true)}}, []string{"a", "c", "$ne"}},
		{"nested path", resources.Query{Conditions: []resources.Condition{eq("kind.name", "beta")}}, []string{"b", "d", ".*"}},
		{"AND", resources.Query{Conditions: []resources.Condition{eq("kind.name", "beta"), eq("owner", "owner0")}}, []string{"d"}},
		{"id", resources.Query{Conditions: []resources.Condition{eq("_id", fmt.Sprintf("%024x", 2))}}, []string{"b"}},
		{"operator text is literal", resources.Query{Conditions: []resources.Condition{eq("name", "$ne")}}, []string{"$ne"}},
		{"limit", resources.Query{Limit: 2}, []string{"a", "b"}},
	}
	for _, c := range cases {
		if got := find(t, s, c.q); !same(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
		agree(t, s, c.q)
	}
}

// agree checks that Query.Matches, which decides realtime events, picks
// exactly the documents the store finds, on the documents as the store
// reads them back.
func agree(t *testing.T, s resources.Store, q resources.Query) {
	t.Helper()
	all, err := s.Find(context.Background(), coll, resources.Query{SortPath: resources.FieldID, Limit: 1000})
	if err != nil {
		t.Fatalf("Find all: %v", err)
	}
	var matched []string
	for _, d := range all {
		if q.Matches(d) {
			matched = append(matched, d["name"].(string))
		}
	}
	q.Limit = 1000
	if found := find(t, s, q); !slices.Equal(found, matched) && len(found)+len(matched) > 0 {
		t.Errorf("Matches(%+v) picks %v, the store finds %v", q.Conditions, matched, found)
	}
}

func testContains(t *testing.T, open Opener) {
	s, ctx := prepared(t, open)
	seed(t, s, ctx, "Iron Gym", "iron works", "Steel", "a.b", "axb", "(a+)+$", "ÉCOLE Sport")
	contains := func(v string) resources.Query {
		return resources.Query{Conditions: []resources.Condition{{Path: "name", Op: resources.Contains, Value: v}}}
	}
	cases := []struct {
		needle string
		want   []string
	}{
		{"IRON", []string{"Iron Gym", "iron works"}},
		{"a.b", []string{"a.b"}},
		{".", []string{"a.b"}},
		{"(a+)+$", []string{"(a+)+$"}},
		{".*", []string{}},
		{"%", []string{}},
		{"_", []string{}},
		{"école", []string{"ÉCOLE Sport"}},
	}
	for _, c := range cases {
		if got := find(t, s, contains(c.needle)); !same(got, c.want) {
			t.Errorf("contains %q: got %v, want %v", c.needle, got, c.want)
		}
		agree(t, s, contains(c.needle))
	}
}

func testPages(t *testing.T, open Opener) {
	s, ctx := prepared(t, open)
	names := []string{"e", "b", "d", "a", "c", "g", "f"}
	seed(t, s, ctx, names...)
	// A document without the sort field sorts first ascending, last descending.
	extra := doc(50, "nokind")
	delete(extra, "kind")
	if err := s.Insert(ctx, coll, extra); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		desc bool
		want []string
	}{
		{"name", false, []string{"a", "b", "c", "d", "e", "f", "g", "nokind"}},
		{"name", true, []string{"nokind", "g", "f", "e", "d", "c", "b", "a"}},
		{"n", true, []string{"nokind", "f", "g", "c", "a", "d", "b", "e"}},
		{"kind.name", false, []string{"nokind", "e", "d", "c", "f", "b", "a", "g"}},
		{"kind.name", true, []string{"g", "a", "b", "f", "c", "d", "e", "nokind"}},
		{"_id", true, []string{"nokind", "f", "g", "c", "a", "d", "b", "e"}},
	} {
		all := find(t, s, resources.Query{SortPath: c.path, SortDesc: c.desc})
		if !same(all, c.want) {
			t.Errorf("sort %s desc=%v: got %v, want %v", c.path, c.desc, all, c.want)
			continue
		}
		// Page through two at a time with cursors: the same order, no
		// document twice or lost.
		var paged []string
		var after *resources.Cursor
		for range 10 {
			q := resources.Query{SortPath: c.path, SortDesc: c.desc, After: after, Limit: 2}
			docs, err := s.Find(ctx, coll, q)
			if err != nil {
				t.Fatalf("page: %v", err)
			}
			for _, d := range docs {
				paged = append(paged, d["name"].(string))
			}
			if len(docs) < 2 {
				break
			}
			last := docs[len(docs)-1]
			after = cursorOf(last, c.path)
		}
		if !same(paged, c.want) {
			t.Errorf("pages sorted by %s desc=%v: got %v, want %v", c.path, c.desc, paged, c.want)
		}
	}
}

func cursorOf(d resources.Document, path string) *resources.Cursor {
	var cur any = d
	for _, part := range splitPath(path) {
		m, _ := cur.(map[string]any)
		cur = m[part]
	}
	return &resources.Cursor{Value: cur, Null: cur == nil, ID: d[resources.FieldID].(string)}
}

func splitPath(p string) []string {
	var out []string
	start := 0
	for i := 0; i < len(p); i++ {
		if p[i] == '.' {
			out = append(out, p[start:i])
			start = i + 1
		}
	}
	return append(out, p[start:])
}

func testUpdate(t *testing.T, open Opener) {
	s, ctx := prepared(t, open)
	seed(t, s, ctx, "a", "b")
	id := fmt.Sprintf("%024x", 1)
	got, err := s.Update(ctx, coll, id, resources.Document{"n": int64(42), "kind": resources.Document{"name": "gamma"}}, []string{"x"})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if got["n"] != int64(42) || got["name"] != "a" || got["ok"] != true {
		t.Errorf("updated document: %#v", got)
	}
	if _, has := got["x"]; has {
		t.Errorf("unset field x still present: %#v", got)
	}
	if names := find(t, s, resources.Query{Conditions: []resources.Condition{eq("kind.name", "gamma")}}); !same(names, []string{"a"}) {
		t.Errorf("query after update: %v", names)
	}
	if _, err := s.Update(ctx, coll, fmt.Sprintf("%024x", 99), resources.Document{"n": int64(1)}, nil); !errors.Is(err, resources.ErrNotFound) {
		t.Errorf("update of unknown id: %v, want ErrNotFound", err)
	}
}

func testDeleteDrop(t *testing.T, open Opener) {
	s, ctx := prepared(t, open)
	seed(t, s, ctx, "a", "b", "c")
	if err := s.Delete(ctx, coll, fmt.Sprintf("%024x", 2)); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := s.Delete(ctx, coll, fmt.Sprintf("%024x", 2)); !errors.Is(err, resources.ErrNotFound) {
		t.Errorf("second Delete: %v, want ErrNotFound", err)
	}
	if got := find(t, s, resources.Query{}); !same(got, []string{"a", "c"}) {
		t.Errorf("after delete: %v", got)
	}
	if err := s.Drop(ctx, coll); err != nil {
		t.Fatalf("Drop: %v", err)
	}
	if got := find(t, s, resources.Query{}); len(got) != 0 {
		t.Errorf("after drop: %v", got)
	}
	// The unique index survives a drop.
	seed(t, s, ctx, "z")
	var dup *resources.DuplicateError
	if err := s.Insert(ctx, coll, doc(5, "z")); !errors.As(err, &dup) {
		t.Errorf("unique key after drop: %v", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
}
