package files

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
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
	// Runs before the unlock: a request that waited finds the thumbnail
	// made; a later one makes a new lock and finds it too. The map keeps
	// only the thumbnails being made.
	defer s.thumbs.Delete(key)
	if d, err := open(); !errors.Is(err, ErrNotFound) {
		return d, err // made while this request waited
	}
	select {
	case s.decoding <- struct{}{}:
		defer func() { <-s.decoding }()
	case <-ctx.Done():
		return Download{}, ctx.Err()
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
// never enlarging it. A large image is first shrunk by averaging blocks of
// pixels (exact and fast) to about twice the size, then resampled with
// Catmull-Rom.
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
	if k := min(w/(2*tw), h/(2*th)); k >= 2 {
		img = boxShrink(img, k)
	}
	dst := image.NewRGBA(image.Rect(0, 0, tw, th))
	draw.CatmullRom.Scale(dst, dst.Bounds(), img, img.Bounds(), draw.Src, nil)
	return dst
}

// boxShrink divides an image's sides by k, each pixel the average of a
// k×k block.
func boxShrink(img image.Image, k int) *image.RGBA {
	if yc, ok := img.(*image.YCbCr); ok {
		return boxShrinkYCbCr(yc, k) // a JPEG: no full-size copy
	}
	b := img.Bounds()
	src, ok := img.(*image.RGBA)
	if !ok {
		src = image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
		draw.Draw(src, src.Bounds(), img, b.Min, draw.Src)
	}
	w, h := src.Rect.Dx()/k, src.Rect.Dy()/k
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	n := uint32(k * k)
	for y := range h {
		for x := range w {
			var r, g, bl, a uint32
			for dy := range k {
				row := src.Pix[(y*k+dy)*src.Stride+x*k*4:]
				for dx := range k {
					p := row[dx*4 : dx*4+4 : dx*4+4]
					r, g, bl, a = r+uint32(p[0]), g+uint32(p[1]), bl+uint32(p[2]), a+uint32(p[3])
				}
			}
			o := dst.Pix[y*dst.Stride+x*4 : y*dst.Stride+x*4+4 : y*dst.Stride+x*4+4]
			o[0], o[1], o[2], o[3] = uint8(r/n), uint8(g/n), uint8(bl/n), uint8(a/n)
		}
	}
	return dst
}

// boxShrinkYCbCr averages a JPEG's planes block by block and converts
// only the shrunk pixels to RGB.
func boxShrinkYCbCr(src *image.YCbCr, k int) *image.RGBA {
	b := src.Rect
	w, h := b.Dx()/k, b.Dy()/k
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	n := uint32(k * k)
	for y := range h {
		for x := range w {
			var ys, cbs, crs uint32
			for dy := range k {
				py := b.Min.Y + y*k + dy
				for dx := range k {
					px := b.Min.X + x*k + dx
					ys += uint32(src.Y[src.YOffset(px, py)])
					ci := src.COffset(px, py)
					cbs, crs = cbs+uint32(src.Cb[ci]), crs+uint32(src.Cr[ci])
				}
			}
			r, g, bl := color.YCbCrToRGB(uint8(ys/n), uint8(cbs/n), uint8(crs/n))
			o := dst.Pix[y*dst.Stride+x*4 : y*dst.Stride+x*4+4 : y*dst.Stride+x*4+4]
			o[0], o[1], o[2], o[3] = r, g, bl, 255
		}
	}
	return dst
}

// IsThumbnail reports whether a key is a thumbnail's (made again from its
// file whenever it is missing).
func IsThumbnail(key string) bool { return strings.Contains(key, "/thumbs/") }
