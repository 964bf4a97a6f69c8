package resources

import (
	"encoding/json"
	"testing"
)

func TestFilterObject(t *testing.T) {
	raw := `{"_id":"x","name":"a \"quoted\" {name}","password_hash":"$argon2id$secret","n":-1.5e3,"ok":true,"z":null,` +
		`"nested":{"a":[1,{"b":"}"}],"c":"]"},"list":["x,y"]}`
	keep := map[string]bool{"_id": true, "name": true, "n": true, "ok": true, "z": true, "nested": true, "list": true}
	out, err := filterObject(nil, []byte(raw), func(k []byte) bool { return keep[string(k)] })
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("output is not JSON: %s", out)
	}
	if _, has := got["password_hash"]; has || got["name"] != `a "quoted" {name}` || got["n"] != -1500.0 || got["ok"] != true || len(got) != 7 {
		t.Errorf("filtered: %s", out)
	}
	for _, bad := range []string{``, `[]`, `{"a":}`, `{"a" 1}`, `{"a":"unterminated}`, `{"a":[1,2}`, `{"a":1,}`, `{"a":1`} {
		if out, err := filterObject(nil, []byte(bad), func([]byte) bool { return true }); err == nil {
			t.Errorf("%q accepted as %s", bad, out)
		}
	}
	if out, err := filterObject(nil, []byte(`{}`), func([]byte) bool { return true }); err != nil || string(out) != `{}` {
		t.Errorf("empty object: %s %v", out, err)
	}
}

func FuzzFilterObject(f *testing.F) {
	f.Add(`{"a":1,"b":{"c":[true,null,"}"]}}`)
	f.Add(`{"x":"\"\\"}`)
	f.Fuzz(func(t *testing.T, raw string) {
		out, err := filterObject(nil, []byte(raw), func(k []byte) bool { return len(k)%2 == 0 })
		if err != nil {
			return
		}
		if json.Valid([]byte(raw)) && !json.Valid(out) {
			t.Fatalf("valid %q filtered to invalid %q", raw, out)
		}
	})
}

// TestRawPath: the value at a dotted path of stored JSON, decoded as
// encoding/json decodes it, or not found; a path through a non-object is
// not found.
func TestRawPath(t *testing.T) {
	raw := []byte(`{"_id":"a1","price":42.5,"type":{"name":"box \"x\"","n":null},"tags":["a"],"k":7}`)
	for path, want := range map[string]any{"_id": "a1", "price": 42.5, "type.name": `box "x"`, "type.n": nil, "k": float64(7)} {
		got, ok := rawPath(raw, path)
		if !ok || got != want {
			t.Errorf("%s: %v %v, want %v", path, got, ok, want)
		}
	}
	for _, path := range []string{"missing", "type.missing", "price.x", "tags.a", "_id.x"} {
		if got, ok := rawPath(raw, path); ok {
			t.Errorf("%s: found %v", path, got)
		}
	}
	if _, ok := rawPath([]byte(`not json`), "_id"); ok {
		t.Error("found a member in text that is not an object")
	}
}
