package resources

import (
	"context"
	"time"
)

// AuditSpec is the audit trail's collection: newest first by time, filtered
// by action and actor.
var AuditSpec = CollectionSpec{Name: AuditCollection, Indexed: []string{FieldCreatedAt, "action", "actor"}}

// AuditEntry is one privileged act: who did what to which target, from
// where, when. Entries are written in the transaction of the act itself and
// never changed.
type AuditEntry struct {
	Actor  Principal
	IP     string
	Action string
	Target string
	Detail Document
	At     time.Time
}

// Document is the entry as the store keeps it (and the audit route shows).
func (e AuditEntry) Document() Document {
	return Document{
		FieldID: NewID(e.At), "actor": e.Actor.UserID, "actor_username": e.Actor.Username, "actor_level": int64(e.Actor.Level),
		"action": e.Action, "target": e.Target, "detail": e.Detail, "ip": e.IP, FieldCreatedAt: FormatTime(e.At),
	}
}

// WriteAudit writes an entry inside the transaction of the act, so the act
// and its record commit together or not at all.
func WriteAudit(ctx context.Context, tx Tx, e AuditEntry) error {
	return tx.Insert(ctx, AuditCollection, e.Document())
}
