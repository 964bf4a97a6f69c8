package resources

// Follow is one subscription to the changes of a resource: what a caller's
// query (or, for a Guest, discovery) of the resource would return. It keeps
// the caller and the parsed query, and decides every change with the policy
// in force at that moment, through the same scope, conditions and
// projection as a query, so a change is shown exactly as a query would
// show the document, and a policy change applies to the next one.
type Follow struct {
	svc    *Service
	p      Principal
	sc     *Schema
	id     string
	q      Query
	public bool
}

// View says how a caller sees one version of a document: not at all, or
// through one of the projections (so the rendering of a change can be
// shared by every caller that sees it alike).
type View int

// The views of a document.
const (
	Hidden View = iota
	// Public is a Guest's view: the public fields of a discoverable resource.
	Public
	// Declared is the declared and server-managed fields without the private ones.
	Declared
	// Full adds the private fields (the owner, or a level with read_private).
	Full
)

// Follow checks that p may follow resource as its query would: a resource
// p may not query is refused (403), and a query that the query operation
// (for a Guest: discovery) would refuse gets the same error. id, when not
// empty, narrows the subscription to one document.
func (s *Service) Follow(p Principal, resource, id string, data map[string]any) (*Follow, error) {
	sc, err := s.reg.Schema(resource)
	if err != nil {
		return nil, err
	}
	if id != "" && !ValidID(id) {
		return nil, Errorf(EVALUE, "id %s is not a document id", QuoteName(ClipText(id)))
	}
	f := &Follow{svc: s, p: p, sc: sc, id: id}
	if p.IsGuest() {
		if !s.discoverable(p, sc) {
			return nil, &DeniedError{Err: Errorf(EPERMISSION, "without credentials only discoverable resources can be followed; %s is not one", sc.Name),
				Resource: sc.Name, Action: ActDiscover}
		}
		f.q, err = s.discoveryQuery(sc, data)
		f.public = true
		return f, err
	}
	if !sc.Allows(OpQuery) {
		return nil, &DeniedError{Err: Errorf(EPERMISSION, "%s cannot be queried, so it cannot be followed", sc.Name), Resource: sc.Name, Action: ActQuery}
	}
	if s.scope(p, sc, ActQuery, ActQueryOwn) == scopeNone {
		return nil, &DeniedError{Err: Errorf(EPERMISSION, "level %d may not query %s", p.Level, sc.Name), Resource: sc.Name, Action: ActQuery}
	}
	if f.q, _, err = s.readQuery(p, sc, data); err != nil {
		return nil, err
	}
	return f, nil
}

// Resource names the followed resource.
func (f *Follow) Resource() string { return f.sc.Name }

// Collection names the collection whose changes concern the subscription.
func (f *Follow) Collection() string { return f.sc.Collection }

// ID is the one document followed, or "".
func (f *Follow) ID() string { return f.id }

// ViewOf decides how the caller sees doc (nil: no document) under the policy
// in force: Hidden unless the caller's query would return it.
func (f *Follow) ViewOf(doc Document) View {
	if doc == nil || (f.id != "" && AsString(doc[FieldID]) != f.id) {
		return Hidden
	}
	s := f.svc
	if f.public {
		if !s.discoverable(f.p, f.sc) || !f.q.Matches(doc) {
			return Hidden
		}
		return Public
	}
	sp := s.scope(f.p, f.sc, ActQuery, ActQueryOwn)
	switch {
	case sp == scopeNone,
		sp == scopeOwn && ownerOf(f.sc, doc) != f.p.UserID,
		s.checkPrivateUse(f.p, f.sc, f.q, sp) != nil,
		!f.q.Matches(doc):
		return Hidden
	}
	if f.sc.hasPrivate && showsPrivate(s.auth, f.p, f.sc, doc) {
		return Full
	}
	return Declared
}

// Render shapes doc for a view, exactly as a query would return it.
func (sc *Schema) Render(doc Document, v View) Document {
	switch v {
	case Public:
		return sc.projectPublic(doc)
	case Declared:
		return sc.projectShowing(doc, false)
	case Full:
		return sc.projectShowing(doc, true)
	}
	return nil
}

// Schema is the followed resource's schema.
func (f *Follow) Schema() *Schema { return f.sc }

// Shareable keeps the fields of doc that some caller of sc may be shown
// (declared and server-managed ones, private ones included), so that what
// travels between replicas never holds an internal field such as a
// password hash.
func (sc *Schema) Shareable(doc Document) Document { return sc.projectShowing(doc, true) }
