package realtime

import (
	"time"

	"github.com/tnt/gateway/resources"
)

// Op names what a change did.
type Op string

// The kinds of change.
const (
	OpCreate Op = "create"
	OpUpdate Op = "update"
	OpDelete Op = "delete"
	// OpDrop emptied a collection (a drop, or a restore replacing it):
	// its followers must refetch.
	OpDrop Op = "drop"
	// OpSubscriptions tells the replica holding a stream that another
	// replica replaced its subscriptions (ID is the stream's client id).
	OpSubscriptions Op = "subscriptions"
)

// Change is one committed write. Before and After hold the shareable
// fields of the document (resources.Schema.Shareable), never internal ones.
type Change struct {
	Coll   string             `json:"c,omitempty"`
	Op     Op                 `json:"o"`
	ID     string             `json:"i,omitempty"`
	Before resources.Document `json:"b,omitempty"`
	After  resources.Document `json:"a,omitempty"`
	// At is when the change was committed, in Unix milliseconds: the
	// start of its delivery lag.
	At int64 `json:"t"`
}

// Entry is a change at its position in the log. Positions increase with
// every entry; they are never reused by the same log.
type Entry struct {
	Pos uint64
	Change
}

func nowMillis() int64 { return time.Now().UnixMilli() }
