package gateway

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/tnt/gateway/resources"
)

// The API description is generated at start-up: the routes that are the
// same on every deployment come from the embedded openapi.json, and every
// resource of the registry — built-in or declared in a resources file —
// adds its schemas and paths, so a declared resource is described the
// moment it exists.

// schemaName names a resource's component schemas: `gym` is the stored
// document, `gym.create` the data of a create, and so on. Resource names are
// lower case, so they never meet the hand-written CamelCase components.
func schemaName(resource, part string) string {
	if part == "" {
		return resource
	}
	return resource + "." + part
}

func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

// errorRefs are the error answers every resource operation may give.
func errorRefs(codes ...string) map[string]any {
	out := map[string]any{}
	for _, c := range codes {
		name := "Error"
		switch c {
		case "429":
			name = "RateLimited"
		case "503":
			name = "Unavailable"
		}
		out[c] = map[string]any{"$ref": "#/components/responses/" + name}
	}
	return out
}

// buildOpenAPI merges the resources' schemas and paths into the base
// document and encodes it.
func buildOpenAPI(base []byte, schemas []*resources.Schema, maxPage int) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(base, &doc); err != nil {
		return nil, fmt.Errorf("openapi base: %w", err)
	}
	components, _ := doc["components"].(map[string]any)
	comps, _ := components["schemas"].(map[string]any)
	paths, _ := doc["paths"].(map[string]any)
	tags, _ := doc["tags"].([]any)
	if comps == nil || paths == nil {
		return nil, fmt.Errorf("openapi base: no components.schemas or paths")
	}
	for _, sc := range schemas {
		g := resourceDoc{sc: sc, maxPage: maxPage}
		for name, s := range g.schemas() {
			comps[name] = s
		}
		for path, item := range g.paths() {
			paths[path] = item
		}
		tags = append(tags, map[string]any{"name": sc.Name, "description": g.tagDescription()})
	}
	doc["tags"] = tags
	declareCommonAnswers(paths)
	return json.Marshal(doc)
}

// resourceDoc describes one resource.
type resourceDoc struct {
	sc      *resources.Schema
	maxPage int
}

// field modes: how a field shows in a schema.
type fieldMode int

const (
	modeStored fieldMode = iota // as answered: every field, read-only ones marked
	modeWrite                   // as sent in create or update: writable fields only
)

func (g resourceDoc) tagDescription() string {
	var b strings.Builder
	fmt.Fprintf(&b, "The `%s` resource: operations %s.", g.sc.Name, strings.Join(g.sc.Operations, ", "))
	if g.sc.Unique != "" {
		fmt.Fprintf(&b, " `%s` is unique.", g.sc.Unique)
	}
	if g.sc.Discoverable {
		b.WriteString(" Guests discover its public fields at `/api/discovery/" + g.sc.Name + "`.")
	}
	return b.String()
}

// schemas returns the resource's component schemas.
func (g resourceDoc) schemas() map[string]any {
	sc := g.sc
	out := map[string]any{
		schemaName(sc.Name, ""):          g.object(modeStored, nil, "A stored `"+sc.Name+"` document as the API answers it."),
		schemaName(sc.Name, "query"):     g.query(),
		schemaName(sc.Name, "operation"): g.operation(),
	}
	if sc.Allows(resources.OpCreate) {
		out[schemaName(sc.Name, "create")] = g.object(modeWrite, nil, "The data of a create: the new document.")
	}
	if sc.Allows(resources.OpUpdate) {
		id := map[string]any{"type": "string", "pattern": "^[0-9a-f]{24}$", "description": "The document to change."}
		out[schemaName(sc.Name, "update")] = g.object(modeWrite, id, "The data of an update: `_id` and the fields to set.")
	}
	if sc.Discoverable {
		out[schemaName(sc.Name, "public")] = g.public()
	}
	for _, s := range out {
		s.(map[string]any)["x-resource"] = sc.Name
	}
	return out
}

// object is the resource's document schema. In write mode only writable
// fields show, required ones are required unless id is set (an update:
// then `_id` is the only required key).
func (g resourceDoc) object(mode fieldMode, id map[string]any, description string) map[string]any {
	props := map[string]any{}
	var required []string
	for _, name := range g.sc.FieldNames() {
		f := g.sc.Fields[name]
		if mode == modeWrite && f.ReadOnly {
			continue
		}
		props[name] = fieldSchema(f, mode)
		if f.Required && (mode == modeStored || id == nil) {
			required = append(required, name)
		}
	}
	if mode == modeStored {
		for name, f := range g.sc.SystemFields() {
			props[name] = fieldSchema(f, mode)
		}
		required = append(required, resources.FieldID)
	}
	if id != nil {
		props[resources.FieldID] = id
		required = []string{resources.FieldID}
	}
	s := map[string]any{"type": "object", "description": description, "properties": props}
	if mode == modeWrite {
		s["additionalProperties"] = false
	}
	if len(required) > 0 {
		slices.Sort(required)
		s["required"] = required
	}
	return s
}

// public is the document a Guest discovers: public fields only.
func (g resourceDoc) public() map[string]any {
	props := map[string]any{resources.FieldID: map[string]any{"type": "string"}}
	for _, name := range g.sc.FieldNames() {
		if g.sc.IsPublic(name) {
			props[name] = fieldSchema(g.sc.Fields[name], modeStored)
		}
	}
	return map[string]any{"type": "object", "description": "A `" + g.sc.Name + "` document as a Guest discovers it.", "properties": props}
}

// fieldSchema is the JSON Schema of one field. The rules on values
// (lengths, patterns, bounds) describe what is written; an answer carries
// what is stored, which may predate a rule a resources file tightened
// later, so the stored form keeps the types and drops those rules.
func fieldSchema(f *resources.Field, mode fieldMode) map[string]any {
	s := fieldSchemaOf(f, mode)
	if mode == modeWrite && f.Type == resources.TypeString && f.EmptyMeansNone() && (f.MinLength != nil || len(f.Patterns()) > 0) {
		// An optional name may be "", meaning none (API.md §5).
		return map[string]any{"anyOf": []any{s, map[string]any{"const": ""}}}
	}
	return s
}

func fieldSchemaOf(f *resources.Field, mode fieldMode) map[string]any {
	s := map[string]any{}
	rules := mode == modeWrite
	switch f.Type {
	case resources.TypeString:
		s["type"] = "string"
		if f.MinLength != nil && rules {
			s["minLength"] = *f.MinLength
		}
		if f.MaxLength != nil && rules {
			s["maxLength"] = *f.MaxLength
		}
		if patterns := f.Patterns(); rules && len(patterns) == 1 {
			s["pattern"] = patterns[0]
		} else if rules && len(patterns) > 1 {
			all := make([]any, len(patterns))
			for i, p := range patterns {
				all[i] = map[string]any{"pattern": p}
			}
			s["allOf"] = all
		}
		if len(f.Enum) > 0 {
			s["enum"] = f.Enum
		}
		if f.Format != "" {
			s["format"] = f.Format
		}
		if f.Lowercase {
			s["description"] = "Stored and compared in lower case."
		}
	case resources.TypeInt, resources.TypeNumber:
		s["type"] = "number"
		if f.Type == resources.TypeInt {
			s["type"] = "integer"
		}
		if f.Min != nil && rules {
			s["minimum"] = *f.Min
		}
		if f.Max != nil && rules {
			s["maximum"] = *f.Max
		}
	case resources.TypeBool:
		s["type"] = "boolean"
	case resources.TypeFile:
		s["x-file"] = fileExtension(f)
		s["type"] = "string"
		s["pattern"] = "^[0-9a-f]{32}\\.[a-z0-9]{2,4}$"
		s["description"] = fileDescription(f)
	case resources.TypeFiles:
		s["x-file"] = fileExtension(f)
		s["type"] = "array"
		s["items"] = map[string]any{"type": "string", "pattern": "^[0-9a-f]{32}\\.[a-z0-9]{2,4}$"}
		s["maxItems"] = *f.MaxItems
		s["description"] = fileDescription(f)
	case resources.TypeObject:
		props := map[string]any{}
		for _, name := range f.FieldNames() {
			sub := f.Fields[name]
			if mode == modeWrite && sub.ReadOnly {
				continue
			}
			props[name] = fieldSchema(sub, mode)
		}
		s["type"] = "object"
		s["properties"] = props
		if mode == modeWrite {
			s["additionalProperties"] = false
		}
	case resources.TypeArray:
		s["type"] = "array"
		if f.Items != nil {
			s["items"] = fieldSchema(f.Items, mode)
		}
		if f.MaxItems != nil && rules {
			s["maxItems"] = *f.MaxItems
		}
		if mode == modeWrite && f.Items != nil && f.Items.Type == resources.TypeString {
			// A single string stands for a list of one ("" for none).
			return map[string]any{"anyOf": []any{s, map[string]any{"type": "string"}}}
		}
	}
	if f.Default != nil {
		s["default"] = f.Default
	}
	if mode == modeStored && f.ReadOnly {
		s["readOnly"] = true
	}
	if f.Private {
		s["x-private"] = true
	}
	return s
}

// queryPaths lists the dot paths a query may test: scalar fields at any
// depth and the server-managed ones.
func (g resourceDoc) queryPaths() map[string]*resources.Field {
	out := map[string]*resources.Field{}
	var walk func(names []string, fields map[string]*resources.Field)
	walk = func(names []string, fields map[string]*resources.Field) {
		for _, n := range names {
			f := fields[n]
			switch f.Type {
			case resources.TypeObject:
				walk(f.FieldNames(), f.Fields)
			case resources.TypeArray, resources.TypeFiles:
			default:
				out[f.Path()] = f
			}
		}
	}
	walk(g.sc.FieldNames(), g.sc.Fields)
	for name, f := range g.sc.SystemFields() {
		out[name] = f
	}
	return out
}

// query is the data of a query: a qualifier per field, and the reserved
// keys find, sort and after.
func (g resourceDoc) query() map[string]any {
	paths := g.queryPaths()
	props := map[string]any{
		"find":  map[string]any{"type": "integer", "minimum": 0, "maximum": g.maxPage, "description": "At most this many documents (0: a full page)."},
		"sort":  map[string]any{"type": "string", "enum": sortKeys(paths), "description": "A field to order by, `-` first for descending."},
		"after": map[string]any{"type": "string", "description": "The `next` cursor of the previous page."},
	}
	for path, f := range paths {
		leaf := fieldSchema(f, modeStored)
		delete(leaf, "readOnly")
		delete(leaf, "default")
		qualifiers := map[string]any{"equals": leaf}
		if f.Type == resources.TypeString {
			qualifiers["contains"] = map[string]any{"type": "string", "maxLength": 256, "description": "A case-insensitive literal substring."}
		}
		props[path] = map[string]any{"type": "object", "properties": qualifiers, "minProperties": 1, "maxProperties": 1, "additionalProperties": false}
	}
	return map[string]any{"type": "object", "additionalProperties": false, "properties": props,
		"description": "The data of a query: fields (dot paths for nested ones) to a qualifier; several AND together."}
}

func sortKeys(paths map[string]*resources.Field) []string {
	var out []string
	for p := range paths {
		out = append(out, p, "-"+p)
	}
	slices.Sort(out)
	return out
}

// operation is the envelope of the resource: one shape per operation it
// allows.
func (g resourceDoc) operation() map[string]any {
	var variants []any
	for _, op := range []string{resources.OpCreate, resources.OpQuery, resources.OpUpdate, resources.OpDelete} {
		if !g.sc.Allows(op) {
			continue
		}
		var data any
		switch op {
		case resources.OpDelete:
			data = map[string]any{"type": "object", "required": []string{resources.FieldID}, "additionalProperties": false,
				"properties": map[string]any{resources.FieldID: map[string]any{"type": "string", "pattern": "^[0-9a-f]{24}$"}}}
		default:
			data = ref(schemaName(g.sc.Name, op))
		}
		variants = append(variants, map[string]any{
			"type": "object", "required": []string{"operation", "data"}, "additionalProperties": false, "title": op,
			"properties": map[string]any{"operation": map[string]any{"type": "string", "const": op}, "data": data},
		})
	}
	return map[string]any{"oneOf": variants, "description": "An operation envelope of `" + g.sc.Name + "`."}
}

// paths returns the resource's own paths: the envelope, the list, one
// document and, when discoverable, the Guests' view.
func (g resourceDoc) paths() map[string]any {
	name := g.sc.Name
	camel := camelCase(name)
	security := []any{map[string]any{"bearer": []any{}}, map[string]any{"adminScheme": []any{}}}
	doc := envelopeOf(ref(schemaName(name, "")))
	list := envelopeOf(map[string]any{"type": "array", "items": ref(schemaName(name, ""))})
	out := map[string]any{}
	res200 := map[string]any{}
	ops := map[string]any{}
	for k, v := range errorRefs("400", "401", "403", "404", "409", "413", "422", "429", "503") {
		res200[k] = v
	}
	res200["200"] = map[string]any{"description": "The queried documents (a list), the updated document, or the `_id` deleted",
		"content": jsonContent(envelopeOf(map[string]any{"anyOf": []any{ref(schemaName(name, "")), map[string]any{"type": "array", "items": ref(schemaName(name, ""))}, deletedSchema()}}))}
	if g.sc.Allows(resources.OpCreate) {
		res200["201"] = map[string]any{"description": "The created document", "content": jsonContent(doc)}
	}
	ops["post"] = map[string]any{
		"operationId": "operate" + camel, "tags": []string{name}, "summary": "Run an operation envelope on " + name,
		"security":    security,
		"requestBody": map[string]any{"required": true, "content": jsonContent(ref(schemaName(name, "operation")))},
		"responses":   res200,
	}
	if g.sc.Allows(resources.OpQuery) {
		params := []any{
			queryParam("find", "At most this many documents", map[string]any{"type": "integer", "minimum": 0, "maximum": g.maxPage}),
			queryParam("sort", "A field to order by, `-` first for descending", map[string]any{"type": "string"}),
			queryParam("after", "The `next` cursor of the previous page", map[string]any{"type": "string"}),
		}
		qp := g.queryPaths()
		keys := make([]string, 0, len(qp))
		for p := range qp {
			keys = append(keys, p)
		}
		slices.Sort(keys)
		for _, p := range keys {
			params = append(params, queryParam(p, "Equal to (typed as the field)", map[string]any{"type": "string"}))
		}
		listRes := errorRefs("400", "401", "403", "404", "429", "503")
		listRes["200"] = map[string]any{"description": "A page of documents; `next` when more remain", "content": jsonContent(list)}
		ops["get"] = map[string]any{"operationId": "list" + camel, "tags": []string{name}, "summary": "List " + name + " documents",
			"security": security, "parameters": params, "responses": listRes}
		getRes := errorRefs("400", "401", "403", "404", "429", "503")
		getRes["200"] = map[string]any{"description": "The document", "content": jsonContent(doc)}
		out["/api/"+name+"/{id}"] = map[string]any{"get": map[string]any{
			"operationId": "get" + camel, "tags": []string{name}, "summary": "One " + name + " document",
			"security": security, "responses": getRes,
			"parameters": []any{map[string]any{"name": "id", "in": "path", "required": true, "schema": map[string]any{"type": "string", "pattern": "^[0-9a-f]{24}$"}}},
		}}
	}
	out["/api/"+name] = ops
	if g.sc.Discoverable {
		res := errorRefs("400", "404", "429", "503")
		res["200"] = map[string]any{"description": "Public fields of the documents", "content": jsonContent(envelopeOf(map[string]any{"type": "array", "items": ref(schemaName(name, "public"))}))}
		out["/api/discovery/"+name] = map[string]any{"get": map[string]any{
			"operationId": "discover" + camel, "tags": []string{name}, "summary": "Discover " + name + " documents without credentials",
			"security": []any{}, "responses": res,
		}}
	}
	return out
}

// deletedSchema is what a delete envelope answers: the deleted _id.
func deletedSchema() map[string]any {
	return map[string]any{"type": "object", "required": []string{"_id"}, "additionalProperties": false,
		"properties": map[string]any{"_id": map[string]any{"type": "string", "pattern": "^[0-9a-f]{24}$"}}}
}

func queryParam(name, description string, schema map[string]any) map[string]any {
	return map[string]any{"name": name, "in": "query", "required": false, "description": description, "schema": schema}
}

func jsonContent(schema any) map[string]any {
	return map[string]any{"application/json": map[string]any{"schema": schema}}
}

// envelopeOf is the success envelope around data.
func envelopeOf(data any) map[string]any {
	return map[string]any{"allOf": []any{ref("Envelope"), map[string]any{"type": "object", "properties": map[string]any{"data": data, "next": map[string]any{"type": "string"}}}}}
}

// camelCase turns transaction_record into TransactionRecord.
func camelCase(name string) string {
	var b strings.Builder
	for part := range strings.SplitSeq(name, "_") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// fileDescription tells what a file field takes and where its files are.
func fileDescription(f *resources.Field) string {
	d := fmt.Sprintf("Set by uploads (POST /api/{resource}/{id}/files/%s): the gateway's name of each file, downloaded at /api/files/{resource}/{id}/{name}. Types: %s; at most %d bytes each.",
		f.Path(), strings.Join(f.Types, ", "), f.MaxBytes())
	if len(f.Thumbs) > 0 {
		d += " Thumbnails (?thumb=): " + strings.Join(f.Thumbs, ", ") + "."
	}
	return d
}

// fileExtension tells a client (the console) what a file field takes.
func fileExtension(f *resources.Field) map[string]any {
	return map[string]any{"types": f.Types, "maxSize": f.MaxBytes(), "maxItems": f.FileLimit(), "thumbs": f.Thumbs}
}
