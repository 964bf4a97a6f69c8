package resources

import (
	"fmt"
	"slices"
)

// extend applies a resources file's entry named like a built-in resource to
// that resource: it may add fields and tighten the rules of existing ones
// (required, pattern, lengths, enum, bounds, items, nested fields, private,
// indexed), never loosen a rule, change a type or drop a field. Nothing but
// fields may be given: the built-in resource's collection, group, owner,
// unique key, public fields and operations stay.
func extend(base, ext *Schema) error {
	if ext.Collection != "" || ext.Group != "" || ext.Unique != "" || ext.Owner != "" || ext.Public != nil ||
		ext.Discoverable || ext.Operations != nil {
		return fmt.Errorf("resource %s is built in: a resources file may give it fields only", base.Name)
	}
	return extendFields(base.Name, "", base.Fields, ext.Fields)
}

func extendFields(resource, prefix string, base, ext map[string]*Field) error {
	for name, e := range ext {
		if e == nil {
			return fmt.Errorf("resource %s: field %s has no declaration", resource, prefix+name)
		}
		b, exists := base[name]
		if !exists {
			if _, managed := map[string]bool{FieldID: true, FieldOwner: true, FieldCreatedAt: true, FieldUpdatedAt: true}[name]; managed && prefix == "" {
				return fmt.Errorf("resource %s: %s is managed by the gateway", resource, name)
			}
			base[name] = e
			continue
		}
		if err := tighten(resource, prefix+name, b, e); err != nil {
			return err
		}
	}
	return nil
}

// tighten merges the rules of an extension into a built-in field.
func tighten(resource, path string, b, e *Field) error {
	loosen := func(rule string) error {
		return fmt.Errorf("resource %s: field %s: a resources file may tighten a built-in field, not loosen it (%s)", resource, path, rule)
	}
	if e.Type != "" && e.Type != b.Type {
		return fmt.Errorf("resource %s: field %s is %s and stays %s", resource, path, b.Type, b.Type)
	}
	if e.Default != nil || e.Format != "" && e.Format != b.Format || e.Lowercase != b.Lowercase && e.Lowercase ||
		e.ReadOnly && !b.ReadOnly || e.Unique && !b.Unique {
		return fmt.Errorf("resource %s: field %s: only required, pattern, minLength, maxLength, enum, min, max, maxItems, private, indexed, items and fields can be given for a built-in field", resource, path)
	}
	b.Required = b.Required || e.Required
	b.Private = b.Private || e.Private
	b.Indexed = b.Indexed || e.Indexed
	if e.Pattern != "" {
		if b.Pattern == "" {
			b.Pattern = e.Pattern
		} else if e.Pattern != b.Pattern {
			b.also = append(b.also, e.Pattern) // both must match
		}
	}
	if e.MinLength != nil {
		if b.MinLength != nil && *e.MinLength < *b.MinLength {
			return loosen("minLength")
		}
		b.MinLength = e.MinLength
	}
	if e.MaxLength != nil {
		if *e.MaxLength > orDefault(b.MaxLength, defaultMaxLength) {
			return loosen("maxLength")
		}
		b.MaxLength = e.MaxLength
	}
	if e.MaxItems != nil {
		if *e.MaxItems > orDefault(b.MaxItems, defaultMaxItems) {
			return loosen("maxItems")
		}
		b.MaxItems = e.MaxItems
	}
	if e.Min != nil {
		if b.Min != nil && *e.Min < *b.Min {
			return loosen("min")
		}
		b.Min = e.Min
	}
	if e.Max != nil {
		if b.Max != nil && *e.Max > *b.Max {
			return loosen("max")
		}
		b.Max = e.Max
	}
	if e.Enum != nil {
		for _, v := range e.Enum {
			if b.Enum != nil && !slices.Contains(b.Enum, v) {
				return loosen("enum " + v)
			}
		}
		b.Enum = e.Enum
	}
	if e.Items != nil {
		if b.Items == nil {
			return fmt.Errorf("resource %s: field %s is no list", resource, path)
		}
		if err := tighten(resource, path+"[]", b.Items, e.Items); err != nil {
			return err
		}
	}
	if e.Fields != nil {
		if b.Type != TypeObject {
			return fmt.Errorf("resource %s: field %s is no object", resource, path)
		}
		return extendFields(resource, path+".", b.Fields, e.Fields)
	}
	return nil
}

// orDefault is a bound as declared, or the bound every field obeys unless
// it declares a tighter one.
func orDefault(bound *int, def int) int {
	if bound == nil {
		return def
	}
	return *bound
}
