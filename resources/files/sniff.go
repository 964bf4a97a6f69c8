package files

import (
	"bytes"
	"unicode/utf8"
)

// Sniff decides a file's media type from its first bytes, never from a
// name or a client's word. Markup a browser would run (HTML, PHP) gets a
// type no field allows; anything unrecognised is application/octet-stream,
// which no field allows either.
func Sniff(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png"
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		return "image/jpeg"
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return "image/gif"
	case len(head) >= 12 && bytes.Equal(head[:4], []byte("RIFF")) && bytes.Equal(head[8:12], []byte("WEBP")):
		return "image/webp"
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return "application/pdf"
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return "application/zip"
	case len(head) >= 12 && bytes.Equal(head[4:8], []byte("ftyp")):
		return "video/mp4"
	case bytes.HasPrefix(head, []byte("ID3")), len(head) >= 2 && head[0] == 0xFF && head[1]&0xE0 == 0xE0:
		return "audio/mpeg"
	}
	return sniffText(head)
}

// sniffText tells text from markup: SVG, HTML and PHP are told apart from
// plain text; text with control characters is binary.
func sniffText(head []byte) string {
	text := bytes.TrimPrefix(head, []byte("\xEF\xBB\xBF"))
	// The head may end inside a character.
	for i := 0; i < utf8.UTFMax && len(text) > 0 && !utf8.Valid(text); i++ {
		text = text[:len(text)-1]
	}
	if len(text) == 0 || !utf8.Valid(text) {
		return "application/octet-stream"
	}
	for _, c := range text {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' {
			return "application/octet-stream"
		}
	}
	lower := bytes.ToLower(text)
	for _, tag := range []string{"<?php", "<html", "<!doctype html", "<script", "<head", "<body", "<iframe", "<?=", "<% "} {
		if bytes.Contains(lower, []byte(tag)) {
			return "text/html"
		}
	}
	trimmed := bytes.TrimLeft(lower, " \t\r\n")
	if (bytes.HasPrefix(trimmed, []byte("<?xml")) || bytes.HasPrefix(trimmed, []byte("<svg")) || bytes.HasPrefix(trimmed, []byte("<!--"))) &&
		bytes.Contains(lower, []byte("<svg")) {
		return "image/svg+xml"
	}
	if bytes.HasPrefix(trimmed, []byte("<")) {
		return "text/html" // some other markup: never served as text
	}
	return "text/plain"
}
