package mongo

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/tnt/gateway/resources"
)

// extJSON renders a filter the way MongoDB would receive it, for readable
// comparisons.
func extJSON(t *testing.T, d bson.D) string {
	t.Helper()
	b, err := bson.MarshalExtJSON(d, false, false)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return string(b)
}

func TestFilterTranslation(t *testing.T) {
	id := "0123456789abcdef01234567"
	cases := []struct {
		name string
		q    resources.Query
		want string
	}{
		{"empty", resources.Query{SortPath: "_id"}, `{}`},
		{"equals string", resources.Query{SortPath: "_id", Conditions: []resources.Condition{{Path: "name", Op: resources.Equals, Value: "Iron"}}},
			`{"name":{"$eq":"Iron"}}`},
		{"operator text stays a literal", resources.Query{SortPath: "_id", Conditions: []resources.Condition{{Path: "name", Op: resources.Equals, Value: "$ne"}}},
			`{"name":{"$eq":"$ne"}}`},
		{"typed int", resources.Query{SortPath: "_id", Conditions: []resources.Condition{{Path: "price", Op: resources.Equals, Value: int64(9007199254740993)}}},
			`{"price":{"$eq":9007199254740993}}`},
		{"nested path and bool", resources.Query{SortPath: "_id", Conditions: []resources.Condition{
			{Path: "type.name", Op: resources.Equals, Value: "boxing"}, {Path: "open", Op: resources.Equals, Value: true}}},
			`{"$and":[{"type.name":{"$eq":"boxing"}},{"open":{"$eq":true}}]}`},
		{"contains is escaped and case-insensitive", resources.Query{SortPath: "_id", Conditions: []resources.Condition{{Path: "name", Op: resources.Contains, Value: "(a+)+$.*"}}},
			`{"name":{"$regex":{"$regularExpression":{"pattern":"\\(a\\+\\)\\+\\$\\.\\*","options":"i"}}}}`},
		{"after by id", resources.Query{SortPath: "_id", After: &resources.Cursor{ID: id}},
			`{"_id":{"$gt":"` + id + `"}}`},
		{"after by field ascending", resources.Query{SortPath: "name", After: &resources.Cursor{Value: "m", ID: id}},
			`{"$or":[{"name":{"$gt":"m"}},{"$and":[{"name":{"$eq":"m"}},{"_id":{"$gt":"` + id + `"}}]}]}`},
		{"after by field descending includes missing values", resources.Query{SortPath: "name", SortDesc: true, After: &resources.Cursor{Value: "m", ID: id}},
			`{"$or":[{"name":{"$lt":"m"}},{"$and":[{"name":{"$eq":"m"}},{"_id":{"$lt":"` + id + `"}}]},{"name":{"$eq":null}}]}`},
		{"after a missing value ascending", resources.Query{SortPath: "name", After: &resources.Cursor{Null: true, ID: id}},
			`{"$or":[{"$and":[{"name":{"$eq":null}},{"_id":{"$gt":"` + id + `"}}]},{"name":{"$ne":null}}]}`},
	}
	for _, c := range cases {
		got, err := Filter(c.q)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if s := extJSON(t, got); s != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, s, c.want)
		}
	}
}

func TestFilterRefusesNonLiterals(t *testing.T) {
	bad := []resources.Query{
		{SortPath: "_id", Conditions: []resources.Condition{{Path: "name", Op: resources.Equals, Value: map[string]any{"$ne": nil}}}},
		{SortPath: "_id", Conditions: []resources.Condition{{Path: "name", Op: resources.Equals, Value: []any{1}}}},
		{SortPath: "_id", Conditions: []resources.Condition{{Path: "$where", Op: resources.Equals, Value: "1"}}},
		{SortPath: "_id", Conditions: []resources.Condition{{Path: "a\x00b", Op: resources.Equals, Value: "1"}}},
		{SortPath: "_id", Conditions: []resources.Condition{{Path: "name", Op: resources.Contains, Value: int64(1)}}},
		{SortPath: "$natural"},
	}
	for i, q := range bad {
		if f, err := Filter(q); err == nil {
			if _, err := Sort(q); err == nil {
				t.Errorf("case %d: accepted, filter %v", i, f)
			}
		}
	}
}

func TestSortTranslation(t *testing.T) {
	got, _ := Sort(resources.Query{SortPath: "price", SortDesc: true})
	if s := extJSON(t, got); s != `{"price":-1,"_id":-1}` {
		t.Errorf("sort: %s", s)
	}
	got, _ = Sort(resources.Query{SortPath: "_id"})
	if s := extJSON(t, got); s != `{"_id":1}` {
		t.Errorf("sort by id: %s", s)
	}
}

func TestUpdateTranslation(t *testing.T) {
	got, err := UpdateDoc(resources.Document{"price": int64(5), "name": "x", "type": resources.Document{"name": "y"}}, []string{"phone"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"$set":{"name":"x","price":5,"type":{"name":"y"}},"$unset":{"phone":""}}`
	if s := extJSON(t, got); s != want {
		t.Errorf("update:\n got %s\nwant %s", s, want)
	}
	for _, k := range []string{"_id", "$inc", "a.b", ""} {
		if _, err := UpdateDoc(resources.Document{k: 1}, nil); err == nil {
			t.Errorf("update of field %q accepted", k)
		}
	}
	if _, err := UpdateDoc(nil, nil); err == nil {
		t.Error("empty update accepted")
	}
}

func TestNormalize(t *testing.T) {
	in := bson.M{"a": int32(3), "b": bson.D{{Key: "c", Value: bson.A{int32(1), "x"}}}, "d": 1.5}
	got := normalize(in)
	b, _ := json.Marshal(got)
	if string(b) != `{"a":3,"b":{"c":[1,"x"]},"d":1.5}` {
		t.Errorf("normalize: %s", b)
	}
	if m := got.(map[string]any); m["a"] != int64(3) {
		t.Errorf("int32 became %T", m["a"])
	}
	if !strings.Contains(string(b), `"c":[1,"x"]`) {
		t.Errorf("array lost: %s", b)
	}
}

// TestCollidedKey: a duplicate-key error names its index; the store turns
// it back into the unique key the client's message names.
func TestCollidedKey(t *testing.T) {
	keys := []string{"username", "email"}
	for msg, want := range map[string]string{
		"E11000 duplicate key error collection: gw.users index: u_email dup key: { email: \"a@b.c\" }":   "email",
		"E11000 duplicate key error collection: gw.users index: u_username dup key: { username: \"x\" }": "username",
		"E11000 duplicate key error collection: gw.users index: _id_ dup key: { _id: \"1\" }":            "_id",
		"E11000 duplicate key error, index unknown":                                                      "username",
	} {
		if got := collided(msg, keys); got != want {
			t.Errorf("%q: %q, want %q", msg, got, want)
		}
	}
}

// TestIndexModels: the profile's two unique keys each get a partial unique
// index (accounts without an email take no part), and queried paths an
// index ordered by _id; a hostile path is refused.
func TestIndexModels(t *testing.T) {
	models, err := IndexModels(resources.CollectionSpec{Name: "users", Unique: []string{"username", "email"}, Indexed: []string{"level", "_id"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range models {
		keys, _ := bson.MarshalExtJSON(m.Keys, false, false)
		opts := &options.IndexOptions{}
		for _, set := range m.Options.List() {
			_ = set(opts)
		}
		partial, _ := bson.MarshalExtJSON(opts.PartialFilterExpression, false, false)
		got = append(got, fmt.Sprintf("%s %s unique=%v partial=%s", *opts.Name, keys, opts.Unique != nil && *opts.Unique, partial))
	}
	want := []string{
		`u_username {"username":1} unique=true partial={"username":{"$type":"string"}}`,
		`u_email {"email":1} unique=true partial={"email":{"$type":"string"}}`,
		`i_level {"level":1,"_id":1} unique=false partial=`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("indexes:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := IndexModels(resources.CollectionSpec{Name: "x", Unique: []string{"$where"}}); err == nil {
		t.Error("a hostile unique path was accepted")
	}
}
