package gateway

import (
	"io"
)

// firstRead is the buffer a body starts in: an ordinary envelope fits in
// one read.
const firstRead = 4 << 10

// readAll reads a request body to the end. The buffer follows the bytes
// that actually arrive, never the length a client declares: a body starts in
// a small buffer (just past its declared length, when smaller) that doubles as it
// fills, up to the declared length (net/http stops the body there) or the
// MaxBytesReader's limit. So a client that declares a megabyte and sends a
// byte holds a few kilobytes, not the megabyte.
func readAll(r io.Reader, declared int64) ([]byte, error) {
	size := int64(firstRead)
	if declared >= 0 && declared < size {
		size = declared + 1 // room to see the end without growing
	}
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			next := 2 * int64(cap(buf))
			if declared >= 0 {
				// One byte past the declared length sees the end of the
				// body without another doubling.
				next = min(next, declared+1)
			}
			grown := make([]byte, len(buf), next)
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			if declared >= 0 && int64(len(buf)) != declared {
				return buf, io.ErrUnexpectedEOF
			}
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
