package resources

import "encoding/json"

// Envelope is a parsed operation envelope: {"operation": ..., "data": {...}}.
type Envelope struct {
	Operation string
	Data      map[string]any
}

// ParseEnvelope reads a request body strictly (see DecodeJSON) and checks the
// envelope's shape before anything else looks at it: a known operation given
// exactly, an object for data. The query keys find, sort and after are also
// accepted beside data and moved into it.
func ParseEnvelope(body []byte, lim JSONLimits) (*Envelope, error) {
	v, err := DecodeJSON(body, lim)
	if err != nil {
		return nil, err
	}
	top, ok := v.(map[string]any)
	if !ok {
		return nil, NotJSON()
	}
	rawOp, ok := top["operation"]
	if !ok || rawOp == nil {
		return nil, Errorf(EINVALIDREQUEST, "operation is required for the request")
	}
	op, _ := rawOp.(string)
	switch op {
	case OpCreate, OpQuery, OpUpdate, OpDelete:
	default:
		return nil, Errorf(EINVALIDOPERATION, "Operation %s is not supported", describe(rawOp))
	}
	rawData, ok := top["data"]
	if !ok || rawData == nil {
		return nil, Errorf(EINVALIDREQUEST, "data is required for the request")
	}
	data, ok := rawData.(map[string]any)
	if !ok {
		return nil, Errorf(EINVALIDREQUEST, "data must be an object")
	}
	for k, v := range top {
		switch k {
		case "operation", "data":
		case keyFind, KeySort, keyAfter:
			if op != OpQuery {
				return nil, Errorf(EINVALIDREQUEST, "%s applies only to the query operation", k)
			}
			if _, dup := data[k]; dup {
				return nil, Errorf(EINVALIDREQUEST, "%s is given both beside and inside data", k)
			}
			data[k] = v
		default:
			return nil, Errorf(EINVALIDREQUEST, "%s is not a key of the operation envelope", QuoteName(k))
		}
	}
	return &Envelope{Operation: op, Data: data}, nil
}

// describe renders a non-string or unknown operation for its error message.
func describe(v any) string {
	if s, ok := v.(string); ok {
		return QuoteName(s)
	}
	b, err := json.Marshal(v)
	if err != nil || len(b) > 64 {
		return "of this kind"
	}
	return string(b)
}
