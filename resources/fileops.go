package resources

import (
	"context"
	"slices"
)

// FileTarget is a file field of one document that a caller may change.
type FileTarget struct {
	Schema *Schema
	Field  *Field
	ID     string
}

// Key is where a file of the target is kept: <collection>/<id>/<name>.
func (t FileTarget) Key(name string) string { return t.Schema.Collection + "/" + t.ID + "/" + name }

// FilesOf checks that p may change the files of a field of a document, as
// an update of the document would be checked (update, or update_own on
// its own; an account's profile only by its owner or a higher level): a
// caller who may read the document but not change it gets 403, one who
// may not read it exactly the answer for a document that does not exist.
func (s *Service) FilesOf(ctx context.Context, p Principal, resource, id, field string) (FileTarget, error) {
	sc, err := s.reg.Schema(resource)
	if err != nil {
		return FileTarget{}, err
	}
	f := sc.Fields[field]
	if f == nil || !f.IsFile() {
		return FileTarget{}, Errorf(EPARAMETER, "%s is not a file field of %s", QuoteName(ClipText(field)), sc.Name)
	}
	if !ValidID(id) {
		return FileTarget{}, notFound(sc, ClipText(id))
	}
	if !sc.Allows(OpUpdate) {
		return FileTarget{}, Errorf(EINVALIDOPERATION, "Operation %s is not supported", OpUpdate)
	}
	sp := s.scope(p, sc, ActUpdate, ActUpdateOwn)
	if sp == scopeNone {
		// 403 only to a caller who may see the document.
		doc, err := s.store.Get(ctx, sc.Collection, id)
		if err != nil {
			return FileTarget{}, storeError(sc, err, id, nil)
		}
		switch read := s.scope(p, sc, ActQuery, ActQueryOwn); {
		case read == scopeAll, read == scopeOwn && ownerOf(sc, doc) == p.UserID:
			return FileTarget{}, deny(p, sc, OpUpdate)
		}
		return FileTarget{}, notFound(sc, id)
	}
	if err := s.checkOwnership(ctx, p, sc, id, sp, OpUpdate); err != nil {
		return FileTarget{}, err
	}
	return FileTarget{Schema: sc, Field: f, ID: id}, nil
}

// ChangeFiles changes the names a document's file field holds, in one
// transaction: change gets the transaction and the names stored now, and
// returns the names to store. It returns the document as the caller's
// update would show it.
func (s *Service) ChangeFiles(ctx context.Context, p Principal, t FileTarget, change func(ctx context.Context, tx Tx, names []string) ([]string, error)) (Document, error) {
	var out Document
	err := s.store.WithTx(ctx, func(ctx context.Context, tx Tx) error {
		doc, err := tx.Get(ctx, t.Schema.Collection, t.ID)
		if err != nil {
			return storeError(t.Schema, err, t.ID, nil)
		}
		// An upload streams for a while: the right checked before it is
		// checked again, on the document as it is now, under the policy
		// in force now.
		if err := s.mayChange(p, t.Schema, doc); err != nil {
			return err
		}
		next, err := change(ctx, tx, t.Field.FileNames(doc))
		if err != nil {
			return err
		}
		set := Document{FieldUpdatedAt: FormatTime(s.cfg.Now())}
		var unset []string
		if len(next) == 0 {
			unset = []string{t.Field.path}
		} else {
			set[t.Field.path] = t.Field.FileValue(next)
		}
		out, err = tx.Update(ctx, t.Schema.Collection, t.ID, set, unset)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.project(p, t.Schema, out, false), nil
}

// mayChange decides whether p may change doc as an update would be decided.
func (s *Service) mayChange(p Principal, sc *Schema, doc Document) error {
	sp := s.scope(p, sc, ActUpdate, ActUpdateOwn)
	if sp == scopeNone {
		return deny(p, sc, OpUpdate)
	}
	return s.mayWrite(p, sc, doc, sp, OpUpdate)
}

// FileVisible finds the file field of a document that holds name, if p may
// read that field of that document: as p's query (a Guest's discovery) of
// the resource would show the document. Anything else answers as a file
// that does not exist.
func (s *Service) FileVisible(ctx context.Context, p Principal, resource, id, name string) (FileTarget, error) {
	missing := Errorf(ENOTFOUND, "the file cannot be found")
	if !ValidID(id) || !ValidFileName(name) {
		return FileTarget{}, missing
	}
	follow, err := s.Follow(p, resource, id, nil)
	if err != nil {
		return FileTarget{}, missing
	}
	sc := follow.Schema()
	doc, err := s.store.Get(ctx, sc.Collection, id)
	if err != nil {
		if code := ErrorCode(storeError(sc, err, id, nil)); code == EUNAVAILABLE {
			return FileTarget{}, err
		}
		return FileTarget{}, missing
	}
	shown := sc.Render(doc, follow.ViewOf(doc))
	for _, f := range sc.FileFields() {
		if _, ok := shown[f.path]; ok && slices.Contains(f.FileNames(shown), name) {
			return FileTarget{Schema: sc, Field: f, ID: id}, nil
		}
	}
	return FileTarget{}, missing
}
