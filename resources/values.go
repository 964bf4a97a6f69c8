package resources

import (
	"encoding/json"
	"math"
	"regexp"
	"strconv"
)

// How the gateway reads the JSON values it decoded (json.Number, strings)
// and the values stores return (int64, float64).

var integerPattern = regexp.MustCompile(`^-?(0|[1-9][0-9]{0,18})$`)

// AsInt accepts only integer literals (no fraction, no exponent) that fit in
// int64, so "1.0", "1e2" and 2^63 are refused instead of rounded.
func AsInt(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		if !integerPattern.MatchString(string(n)) {
			return 0, false
		}
		i, err := strconv.ParseInt(string(n), 10, 64)
		return i, err == nil
	case int64:
		return n, true
	case int:
		return int64(n), true
	}
	return 0, false
}

func toFloat(v any) (float64, bool) {
	var x float64
	switch n := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return 0, false
		}
		x = f
	case float64:
		x = n
	case int64:
		x = float64(n)
	case int:
		x = float64(n)
	default:
		return 0, false
	}
	return x, !math.IsNaN(x) && !math.IsInf(x, 0)
}

// AsString returns v when it is a string, and "" otherwise.
func AsString(v any) string {
	s, _ := v.(string)
	return s
}

// Numbers turns decoded JSON numbers (json.Number) into int64 when they are
// integers and float64 otherwise, in place, through maps and slices.
func Numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, ok := AsInt(x); ok {
			return n
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = Numbers(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = Numbers(e)
		}
		return x
	}
	return v
}
