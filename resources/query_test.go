package resources

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func mustRegistry(t testing.TB, extra string) *Registry {
	t.Helper()
	r, err := NewRegistry([]byte(extra))
	if err != nil {
		t.Fatalf("registry: %v", err)
	}
	return r
}

func mustSchema(t testing.TB, r *Registry, name string) *Schema {
	t.Helper()
	s, err := r.Schema(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func decodeData(t *testing.T, s string) map[string]any {
	t.Helper()
	v, err := DecodeJSON([]byte(s), DefaultJSONLimits())
	if err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return v.(map[string]any)
}

func TestParseQuery(t *testing.T) {
	gym := mustSchema(t, mustRegistry(t, ""), "gym")
	merch := mustSchema(t, mustRegistry(t, ""), "merchandise")
	good := []struct {
		name  string
		sc    *Schema
		data  string
		conds []Condition
		limit int
		sort  string
		desc  bool
	}{
		{"equals", gym, `{"name":{"equals":"Iron"}}`, []Condition{{"name", Equals, "Iron"}}, 1000, "_id", false},
		{"bare value is equals", gym, `{"name":"Iron"}`, []Condition{{"name", Equals, "Iron"}}, 1000, "_id", false},
		{"operator text is a literal", gym, `{"name":{"equals":"$ne"}}`, []Condition{{"name", Equals, "$ne"}}, 1000, "_id", false},
		{"contains", gym, `{"name":{"contains":"(a+)+$"}}`, []Condition{{"name", Contains, "(a+)+$"}}, 1000, "_id", false},
		{"dot path", gym, `{"type.name":{"equals":"boxing"}}`, []Condition{{"type.name", Equals, "boxing"}}, 1000, "_id", false},
		{"typed int", merch, `{"price":{"equals":12}}`, []Condition{{"price", Equals, int64(12)}}, 1000, "_id", false},
		{"find and sort", merch, `{"find":5,"sort":"-price"}`, nil, 5, "price", true},
		{"find 0 is a full page", merch, `{"find":0}`, nil, 1000, "_id", false},
		{"find above the page is clamped", merch, `{"find":1000000}`, nil, 1000, "_id", false},
	}
	for _, c := range good {
		q, err := c.sc.ParseQuery(decodeData(t, c.data), 1000)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if len(q.Conditions) != len(c.conds) || q.Limit != c.limit || q.SortPath != c.sort || q.SortDesc != c.desc {
			t.Errorf("%s: got %+v", c.name, q)
			continue
		}
		for i := range c.conds {
			if q.Conditions[i] != c.conds[i] {
				t.Errorf("%s: condition %d = %+v, want %+v", c.name, i, q.Conditions[i], c.conds[i])
			}
		}
	}
	bad := []struct {
		name, data, code, msg string
	}{
		{"unknown field", `{"colour":{"equals":"red"}}`, EPARAMETER, "colour cannot be found in merchandise"},
		{"$where", `{"$where":{"equals":"1"}}`, EPARAMETER, "$where cannot be found in merchandise"},
		{"undeclared dot path", `{"type.secret":{"equals":"x"}}`, EPARAMETER, "type.secret cannot be found in merchandise"},
		{"NUL in name", `{"a\u0000b":{"equals":"x"}}`, EPARAMETER, `"a\u0000b" cannot be found in merchandise`},
		{"operator object", `{"name":{"$ne":null}}`, EVALUE, "name: qualifier $ne is not supported; use equals or contains"},
		{"object as equals value", `{"name":{"equals":{"$ne":null}}}`, EVALUE, "name: the value must be a literal, not an object or a list"},
		{"two qualifiers", `{"name":{"equals":"a","contains":"b"}}`, EVALUE, "name takes exactly one qualifier: equals or contains"},
		{"contains on int", `{"price":{"contains":"1"}}`, EVALUE, "price: contains applies to text fields and takes text"},
		{"contains too long", `{"name":{"contains":"` + strings.Repeat("a", 10000) + `"}}`, EVALUE, "name: contains takes 1 to 256 characters"},
		{"string for int", `{"price":{"equals":"10"}}`, EVALUE, "price must be compared with an integer"},
		{"float for int", `{"price":{"equals":0.1}}`, EVALUE, "price must be compared with an integer"},
		{"object field", `{"type":{"equals":"x"}}`, EVALUE, "type is an object: query one of its fields with a dot path"},
		{"list field", `{"imageURLs":{"equals":"x"}}`, EVALUE, "imageURLs is a list and cannot be queried"},
		{"negative find", `{"find":-1}`, EVALUE, "find must be a non-negative integer"},
		{"fraction find", `{"find":1.5}`, EVALUE, "find must be a non-negative integer"},
		{"sort unknown", `{"sort":"-nope"}`, EPARAMETER, "nope cannot be found in merchandise"},
		{"bad cursor", `{"after":"garbage"}`, EVALUE, "after is not a cursor of this query"},
	}
	for _, c := range bad {
		_, err := merch.ParseQuery(decodeData(t, c.data), 1000)
		if ErrorCode(err) != c.code || ErrorMessage(err) != c.msg {
			t.Errorf("%s: got %s %q, want %s %q", c.name, ErrorCode(err), ErrorMessage(err), c.code, c.msg)
		}
	}
}

func TestQueryComplexityIsBounded(t *testing.T) {
	fields := map[string]*Field{}
	data := map[string]any{}
	for i := range 20 {
		name := fmt.Sprintf("f%02d", i)
		fields[name] = &Field{Type: TypeString}
		data[name] = "x"
	}
	s := &Schema{Name: "wide", Fields: fields}
	if err := s.Compile(); err != nil {
		t.Fatal(err)
	}
	_, err := s.ParseQuery(data, 100)
	if ErrorCode(err) != EVALUE || ErrorMessage(err) != "a query holds at most 16 conditions" {
		t.Errorf("20 conditions: %v", err)
	}
	delete(data, "f00")
	delete(data, "f01")
	delete(data, "f02")
	delete(data, "f03")
	if _, err := s.ParseQuery(data, 100); err != nil {
		t.Errorf("16 conditions: %v", err)
	}
}

func TestCursorRoundTripAndBinding(t *testing.T) {
	merch := mustSchema(t, mustRegistry(t, ""), "merchandise")
	q := Query{SortPath: "price", SortDesc: true, Limit: 2}
	next := EncodeCursor(q, Document{FieldID: "0123456789abcdef01234567", "price": int64(42)})
	got, err := merch.ParseQuery(map[string]any{"sort": "-price", "after": next}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got.After == nil || got.After.Value != int64(42) || got.After.ID != "0123456789abcdef01234567" {
		t.Fatalf("cursor: %+v", got.After)
	}
	// A cursor of one order cannot be used with another.
	if _, err := merch.ParseQuery(map[string]any{"sort": "price", "after": next}, 100); ErrorCode(err) != EVALUE {
		t.Errorf("cursor reused with another sort: %v", err)
	}
}

func TestQueryFromParams(t *testing.T) {
	merch := mustSchema(t, mustRegistry(t, ""), "merchandise")
	data, err := merch.QueryFromParams(url.Values{"price": {"10"}, "name:contains": {"ba"}, "find": {"3"}, "sort": {"-price"}})
	if err != nil {
		t.Fatal(err)
	}
	q, err := merch.ParseQuery(data, 100)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(q.Conditions)
	if string(b) != `[{"Path":"name","Op":2,"Value":"ba"},{"Path":"price","Op":1,"Value":10}]` || q.Limit != 3 || !q.SortDesc {
		t.Errorf("query from URL: %s %+v", b, q)
	}
	if _, err := merch.QueryFromParams(url.Values{"price": {"1", "2"}}); ErrorCode(err) != EVALUE {
		t.Errorf("repeated parameter: %v", err)
	}
	if _, err := merch.QueryFromParams(url.Values{"secret": {"1"}}); ErrorCode(err) != EPARAMETER {
		t.Errorf("unknown parameter: %v", err)
	}
}
