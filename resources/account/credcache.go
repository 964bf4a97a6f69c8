package account

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"sync"
	"time"
)

// CredentialCache remembers recently verified username/password pairs so
// that repeated basic-auth-style calls skip argon2id. Entries are keyed by an
// HMAC under a per-process random key (the cache never holds a password or
// anything that verifies one offline) and bound to a digest of the stored
// hash, so a password change voids them. It holds at most max entries.
type CredentialCache struct {
	mu      sync.Mutex
	secret  [32]byte
	ttl     time.Duration
	max     int
	entries map[[32]byte]credEntry
}

type credEntry struct {
	stored  [32]byte
	expires time.Time
}

// NewCredentialCache returns a cache of at most max entries living ttl.
func NewCredentialCache(max int, ttl time.Duration) *CredentialCache {
	c := &CredentialCache{ttl: ttl, max: max, entries: make(map[[32]byte]credEntry)}
	_, _ = rand.Read(c.secret[:])
	return c
}

func (c *CredentialCache) key(username, password string) [32]byte {
	var k [32]byte
	if c == nil {
		return k
	}
	m := hmac.New(sha256.New, c.secret[:])
	m.Write([]byte(username))
	m.Write([]byte{0})
	m.Write([]byte(password))
	copy(k[:], m.Sum(nil))
	return k
}

func (c *CredentialCache) hit(key [32]byte, storedHash string, now time.Time) bool {
	if c == nil {
		return false
	}
	digest := sha256.Sum256([]byte(storedHash))
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || now.After(e.expires) {
		delete(c.entries, key)
		return false
	}
	return subtle.ConstantTimeCompare(e.stored[:], digest[:]) == 1
}

func (c *CredentialCache) put(key [32]byte, storedHash string, now time.Time) {
	if c == nil || c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		for k, e := range c.entries {
			if now.After(e.expires) || len(c.entries) >= c.max {
				delete(c.entries, k)
			}
		}
	}
	c.entries[key] = credEntry{stored: sha256.Sum256([]byte(storedHash)), expires: now.Add(c.ttl)}
}

// Clear drops every entry (after a bulk change such as a restore).
func (c *CredentialCache) Clear() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
}
