//go:build !unix

package realtime

import (
	"os"
	"syscall"
)

// tryWrite is never used where descriptors are not Unix ones: the shared
// writers fall back to a short deadline.
func tryWrite(syscall.RawConn, []byte) (int, error) { return 0, os.ErrDeadlineExceeded }
