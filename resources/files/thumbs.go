package files

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"strings"
	"sync"

	"golang.org/x/image/draw"

	"github.com/tnt/gateway/resources"
)

// thumbnail opens a thumbnail of an image, making it the first time it is
// asked for: the image is decoded (its pixels bounded again first), scaled
// to fit inside the size and kept beside it, as JPEG for a JPEG and PNG
// otherwise. Concurrent first requests make it once.
func (s *Service) thumbnail(ctx context.Context, t resources.FileTarget, name, mediaType string, size resources.Thumb, thumb string) (Download, error) {
	ext, outType := "png", "image/png"
	if mediaType == "image/jpeg" {
		ext, outType = "jpg", "image/jpeg"
	}
	thumbName := name + "-" + thumb + "." + ext
	key := t.Schema.Collection + "/" + t.ID + "/thumbs/" + thumbName
	open := func() (Download, error) {
		blob, err := s.cfg.Blobs.Open(ctx, key)
		if err != nil {
			return Download{}, err
		}
		return Download{Blob: blob, Type: outType, Name: thumbName, Inline: true}, nil
	}
	if d, err := open(); !errors.Is(err, ErrNotFound) {
		return d, err
	}
	mu, _ := s.thumbs.LoadOrStore(key, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	if d, err := open(); !errors.Is(err, ErrNotFound) {
		return d, err // made while this request waited
	}
	src, err := s.cfg.Blobs.Open(ctx, t.Key(name))
	if errors.Is(err, ErrNotFound) {
		return Download{}, errNoFile()
	}
	if err != nil {
		return Download{}, err
	}
	img, err := s.decode(src)
	_ = src.Close()
	if err != nil {
		return Download{}, err
	}
	var out bytes.Buffer
	scaled := scale(img, size)
	if ext == "jpg" {
		err = jpeg.Encode(&out, scaled, &jpeg.Options{Quality: 85})
	} else {
		err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&out, scaled)
	}
	if err != nil {
		return Download{}, err
	}
	if _, err := s.cfg.Blobs.Put(ctx, key, &out, outType); err != nil {
		return Download{}, err
	}
	return open()
}

// decode reads an image whose header passes the pixel bound.
func (s *Service) decode(src io.ReadSeeker) (image.Image, error) {
	head := make([]byte, sniffBytes)
	n, _ := io.ReadFull(src, head)
	if err := s.checkPixels(head[:n]); err != nil {
		return nil, err
	}
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	img, _, err := image.Decode(src)
	if err != nil {
		return nil, resources.Errorf(resources.EVALUE, "the image cannot be read")
	}
	return img, nil
}

// scale fits an image inside a size (0: any), keeping its proportions and
// never enlarging it.
func scale(img image.Image, size resources.Thumb) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	ratio := 1.0
	if size.W > 0 && w > size.W {
		ratio = float64(size.W) / float64(w)
	}
	if size.H > 0 && float64(h)*ratio > float64(size.H) {
		ratio = float64(size.H) / float64(h)
	}
	tw, th := max(1, int(float64(w)*ratio+0.5)), max(1, int(float64(h)*ratio+0.5))
	dst := image.NewRGBA(image.Rect(0, 0, tw, th))
	draw.CatmullRom.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	return dst
}

// isThumb reports whether a key is a thumbnail's.
func isThumb(key string) bool { return strings.Contains(key, "/thumbs/") }
