//go:build unix

package realtime

import (
	"errors"
	"os"
	"syscall"
)

// tryWrite writes as much of b as the socket takes at once and never
// waits: what it could not write now is reported as
// os.ErrDeadlineExceeded with the count written, for a goroutine of the
// stream's own to finish.
func tryWrite(raw syscall.RawConn, b []byte) (int, error) {
	var n int
	var werr error
	err := raw.Write(func(fd uintptr) bool {
		for n < len(b) {
			m, err := syscall.Write(int(fd), b[n:])
			if m > 0 {
				n += m
			}
			switch {
			case errors.Is(err, syscall.EINTR):
				continue
			case errors.Is(err, syscall.EAGAIN):
				werr = os.ErrDeadlineExceeded
				return true
			case err != nil:
				werr = err
				return true
			}
		}
		return true
	})
	if err != nil {
		return n, err
	}
	return n, werr
}
