package resources

import (
	"encoding/json"
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
