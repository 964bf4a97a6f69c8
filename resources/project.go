package resources

// project shapes a stored document for a caller: declared and server-managed
// fields only (so internal fields such as credentials never leave the store),
// and private fields only for their owner or a level with read_private.
func (s *Service) project(p Principal, sc *Schema, doc Document, owned bool) Document {
	showPrivate := owned || (!p.IsGuest() && ownerOf(sc, doc) == p.UserID) ||
		s.auth.Allowed(p.Role(), sc.Name, ActReadPrivate)
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
