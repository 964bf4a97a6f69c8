package resources

import (
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// DecodeJSON parses body as exactly one JSON value, strictly: valid UTF-8,
// numbers kept as json.Number (no float rounding of money), no duplicate or
// case-variant keys in any object, bounded depth and size, nothing after the
// value. Objects become map[string]any and arrays []any; strings decode as
// encoding/json decodes them (an unpaired surrogate escape becomes U+FFFD).
//
// It scans the bytes itself rather than through encoding/json's token
// stream, which allocates for every token: the envelope of every request
// goes through here (BenchmarkParseEnvelopeAndQuery; FuzzDecodeJSON holds
// it to encoding/json's answers).
func DecodeJSON(body []byte, lim JSONLimits) (any, error) {
	if !utf8.Valid(body) {
		return nil, NotJSON()
	}
	d := decoder{b: body, lim: lim}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if d.space(); d.i != len(d.b) {
		return nil, NotJSON()
	}
	return v, nil
}

type decoder struct {
	b     []byte
	i     int
	lim   JSONLimits
	count int
}

func (d *decoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// counted counts one more value against the limit.
func (d *decoder) counted() error {
	if d.count++; d.count > d.lim.MaxElements {
		return Errorf(EINVALIDREQUEST, "the request holds more than %d values", d.lim.MaxElements)
	}
	return nil
}

func (d *decoder) value(depth int) (any, error) {
	d.space()
	if d.i >= len(d.b) {
		return nil, NotJSON()
	}
	var v any
	switch c := d.b[d.i]; c {
	case '{', '[':
		if err := d.counted(); err != nil {
			return nil, err
		}
		if depth >= d.lim.MaxDepth {
			return nil, Errorf(EINVALIDREQUEST, "the request nests deeper than %d levels", d.lim.MaxDepth)
		}
		d.i++
		if c == '{' {
			return d.object(depth)
		}
		return d.array(depth)
	case '"':
		s, err := d.str()
		if err != nil {
			return nil, err
		}
		v = s
	case 't':
		if !d.literal("true") {
			return nil, NotJSON()
		}
		v = true
	case 'f':
		if !d.literal("false") {
			return nil, NotJSON()
		}
		v = false
	case 'n':
		if !d.literal("null") {
			return nil, NotJSON()
		}
	default:
		n, ok := d.number()
		if !ok {
			return nil, NotJSON()
		}
		v = n
	}
	return v, d.counted()
}

func (d *decoder) literal(word string) bool {
	if !strings.HasPrefix(string(d.b[d.i:min(len(d.b), d.i+len(word))]), word) {
		return false
	}
	d.i += len(word)
	return true
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *decoder) number() (json.Number, bool) {
	start := d.i
	if d.i < len(d.b) && d.b[d.i] == '-' {
		d.i++
	}
	switch {
	case d.i < len(d.b) && d.b[d.i] == '0':
		d.i++
	case d.digits() == 0:
		return "", false
	}
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		if d.digits() == 0 {
			return "", false
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if d.digits() == 0 {
			return "", false
		}
	}
	return json.Number(d.b[start:d.i]), true
}

func (d *decoder) digits() int {
	n := 0
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
		n++
	}
	return n
}

// str reads a string at d.i (its opening quote).
func (d *decoder) str() (string, error) {
	start := d.i + 1
	for j := start; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '"':
			d.i = j + 1
			return string(d.b[start:j]), nil
		case c == '\\':
			return d.escaped(start, j)
		case c < ' ':
			return "", NotJSON()
		}
	}
	return "", NotJSON()
}

// escaped finishes a string whose first escape is at j.
func (d *decoder) escaped(start, j int) (string, error) {
	out := make([]byte, 0, j-start+16)
	out = append(out, d.b[start:j]...)
	for j < len(d.b) {
		c := d.b[j]
		switch {
		case c == '"':
			d.i = j + 1
			return string(out), nil
		case c < ' ':
			return "", NotJSON()
		case c != '\\':
			out = append(out, c)
			j++
			continue
		}
		if j+1 >= len(d.b) {
			return "", NotJSON()
		}
		switch e := d.b[j+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(d.b[j+2:])
			if !ok {
				return "", NotJSON()
			}
			j += 6
			if utf16.IsSurrogate(r) {
				if j+1 < len(d.b) && d.b[j] == '\\' && d.b[j+1] == 'u' {
					if r2, ok := hex4(d.b[j+2:]); ok {
						if pair := utf16.DecodeRune(r, r2); pair != unicode.ReplacementChar {
							out = utf8.AppendRune(out, pair)
							j += 6
							continue
						}
					}
				}
				r = unicode.ReplacementChar
			}
			out = utf8.AppendRune(out, r)
			continue
		default:
			return "", NotJSON()
		}
		j += 2
	}
	return "", NotJSON()
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r*16 + rune(c)
	}
	return r, true
}

// smallObject is how many keys an object holds before its duplicate check
// moves from a scan of the keys so far to a map.
const smallObject = 8

func (d *decoder) object(depth int) (any, error) {
	obj := make(map[string]any)
	d.space()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		return obj, nil
	}
	var few [smallObject]string
	var folded map[string]struct{}
	n := 0
	for {
		d.space()
		if d.i >= len(d.b) || d.b[d.i] != '"' {
			return nil, NotJSON()
		}
		key, err := d.str()
		if err != nil {
			return nil, err
		}
		lower := strings.ToLower(key)
		dup := false
		if folded != nil {
			_, dup = folded[lower]
			folded[lower] = struct{}{}
		} else {
			for _, k := range few[:n] {
				dup = dup || k == lower
			}
			if n < smallObject {
				few[n] = lower
			} else {
				folded = make(map[string]struct{}, 2*smallObject)
				for _, k := range few {
					folded[k] = struct{}{}
				}
				folded[lower] = struct{}{}
			}
			n++
		}
		if dup {
			return nil, Errorf(EINVALIDREQUEST, "duplicate key %s in the request", QuoteName(key))
		}
		if d.space(); d.i >= len(d.b) || d.b[d.i] != ':' {
			return nil, NotJSON()
		}
		d.i++
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		obj[key] = v
		if d.space(); d.i >= len(d.b) {
			return nil, NotJSON()
		}
		switch d.b[d.i] {
		case ',':
			d.i++
		case '}':
			d.i++
			return obj, nil
		default:
			return nil, NotJSON()
		}
	}
}

func (d *decoder) array(depth int) (any, error) {
	arr := make([]any, 0, 4)
	d.space()
	if d.i < len(d.b) && d.b[d.i] == ']' {
		d.i++
		return arr, nil
	}
	for {
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		arr = append(arr, v)
		if d.space(); d.i >= len(d.b) {
			return nil, NotJSON()
		}
		switch d.b[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			return arr, nil
		default:
			return nil, NotJSON()
		}
	}
}
