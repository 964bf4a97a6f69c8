package gateway

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// LockedWriter lets a server's goroutines log into one buffer that a test
// reads while they run, and waits for what they write.
type LockedWriter struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	written chan struct{} // closed and replaced on each write
}

func (w *LockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.written != nil {
		close(w.written)
		w.written = nil
	}
	return w.buf.Write(p)
}

func (w *LockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// WaitFor waits until the log holds text; the test fails after 30 seconds.
func (w *LockedWriter) WaitFor(tb testing.TB, text string) {
	tb.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for {
		w.mu.Lock()
		if strings.Contains(w.buf.String(), text) {
			w.mu.Unlock()
			return
		}
		if w.written == nil {
			w.written = make(chan struct{})
		}
		written := w.written
		w.mu.Unlock()
		select {
		case <-written:
		case <-deadline.C:
			tb.Fatalf("the log never said %q", text)
		}
	}
}
