package gateway

import (
	"bytes"
	"io"
)

// readAll reads a request body to the end. A declared length sizes the
// buffer exactly (net/http stops the body there, and limitBody has refused
// a length over the limit); a body of unknown length grows from a small
// buffer, up to the MaxBytesReader's limit.
func readAll(r io.Reader, declared int64) ([]byte, error) {
	if declared >= 0 {
		buf := make([]byte, declared)
		_, err := io.ReadFull(r, buf)
		return buf, err
	}
	var buf bytes.Buffer
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}
