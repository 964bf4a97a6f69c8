package mongo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/tnt/gateway/resources"
)

var _ resources.RawFinder = (*Store)(nil)

// FindRaw runs a validated query and hands over each document as JSON
// text, written straight from the BSON the server sent into one buffer
// reused from document to document: no map is built, which is what makes
// the query path cheap (BenchmarkRawJSON against
// BenchmarkDecodeThenMarshal).
func (s *Store) FindRaw(ctx context.Context, coll string, q resources.Query, each func(doc []byte) error) error {
	cur, err := s.cursor(ctx, coll, q)
	if err != nil {
		return err
	}
	defer func() { _ = cur.Close(context.WithoutCancel(ctx)) }()
	var buf []byte
	for cur.Next(ctx) {
		if buf, err = RawJSON(buf[:0], cur.Current); err != nil {
			return err
		}
		if err := each(buf); err != nil {
			return err
		}
	}
	return classify(cur.Err())
}

var errRawType = errors.New("mongo: a stored value has a type the gateway never writes")

// RawJSON appends a stored document to dst as JSON, members in stored
// order. Numbers and strings are written as encoding/json writes them, so a
// document reads the same whichever path served it. Only the types the
// gateway stores are accepted (strings, 32- and 64-bit integers, doubles,
// booleans, null, arrays, documents); any other is an error, never a guess.
func RawJSON(dst []byte, doc bson.Raw) ([]byte, error) {
	return appendMembers(dst, doc, true)
}

// appendMembers writes the elements of a document (keys and values, as an
// object) or of an array (values only, as a list).
func appendMembers(dst []byte, doc bson.Raw, keyed bool) ([]byte, error) {
	elems, err := doc.Elements()
	if err != nil {
		return nil, fmt.Errorf("mongo: stored document: %w", err)
	}
	open, end := byte('['), byte(']')
	if keyed {
		open, end = '{', '}'
	}
	dst = append(dst, open)
	for i, e := range elems {
		if i > 0 {
			dst = append(dst, ',')
		}
		if keyed {
			if dst, err = appendString(dst, e.Key()); err != nil {
				return nil, err
			}
			dst = append(dst, ':')
		}
		if dst, err = appendValue(dst, e.Value()); err != nil {
			return nil, err
		}
	}
	return append(dst, end), nil
}

func appendValue(dst []byte, v bson.RawValue) ([]byte, error) {
	switch v.Type {
	case bson.TypeString:
		return appendString(dst, v.StringValue())
	case bson.TypeInt32:
		return strconv.AppendInt(dst, int64(v.Int32()), 10), nil
	case bson.TypeInt64:
		return strconv.AppendInt(dst, v.Int64(), 10), nil
	case bson.TypeDouble:
		return appendFloat(dst, v.Double())
	case bson.TypeBoolean:
		return strconv.AppendBool(dst, v.Boolean()), nil
	case bson.TypeNull:
		return append(dst, "null"...), nil
	case bson.TypeEmbeddedDocument:
		return appendMembers(dst, v.Document(), true)
	case bson.TypeArray:
		return appendMembers(dst, bson.Raw(v.Array()), false)
	}
	return nil, fmt.Errorf("%w: %s", errRawType, v.Type)
}

// appendString writes a string as encoding/json does (HTML-safe escapes,
// invalid UTF-8 replaced).
func appendString(dst []byte, s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, err := json.Marshal(s)
			return append(dst, b...), err
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"'), nil
}

// appendFloat writes a double as encoding/json does: the shortest form, with
// an exponent only for very small or very large magnitudes.
func appendFloat(dst []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, fmt.Errorf("%w: a non-finite number", errRawType)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// 1e-07 → 1e-7, as encoding/json writes it.
		if n := len(dst) - start; n >= 4 && dst[len(dst)-4] == 'e' && dst[len(dst)-3] == '-' && dst[len(dst)-2] == '0' {
			dst[len(dst)-2] = dst[len(dst)-1]
			dst = dst[:len(dst)-1]
		}
	}
	return dst, nil
}
