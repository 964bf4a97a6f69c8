package resources

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"unicode/utf8"
)

// JSONLimits bounds the shape of hostile JSON before any of it is used.
type JSONLimits struct {
	// MaxDepth is the deepest nesting of objects and arrays accepted.
	MaxDepth int
	// MaxElements is the largest number of values (all levels together).
	MaxElements int
}

// DefaultJSONLimits returns limits generous for every envelope the contract
// defines and small enough that a crafted body costs little to refuse.
func DefaultJSONLimits() JSONLimits {
	return JSONLimits{MaxDepth: 32, MaxElements: 100_000}
}

// NotJSON is the single answer for a body that is not one JSON value.
func NotJSON() error {
	return &Error{Code: EINVALIDREQUEST, Message: "valid JSON body is required for the request"}
}

// DecodeJSON parses body as exactly one JSON value, strictly: valid UTF-8,
// numbers kept as json.Number (no float rounding of money), no duplicate or
// case-variant keys in any object, bounded depth and size, nothing after the
// value. Objects become map[string]any and arrays []any.
func DecodeJSON(body []byte, lim JSONLimits) (any, error) {
	if !utf8.Valid(body) {
		return nil, NotJSON()
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	d := decoder{dec: dec, lim: lim}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, NotJSON()
	}
	return v, nil
}

type decoder struct {
	dec   *json.Decoder
	lim   JSONLimits
	count int
}

func (d *decoder) value(depth int) (any, error) {
	tok, err := d.dec.Token()
	if err != nil {
		return nil, NotJSON()
	}
	d.count++
	if d.count > d.lim.MaxElements {
		return nil, Errorf(EINVALIDREQUEST, "the request holds more than %d values", d.lim.MaxElements)
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	if depth >= d.lim.MaxDepth {
		return nil, Errorf(EINVALIDREQUEST, "the request nests deeper than %d levels", d.lim.MaxDepth)
	}
	switch delim {
	case '{':
		return d.object(depth)
	case '[':
		return d.array(depth)
	}
	return nil, NotJSON()
}

func (d *decoder) object(depth int) (any, error) {
	obj := make(map[string]any)
	var folded map[string]struct{}
	for d.dec.More() {
		tok, err := d.dec.Token()
		if err != nil {
			return nil, NotJSON()
		}
		key, ok := tok.(string)
		if !ok {
			return nil, NotJSON()
		}
		if folded == nil {
			folded = make(map[string]struct{})
		}
		lower := strings.ToLower(key)
		if _, dup := folded[lower]; dup {
			return nil, Errorf(EINVALIDREQUEST, "duplicate key %s in the request", QuoteName(key))
		}
		folded[lower] = struct{}{}
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		obj[key] = v
	}
	if _, err := d.dec.Token(); err != nil {
		return nil, NotJSON()
	}
	return obj, nil
}

func (d *decoder) array(depth int) (any, error) {
	arr := make([]any, 0, 4)
	for d.dec.More() {
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		arr = append(arr, v)
	}
	if _, err := d.dec.Token(); err != nil {
		return nil, NotJSON()
	}
	return arr, nil
}

// QuoteName renders client-supplied text for an error message: plain names
// as they are, anything else quoted and cut short, so a message never
// carries control characters or a megabyte of input.
func QuoteName(s string) string {
	const max = 64
	plain := len(s) > 0 && len(s) <= max
	for _, r := range s {
		if !(r == '_' || r == '.' || r == '-' || r == '$' || r == '[' || r == ']' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	if len(s) > max {
		s = s[:max] + "…"
	}
	b, _ := json.Marshal(s)
	return string(b)
}
