package resources

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// FieldType is the type of a declared field.
type FieldType string

// The field types a schema may declare.
const (
	TypeString FieldType = "string"
	TypeInt    FieldType = "int"
	TypeNumber FieldType = "number"
	TypeBool   FieldType = "bool"
	TypeObject FieldType = "object"
	TypeArray  FieldType = "array"
)

// Operation names of the envelope.
const (
	OpCreate = "create"
	OpQuery  = "query"
	OpUpdate = "update"
	OpDelete = "delete"
)

// Server-managed fields: set by the gateway, never by a client.
const (
	FieldID        = "_id"
	FieldOwner     = "owner"
	FieldCreatedAt = "created_at"
	FieldUpdatedAt = "updated_at"
)

// Field declares one field of a resource: its type and the rules its values
// follow. Schemas are data; one engine validates every resource with them.
type Field struct {
	Type      FieldType `json:"type"`
	Required  bool      `json:"required,omitempty"`
	ReadOnly  bool      `json:"readOnly,omitempty"`
	Private   bool      `json:"private,omitempty"`
	Indexed   bool      `json:"indexed,omitempty"`
	Default   any       `json:"default,omitempty"`
	MinLength *int      `json:"minLength,omitempty"`
	MaxLength *int      `json:"maxLength,omitempty"`
	Pattern   string    `json:"pattern,omitempty"`
	Format    string    `json:"format,omitempty"`
	Enum      []string  `json:"enum,omitempty"`
	Min       *float64  `json:"min,omitempty"`
	Max       *float64  `json:"max,omitempty"`
	MaxItems  *int      `json:"maxItems,omitempty"`
	// MaxSize, Types and Thumbs are a file field's: the largest file in
	// bytes, the media types it takes, the thumbnail sizes ("WxH").
	MaxSize *int64            `json:"maxSize,omitempty"`
	Types   []string          `json:"types,omitempty"`
	Thumbs  []string          `json:"thumbs,omitempty"`
	Items   *Field            `json:"items,omitempty"`
	Fields  map[string]*Field `json:"fields,omitempty"`
	// Unique says no two documents hold the same value (a top-level
	// string; documents without it take no part).
	Unique bool `json:"unique,omitempty"`
	// Lowercase stores and compares the text in lower case, so that
	// values differing only in case are the same value (an email).
	Lowercase bool `json:"lowercase,omitempty"`

	path  string
	re    *regexp.Regexp
	names []string // sorted keys of Fields
	// also are the patterns a resources file added to a built-in field;
	// values must match every one (alsoRe, compiled).
	also   []string
	alsoRe []*regexp.Regexp
}

// Path is the field's dot path from the document root.
func (f *Field) Path() string { return f.path }

// FieldNames returns an object field's sub-field names in sorted order.
func (f *Field) FieldNames() []string { return f.names }

// Patterns returns every pattern a value must match: the field's own and
// those a resources file added to a built-in field.
func (f *Field) Patterns() []string {
	var out []string
	if f.Pattern != "" {
		out = append(out, f.Pattern)
	}
	return append(out, f.also...)
}

// Schema declares a resource: its fields and how the gateway treats it.
type Schema struct {
	Name         string            `json:"name"`
	Collection   string            `json:"collection,omitempty"`
	Group        string            `json:"group,omitempty"`
	Fields       map[string]*Field `json:"fields"`
	Unique       string            `json:"unique,omitempty"`
	Owner        string            `json:"owner,omitempty"`
	Public       []string          `json:"public,omitempty"`
	Discoverable bool              `json:"discoverable,omitempty"`
	Operations   []string          `json:"operations,omitempty"`

	names      []string
	files      []*Field // the file and files fields, in name order
	public     map[string]bool
	system     map[string]*Field
	hasPrivate bool
	builtin    bool
}

// Limits every schema field obeys unless it declares tighter ones.
const (
	defaultMaxLength = 4096
	defaultMaxItems  = 100
	maxContainsLen   = 256
)

var (
	resourceNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
	fieldNamePattern    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)
)

// Compile checks a schema and prepares it for use: names, patterns, the owner
// field, the unique key, public fields and allowed operations.
func (s *Schema) Compile() error {
	if !resourceNamePattern.MatchString(s.Name) {
		return fmt.Errorf("resource name %q must match %s", s.Name, resourceNamePattern)
	}
	if s.Collection == "" {
		s.Collection = s.Name
	}
	if !resourceNamePattern.MatchString(s.Collection) {
		return fmt.Errorf("resource %s: collection %q must match %s", s.Name, s.Collection, resourceNamePattern)
	}
	if s.Group == "" {
		s.Group = "data"
	}
	if !resourceNamePattern.MatchString(s.Group) {
		return fmt.Errorf("resource %s: group %q must match %s", s.Name, s.Group, resourceNamePattern)
	}
	if s.Owner == "" {
		s.Owner = FieldOwner
	}
	if s.Owner != FieldOwner && s.Owner != FieldID {
		return fmt.Errorf("resource %s: owner must be %q or %q", s.Name, FieldOwner, FieldID)
	}
	if len(s.Operations) == 0 {
		s.Operations = []string{OpCreate, OpQuery, OpUpdate, OpDelete}
	}
	for _, op := range s.Operations {
		if !slices.Contains([]string{OpCreate, OpQuery, OpUpdate, OpDelete}, op) {
			return fmt.Errorf("resource %s: unknown operation %q", s.Name, op)
		}
	}
	if len(s.Fields) == 0 {
		return fmt.Errorf("resource %s declares no fields", s.Name)
	}
	names, err := compileFields(s.Name, "", s.Fields)
	if err != nil {
		return err
	}
	s.names = names
	s.files = nil
	for _, n := range names {
		s.hasPrivate = s.hasPrivate || s.Fields[n].Private
		if s.Fields[n].IsFile() {
			s.files = append(s.files, s.Fields[n])
		}
	}
	if err := checkUniqueFields(s.Name, "", s.Fields); err != nil {
		return err
	}
	s.system = map[string]*Field{
		FieldID:        {Type: TypeString, ReadOnly: true, Indexed: true, path: FieldID},
		FieldCreatedAt: {Type: TypeString, ReadOnly: true, Indexed: true, path: FieldCreatedAt},
		FieldUpdatedAt: {Type: TypeString, ReadOnly: true, path: FieldUpdatedAt},
	}
	if s.Owner == FieldOwner {
		s.system[FieldOwner] = &Field{Type: TypeString, ReadOnly: true, Indexed: true, path: FieldOwner}
	}
	if s.Unique != "" {
		f, ok := s.Fields[s.Unique]
		if !ok || f.Type != TypeString || !f.Required {
			return fmt.Errorf("resource %s: unique key %q must be a required string field", s.Name, s.Unique)
		}
		f.Indexed = true
	}
	// Ids are always public: a client needs them to refer to what it found.
	s.public = map[string]bool{FieldID: true}
	for _, p := range s.Public {
		switch {
		case p == "*":
			for _, n := range s.names {
				if !s.Fields[n].Private {
					s.public[n] = true
				}
			}
			s.public[FieldID], s.public[FieldCreatedAt], s.public[FieldUpdatedAt] = true, true, true
		case s.Fields[p] != nil || s.system[p] != nil && p != FieldOwner:
			s.public[p] = true
		default:
			return fmt.Errorf("resource %s: public field %q is not declared", s.Name, p)
		}
	}
	return nil
}

// checkUniqueFields allows "unique" on top-level string fields only, and
// "lowercase" on string fields only.
func checkUniqueFields(resource, prefix string, fields map[string]*Field) error {
	for name, f := range fields {
		if f.Unique && (prefix != "" || f.Type != TypeString) {
			return fmt.Errorf("resource %s: field %s: only a top-level string field can be unique", resource, prefix+name)
		}
		if f.Lowercase && f.Type != TypeString {
			return fmt.Errorf("resource %s: field %s: only a string field can be lowercase", resource, prefix+name)
		}
		if f.Unique {
			f.Indexed = true
		}
		if err := checkUniqueFields(resource, prefix+name+".", f.Fields); err != nil {
			return err
		}
	}
	return nil
}

func compileFields(resource, prefix string, fields map[string]*Field) ([]string, error) {
	names := make([]string, 0, len(fields))
	for name, f := range fields {
		if !fieldNamePattern.MatchString(name) {
			return nil, fmt.Errorf("resource %s: field name %q must match %s", resource, prefix+name, fieldNamePattern)
		}
		if f == nil {
			return nil, fmt.Errorf("resource %s: field %s has no declaration", resource, prefix+name)
		}
		f.path = prefix + name
		if err := f.compile(resource); err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

func (f *Field) compile(resource string) error {
	switch f.Type {
	case TypeString, TypeInt, TypeNumber, TypeBool:
	case TypeFile, TypeFiles:
		return f.compileFile(resource)
	case TypeObject:
		if len(f.Fields) == 0 {
			return fmt.Errorf("resource %s: object field %s declares no fields", resource, f.path)
		}
		names, err := compileFields(resource, f.path+".", f.Fields)
		if err != nil {
			return err
		}
		f.names = names
	case TypeArray:
		if f.Items == nil {
			return fmt.Errorf("resource %s: array field %s declares no items", resource, f.path)
		}
		f.Items.path = f.path + "[]"
		if err := f.Items.compile(resource); err != nil {
			return err
		}
		if f.MaxItems == nil {
			n := defaultMaxItems
			f.MaxItems = &n
		}
	default:
		return fmt.Errorf("resource %s: field %s has unknown type %q", resource, f.path, f.Type)
	}
	if f.MaxSize != nil || f.Types != nil || f.Thumbs != nil {
		return fmt.Errorf("resource %s: field %s: maxSize, types and thumbs are for fields of type file or files", resource, f.path)
	}
	if f.Type == TypeString && f.MaxLength == nil {
		n := defaultMaxLength
		f.MaxLength = &n
	}
	for i, p := range append([]string{f.Pattern}, f.also...) {
		if p == "" {
			continue
		}
		re, err := regexp.Compile(p)
		if err != nil {
			return fmt.Errorf("resource %s: field %s: bad pattern: %w", resource, f.path, err)
		}
		if i == 0 {
			f.re = re
		} else {
			f.alsoRe = append(f.alsoRe, re)
		}
	}
	if f.Format != "" && f.Format != "date" {
		return fmt.Errorf("resource %s: field %s: unknown format %q", resource, f.path, f.Format)
	}
	if f.Default != nil {
		v, err := f.check(f.Default)
		if err != nil {
			return fmt.Errorf("resource %s: field %s: bad default: %s", resource, f.path, ErrorMessage(err))
		}
		f.Default = v
	}
	return nil
}

// Lookup finds a declared or server-managed field by dot path.
func (s *Schema) Lookup(path string) (*Field, bool) {
	if f, ok := s.system[path]; ok {
		return f, true
	}
	fields := s.Fields
	var f *Field
	for part := range strings.SplitSeq(path, ".") {
		if fields == nil {
			return nil, false
		}
		f = fields[part]
		if f == nil {
			return nil, false
		}
		fields = f.Fields
	}
	return f, f != nil
}

// Allows reports whether the resource supports an envelope operation at all.
func (s *Schema) Allows(op string) bool { return slices.Contains(s.Operations, op) }

// IsPublic reports whether a top-level field is shown to Guests on discovery.
func (s *Schema) IsPublic(name string) bool { return s.public[name] }

// FieldNames returns the declared top-level field names in sorted order.
func (s *Schema) FieldNames() []string { return s.names }

// SystemFields returns the server-managed fields of the resource (`_id`,
// `created_at`, …; `owner` where documents have one), by name.
func (s *Schema) SystemFields() map[string]*Field { return maps.Clone(s.system) }

// UniquePaths returns the paths no two documents may share: the schema's
// unique key first, then every field declared unique, in name order.
func (s *Schema) UniquePaths() []string {
	var out []string
	if s.Unique != "" {
		out = append(out, s.Unique)
	}
	for _, n := range s.names {
		if f := s.Fields[n]; f.Unique && n != s.Unique {
			out = append(out, n)
		}
	}
	return out
}

// IndexedPaths returns the dot paths the stores index for queries.
func (s *Schema) IndexedPaths() []string {
	var out []string
	var walk func(names []string, fields map[string]*Field)
	walk = func(names []string, fields map[string]*Field) {
		for _, n := range names {
			f := fields[n]
			if f.Indexed && f.Type != TypeObject && f.Type != TypeArray && f.path != s.Unique {
				out = append(out, f.path)
			}
			if f.Type == TypeObject {
				walk(f.names, f.Fields)
			}
		}
	}
	walk(s.names, s.Fields)
	if s.Owner == FieldOwner {
		out = append(out, FieldOwner)
	}
	return append(out, FieldCreatedAt)
}

// decodeSchemas reads a resources file: {"resources": [Schema, ...]}, with
// unknown keys refused so a typo in a declaration is an error, not a no-op.
func decodeSchemas(data []byte) ([]*Schema, error) {
	var file struct {
		Resources []*Schema `json:"resources"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&file); err != nil {
		return nil, fmt.Errorf("resources file: %w", err)
	}
	return file.Resources, nil
}
