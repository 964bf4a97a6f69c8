package files

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"image"
	_ "image/gif" // decoders for the pixel bound and thumbnails
	_ "image/jpeg"
	_ "image/png"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	_ "golang.org/x/image/webp"

	"github.com/tnt/gateway/resources"
)

// Docs checks rights on documents and changes their file fields
// (*resources.Service).
type Docs interface {
	FilesOf(ctx context.Context, p resources.Principal, resource, id, field string) (resources.FileTarget, error)
	ChangeFiles(ctx context.Context, p resources.Principal, t resources.FileTarget, change func(ctx context.Context, tx resources.Tx, names []string) ([]string, error)) (resources.Document, error)
	FileVisible(ctx context.Context, p resources.Principal, resource, id, name string) (resources.FileTarget, error)
}

// Observer counts uploads and what they were refused for (the metrics).
type Observer interface {
	UploadRefused(reason string)
	Uploaded(bytes int64)
	StoredBytes(total int64)
}

// Reasons an upload is refused, as the metrics label them.
const (
	RefusedSize   = "too_large"
	RefusedType   = "type"
	RefusedPixels = "pixels"
	RefusedItems  = "items"
	RefusedImage  = "unreadable_image"
)

// Config builds a Service.
type Config struct {
	Blobs Blobs
	Docs  Docs
	// MaxImagePixels bounds an image's width × height (40 million when 0).
	MaxImagePixels int64
	// QuotaPerUser bounds the bytes of the files one user uploaded that
	// are stored (0: no bound).
	QuotaPerUser int64
	Observe      Observer
	Log          *slog.Logger
}

// Service uploads, serves and removes the files of documents.
type Service struct {
	cfg    Config
	thumbs sync.Map // thumbnail key → *sync.Mutex: each is made once
	// decoding bounds the images decoded at once (one per core): an image
	// of the pixel bound takes some 60 MB while it is.
	decoding chan struct{}
}

// New builds the service.
func New(cfg Config) *Service {
	if cfg.MaxImagePixels <= 0 {
		cfg.MaxImagePixels = 40_000_000
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Observe == nil {
		cfg.Observe = nobody{}
	}
	return &Service{cfg: cfg, decoding: make(chan struct{}, max(1, runtime.NumCPU()))}
}

type nobody struct{}

func (nobody) UploadRefused(string) {}
func (nobody) Uploaded(int64)       {}
func (nobody) StoredBytes(int64)    {}

// Parts yields the files of an upload one at a time; io.EOF ends them.
type Parts interface {
	Next() (io.Reader, error)
}

// refused is an upload refused for a reason the metrics count.
func (s *Service) refused(reason string, err error) error {
	s.cfg.Observe.UploadRefused(reason)
	return err
}

// Upload stores the files of parts in a document's file field: each is
// streamed to storage under a name of the gateway's, its type decided from
// its first bytes, its size bounded as it flows, an image's pixels bounded
// from its header. Then the field is changed in one transaction. A file
// field's old file, replaced, is removed after the change; what an upload
// stored before it failed is removed at once (and a crash's leftovers by
// the sweep).
func (s *Service) Upload(ctx context.Context, p resources.Principal, resource, id, field string, parts Parts) (resources.Document, error) {
	t, err := s.cfg.Docs.FilesOf(ctx, p, resource, id, field)
	if err != nil {
		return nil, err
	}
	var names []string
	var added []stored
	cleanup := func() {
		for _, name := range names {
			_ = s.cfg.Blobs.Delete(context.WithoutCancel(ctx), t.Key(name))
		}
	}
	for {
		part, err := parts.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			cleanup()
			return nil, err
		}
		if len(names) == t.Field.FileLimit() {
			cleanup()
			return nil, s.refused(RefusedItems, resources.Errorf(resources.EVALUE, "%s takes at most %d file(s)", field, t.Field.FileLimit()))
		}
		name, n, err := s.store(ctx, t, part)
		if err != nil {
			cleanup()
			return nil, err
		}
		names = append(names, name)
		added = append(added, stored{key: t.Key(name), size: n})
	}
	if len(names) == 0 {
		return nil, resources.Errorf(resources.EINVALIDREQUEST, "the upload holds no file part")
	}
	var replaced []string
	doc, err := s.cfg.Docs.ChangeFiles(ctx, p, t, func(ctx context.Context, tx resources.Tx, held []string) ([]string, error) {
		next := append(held, names...)
		replaced = nil
		if t.Field.Type == resources.TypeFile {
			replaced, next = held, names
		} else if len(next) > t.Field.FileLimit() {
			return nil, s.refused(RefusedItems, resources.Errorf(resources.EVALUE, "%s takes at most %d files; it holds %d", field, t.Field.FileLimit(), len(held)))
		}
		gone := make([]string, len(replaced))
		for i, n := range replaced {
			gone[i] = t.Key(n)
		}
		return next, s.account(ctx, tx, p.UserID, added, gone)
	})
	if err != nil {
		cleanup()
		return nil, err
	}
	for _, f := range added {
		s.cfg.Observe.Uploaded(f.size)
	}
	for _, name := range replaced {
		s.remove(ctx, t, name)
	}
	return doc, nil
}

// sniffBytes is how much of a file is read before it is stored: enough for
// its type and an image's header (a JPEG's size may follow large metadata).
const sniffBytes = 256 << 10

// store streams one file to storage and returns its name and size.
func (s *Service) store(ctx context.Context, t resources.FileTarget, part io.Reader) (string, int64, error) {
	br := bufio.NewReaderSize(part, sniffBytes)
	head, err := br.Peek(sniffBytes)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return "", 0, err
	}
	if int64(len(head)) > t.Field.MaxBytes() {
		return "", 0, s.refused(RefusedSize, tooLarge(t))
	}
	mediaType := Sniff(head)
	if !t.Field.AllowsType(mediaType) {
		return "", 0, s.refused(RefusedType, resources.Errorf(resources.EVALUE, "%s takes %s; this file is %s",
			t.Field.Path(), strings.Join(t.Field.Types, ", "), mediaType))
	}
	if resources.RasterImage(mediaType) {
		if err := s.checkPixels(head); err != nil {
			return "", 0, err
		}
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	name := hex.EncodeToString(b[:]) + "." + resources.FileTypes()[mediaType]
	limited := &limitReader{r: br, left: t.Field.MaxBytes()}
	n, err := s.cfg.Blobs.Put(ctx, t.Key(name), limited, mediaType)
	if limited.over {
		return "", 0, s.refused(RefusedSize, tooLarge(t))
	}
	if err != nil {
		return "", 0, err
	}
	return name, n, nil
}

func tooLarge(t resources.FileTarget) error {
	return resources.Errorf(resources.ETOOLARGE, "%s takes files of at most %d bytes", t.Field.Path(), t.Field.MaxBytes())
}

// checkPixels reads an image's size from its header, before any decoding.
func (s *Service) checkPixels(head []byte) error {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(head))
	if err != nil {
		return s.refused(RefusedImage, resources.Errorf(resources.EVALUE, "the image cannot be read"))
	}
	if int64(cfg.Width)*int64(cfg.Height) > s.cfg.MaxImagePixels {
		return s.refused(RefusedPixels, resources.Errorf(resources.EVALUE, "the image is %d×%d pixels; at most %d pixels are taken",
			cfg.Width, cfg.Height, s.cfg.MaxImagePixels))
	}
	return nil
}

// limitReader fails once more than left bytes flow.
type limitReader struct {
	r    io.Reader
	left int64
	over bool
}

// errTooLarge stops a put whose file is over its field's bound.
var errTooLarge = errors.New("files: over the size bound")

func (l *limitReader) Read(p []byte) (int, error) {
	if l.over {
		return 0, errTooLarge
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		l.over = true
		return 0, errTooLarge
	}
	return n, err
}

// Remove takes one file out of a document's field and deletes it.
func (s *Service) Remove(ctx context.Context, p resources.Principal, resource, id, field, name string) (resources.Document, error) {
	t, err := s.cfg.Docs.FilesOf(ctx, p, resource, id, field)
	if err != nil {
		return nil, err
	}
	doc, err := s.cfg.Docs.ChangeFiles(ctx, p, t, func(ctx context.Context, tx resources.Tx, names []string) ([]string, error) {
		i := slices.Index(names, name)
		if i < 0 {
			return nil, resources.Errorf(resources.ENOTFOUND, "%s holds no file %s", field, resources.QuoteName(resources.ClipText(name)))
		}
		return append(names[:i:i], names[i+1:]...), forgetRecords(ctx, tx, []string{t.Key(name)})
	})
	if err != nil {
		return nil, err
	}
	s.remove(ctx, t, name)
	return doc, nil
}

// remove deletes a file and its thumbnails; what fails is left to the
// sweep.
func (s *Service) remove(ctx context.Context, t resources.FileTarget, name string) {
	ctx = context.WithoutCancel(ctx)
	if err := s.cfg.Blobs.Delete(ctx, t.Key(name)); err != nil {
		s.cfg.Log.Warn("a removed file stays until the sweep", slog.String("key", t.Key(name)), slog.String("error", err.Error()))
	}
	prefix := t.Schema.Collection + "/" + t.ID + "/thumbs/" + name + "-"
	_ = s.cfg.Blobs.List(ctx, prefix, func(key string, _ int64, _ time.Time) error { return s.cfg.Blobs.Delete(ctx, key) })
}

// errNoFile is the one answer for a file that is not there or not the
// caller's to read.
func errNoFile() error { return resources.Errorf(resources.ENOTFOUND, "the file cannot be found") }

// Download is a file to serve.
type Download struct {
	Blob Blob
	// Type is the media type the gateway found.
	Type string
	// Name is the stored name (a thumbnail's has its size).
	Name string
	// Inline is true for raster images; anything else goes as an
	// attachment.
	Inline bool
}

// Open opens a file for whoever may read the field of the document that
// holds it, or one of its listed thumbnails (made once).
func (s *Service) Open(ctx context.Context, p resources.Principal, resource, id, name, thumb string) (Download, error) {
	t, err := s.cfg.Docs.FileVisible(ctx, p, resource, id, name)
	if err != nil {
		return Download{}, err
	}
	mediaType := typeOf(name)
	if thumb == "" {
		blob, err := s.cfg.Blobs.Open(ctx, t.Key(name))
		if errors.Is(err, ErrNotFound) {
			return Download{}, errNoFile()
		}
		if err != nil {
			return Download{}, err
		}
		return Download{Blob: blob, Type: mediaType, Name: name, Inline: resources.RasterImage(mediaType)}, nil
	}
	size, ok := resources.ParseThumb(thumb)
	if !ok || !t.Field.HasThumb(thumb) || !resources.RasterImage(mediaType) {
		return Download{}, resources.Errorf(resources.ENOTFOUND, "%s has no thumbnail %s", t.Field.Path(), resources.QuoteName(resources.ClipText(thumb)))
	}
	return s.thumbnail(ctx, t, name, mediaType, size, thumb)
}

// typeOf is a stored name's media type, from the extension the gateway
// gave it.
func typeOf(name string) string {
	_, ext, _ := strings.Cut(name, ".")
	for t, e := range resources.FileTypes() {
		if e == ext {
			return t
		}
	}
	return "application/octet-stream"
}
