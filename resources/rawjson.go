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
	dst = append(dst, '{')
	first := true
	err := members(raw, func(key, quoted, val []byte) bool {
		if keep(key) {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = append(dst, quoted...)
			dst = append(dst, ':')
			dst = append(dst, val...)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	return append(dst, '}'), nil
}

// rawMember returns the value of the member key of a JSON object, undecoded.
func rawMember(raw []byte, key string) ([]byte, bool) {
	var found []byte
	ok := false
	err := members(raw, func(k, _, val []byte) bool {
		if string(k) == key {
			found, ok = val, true
			return false
		}
		return true
	})
	return found, ok && err == nil
}

// members calls f with each member of a JSON object, in order: its key as
// it is between the quotes, the key as written (quotes included), and its
// value, undecoded, until f returns false. It returns an error on anything
// that is not one well-formed object (as far as it read).
func members(raw []byte, f func(key, quoted, val []byte) bool) error {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return errRawJSON
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return nil
	}
	for i < len(raw) {
		if raw[i] != '"' {
			return errRawJSON
		}
		keyEnd, err := skipString(raw, i)
		if err != nil {
			return err
		}
		j := skipSpace(raw, keyEnd)
		if j >= len(raw) || raw[j] != ':' {
			return errRawJSON
		}
		j = skipSpace(raw, j+1)
		valEnd, err := skipValue(raw, j)
		if err != nil {
			return err
		}
		if !f(raw[i+1:keyEnd-1], raw[i:keyEnd], raw[j:valEnd]) {
			return nil
		}
		i = skipSpace(raw, valEnd)
		if i < len(raw) && raw[i] == ',' {
			i = skipSpace(raw, i+1)
			continue
		}
		if i < len(raw) && raw[i] == '}' {
			return nil
		}
		return errRawJSON
	}
	return errRawJSON
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
