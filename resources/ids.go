package resources

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"sort"
	"time"
)

// NewID returns a fresh document id: 24 hex characters, four bytes of Unix
// time followed by eight random bytes, so ids sort roughly by creation and
// cannot be guessed from one another.
func NewID(now time.Time) string {
	var b [12]byte
	binary.BigEndian.PutUint32(b[:4], uint32(now.Unix())) //nolint:gosec // seconds wrap in 2106, as ObjectIDs do; only ordering uses them
	_, _ = rand.Read(b[4:])                               // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// ValidID reports whether s has the form of a document id.
func ValidID(s string) bool {
	if len(s) != 24 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// FormatTime renders a time the way documents store it: RFC 3339 in UTC with
// a fixed number of fraction digits, so text order is time order.
func FormatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00")
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
