package admin

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/tnt/gateway/resources"
)

// RestoreSummary is the answer of Restore.
type RestoreSummary struct {
	Collections   int64 `json:"collections"`
	Documents     int64 `json:"documents"`
	SessionsEnded int64 `json:"sessions_ended"`
}

// Restore reads a whole archive, verifies it completely (format, every
// line, the document count, its authentication under the archive key, that
// its policy can be put in force and that the restoring DBA may put it in
// force as an edit of the policy stored now) and only then replaces every
// collection it holds, in one transaction. A truncated or altered archive
// changes nothing.
//
// The audit trail is evidence and survives a restore: the archive's entries
// are merged into it, none is removed, and the restore itself is appended.
// The restored policy is stored with a version above every one in use, so
// every replica applies it. Afterwards every session ends but the restoring
// DBA's (and that one too if the restored data no longer holds the DBA at
// that level): no session outlives the users, levels and passwords it was
// made from.
func (a *Admin) Restore(ctx context.Context, p resources.Principal, r io.Reader, ip string) (RestoreSummary, error) {
	if err := a.CanRestore(p); err != nil {
		return RestoreSummary{}, err
	}
	arc, err := a.readArchive(ctx, r)
	if err != nil {
		return RestoreSummary{}, err
	}

	if arc.hasSettings {
		if err := a.policy.Check(arc.policy(a.policy.Base())); err != nil {
			arc.files.abort()
			return RestoreSummary{}, resources.Errorf(resources.EVALUE, "the archive's policy cannot be put in force (%s); nothing was changed", resources.ClipText(err.Error()))
		}
	}
	// Verified: the files go in place before the documents that name
	// them change (a failure after leaves files no document names, which
	// the sweep removes; never a document naming a missing file).
	if err := arc.files.promote(); err != nil {
		arc.files.abort()
		return RestoreSummary{}, err
	}
	var version int64
	keep := ""
	err = a.store.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error {
		// The archive's policy is an edit of the policy stored now, by the
		// restoring DBA, under the same rules as any other (API.md §8),
		// checked in the transaction that writes it.
		var stored int64
		var err error
		if arc.hasSettings {
			_, stored, err = a.checkAgainstStored(ctx, tx, p, arc.policy(a.policy.Base()))
		} else {
			_, stored, err = storedPolicy(ctx, tx)
		}
		if err != nil {
			return err
		}
		for _, c := range a.collections() {
			lines, has := arc.lines[c]
			if !has {
				continue
			}
			if err := a.restoreCollection(ctx, tx, c, lines); err != nil {
				return err
			}
		}
		if arc.hasSettings {
			version = max(stored, arc.policyVersion, a.policy.Version()) + 1
			if err := writePolicy(ctx, tx, arc.policy(a.policy.Base()), version, a.now(), p.UserID); err != nil {
				return err
			}
		}
		keep = ""
		if u, err := resources.LoadUser(ctx, tx, p.UserID); err == nil && u.Level == p.Level {
			keep = p.SessionID
		} else if err != nil && !errors.Is(err, resources.ErrNotFound) {
			return err
		}
		return a.audit(ctx, tx, p, ip, "restore", "database", resources.Document{"documents": arc.count})
	})
	if err != nil {
		var dup *resources.DuplicateError
		if errors.As(err, &dup) {
			return RestoreSummary{}, corrupt("two documents share a unique key")
		}
		return RestoreSummary{}, err
	}
	if a.creds != nil {
		a.creds.Clear()
	}
	if arc.hasSettings {
		if err := a.policy.Put(arc.policy(a.policy.Base()), version); err != nil {
			return RestoreSummary{}, err
		}
	}
	ended, err := a.sessions.RevokeAll(context.WithoutCancel(ctx), keep)
	if err != nil {
		return RestoreSummary{}, &resources.Error{Code: resources.EUNAVAILABLE, Message: "the archive was restored, but the session store could not end every session; " +
			"sessions from before the restore may still work until it is reachable and the restore is run again"}
	}
	return RestoreSummary{Collections: int64(len(arc.lines)), Documents: arc.count, SessionsEnded: int64(ended)}, nil
}

// CanRestore answers whether the caller may restore, before anything of
// the archive is read.
func (a *Admin) CanRestore(p resources.Principal) error {
	return a.require(p, objDatabase, actRestore)
}

// restoreCollection replaces a collection with the archive's documents; the
// audit trail is merged instead, so that no entry is ever removed.
func (a *Admin) restoreCollection(ctx context.Context, tx resources.Tx, c string, lines [][]byte) error {
	if c != resources.AuditCollection {
		if err := tx.Drop(ctx, c); err != nil {
			return err
		}
	}
	for _, line := range lines {
		d, err := archivedDocument(line)
		if err != nil {
			return err
		}
		if c == resources.AuditCollection {
			if _, err := tx.Get(ctx, c, resources.AsString(d[resources.FieldID])); err == nil {
				continue
			} else if !errors.Is(err, resources.ErrNotFound) {
				return err
			}
		}
		if err := tx.Insert(ctx, c, d); err != nil {
			return fmt.Errorf("restore %s: %w", c, err)
		}
	}
	return nil
}

// archivedDocument decodes the document of a verified archive line.
func archivedDocument(line []byte) (resources.Document, error) {
	v, err := resources.DecodeJSON(line, archiveLineLimits)
	if err != nil {
		return nil, err
	}
	m, _ := v.(map[string]any)
	d, _ := m["d"].(map[string]any)
	return resources.Numbers(d).(map[string]any), nil
}

var archiveLineLimits = resources.JSONLimits{MaxDepth: 64, MaxElements: 1 << 20}
