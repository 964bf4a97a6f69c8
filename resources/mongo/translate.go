package mongo

import (
	"fmt"
	"regexp"
	"sort"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/tnt/gateway/resources"
)

var pathPattern = regexp.MustCompile(`^(_id|[A-Za-z][A-Za-z0-9_]{0,63})(\.[A-Za-z][A-Za-z0-9_]{0,63}){0,7}$`)

func checkPath(p string) error {
	if !pathPattern.MatchString(p) {
		return fmt.Errorf("mongo: bad field path %q", p)
	}
	return nil
}

// literal checks that a value is one of the scalar kinds a validated query
// holds. Anything else (a map could carry an operator) is a programming
// error, refused rather than sent.
func literal(v any) (any, error) {
	switch v.(type) {
	case string, int64, float64, bool:
		return v, nil
	}
	return nil, fmt.Errorf("mongo: value of type %T is not a query literal", v)
}

// Filter translates a validated query into a MongoDB filter. Every value is
// wrapped in an explicit $eq (or an escaped, case-insensitive $regex for
// contains), so no client text can become an operator or a pattern.
func Filter(q resources.Query) (bson.D, error) {
	and := bson.A{}
	for _, c := range q.Conditions {
		if err := checkPath(c.Path); err != nil {
			return nil, err
		}
		v, err := literal(c.Value)
		if err != nil {
			return nil, err
		}
		switch c.Op {
		case resources.Equals:
			and = append(and, bson.D{{Key: c.Path, Value: bson.D{{Key: "$eq", Value: v}}}})
		case resources.Contains:
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("mongo: contains needs text")
			}
			and = append(and, bson.D{{Key: c.Path, Value: bson.D{{Key: "$regex", Value: bson.Regex{Pattern: regexp.QuoteMeta(s), Options: "i"}}}}})
		default:
			return nil, fmt.Errorf("mongo: unknown qualifier %d", c.Op)
		}
	}
	if a := q.After; a != nil {
		c, err := afterClause(q.SortPath, q.SortDesc, a)
		if err != nil {
			return nil, err
		}
		and = append(and, c)
	}
	switch len(and) {
	case 0:
		return bson.D{}, nil
	case 1:
		return and[0].(bson.D), nil
	}
	return bson.D{{Key: "$and", Value: and}}, nil
}

// afterClause is the keyset condition that resumes after the cursor. Missing
// values sort first ascending and last descending, as in the SQLite backend.
func afterClause(path string, desc bool, a *resources.Cursor) (bson.D, error) {
	if err := checkPath(path); err != nil {
		return nil, err
	}
	cmp := "$gt"
	if desc {
		cmp = "$lt"
	}
	id := bson.D{{Key: "_id", Value: bson.D{{Key: cmp, Value: a.ID}}}}
	if path == resources.FieldID {
		return id, nil
	}
	isNull := bson.D{{Key: path, Value: bson.D{{Key: "$eq", Value: nil}}}}
	notNull := bson.D{{Key: path, Value: bson.D{{Key: "$ne", Value: nil}}}}
	if a.Null {
		sameAndLater := bson.D{{Key: "$and", Value: bson.A{isNull, id}}}
		if desc {
			return sameAndLater, nil
		}
		return bson.D{{Key: "$or", Value: bson.A{sameAndLater, notNull}}}, nil
	}
	v, err := literal(a.Value)
	if err != nil {
		return nil, err
	}
	beyond := bson.D{{Key: path, Value: bson.D{{Key: cmp, Value: v}}}}
	tie := bson.D{{Key: "$and", Value: bson.A{bson.D{{Key: path, Value: bson.D{{Key: "$eq", Value: v}}}}, id}}}
	or := bson.A{beyond, tie}
	if desc {
		or = append(or, isNull)
	}
	return bson.D{{Key: "$or", Value: or}}, nil
}

// Sort is the query's order, ties broken by _id.
func Sort(q resources.Query) (bson.D, error) {
	if err := checkPath(q.SortPath); err != nil {
		return nil, err
	}
	dir := 1
	if q.SortDesc {
		dir = -1
	}
	if q.SortPath == resources.FieldID {
		return bson.D{{Key: "_id", Value: dir}}, nil
	}
	return bson.D{{Key: q.SortPath, Value: dir}, {Key: "_id", Value: dir}}, nil
}

// UpdateDoc translates a partial update: $set of top-level fields (in a
// stable order) and $unset of removed ones.
func UpdateDoc(set resources.Document, unset []string) (bson.D, error) {
	var upd bson.D
	if len(set) > 0 {
		keys := make([]string, 0, len(set))
		for k := range set {
			if k == resources.FieldID || checkPath(k) != nil || containsDot(k) {
				return nil, fmt.Errorf("mongo: field %q cannot be set", k)
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		s := make(bson.D, 0, len(keys))
		for _, k := range keys {
			s = append(s, bson.E{Key: k, Value: set[k]})
		}
		upd = append(upd, bson.E{Key: "$set", Value: s})
	}
	if len(unset) > 0 {
		u := make(bson.D, 0, len(unset))
		for _, k := range unset {
			if k == resources.FieldID || checkPath(k) != nil || containsDot(k) {
				return nil, fmt.Errorf("mongo: field %q cannot be removed", k)
			}
			u = append(u, bson.E{Key: k, Value: ""})
		}
		upd = append(upd, bson.E{Key: "$unset", Value: u})
	}
	if len(upd) == 0 {
		return nil, fmt.Errorf("mongo: empty update")
	}
	return upd, nil
}

func containsDot(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return true
		}
	}
	return false
}

// normalize turns decoded BSON into the plain kinds of resources.Document:
// int32 and int64 become int64, documents maps, arrays slices.
func normalize(v any) any {
	switch x := v.(type) {
	case bson.D:
		m := make(map[string]any, len(x))
		for _, e := range x {
			m[e.Key] = normalize(e.Value)
		}
		return m
	case bson.M:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = normalize(e)
		}
		return m
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
	case bson.A:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
		return x
	case int32:
		return int64(x)
	case int:
		return int64(x)
	}
	return v
}
