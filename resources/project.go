package resources

// project shapes a stored document for a caller: declared and server-managed
// fields only (so internal fields such as credentials never leave the store),
// and private fields only for their owner or a level with read_private.
func (s *Service) project(p Principal, sc *Schema, doc Document, owned bool) Document {
	return projectFor(s.auth, p, sc, doc, owned)
}

// Project shapes a stored document of sc for a caller exactly as a query
// of sc would: declared and server-managed fields only, private fields only
// for their owner or a level with read_private.
func Project(auth Authorizer, p Principal, sc *Schema, doc Document) Document {
	return projectFor(auth, p, sc, doc, false)
}

func projectFor(auth Authorizer, p Principal, sc *Schema, doc Document, owned bool) Document {
	return sc.projectShowing(doc, owned || showsPrivate(auth, p, sc, doc))
}

// showsPrivate reports whether p reads the private fields of doc: its owner
// or a level with read_private.
func showsPrivate(auth Authorizer, p Principal, sc *Schema, doc Document) bool {
	return (!p.IsGuest() && ownerOf(sc, doc) == p.UserID) || auth.Allowed(p.Role(), sc.Name, ActReadPrivate)
}

// projectShowing keeps the declared and server-managed fields of doc, the
// private ones only when showPrivate.
func (sc *Schema) projectShowing(doc Document, showPrivate bool) Document {
	out := make(Document, len(doc))
	for k, v := range doc {
		if f, system := sc.system[k]; system && f != nil {
			out[k] = v
			continue
		}
		f := sc.Fields[k]
		if f == nil || (f.Private && !showPrivate) {
			continue
		}
		out[k] = v
	}
	return out
}

// projectPublic keeps the public fields of a discoverable resource.
func (s *Schema) projectPublic(doc Document) Document {
	out := make(Document, len(s.public))
	for k, v := range doc {
		if s.public[k] {
			out[k] = v
		}
	}
	return out
}

func topLevel(path string) string {
	for i := 0; i < len(path); i++ {
		if path[i] == '.' {
			return path[:i]
		}
	}
	return path
}
