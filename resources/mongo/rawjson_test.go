package mongo

import (
	"encoding/json"
	"errors"
	"math"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// storedDoc is a document as the gateway writes it, in one key order.
func storedDoc() bson.D {
	return bson.D{
		{Key: "_id", Value: "0123456789abcdef01234567"},
		{Key: "name", Value: "Iron <Temple> & \"Co\" \u2028 Данила"},
		{Key: "price", Value: int64(9007199254740993)},
		{Key: "stock", Value: int32(7)},
		{Key: "location", Value: bson.D{{Key: "lat", Value: 1.0}, {Key: "lng", Value: -2.25}}},
		{Key: "tiny", Value: 1e-7},
		{Key: "huge", Value: 1e21},
		{Key: "ok", Value: true},
		{Key: "none", Value: nil},
		{Key: "imageURLs", Value: bson.A{"a", "b"}},
		{Key: "items", Value: bson.A{bson.D{{Key: "quantity", Value: int64(2)}, {Key: "price", Value: 0.5}}}},
		{Key: "empty", Value: bson.D{}},
		{Key: "list", Value: bson.A{}},
	}
}

// TestRawJSONReadsAsTheMapPath: the raw path writes the same JSON value
// (and the same bytes for every member) as decoding to a map and encoding
// it with encoding/json, the path a store without FindRaw would take.
func TestRawJSONReadsAsTheMapPath(t *testing.T) {
	raw, err := bson.Marshal(storedDoc())
	if err != nil {
		t.Fatal(err)
	}
	got, err := RawJSON(nil, raw)
	if err != nil {
		t.Fatal(err)
	}
	var m bson.M
	if err := bson.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(normalize(m))
	var a, b map[string]json.RawMessage
	if err := json.Unmarshal(got, &a); err != nil {
		t.Fatalf("not JSON: %s", got)
	}
	_ = json.Unmarshal(want, &b)
	if len(a) != len(b) {
		t.Fatalf("members: got %s\nwant %s", got, want)
	}
	for k, v := range b {
		if k == "location" || k == "items" {
			continue // nested objects: key order is the stored one
		}
		if string(a[k]) != string(v) {
			t.Errorf("%s: got %s, want %s", k, a[k], v)
		}
	}
	if string(a["location"]) != `{"lat":1,"lng":-2.25}` || string(a["items"]) != `[{"quantity":2,"price":0.5}]` {
		t.Errorf("nested: %s %s", a["location"], a["items"])
	}
}

func TestRawJSONRefusesWhatTheGatewayNeverWrites(t *testing.T) {
	for name, v := range map[string]any{
		"object id": bson.NewObjectID(), "date": bson.DateTime(0), "decimal": bson.NewDecimal128(1, 1),
		"binary": bson.Binary{Data: []byte{1}}, "nan": math.NaN(),
	} {
		raw, _ := bson.Marshal(bson.D{{Key: "x", Value: v}})
		if _, err := RawJSON(nil, raw); !errors.Is(err, errRawType) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := RawJSON(nil, bson.Raw{1, 2, 3}); err == nil {
		t.Error("a truncated document was read")
	}
}

func BenchmarkRawJSON(b *testing.B) {
	raw, _ := bson.Marshal(storedDoc())
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := RawJSON(buf[:0], raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeThenMarshal is what serving a query through Find costs:
// BSON to a map, then the map to JSON.
func BenchmarkDecodeThenMarshal(b *testing.B) {
	raw, _ := bson.Marshal(storedDoc())
	b.ReportAllocs()
	for b.Loop() {
		var m bson.M
		if err := bson.Unmarshal(raw, &m); err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(normalize(m)); err != nil {
			b.Fatal(err)
		}
	}
}
