package resources

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// ServiceConfig holds the service's tunables.
type ServiceConfig struct {
	// MaxPage is the most documents one query page returns.
	MaxPage int
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// NoPageCache reads every query from the store, even on a store that
	// keeps a version.
	NoPageCache bool
	// Files removes the files of a deleted document (files.Service); nil
	// when no field holds files.
	Files FileForgetter
}

// FileForgetter removes the files of documents that are gone; what it
// cannot remove, the files' sweep does.
type FileForgetter interface {
	Forget(ctx context.Context, collection, id string)
}

// Service runs envelope operations: it authorizes them with the policy,
// validates them against the resource's schema and runs them on the store.
type Service struct {
	store Store
	reg   *Registry
	auth  Authorizer
	cfg   ServiceConfig
	// buffers recycles the buffers raw query results are projected into:
	// an answer is written out, then its buffer serves the next query, so
	// the documents of a page cost no allocation once the pool is warm.
	buffers *sync.Pool
	// pages keeps raw query answers while the store is unwritten.
	pages *pages
}

// NewService builds the service. Call Prepare once before serving.
func NewService(store Store, reg *Registry, auth Authorizer, cfg ServiceConfig) *Service {
	if cfg.MaxPage <= 0 {
		cfg.MaxPage = 1000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{store: store, reg: reg, auth: auth, cfg: cfg, buffers: &sync.Pool{New: func() any { return new([]byte) }}, pages: newPages()}
}

// Prepare creates every resource's collection and indexes.
func (s *Service) Prepare(ctx context.Context) error {
	for _, name := range s.reg.Names() {
		sc, _ := s.reg.Schema(name)
		if err := s.store.EnsureCollection(ctx, SpecFor(sc)); err != nil {
			return fmt.Errorf("prepare collection %s: %w", sc.Collection, err)
		}
	}
	return nil
}

// Result is what an operation returns: the data of the response envelope
// and, for a query with more matches, the cursor of the next page.
type Result struct {
	Data any
	Next string
	// buf holds the projected documents of a raw query; Release hands it
	// back to pool for the next query.
	buf  *[]byte
	pool *sync.Pool
}

// maxPooledBuffer keeps an occasional huge page from staying in the pool.
const maxPooledBuffer = 1 << 20

// Release returns the result's buffer for reuse. Call it once the answer is
// written, and use nothing of Data after it; a result never released is
// simply collected.
func (r *Result) Release() {
	if r.buf == nil {
		return
	}
	if cap(*r.buf) <= maxPooledBuffer {
		*r.buf = (*r.buf)[:0]
		r.pool.Put(r.buf)
	}
	r.buf, r.pool, r.Data = nil, nil, nil
}

// Execute runs one envelope on a resource for a caller.
func (s *Service) Execute(ctx context.Context, p Principal, resource string, env *Envelope) (Result, error) {
	sc, err := s.reg.Schema(resource)
	if err != nil {
		return Result{}, err
	}
	if !sc.Allows(env.Operation) {
		return Result{}, Errorf(EINVALIDOPERATION, "Operation %s is not supported", env.Operation)
	}
	switch env.Operation {
	case OpCreate:
		return s.create(ctx, p, sc, env.Data)
	case OpQuery:
		return s.query(ctx, p, sc, env.Data)
	case OpUpdate:
		return s.update(ctx, p, sc, env.Data)
	case OpDelete:
		return s.delete(ctx, p, sc, env.Data)
	}
	return Result{}, Errorf(EINVALIDOPERATION, "Operation %s is not supported", QuoteName(env.Operation))
}

// scope is how far a caller's right reaches.
type scope int

const (
	scopeNone scope = iota
	scopeOwn
	scopeAll
)

func (s *Service) scope(p Principal, sc *Schema, all, own string) scope {
	switch {
	case s.auth.Allowed(p.Role(), sc.Name, all):
		return scopeAll
	case own != "" && !p.IsGuest() && s.auth.Allowed(p.Role(), sc.Name, own):
		return scopeOwn
	}
	return scopeNone
}

// deny is the error for a caller without the right: 401 for a Guest (who may
// yet log in), 403 for everyone else.
func deny(p Principal, sc *Schema, op string) error {
	if p.IsGuest() {
		return Errorf(EAUTHENTICATION, "authentication is required to %s %s", op, sc.Name)
	}
	return &DeniedError{Err: Errorf(EPERMISSION, "level %d may not %s %s", p.Level, op, sc.Name), Resource: sc.Name, Action: op}
}

func (s *Service) create(ctx context.Context, p Principal, sc *Schema, data map[string]any) (Result, error) {
	if s.scope(p, sc, ActCreate, "") != scopeAll {
		return Result{}, deny(p, sc, OpCreate)
	}
	doc, err := sc.ValidateCreate(data)
	if err != nil {
		return Result{}, err
	}
	now := s.cfg.Now()
	doc[FieldID] = NewID(now)
	if sc.Owner == FieldOwner {
		doc[FieldOwner] = p.UserID
	}
	doc[FieldCreatedAt] = FormatTime(now)
	doc[FieldUpdatedAt] = doc[FieldCreatedAt]
	if err := s.store.Insert(ctx, sc.Collection, doc); err != nil {
		return Result{}, storeError(sc, err, doc[FieldID], doc)
	}
	return Result{Data: s.project(p, sc, doc, true)}, nil
}

func (s *Service) query(ctx context.Context, p Principal, sc *Schema, data map[string]any) (Result, error) {
	q, sp, err := s.readQuery(p, sc, data)
	if err != nil {
		return Result{}, err
	}
	if sp == scopeOwn {
		q.Conditions = append(q.Conditions, Condition{Path: sc.Owner, Op: Equals, Value: p.UserID})
	}
	return s.find(ctx, p, sc, q, false)
}

// readQuery checks that p may query sc and parses the data of its query:
// the one decision behind every query and every subscription to changes.
// The owner's condition of an own-scoped caller is left to the caller.
func (s *Service) readQuery(p Principal, sc *Schema, data map[string]any) (Query, scope, error) {
	sp := s.scope(p, sc, ActQuery, ActQueryOwn)
	if sp == scopeNone {
		return Query{}, sp, deny(p, sc, OpQuery)
	}
	q, err := sc.ParseQuery(data, s.cfg.MaxPage)
	if err != nil {
		return Query{}, sp, err
	}
	if err := s.checkPrivateUse(p, sc, q, sp); err != nil {
		return Query{}, sp, err
	}
	return q, sp, nil
}

// OpenToGuests reports whether callers without credentials may run any
// envelope operation on the resource under the policy in force; an unknown
// resource is left to the operation to refuse (404).
func (s *Service) OpenToGuests(resource string) bool {
	if _, err := s.reg.Schema(resource); err != nil {
		return true
	}
	for _, act := range []string{ActCreate, ActQuery, ActQueryOwn, ActUpdate, ActUpdateOwn, ActDelete, ActDeleteOwn} {
		if s.auth.Allowed(GuestLevel, resource, act) {
			return true
		}
	}
	return false
}

// checkPrivateUse refuses filtering or sorting on private fields by callers
// who may not read them, which would otherwise reveal their values.
func (s *Service) checkPrivateUse(p Principal, sc *Schema, q Query, sp scope) error {
	if sp == scopeOwn {
		return nil
	}
	return CheckPrivateUse(s.auth, p, sc, q)
}

// CheckPrivateUse refuses a query that filters or sorts on private fields
// of sc when the caller may not read them (read_private), which would
// otherwise reveal their values. Every list of a resource's documents
// applies it, the envelope's queries and the administration's lists alike.
func CheckPrivateUse(auth Authorizer, p Principal, sc *Schema, q Query) error {
	if auth.Allowed(p.Role(), sc.Name, ActReadPrivate) {
		return nil
	}
	for _, c := range q.Conditions {
		if f, _ := sc.Lookup(c.Path); f != nil && f.Private {
			return Errorf(EPERMISSION, "%s cannot be queried by level %d", c.Path, p.Level)
		}
	}
	if f, _ := sc.Lookup(q.SortPath); f != nil && f.Private {
		return Errorf(EPERMISSION, "%s cannot order results for level %d", q.SortPath, p.Level)
	}
	return nil
}

// FindPage runs q for one page: it asks the store for one document more
// than the page holds, and when that one exists, returns the cursor of the
// next page.
func FindPage(ctx context.Context, store Store, coll string, q Query) ([]Document, string, error) {
	page := q.Limit
	q.Limit = page + 1
	docs, err := store.Find(ctx, coll, q)
	if err != nil {
		return nil, "", err
	}
	if len(docs) <= page {
		return docs, "", nil
	}
	docs = docs[:page]
	q.Limit = page
	return docs, EncodeCursor(q, docs[len(docs)-1]), nil
}

func (s *Service) find(ctx context.Context, p Principal, sc *Schema, q Query, public bool) (Result, error) {
	if rf, ok := s.store.(RawFinder); ok && !sc.hasPrivate {
		return s.findCached(ctx, rf, sc, q, public)
	}
	docs, next, err := FindPage(ctx, s.store, sc.Collection, q)
	if err != nil {
		return Result{}, storeError(sc, err, nil, nil)
	}
	out := make([]Document, len(docs))
	for i, d := range docs {
		if public {
			out[i] = sc.projectPublic(d)
		} else {
			out[i] = s.project(p, sc, d, false)
		}
	}
	return Result{Data: out, Next: next}, nil
}

func (s *Service) update(ctx context.Context, p Principal, sc *Schema, data map[string]any) (Result, error) {
	sp := s.scope(p, sc, ActUpdate, ActUpdateOwn)
	if sp == scopeNone {
		return Result{}, deny(p, sc, OpUpdate)
	}
	u, err := sc.ValidateUpdate(data)
	if err != nil {
		return Result{}, err
	}
	if err := s.checkOwnership(ctx, p, sc, u.ID, sp, OpUpdate); err != nil {
		return Result{}, err
	}
	u.Set[FieldUpdatedAt] = FormatTime(s.cfg.Now())
	if _, setEmail := u.Set["email"]; sc.Collection == UsersCollection && (setEmail || slices.Contains(u.Unset, "email")) {
		// A proof of the old address says nothing of the new one.
		u.Unset = append(u.Unset, FieldEmailVerified)
	}
	doc, err := s.store.Update(ctx, sc.Collection, u.ID, u.Set, u.Unset)
	if err != nil {
		return Result{}, storeError(sc, err, u.ID, u.Set)
	}
	return Result{Data: s.project(p, sc, doc, false)}, nil
}

func (s *Service) delete(ctx context.Context, p Principal, sc *Schema, data map[string]any) (Result, error) {
	sp := s.scope(p, sc, ActDelete, ActDeleteOwn)
	if sp == scopeNone {
		return Result{}, deny(p, sc, OpDelete)
	}
	raw, ok := data[FieldID]
	if !ok || raw == nil {
		return Result{}, Errorf(EINVALIDREQUEST, "_id is required for the request")
	}
	if len(data) != 1 {
		return Result{}, Errorf(EINVALIDREQUEST, "delete takes only _id in data")
	}
	id, err := checkID(raw)
	if err != nil {
		return Result{}, err
	}
	if err := s.checkOwnership(ctx, p, sc, id, sp, OpDelete); err != nil {
		return Result{}, err
	}
	if err := s.store.Delete(ctx, sc.Collection, id); err != nil {
		return Result{}, storeError(sc, err, id, nil)
	}
	if s.cfg.Files != nil && len(sc.FileFields()) > 0 {
		s.cfg.Files.Forget(ctx, sc.Collection, id)
	}
	return Result{Data: Document{FieldID: id}}, nil
}

// checkOwnership loads the target of an owner-scoped write and refuses it
// when the caller does not own it: 403 when the caller may see the document
// anyway, 404 when its very existence is not theirs to learn.
func (s *Service) checkOwnership(ctx context.Context, p Principal, sc *Schema, id string, sp scope, op string) error {
	doc, err := s.store.Get(ctx, sc.Collection, id)
	if err != nil {
		return storeError(sc, err, id, nil)
	}
	return s.mayWrite(p, sc, doc, sp, op)
}

// mayWrite decides a write of scope sp (not scopeNone) on doc as stored.
func (s *Service) mayWrite(p Principal, sc *Schema, doc Document, sp scope, op string) error {
	if ownerOf(sc, doc) == p.UserID {
		return nil
	}
	if sp == scopeAll {
		// An account's profile is changed by its owner or by a higher
		// level, never by a peer or a subordinate (whose edit of, say, a
		// DBA's email would be a way into the DBA's account).
		if lvl, isAccount := AsInt(doc[FieldLevel]); sc.Collection == UsersCollection && isAccount && int(lvl) <= p.Level {
			return Errorf(EPERMISSION, "level %d cannot change the profile of a user of level %d", p.Level, lvl)
		}
		return nil
	}
	if s.scope(p, sc, ActQuery, "") == scopeAll {
		return Errorf(EPERMISSION, "level %d may %s only its own %s", p.Level, op, sc.Name)
	}
	return notFound(sc, AsString(doc[FieldID]))
}

// Get returns one document by id, as `GET /api/{resource}/{id}`.
func (s *Service) Get(ctx context.Context, p Principal, resource, id string) (Result, error) {
	sc, err := s.reg.Schema(resource)
	if err != nil {
		return Result{}, err
	}
	if !sc.Allows(OpQuery) {
		return Result{}, Errorf(EINVALIDOPERATION, "Operation %s is not supported", OpQuery)
	}
	sp := s.scope(p, sc, ActQuery, ActQueryOwn)
	if sp == scopeNone {
		return Result{}, deny(p, sc, OpQuery)
	}
	if !ValidID(id) {
		return Result{}, notFound(sc, id)
	}
	doc, err := s.store.Get(ctx, sc.Collection, id)
	if err != nil {
		return Result{}, storeError(sc, err, id, nil)
	}
	if sp == scopeOwn && ownerOf(sc, doc) != p.UserID {
		return Result{}, notFound(sc, id)
	}
	return Result{Data: s.project(p, sc, doc, false)}, nil
}

// Discover runs a Guest query on a discoverable resource and returns public
// fields only. Conditions and sorting may name public fields only.
func (s *Service) Discover(ctx context.Context, p Principal, resource string, data map[string]any) (Result, error) {
	sc, err := s.reg.Schema(resource)
	if err != nil {
		return Result{}, err
	}
	if !s.discoverable(p, sc) {
		return Result{}, Errorf(EUNKNOWNRESOURCE, "Resource type %s is not supported", QuoteName(resource))
	}
	q, err := s.discoveryQuery(sc, data)
	if err != nil {
		return Result{}, err
	}
	return s.find(ctx, p, sc, q, true)
}

// discoverable reports whether p may discover sc under the policy in force.
func (s *Service) discoverable(p Principal, sc *Schema) bool {
	return sc.Discoverable && s.auth.Allowed(p.Role(), sc.Name, ActDiscover)
}

// discoveryQuery parses the data of a discovery: conditions and sorting
// may name public fields only.
func (s *Service) discoveryQuery(sc *Schema, data map[string]any) (Query, error) {
	q, err := sc.ParseQuery(data, s.cfg.MaxPage)
	if err != nil {
		return Query{}, err
	}
	for _, c := range q.Conditions {
		if !sc.IsPublic(topLevel(c.Path)) {
			return Query{}, Errorf(EPARAMETER, "%s cannot be found in %s", c.Path, sc.Name)
		}
	}
	if !sc.IsPublic(topLevel(q.SortPath)) {
		return Query{}, Errorf(EPARAMETER, "%s cannot be found in %s", q.SortPath, sc.Name)
	}
	return q, nil
}

// Discoverable lists the resources a Guest can discover, with their public
// fields.
func (s *Service) Discoverable(p Principal) []Document {
	var out []Document
	for _, name := range s.reg.Names() {
		sc, _ := s.reg.Schema(name)
		if !sc.Discoverable || !s.auth.Allowed(p.Role(), sc.Name, ActDiscover) {
			continue
		}
		var fields []string
		for _, n := range append([]string{FieldID}, sc.names...) {
			if sc.IsPublic(n) {
				fields = append(fields, n)
			}
		}
		out = append(out, Document{"resource": name, "fields": fields})
	}
	return out
}

// Schema exposes the registry's schemas to HTTP code (parameters of GET).
func (s *Service) Schema(resource string) (*Schema, error) { return s.reg.Schema(resource) }

// Schemas returns every resource's schema in the registry's order (the API
// description is generated from them).
func (s *Service) Schemas() []*Schema { return s.reg.Schemas() }

// MaxPage is the most documents one query page holds.
func (s *Service) MaxPage() int { return s.cfg.MaxPage }

func ownerOf(sc *Schema, doc Document) string {
	return AsString(doc[sc.Owner])
}

func notFound(sc *Schema, id any) error {
	return Errorf(ENOTFOUND, "%s with _id %s cannot be found", sc.Name, QuoteName(fmt.Sprint(id)))
}

// storeError turns a store error into the resource's words; vals holds the
// written values, to name the unique key that collided.
func storeError(sc *Schema, err error, id any, vals Document) error {
	var dup *DuplicateError
	switch {
	case errors.Is(err, ErrNotFound):
		return notFound(sc, id)
	case errors.As(err, &dup):
		return Duplicate(sc.Name, AsString(vals[dup.Field]))
	}
	return err
}

// Duplicate is the error for a value a unique key already holds, in the
// words the original clients expect: the value between literal angle
// brackets (`Resource exists with name <Iron Temple> for gym`).
func Duplicate(resource, value string) error {
	return Errorf(EDUPLICATE, "Resource exists with name <%s> for %s", ClipText(value), resource)
}

// ClipText bounds client text echoed in a message; JSON encoding of the
// response makes any character in it safe.
func ClipText(s string) string {
	const max = 200
	if len([]rune(s)) <= max {
		return s
	}
	return string([]rune(s)[:max]) + "…"
}

// findRaw is the fast path of a query on a resource without private fields:
// each stored document is projected by copying its allowed members, with no
// decoding, and only the last one of a full page is decoded for the cursor.
func findRaw(ctx context.Context, rf RawFinder, pool *sync.Pool, sc *Schema, q Query, public bool) (Result, error) {
	page := q.Limit
	q.Limit = page + 1
	keep := func(k []byte) bool {
		if public {
			return sc.public[string(k)]
		}
		_, system := sc.system[string(k)]
		return system || sc.Fields[string(k)] != nil
	}
	// The projected documents share one buffer; ends marks where each
	// stops. The cursor's values are read from the last document of the
	// page while its bytes are at hand, and used only if one more follows.
	pooled := pool.Get().(*[]byte)
	var (
		buf             = (*pooled)[:0]
		ends            = make([]int, 0, page)
		lastVal, lastID any
		lastFound, more bool
	)
	err := rf.FindRaw(ctx, sc.Collection, q, func(raw []byte) error {
		if len(ends) == page {
			more = true
			return nil
		}
		var err error
		if buf, err = filterObject(buf, raw, keep); err != nil {
			return fmt.Errorf("stored document: %w", err)
		}
		ends = append(ends, len(buf))
		if len(ends) == page {
			lastVal, lastFound = rawPath(raw, q.SortPath)
			lastID, _ = rawPath(raw, FieldID)
		}
		return nil
	})
	*pooled = buf
	if err != nil {
		(&Result{buf: pooled, pool: pool}).Release()
		return Result{}, storeError(sc, err, nil, nil)
	}
	var next string
	if more {
		q.Limit = page
		next = encodeCursor(q, lastVal, lastFound, AsString(lastID))
	}
	out := make([]json.RawMessage, len(ends))
	start := 0
	for i, end := range ends {
		out[i] = buf[start:end:end]
		start = end
	}
	return Result{Data: out, Next: next, buf: pooled, pool: pool}, nil
}
