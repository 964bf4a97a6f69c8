package resources

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// File field types: a field of type file holds the gateway's name of one
// uploaded file; files holds a list of them (API.md §12). Both are set only
// by uploads and deletions through the files routes.
const (
	TypeFile  FieldType = "file"
	TypeFiles FieldType = "files"
)

// IsFile reports whether a field holds uploaded files.
func (f *Field) IsFile() bool { return f.Type == TypeFile || f.Type == TypeFiles }

// Defaults and bounds of file fields.
const (
	defaultMaxFileSize  = 10 << 20
	maxFileSize         = 1 << 30
	defaultMaxFileItems = 10
	maxFileItems        = 100
	maxThumbSide        = 4096
)

// FileTypes are the media types a file field may allow, each with the
// extension its stored names take. The gateway decides a file's type from
// its content; only these are recognised.
func FileTypes() map[string]string {
	return map[string]string{
		"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp", "image/svg+xml": "svg",
		"application/pdf": "pdf", "text/plain": "txt", "application/zip": "zip",
		"video/mp4": "mp4", "audio/mpeg": "mp3",
	}
}

// RasterImage reports whether a media type is an image the gateway decodes
// (for its pixel bound and thumbnails) and serves inline.
func RasterImage(mediaType string) bool {
	switch mediaType {
	case "image/png", "image/jpeg", "image/gif", "image/webp":
		return true
	}
	return false
}

// fileNamePattern is the form of a stored file's name: 32 hex digits and
// the extension of its type.
var fileNamePattern = regexp.MustCompile(`^[0-9a-f]{32}\.[a-z0-9]{2,4}$`)

// ValidFileName reports whether s has the form of a stored file's name.
func ValidFileName(s string) bool { return fileNamePattern.MatchString(s) }

// Thumb is a thumbnail size: the image fits inside W×H (0 = any).
type Thumb struct{ W, H int }

// ParseThumb reads "WxH".
func ParseThumb(s string) (Thumb, bool) {
	ws, hs, ok := strings.Cut(s, "x")
	w, errW := strconv.Atoi(ws)
	h, errH := strconv.Atoi(hs)
	if !ok || errW != nil || errH != nil || w < 0 || h < 0 || w > maxThumbSide || h > maxThumbSide || w+h == 0 ||
		strconv.Itoa(w)+"x"+strconv.Itoa(h) != s {
		return Thumb{}, false
	}
	return Thumb{W: w, H: h}, true
}

// MaxBytes is the largest file the field takes.
func (f *Field) MaxBytes() int64 { return *f.MaxSize }

// FileLimit is how many files the field holds (1 for a file field).
func (f *Field) FileLimit() int {
	if f.Type == TypeFile {
		return 1
	}
	return *f.MaxItems
}

// AllowsType reports whether the field takes a file of this media type.
func (f *Field) AllowsType(mediaType string) bool { return slices.Contains(f.Types, mediaType) }

// HasThumb reports whether the field lists this thumbnail size.
func (f *Field) HasThumb(s string) bool { return slices.Contains(f.Thumbs, s) }

// FileNames reads the names a file field holds in a document.
func (f *Field) FileNames(doc Document) []string {
	switch v := doc[f.path].(type) {
	case string:
		if v != "" {
			return []string{v}
		}
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return v
	}
	return nil
}

// FileValue is what a file field stores for names.
func (f *Field) FileValue(names []string) any {
	if f.Type == TypeFile {
		if len(names) == 0 {
			return nil
		}
		return names[0]
	}
	out := make([]any, len(names))
	for i, n := range names {
		out[i] = n
	}
	return out
}

// FileFields lists the resource's file fields by name (found when the
// schema compiled).
func (s *Schema) FileFields() []*Field { return s.files }

// compileFile checks a file field's declaration and fills its defaults:
// top-level only, set by uploads (read-only to the operations), no rule of
// a text field, known types, thumbnails only of raster images.
func (f *Field) compileFile(resource string) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("resource %s: file field %s: %s", resource, f.path, fmt.Sprintf(format, args...))
	}
	if strings.Contains(f.path, ".") {
		return bad("files are top-level fields only")
	}
	if f.Required || f.Unique || f.Lowercase || f.Default != nil || f.Pattern != "" || f.Format != "" || f.Enum != nil ||
		f.MinLength != nil || f.MaxLength != nil || f.Min != nil || f.Max != nil || f.Items != nil || f.Fields != nil {
		return bad("only maxSize, maxItems, types, thumbs, private and indexed can be given")
	}
	if f.Type == TypeFile && f.MaxItems != nil {
		return bad("maxItems is for a field of type files")
	}
	if f.MaxSize == nil {
		n := int64(defaultMaxFileSize)
		f.MaxSize = &n
	}
	if *f.MaxSize < 1 || *f.MaxSize > maxFileSize {
		return bad("maxSize must be 1 to %d bytes", maxFileSize)
	}
	if f.Type == TypeFiles {
		if f.MaxItems == nil {
			n := defaultMaxFileItems
			f.MaxItems = &n
		}
		if *f.MaxItems < 1 || *f.MaxItems > maxFileItems {
			return bad("maxItems must be 1 to %d", maxFileItems)
		}
	}
	if len(f.Types) == 0 {
		f.Types = []string{"image/png", "image/jpeg", "image/gif", "image/webp"}
	}
	known := FileTypes()
	for _, t := range f.Types {
		if _, ok := known[t]; !ok {
			names := make([]string, 0, len(known))
			for k := range known {
				names = append(names, k)
			}
			slices.Sort(names)
			return bad("type %q is not one the gateway recognises (%s)", t, strings.Join(names, ", "))
		}
	}
	for _, th := range f.Thumbs {
		if _, ok := ParseThumb(th); !ok {
			return bad("thumb %q must be WxH, each 0 to %d, not both 0", th, maxThumbSide)
		}
	}
	if len(f.Thumbs) > 0 && !slices.ContainsFunc(f.Types, RasterImage) {
		return bad("thumbs need an image type (png, jpeg, gif or webp)")
	}
	f.ReadOnly = true
	return nil
}
