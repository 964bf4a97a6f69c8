package resources

import (
	"encoding/json"
	"errors"
	"strings"
)

var errRawJSON = errors.New("malformed stored JSON")

// filterObject copies the members of a JSON object whose keys keep accepts,
// without decoding their values: the fast path for query results, whose
// documents the gateway itself wrote. It returns an error on anything that
// is not one well-formed object.
func filterObject(dst, raw []byte, keep func(key []byte) bool) ([]byte, error) {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return nil, errRawJSON
	}
	dst = append(dst, '{')
	first := true
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return append(dst, '}'), nil
	}
	for i < len(raw) {
		if raw[i] != '"' {
			return nil, errRawJSON
		}
		keyEnd, err := skipString(raw, i)
		if err != nil {
			return nil, err
		}
		key := raw[i+1 : keyEnd-1]
		j := skipSpace(raw, keyEnd)
		if j >= len(raw) || raw[j] != ':' {
			return nil, errRawJSON
		}
		j = skipSpace(raw, j+1)
		valEnd, err := skipValue(raw, j)
		if err != nil {
			return nil, err
		}
		if keep(key) {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = append(dst, raw[i:keyEnd]...)
			dst = append(dst, ':')
			dst = append(dst, raw[j:valEnd]...)
		}
		i = skipSpace(raw, valEnd)
		if i < len(raw) && raw[i] == ',' {
			i = skipSpace(raw, i+1)
			continue
		}
		if i < len(raw) && raw[i] == '}' {
			return append(dst, '}'), nil
		}
		return nil, errRawJSON
	}
	return nil, errRawJSON
}

// rawMember returns the value of the member key of a JSON object, undecoded.
func rawMember(raw []byte, key string) ([]byte, bool) {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return nil, false
	}
	i = skipSpace(raw, i+1)
	for i < len(raw) && raw[i] == '"' {
		keyEnd, err := skipString(raw, i)
		if err != nil {
			return nil, false
		}
		j := skipSpace(raw, keyEnd)
		if j >= len(raw) || raw[j] != ':' {
			return nil, false
		}
		j = skipSpace(raw, j+1)
		valEnd, err := skipValue(raw, j)
		if err != nil {
			return nil, false
		}
		if string(raw[i+1:keyEnd-1]) == key {
			return raw[j:valEnd], true
		}
		i = skipSpace(raw, valEnd)
		if i >= len(raw) || raw[i] != ',' {
			return nil, false
		}
		i = skipSpace(raw, i+1)
	}
	return nil, false
}

// rawPath decodes the value at a dotted path of a stored JSON object, and
// only that value (as encoding/json decodes it into an any).
func rawPath(raw []byte, path string) (any, bool) {
	for part := range strings.SplitSeq(path, ".") {
		v, ok := rawMember(raw, part)
		if !ok {
			return nil, false
		}
		raw = v
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, false
	}
	return v, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string that starts at i.
func skipString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, errRawJSON
}

// skipValue returns the index just past the value that starts at i.
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errRawJSON
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, err := skipString(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errRawJSON
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' {
		j++
	}
	if j == i {
		return 0, errRawJSON
	}
	return j, nil
}
