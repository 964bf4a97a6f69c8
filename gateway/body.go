package gateway

import (
	"bytes"
	"io"
)

// readAll reads r to the end; limit sizes the first buffer when it is small.
func readAll(r io.Reader, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	if limit > 0 && limit < 64<<10 {
		buf.Grow(int(limit))
	} else {
		buf.Grow(4 << 10)
	}
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}
