package realtime

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"

	"github.com/tnt/gateway/resources"
)

// Log keeps the changes of the retention in order, and the little state
// that streams share between replicas: stream descriptors (for resuming
// anywhere) and tickets.
type Log interface {
	Appender
	// Next waits until entries after pos exist (or ctx ends, or a while
	// passes) and returns up to max of them, in order. An error means the
	// log cannot be read.
	Next(ctx context.Context, after uint64, max int) ([]Entry, error)
	// Range returns up to max entries with after < pos <= upTo, in order.
	Range(ctx context.Context, after, upTo uint64, max int) ([]Entry, error)
	// Mark tells where the log stands.
	Mark(ctx context.Context) (Mark, error)
	// Prune forgets the entries older than keep.
	Prune(ctx context.Context, keep time.Duration) error
	// PutTicket stores a ticket's binding under the ticket's hash.
	PutTicket(ctx context.Context, hash string, b Binding, ttl time.Duration) error
	// TakeTicket returns and deletes a ticket's binding (single use).
	TakeTicket(ctx context.Context, hash string) (Binding, bool, error)
	// SaveStream keeps a stream's descriptor for ttl.
	SaveStream(ctx context.Context, clientID string, desc []byte, ttl time.Duration) error
	// LoadStream reads a stream's descriptor.
	LoadStream(ctx context.Context, clientID string) ([]byte, bool, error)
	Close() error
}

// Mark is where a log stands: its epoch (a new log, or one whose earlier
// positions are lost, has a new one), its last position, and its horizon:
// every entry after the horizon is still kept.
type Mark struct {
	Epoch   string
	Head    uint64
	Horizon uint64
	// Key seals positions in event ids (16 bytes, made with the log).
	Key []byte
}

// ErrUnavailable wraps the errors of a log that cannot be reached.
var ErrUnavailable = errors.New("the change log is unavailable")

// Binding is what a stream or a ticket belongs to: a session (SID), a user
// who used the admin scheme (Stamp identifies the credential checked), or
// nobody (a guest).
type Binding struct {
	UserID   string `json:"u,omitempty"`
	Username string `json:"n,omitempty"`
	Level    int    `json:"l"`
	SID      string `json:"s,omitempty"`
	Stamp    string `json:"p,omitempty"`
}

// BindingOf is the binding of a caller.
func BindingOf(p resources.Principal) Binding {
	return Binding{UserID: p.UserID, Username: p.Username, Level: p.Level, SID: p.SessionID, Stamp: p.Stamp}
}

// Principal is the caller a binding stands for.
func (b Binding) Principal() resources.Principal {
	return resources.Principal{UserID: b.UserID, Username: b.Username, Level: b.Level, SessionID: b.SID, Stamp: b.Stamp}
}

// Guest reports whether the binding is a guest's.
func (b Binding) Guest() bool { return b.UserID == "" }

// sameOwner reports whether a caller may act on a stream bound to b: the
// same session; for the admin scheme the same user with the admin scheme;
// anyone for a guest's stream, whose client id is its only binding.
func (b Binding) sameOwner(caller Binding) bool {
	switch {
	case b.Guest():
		return true
	case b.SID != "":
		return caller.SID == b.SID && caller.UserID == b.UserID
	}
	return caller.SID == "" && caller.UserID == b.UserID
}

// Subscription is one subscription as a client asks for it.
type Subscription struct {
	Resource string         `json:"resource"`
	ID       string         `json:"id,omitempty"`
	Query    map[string]any `json:"query,omitempty"`
}

// descriptor is what is kept of a stream so that it can be resumed, on any
// replica, after its connection drops.
type descriptor struct {
	Binding       Binding        `json:"b"`
	Subscriptions []Subscription `json:"s"`
}

func (d descriptor) encode() []byte {
	b, _ := json.Marshal(d) // plain data
	return b
}

func decodeDescriptor(b []byte) (descriptor, bool) {
	var d descriptor
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return d, dec.Decode(&d) == nil
}

// newID returns n random bytes as unpadded base64url.
func newID(n int) string { return base64.RawURLEncoding.EncodeToString(randomBytes(n)) }

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// encodeChange and decodeChange are how changes travel through a log; the
// decoder keeps numbers exact.
func encodeChange(c Change) ([]byte, error) { return json.Marshal(c) }

func decodeChange(b []byte) (Change, error) {
	var c Change
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	err := dec.Decode(&c)
	return c, err
}
