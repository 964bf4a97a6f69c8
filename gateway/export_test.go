package gateway

import (
	"bytes"
	"sync"
)

// LockedWriter lets a server's goroutines log into one buffer that a test
// reads while they run.
type LockedWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *LockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *LockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
