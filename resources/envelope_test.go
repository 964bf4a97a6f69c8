package resources

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseEnvelope(t *testing.T) {
	lim := DefaultJSONLimits()
	cases := []struct {
		name, body, code, msg string
	}{
		{"not JSON", `{"operation":`, EINVALIDREQUEST, "valid JSON body is required for the request"},
		{"not an object", `[1,2]`, EINVALIDREQUEST, "valid JSON body is required for the request"},
		{"trailing garbage", `{"operation":"query","data":{}} x`, EINVALIDREQUEST, "valid JSON body is required for the request"},
		{"two values", `{"operation":"query","data":{}}{"operation":"query","data":{}}`, EINVALIDREQUEST, "valid JSON body is required for the request"},
		{"invalid UTF-8", "{\"operation\":\"query\",\"data\":{\"name\":\"\xff\"}}", EINVALIDREQUEST, "valid JSON body is required for the request"},
		{"missing operation", `{"data":{}}`, EINVALIDREQUEST, "operation is required for the request"},
		{"missing data", `{"operation":"create"}`, EINVALIDREQUEST, "data is required for the request"},
		{"null data", `{"operation":"create","data":null}`, EINVALIDREQUEST, "data is required for the request"},
		{"data not an object", `{"operation":"create","data":[1]}`, EINVALIDREQUEST, "data must be an object"},
		{"unknown operation", `{"operation":"drop","data":{}}`, EINVALIDOPERATION, "Operation drop is not supported"},
		{"case variant operation", `{"operation":"Create","data":{}}`, EINVALIDOPERATION, "Operation Create is not supported"},
		{"NUL in operation", `{"operation":"create\u0000","data":{}}`, EINVALIDOPERATION, `Operation "create\u0000" is not supported`},
		{"array operation", `{"operation":["create"],"data":{}}`, EINVALIDOPERATION, `Operation ["create"] is not supported`},
		{"duplicate key", `{"operation":"create","operation":"query","data":{}}`, EINVALIDREQUEST, "duplicate key operation in the request"},
		{"case-variant key", `{"operation":"create","data":{"level":1,"Level":0}}`, EINVALIDREQUEST, "duplicate key Level in the request"},
		{"unknown top-level key", `{"operation":"create","data":{},"x":1}`, EINVALIDREQUEST, "x is not a key of the operation envelope"},
		{"find on create", `{"operation":"create","data":{},"find":1}`, EINVALIDREQUEST, "find applies only to the query operation"},
		{"too deep", `{"operation":"create","data":` + strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 41), EINVALIDREQUEST, "the request nests deeper than 32 levels"},
	}
	for _, c := range cases {
		_, err := ParseEnvelope([]byte(c.body), lim)
		if ErrorCode(err) != c.code || ErrorMessage(err) != c.msg {
			t.Errorf("%s: got %s %q, want %s %q", c.name, ErrorCode(err), ErrorMessage(err), c.code, c.msg)
		}
	}
}

func TestParseEnvelopeKeepsNumbersExact(t *testing.T) {
	env, err := ParseEnvelope([]byte(`{"operation":"query","data":{"price":{"equals":9007199254740993}},"find":5}`), DefaultJSONLimits())
	if err != nil {
		t.Fatal(err)
	}
	if env.Operation != OpQuery || env.Data["find"] == nil {
		t.Fatalf("envelope: %+v", env)
	}
	q := env.Data["price"].(map[string]any)["equals"]
	if n, ok := AsInt(q); !ok || n != 9007199254740993 {
		t.Errorf("number came through as %v", q)
	}
}

func TestDecodeJSONLimitsElements(t *testing.T) {
	body := `[` + strings.Repeat(`1,`, 200) + `1]`
	_, err := DecodeJSON([]byte(body), JSONLimits{MaxDepth: 4, MaxElements: 100})
	if ErrorCode(err) != EINVALIDREQUEST || !strings.Contains(ErrorMessage(err), "more than 100 values") {
		t.Fatalf("got %v", err)
	}
}

// FuzzParseEnvelope feeds hostile bodies to the envelope parser: it must
// never panic, and whatever it accepts is a known operation with object data.
func FuzzParseEnvelope(f *testing.F) {
	for _, s := range []string{
		`{"operation":"create","data":{"name":"x"}}`,
		`{"operation":"query","data":{"name":{"contains":"a"}},"find":0}`,
		`{"operation":"update","data":{"_id":"0123456789abcdef01234567","Level":0,"level":1}}`,
		`{"operation":"query","data":{"a":{"$ne":null}}}`,
		`[[[[[[[[[[`, `{"operation":"create\u0000"}`, "\xff\xfe",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := ParseEnvelope(body, JSONLimits{MaxDepth: 16, MaxElements: 1000})
		if err != nil {
			if ErrorCode(err) == EINTERNAL {
				t.Fatalf("internal error for input: %v", err)
			}
			return
		}
		switch env.Operation {
		case OpCreate, OpQuery, OpUpdate, OpDelete:
		default:
			t.Fatalf("accepted operation %q", env.Operation)
		}
		if env.Data == nil {
			t.Fatal("accepted without data")
		}
	})
}

// FuzzDecodeJSON holds the strict decoder to encoding/json: whatever it
// accepts, encoding/json accepts and decodes to the same value; whatever
// encoding/json refuses, it refuses; and what it refuses that encoding/json
// takes is only what it exists to refuse (invalid UTF-8, duplicate or
// case-variant keys, limits).
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"a":1,"b":[true,false,null],"c":{"d":"e\n\u00e9\ud83d\ude00"}}`, `-0.5e+10`, `"\ud800"`, `"\ud800\u0041"`,
		`{"a":1,"A":2}`, `[1,2,]`, `{"a" 1}`, `01`, `1.`, `"\x01"`, ` [ ] `, `{}`, `"a\/b"`, `tru`, `nul`, `[1e5,-0,0.0]`,
		`{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"K1":0}`,
	} {
		f.Add([]byte(s))
	}
	lim := JSONLimits{MaxDepth: 8, MaxElements: 64}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := DecodeJSON(body, lim)
		var want any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		werr := dec.Decode(&want)
		if werr == nil {
			if _, trail := dec.Token(); !errors.Is(trail, io.EOF) {
				werr = errors.New("trailing data")
			}
		}
		if err == nil {
			if werr != nil {
				t.Fatalf("accepted what encoding/json refuses (%v): %q", werr, body)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%q: decoded %#v, encoding/json %#v", body, got, want)
			}
			return
		}
		if werr == nil && utf8.Valid(body) && ErrorMessage(err) == ErrorMessage(NotJSON()) {
			t.Fatalf("refused as not JSON what encoding/json takes: %q", body)
		}
	})
}
