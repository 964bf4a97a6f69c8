package resources

import "strings"

// Matches reports whether doc satisfies every condition of q, as the stores
// decide it: equals compares typed values (numbers by value, so 5 and 5.0
// are equal; text exactly; booleans as booleans), contains is a
// case-insensitive substring of text, and a missing or null value matches
// nothing. Sorting, cursors and limits play no part. Events are decided
// with it, so its answers and the stores' must agree (the stores' suites
// check both on the same documents).
func (q Query) Matches(doc Document) bool {
	for _, c := range q.Conditions {
		if !c.matches(doc) {
			return false
		}
	}
	return true
}

func (c Condition) matches(doc Document) bool {
	v, ok := lookupPath(doc, c.Path)
	if !ok || v == nil {
		return false
	}
	switch c.Op {
	case Contains:
		have, ok1 := v.(string)
		want, ok2 := c.Value.(string)
		return ok1 && ok2 && strings.Contains(strings.ToLower(have), strings.ToLower(want))
	case Equals:
		return equalValues(v, c.Value)
	}
	return false
}

// equalValues compares a stored value with a condition's literal.
func equalValues(have, want any) bool {
	switch w := want.(type) {
	case string:
		s, ok := have.(string)
		return ok && s == w
	case bool:
		b, ok := have.(bool)
		return ok && b == w
	case int64:
		if n, ok := AsInt(have); ok {
			return n == w
		}
		f, ok := toFloat(have)
		return ok && f == float64(w)
	case float64:
		f, ok := toFloat(have)
		return ok && f == w
	}
	return false
}
