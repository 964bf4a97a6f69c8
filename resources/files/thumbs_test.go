package files

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/tnt/gateway/resources"
)

// TestScaleKeepsColoursAndProportions: a JPEG (decoded to YCbCr, shrunk
// plane by plane) and a PNG (RGBA) come out at the fitted size with their
// colours.
func TestScaleKeepsColoursAndProportions(t *testing.T) {
	want := color.RGBA{200, 30, 40, 255}
	src := image.NewRGBA(image.Rect(0, 0, 1200, 800))
	for i := 0; i < len(src.Pix); i += 4 {
		src.Pix[i], src.Pix[i+1], src.Pix[i+2], src.Pix[i+3] = want.R, want.G, want.B, want.A
	}
	var jb, pb bytes.Buffer
	_ = jpeg.Encode(&jb, src, &jpeg.Options{Quality: 95})
	_ = png.Encode(&pb, src)
	for name, raw := range map[string][]byte{"jpeg": jb.Bytes(), "png": pb.Bytes()} {
		img, _, err := image.Decode(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			size resources.Thumb
			w, h int
		}{{resources.Thumb{W: 100, H: 100}, 100, 67}, {resources.Thumb{W: 480}, 480, 320}, {resources.Thumb{H: 50}, 75, 50}, {resources.Thumb{W: 4000, H: 4000}, 1200, 800}} {
			out := scale(img, c.size)
			if out.Bounds().Dx() != c.w || out.Bounds().Dy() != c.h {
				t.Errorf("%s into %v: %v", name, c.size, out.Bounds())
			}
			r, g, b, _ := out.At(out.Bounds().Dx()/2, out.Bounds().Dy()/2).RGBA()
			if diff(r>>8, want.R) > 6 || diff(g>>8, want.G) > 6 || diff(b>>8, want.B) > 6 {
				t.Errorf("%s into %v: colour %d,%d,%d, want %v", name, c.size, r>>8, g>>8, b>>8, want)
			}
		}
	}
}

func diff(a uint32, b uint8) uint32 {
	if a > uint32(b) {
		return a - uint32(b)
	}
	return uint32(b) - a
}

func TestSniff(t *testing.T) {
	for head, want := range map[string]string{
		"\x89PNG\r\n\x1a\nrest":        "image/png",
		"\xff\xd8\xff\xe0":             "image/jpeg",
		"GIF89a":                       "image/gif",
		"RIFF\x00\x00\x00\x00WEBPVP8 ": "image/webp",
		"%PDF-1.7":                     "application/pdf",
		"PK\x03\x04":                   "application/zip",
		"\x00\x00\x00\x18ftypmp42":     "video/mp4",
		"ID3\x04":                      "audio/mpeg",
		"plain words\nand more":        "text/plain",
		"<?xml version=\"1.0\"?><svg xmlns=\"x\">": "image/svg+xml",
		"<svg><script>alert(1)</script></svg>":     "text/html",
		"<?php echo 1; ?>":                         "text/html",
		"<!DOCTYPE html><p>x":                      "text/html",
		"  <div>markup</div>":                      "text/html",
		"binary\x00\x01\x02":                       "application/octet-stream",
		"\xef\xbb\xbfa text with a BOM":            "text/plain",
		"caf\xc3":                                  "text/plain", // cut inside a character
	} {
		if got := Sniff([]byte(head)); got != want {
			t.Errorf("%q: %s, want %s", head, got, want)
		}
	}
}
