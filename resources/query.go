package resources

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Op is a query qualifier.
type Op int

// The qualifiers of the query operation.
const (
	// Equals matches the exact, typed value.
	Equals Op = iota + 1
	// Contains matches a case-insensitive literal substring of a string.
	Contains
)

// Condition is one validated field test. Value is a literal of the field's
// type (string, int64, float64 or bool); it is never an operator.
type Condition struct {
	Path  string
	Op    Op
	Value any
}

// Cursor marks where the previous page ended, in the query's sort order.
type Cursor struct {
	Value any
	Null  bool
	ID    string
}

// Query is a validated query, ready for any store: conditions AND together,
// results are ordered by SortPath (then _id) and start after After.
type Query struct {
	Conditions []Condition
	SortPath   string
	SortDesc   bool
	After      *Cursor
	Limit      int
}

// maxConditions bounds the work of one query (each condition is an index
// probe or a scan predicate).
const maxConditions = 16

// Reserved keys of a query's data, beside the field names.
const (
	keyFind  = "find"
	KeySort  = "sort"
	keyAfter = "after"
)

// ParseQuery validates the data of a query envelope against the schema.
// maxPage bounds the page size; find 0 (or none) asks for every match, served
// page by page.
func (s *Schema) ParseQuery(data map[string]any, maxPage int) (Query, error) {
	q := Query{SortPath: FieldID, Limit: maxPage}
	var after string
	for _, k := range sortedKeys(data) {
		v := data[k]
		switch k {
		case keyFind:
			n, ok := AsInt(v)
			if !ok || n < 0 {
				return Query{}, Errorf(EVALUE, "find must be a non-negative integer")
			}
			if n > 0 && n < int64(maxPage) {
				q.Limit = int(n)
			}
		case KeySort:
			str, ok := v.(string)
			if !ok {
				return Query{}, Errorf(EVALUE, "sort must be a field name, with a leading - for descending order")
			}
			if err := s.parseSort(&q, str); err != nil {
				return Query{}, err
			}
		case keyAfter:
			str, ok := v.(string)
			if !ok || str == "" {
				return Query{}, Errorf(EVALUE, "after must be the next cursor of a previous page")
			}
			after = str
		default:
			c, err := s.parseCondition(k, v)
			if err != nil {
				return Query{}, err
			}
			q.Conditions = append(q.Conditions, c)
		}
	}
	if len(q.Conditions) > maxConditions {
		return Query{}, Errorf(EVALUE, "a query holds at most %d conditions", maxConditions)
	}
	if after != "" {
		c, err := s.decodeCursor(after, q.SortPath, q.SortDesc)
		if err != nil {
			return Query{}, err
		}
		q.After = c
	}
	return q, nil
}

func (s *Schema) parseSort(q *Query, str string) error {
	path, desc := strings.CutPrefix(str, "-")
	f, ok := s.Lookup(path)
	if !ok {
		return Errorf(EPARAMETER, "%s cannot be found in %s", QuoteName(path), s.Name)
	}
	if f.Type == TypeObject || f.Type == TypeArray || f.Type == TypeFiles {
		return Errorf(EVALUE, "sort: %s is not a plain value and cannot order results", path)
	}
	q.SortPath, q.SortDesc = path, desc
	return nil
}

func (s *Schema) parseCondition(path string, v any) (Condition, error) {
	f, ok := s.Lookup(path)
	if !ok {
		return Condition{}, Errorf(EPARAMETER, "%s cannot be found in %s", QuoteName(path), s.Name)
	}
	switch f.Type {
	case TypeObject:
		return Condition{}, Errorf(EVALUE, "%s is an object: query one of its fields with a dot path", path)
	case TypeArray, TypeFiles:
		return Condition{}, Errorf(EVALUE, "%s is a list and cannot be queried", path)
	}
	op, value := Equals, v
	if m, isObj := v.(map[string]any); isObj {
		if len(m) != 1 {
			return Condition{}, Errorf(EVALUE, "%s takes exactly one qualifier: equals or contains", path)
		}
		for k, inner := range m {
			switch k {
			case "equals":
				op = Equals
			case "contains":
				op = Contains
			default:
				return Condition{}, Errorf(EVALUE, "%s: qualifier %s is not supported; use equals or contains", path, QuoteName(k))
			}
			value = inner
		}
	}
	switch value.(type) {
	case map[string]any, []any:
		return Condition{}, Errorf(EVALUE, "%s: the value must be a literal, not an object or a list", path)
	case nil:
		return Condition{}, Errorf(EVALUE, "%s: the value cannot be null", path)
	}
	if op == Contains {
		str, ok := value.(string)
		if f.Type != TypeString || !ok {
			return Condition{}, Errorf(EVALUE, "%s: contains applies to text fields and takes text", path)
		}
		if n := utf8.RuneCountInString(str); n == 0 || n > maxContainsLen {
			return Condition{}, Errorf(EVALUE, "%s: contains takes 1 to %d characters", path, maxContainsLen)
		}
		return Condition{Path: path, Op: Contains, Value: str}, nil
	}
	typed, err := f.literal(value)
	if err != nil {
		return Condition{}, err
	}
	return Condition{Path: path, Op: Equals, Value: typed}, nil
}

// literal converts a query value to the field's type without the write-time
// rules (a query for a too-long name simply finds nothing).
func (f *Field) literal(v any) (any, error) {
	switch f.Type {
	case TypeString, TypeFile:
		if s, ok := v.(string); ok && len(s) <= 4*defaultMaxLength {
			if f.Lowercase {
				s = FoldText(s)
			}
			return s, nil
		}
		return nil, Errorf(EVALUE, "%s must be compared with a string", f.path)
	case TypeInt:
		if n, ok := AsInt(v); ok {
			return n, nil
		}
		return nil, Errorf(EVALUE, "%s must be compared with an integer", f.path)
	case TypeNumber:
		if x, ok := toFloat(v); ok {
			return x, nil
		}
		return nil, Errorf(EVALUE, "%s must be compared with a number", f.path)
	case TypeBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return nil, Errorf(EVALUE, "%s must be compared with true or false", f.path)
	}
	return nil, Errorf(EVALUE, "%s cannot be queried", f.path)
}

// QueryFromParams turns the parameters of `GET /api/{resource}` (a URL's
// query, each name with its values) into the data of a query envelope: `field=value` is equals (typed by the field),
// `field:contains=text` is contains, and find, sort, after keep their
// meaning. A parameter given twice is refused.
func (s *Schema) QueryFromParams(params map[string][]string) (map[string]any, error) {
	data := make(map[string]any, len(params))
	for key, vals := range params {
		if len(vals) != 1 {
			return nil, Errorf(EVALUE, "%s is given more than once", QuoteName(key))
		}
		v := vals[0]
		switch key {
		case keyFind:
			data[key] = json.Number(v)
			continue
		case KeySort, keyAfter:
			data[key] = v
			continue
		}
		path, op := key, "equals"
		if p, ok := strings.CutSuffix(key, ":contains"); ok {
			path, op = p, "contains"
		}
		f, ok := s.Lookup(path)
		if !ok {
			return nil, Errorf(EPARAMETER, "%s cannot be found in %s", QuoteName(path), s.Name)
		}
		var typed any = v
		if op == "equals" {
			switch f.Type {
			case TypeInt, TypeNumber:
				typed = json.Number(v)
			case TypeBool:
				b, err := strconv.ParseBool(v)
				if err != nil {
					return nil, Errorf(EVALUE, "%s must be compared with true or false", path)
				}
				typed = b
			}
		}
		if _, dup := data[path]; dup {
			return nil, Errorf(EVALUE, "%s is given more than once", QuoteName(path))
		}
		data[path] = map[string]any{op: typed}
	}
	return data, nil
}

type cursorJSON struct {
	Sort  string `json:"s"`
	Desc  bool   `json:"d,omitempty"`
	Value any    `json:"v,omitempty"`
	Null  bool   `json:"n,omitempty"`
	ID    string `json:"i"`
}

// EncodeCursor makes the opaque `next` token that resumes after doc.
func EncodeCursor(q Query, doc Document) string {
	v, ok := lookupPath(doc, q.SortPath)
	return encodeCursor(q, v, ok, AsString(doc[FieldID]))
}

// encodeCursor is EncodeCursor from the last document's sort value (found
// or not) and id.
func encodeCursor(q Query, v any, found bool, id string) string {
	c := cursorJSON{Sort: q.SortPath, Desc: q.SortDesc, Value: v, Null: !found || v == nil, ID: id}
	b, _ := json.Marshal(c) // values are plain JSON kinds
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Schema) decodeCursor(token, sortPath string, desc bool) (*Cursor, error) {
	bad := Errorf(EVALUE, "after is not a cursor of this query")
	if len(token) > 8192 {
		return nil, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return nil, bad
	}
	v, err := DecodeJSON(raw, JSONLimits{MaxDepth: 2, MaxElements: 16})
	if err != nil {
		return nil, bad
	}
	m, ok := v.(map[string]any)
	if !ok || m["s"] != sortPath || (m["d"] == true) != desc {
		return nil, bad
	}
	id, _ := m["i"].(string)
	if !ValidID(id) {
		return nil, bad
	}
	c := &Cursor{ID: id, Null: m["n"] == true}
	if !c.Null {
		f, _ := s.Lookup(sortPath)
		typed, err := f.literal(m["v"])
		if err != nil {
			return nil, bad
		}
		c.Value = typed
	}
	return c, nil
}

// lookupPath reads a dot path out of a document.
func lookupPath(doc Document, path string) (any, bool) {
	var cur any = doc
	for part := range strings.SplitSeq(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = m[part]
		if !ok {
			return nil, false
		}
	}
	return cur, true
}
