package gateway

import (
	"bytes"
	"context"
	"net"
	"sync"
)

// A request that declares both Content-Length and Transfer-Encoding is what
// request smuggling sends: a proxy in front may frame its body by one
// header while the gateway frames it by the other, and read the rest as a
// request of someone else's. net/http follows Transfer-Encoding and drops
// Content-Length before a handler can see it, so the raw head is watched on
// the connection itself: WatchHeads wraps the listener, ConnContext hands
// each request the watch of its connection, and the gateway refuses such a
// request with 400 and closes the connection.

// maxWatchedHead bounds what a watch keeps of one request head.
const maxWatchedHead = 64 << 10

// headWatch is a connection that reads the head of each request as it
// arrives: the bytes from the first read after an answer up to the blank
// line that ends the head.
type headWatch struct {
	net.Conn
	mu        sync.Mutex
	head      []byte
	watching  bool
	ambiguous bool
}

func (w *headWatch) Read(p []byte) (int, error) {
	n, err := w.Conn.Read(p)
	if n > 0 {
		w.mu.Lock()
		if w.watching {
			w.see(p[:n])
		}
		w.mu.Unlock()
	}
	return n, err
}

// Write is the answer to the request whose head was read: the next read
// starts the next head.
func (w *headWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.head, w.watching = w.head[:0], true
	w.mu.Unlock()
	return w.Conn.Write(p)
}

// see adds bytes to the head being read; at the blank line it decides.
// NetConn returns the watched connection, for a handler that takes it over
// (an event stream) and needs no more watching; the head kept is let go.
func (w *headWatch) NetConn() net.Conn {
	w.mu.Lock()
	w.head, w.watching = nil, false
	w.mu.Unlock()
	return w.Conn
}

func (w *headWatch) see(b []byte) {
	w.head = append(w.head, b[:min(len(b), maxWatchedHead-len(w.head))]...)
	end := bytes.Index(w.head, []byte("\r\n\r\n"))
	if end < 0 {
		if len(w.head) >= maxWatchedHead {
			w.watching = false
		}
		return
	}
	w.watching = false
	w.ambiguous = ambiguousHead(w.head[:end])
}

// ambiguousHead reports whether a request head (request line and header
// lines) declares both a Content-Length and a Transfer-Encoding. Bytes that
// do not start with a request line (a pipelined body) decide nothing.
func ambiguousHead(head []byte) bool {
	lines := bytes.Split(head, []byte("\r\n"))
	if len(lines) == 0 || !bytes.Contains(lines[0], []byte(" HTTP/1.")) {
		return false
	}
	var length, encoding bool
	for _, l := range lines[1:] {
		name, _, ok := bytes.Cut(l, []byte(":"))
		if !ok {
			continue
		}
		name = bytes.TrimSpace(name)
		length = length || bytes.EqualFold(name, []byte("Content-Length"))
		encoding = encoding || bytes.EqualFold(name, []byte("Transfer-Encoding"))
	}
	return length && encoding
}

// isAmbiguous reports whether the head just read was ambiguous.
func (w *headWatch) isAmbiguous() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ambiguous
}

type watchedListener struct{ net.Listener }

func (l watchedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &headWatch{Conn: c, watching: true}, nil
}

// WatchHeads wraps a listener so that the gateway sees the raw head of
// each request (see ConnContext); serve the gateway with both.
func WatchHeads(l net.Listener) net.Listener { return watchedListener{l} }

type headWatchKey struct{}

// ConnContext is the http.Server's ConnContext for a listener WatchHeads
// wrapped: it hands each request the watch of its connection.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if w, ok := c.(*headWatch); ok {
		return context.WithValue(ctx, headWatchKey{}, w)
	}
	return ctx
}

// smuggled reports whether the request's raw head declared both lengths.
func smuggled(ctx context.Context) bool {
	w, ok := ctx.Value(headWatchKey{}).(*headWatch)
	return ok && w.isAmbiguous()
}
