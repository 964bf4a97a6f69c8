package resources

import (
	_ "embed"
	"fmt"
	"slices"
	"sort"

	"github.com/tnt/gateway/policy"
)

//go:embed builtin.json
var builtinSchemas string

// Registry holds every resource the gateway serves: the built-in ones and
// those declared in a resources file. It is read-only once built.
type Registry struct {
	byName map[string]*Schema
	names  []string
}

// NewRegistry builds the registry from the built-in schemas and, when extra
// is not empty, the resources file's declarations. An entry named like a
// built-in resource extends it (see extend); a declaration that clashes with
// an API path word or another collection is refused.
func NewRegistry(extra []byte) (*Registry, error) {
	schemas, err := decodeSchemas([]byte(builtinSchemas))
	if err != nil {
		return nil, fmt.Errorf("built-in schemas: %w", err)
	}
	builtin := len(schemas)
	if len(extra) > 0 {
		more, err := decodeSchemas(extra)
		if err != nil {
			return nil, err
		}
		for _, s := range more {
			if s == nil {
				return nil, fmt.Errorf("resources file: empty declaration")
			}
			if i := slices.IndexFunc(schemas[:builtin], func(b *Schema) bool { return b.Name == s.Name }); i >= 0 {
				if err := extend(schemas[i], s); err != nil {
					return nil, err
				}
				continue
			}
			schemas = append(schemas, s)
		}
	}
	r := &Registry{byName: make(map[string]*Schema)}
	collections := make(map[string]string)
	for i, s := range schemas {
		if s == nil {
			return nil, fmt.Errorf("resources file: empty declaration")
		}
		if err := s.Compile(); err != nil {
			return nil, err
		}
		if _, dup := r.byName[s.Name]; dup {
			return nil, fmt.Errorf("resource %s is declared twice (or clashes with a built-in one)", s.Name)
		}
		if i >= builtin && (isReserved(s.Name) || isReserved(s.Collection)) {
			return nil, fmt.Errorf("resource %s: the name is reserved by the gateway", s.Name)
		}
		if other, dup := collections[s.Collection]; dup {
			return nil, fmt.Errorf("resource %s: collection %s already belongs to %s", s.Name, s.Collection, other)
		}
		collections[s.Collection] = s.Name
		s.builtin = i < builtin
		r.byName[s.Name] = s
		r.names = append(r.names, s.Name)
	}
	sort.Strings(r.names)
	return r, nil
}

// Schema returns the resource's schema, or UnknownResourceError.
func (r *Registry) Schema(name string) (*Schema, error) {
	s, ok := r.byName[name]
	if !ok {
		return nil, Errorf(EUNKNOWNRESOURCE, "Resource type %s is not supported", QuoteName(name))
	}
	return s, nil
}

// Names returns every resource name, sorted.
func (r *Registry) Names() []string { return r.names }

// Schemas returns every resource's schema, in the order of Names.
func (r *Registry) Schemas() []*Schema {
	out := make([]*Schema, len(r.names))
	for i, name := range r.names {
		out[i] = r.byName[name]
	}
	return out
}

// Groups returns each resource's policy group (the object the policy grants
// rights on), so the policy can reach resources declared at run time.
func (r *Registry) Groups() map[string]string {
	out := make(map[string]string, len(r.byName))
	for n, s := range r.byName {
		out[n] = s.Group
	}
	return out
}

// SharedOwnedDocuments lists the declared resources whose documents level-4
// users create and every level-4 user may query under the policy: one
// customer's documents open to every other. It is a mistake of
// configuration more often than a choice: such a resource wants a group of
// its own with query_own (API.md §5). Built-in resources are catalogues by
// design and are not listed.
func (r *Registry) SharedOwnedDocuments(auth Authorizer) []string {
	var out []string
	for _, name := range r.names {
		s := r.byName[name]
		if s.builtin || s.Owner != FieldOwner {
			continue
		}
		if auth.Allowed(policy.User, name, ActCreate) && auth.Allowed(policy.User, name, ActQuery) {
			out = append(out, name)
		}
	}
	return out
}

func isReserved(name string) bool {
	return slices.Contains([]string{
		"account", "admin", "audit", "auth", "cancel_transaction", "discovery", "docs", "files",
		"gpk", "idempotency", "meta", "openapi", "perform_transaction", "policy",
		"register", "resources", "session", "sessions", "token", "transfer", "users",
		"verify_transaction", "verify_transaction_record", "wechat_auth",
	}, name)
}
