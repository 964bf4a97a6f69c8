package resources

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Document is a stored object: field names to values of the JSON kinds, with
// numbers as int64 or float64 once validated.
type Document = map[string]any

// check validates one client value against the field and returns it in the
// form the stores keep (int64, float64, string, bool, Document, []any).
func (f *Field) check(v any) (any, error) {
	return f.checkIn("", v)
}

func (f *Field) checkIn(resource string, v any) (any, error) {
	switch f.Type {
	case TypeString:
		s, ok := v.(string)
		if !ok {
			return nil, Errorf(EVALUE, "%s must be a string", f.path)
		}
		if f.Lowercase {
			s = FoldText(s)
		}
		return s, f.checkString(s)
	case TypeInt:
		n, ok := AsInt(v)
		if !ok {
			return nil, Errorf(EVALUE, "%s must be an integer", f.path)
		}
		return n, f.checkRange(float64(n))
	case TypeNumber:
		x, ok := toFloat(v)
		if !ok {
			return nil, Errorf(EVALUE, "%s must be a finite number", f.path)
		}
		return x, f.checkRange(x)
	case TypeBool:
		b, ok := v.(bool)
		if !ok {
			return nil, Errorf(EVALUE, "%s must be true or false", f.path)
		}
		return b, nil
	case TypeObject:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, Errorf(EVALUE, "%s must be an object", f.path)
		}
		return checkObject(resource, f.names, f.Fields, m, false)
	case TypeArray:
		arr, ok := v.([]any)
		if str, isText := v.(string); isText && f.Items.Type == TypeString {
			// A list of strings also takes one string, as the original
			// clients send it: "" is the empty list, "u" is ["u"].
			arr, ok = []any{}, true
			if str != "" {
				arr = []any{str}
			}
		}
		if !ok {
			return nil, Errorf(EVALUE, "%s must be a list", f.path)
		}
		if len(arr) > *f.MaxItems {
			return nil, Errorf(EVALUE, "%s holds more than %d items", f.path, *f.MaxItems)
		}
		out := make([]any, len(arr))
		for i, item := range arr {
			if item == nil {
				return nil, Errorf(EVALUE, "%s cannot hold null", f.path)
			}
			c, err := f.Items.checkIn(resource, item)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	}
	return nil, Errorf(EVALUE, "%s has an unsupported type", f.path)
}

func (f *Field) checkString(s string) error {
	if s == "" && f.EmptyMeansNone() {
		return nil
	}
	if strings.ContainsRune(s, 0) {
		return Errorf(EVALUE, "%s cannot contain NUL characters", f.path)
	}
	n := utf8.RuneCountInString(s)
	if f.MaxLength != nil && n > *f.MaxLength {
		return Errorf(EVALUE, "%s is longer than %d characters", f.path, *f.MaxLength)
	}
	if f.MinLength != nil && n < *f.MinLength {
		return Errorf(EVALUE, "%s is shorter than %d characters", f.path, *f.MinLength)
	}
	if len(f.Enum) > 0 {
		ok := false
		for _, e := range f.Enum {
			ok = ok || e == s
		}
		if !ok {
			return Errorf(EVALUE, "%s must be one of %s", f.path, strings.Join(f.Enum, ", "))
		}
	}
	if f.re != nil && !f.re.MatchString(s) {
		return Errorf(EVALUE, "%s does not match the pattern %s", f.path, f.Pattern)
	}
	for i, re := range f.alsoRe {
		if !re.MatchString(s) {
			return Errorf(EVALUE, "%s does not match the pattern %s", f.path, f.also[i])
		}
	}
	if f.Format == "date" {
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			return Errorf(EVALUE, "%s must be a date as YYYY-MM-DD", f.path)
		}
	}
	return nil
}

// EmptyMeansNone reports whether "" is accepted as "none" whatever the
// field's pattern or least length (API.md §5: an optional name may be ""):
// for optional text that is neither unique (two accounts would share "")
// nor one of a list of values.
func (f *Field) EmptyMeansNone() bool {
	return !f.Required && !f.Unique && len(f.Enum) == 0
}

func (f *Field) checkRange(x float64) error {
	if f.Min != nil && x < *f.Min {
		return Errorf(EVALUE, "%s must be at least %s", f.path, strconv.FormatFloat(*f.Min, 'f', -1, 64))
	}
	if f.Max != nil && x > *f.Max {
		return Errorf(EVALUE, "%s must be at most %s", f.path, strconv.FormatFloat(*f.Max, 'f', -1, 64))
	}
	return nil
}

// checkObject validates a nested object: every key declared, every value
// valid, every required key present (nested objects are written whole).
func checkObject(resource string, names []string, fields map[string]*Field, m map[string]any, partial bool) (Document, error) {
	return checkObjectGiven(resource, names, fields, m, partial, nil)
}

// checkObjectGiven is checkObject where the fields named in given are
// supplied apart from m: they count as present and m may not hold them.
func checkObjectGiven(resource string, names []string, fields map[string]*Field, m map[string]any, partial bool, given []string) (Document, error) {
	out := make(Document, len(m))
	var errs []error
	refused := map[string]bool{} // fields named in errs already
	for _, k := range sortedKeys(m) {
		f := fields[k]
		if f == nil {
			errs = append(errs, unknownField(resource, k, fields, names))
			continue
		}
		if m[k] == nil {
			if f.Required {
				errs, refused[k] = append(errs, Errorf(EVALUE, "%s cannot be null", f.path)), true
			}
			continue
		}
		v, err := f.checkIn(resource, m[k])
		if err != nil {
			errs, refused[k] = append(errs, err), true
			continue
		}
		out[k] = v
	}
	if !partial {
		for _, n := range names {
			f := fields[n]
			if _, ok := out[n]; !ok && !slices.Contains(given, n) && !refused[n] {
				if f.Required && f.Default == nil {
					errs = append(errs, Errorf(ECREATION, "%s is required for creating %s", f.path, resource))
				}
				if f.Default != nil {
					out[n] = f.Default
				}
			}
		}
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return out, nil
}

// joinErrors is one answer naming every bad field: the code of the first
// (each message as it would be alone, so a single mistake reads as
// before), the messages joined by "; ".
func joinErrors(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	msgs := make([]string, len(errs))
	for i, err := range errs {
		msgs[i] = ErrorMessage(err)
	}
	return &Error{Code: ErrorCode(errs[0]), Message: strings.Join(msgs, "; ")}
}

func unknownField(resource, key string, fields map[string]*Field, names []string) error {
	prefix := ""
	if len(names) > 0 {
		if p := fields[names[0]].path; strings.Contains(p, ".") {
			prefix = p[:strings.LastIndex(p, ".")+1]
		}
	}
	return Errorf(EPARAMETER, "%s cannot be found in %s", QuoteName(prefix+key), resource)
}

// ValidateCreate checks the data of a create envelope and returns the
// document to store (defaults applied). Server-managed and read-only fields
// are refused, not ignored, so a client learns its write was not taken.
func (s *Schema) ValidateCreate(data map[string]any) (Document, error) {
	if err := s.refuseManaged(data); err != nil {
		return nil, err
	}
	return checkObject(s.Name, s.names, s.Fields, data, false)
}

// ValidateCreateGiven checks the fields of a new document whose fields named
// in given (read-only ones included) the gateway supplies itself, as a
// registration supplies the username: data may not hold them, and they
// count as present. Every other rule is ValidateCreate's.
func (s *Schema) ValidateCreateGiven(data map[string]any, given ...string) (Document, error) {
	if err := s.refuseManaged(data); err != nil {
		return nil, err
	}
	return checkObjectGiven(s.Name, s.names, s.Fields, data, false, given)
}

// Update is a validated partial update: fields to set and fields to remove.
type Update struct {
	ID    string
	Set   Document
	Unset []string
}

// ValidateUpdate checks the data of an update envelope. `_id` names the
// document; a null value removes an optional field.
func (s *Schema) ValidateUpdate(data map[string]any) (Update, error) {
	raw, ok := data[FieldID]
	if !ok || raw == nil {
		return Update{}, Errorf(EINVALIDREQUEST, "_id is required for the request")
	}
	id, err := checkID(raw)
	if err != nil {
		return Update{}, err
	}
	rest := make(map[string]any, len(data))
	for k, v := range data {
		if k != FieldID {
			rest[k] = v
		}
	}
	if len(rest) == 0 {
		return Update{}, Errorf(EINVALIDREQUEST, "a field to change is required for the request")
	}
	if err := s.refuseManaged(rest); err != nil {
		return Update{}, err
	}
	set, err := checkObject(s.Name, s.names, s.Fields, rest, true)
	if err != nil {
		return Update{}, err
	}
	u := Update{ID: id, Set: set}
	for _, k := range sortedKeys(rest) {
		if rest[k] == nil {
			u.Unset = append(u.Unset, k)
		}
	}
	return u, nil
}

func (s *Schema) refuseManaged(data map[string]any) error {
	for _, k := range sortedKeys(data) {
		if _, managed := s.system[k]; managed || k == FieldOwner {
			return Errorf(EPARAMETER, "%s cannot be set in %s", k, s.Name)
		}
		if f := s.Fields[k]; f != nil && f.IsFile() {
			return Errorf(EPARAMETER, "%s holds files: upload them with POST /api/%s/{id}/files/%s", k, s.Name, k)
		}
		if f := s.Fields[k]; f != nil && f.ReadOnly {
			return Errorf(EPARAMETER, "%s cannot be set in %s", k, s.Name)
		}
	}
	return nil
}

// checkID validates a client-supplied document id.
func checkID(v any) (string, error) {
	s, ok := v.(string)
	if !ok || !ValidID(s) {
		return "", Errorf(EVALUE, "_id must be a string of 24 hexadecimal characters")
	}
	return s, nil
}
