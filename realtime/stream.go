package realtime

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tnt/gateway/resources"
)

// Stream is one client's event stream. Its writer goroutine exists only
// while events wait to be written; an idle stream holds its connection,
// its subscriptions and a reader that notices the client leaving.
type Stream struct {
	hub  *Hub
	id   string // the client id
	bind Binding
	addr string
	conn net.Conn

	mu      sync.Mutex
	subs    []sub // replaced whole, never changed in place
	pending []byte
	lags    []int64 // the commit times of the pending events
	// after is the last position this stream has been given (events at or
	// before it are never delivered again).
	after     uint64
	writing   bool // a writer goroutine runs
	replaying bool // missed events are being replayed; live ones wait
	overflow  bool // the queue overflowed: resync and close
	closed    bool

	// wmu is held for each write to the connection; broken is set, under
	// it, once a write has failed.
	wmu    sync.Mutex
	broken bool

	lastWrite atomic.Int64 // Unix nanoseconds
}

// sub is one subscription in force.
type sub struct {
	index  int
	req    Subscription
	follow *resources.Follow
}

// enqueue adds an event for delivery; pos 0 marks an event outside the
// log (a keep-alive, a resync) and at its commit time (0: none).
func (s *Stream) enqueue(pos uint64, at int64, b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.overflow || (pos != 0 && pos <= s.after) {
		return
	}
	if pos != 0 {
		s.after = pos
	}
	if len(s.pending)+len(b) > s.hub.cfg.QueueBytes {
		// Too slow a reader: it is told to refetch rather than buffered
		// without end.
		s.pending, s.lags, s.overflow = nil, nil, true
	} else {
		s.pending = append(s.pending, b...)
		if at != 0 {
			s.lags = append(s.lags, at)
		}
	}
	s.startWriter()
}

// startWriter starts the writer if there is something to write and no
// writer or replay runs. s.mu is held.
func (s *Stream) startWriter() {
	if s.writing || s.replaying || s.closed || (len(s.pending) == 0 && !s.overflow) {
		return
	}
	s.writing = true
	go s.flush()
}

// flush writes what waits until nothing does.
func (s *Stream) flush() {
	for {
		s.mu.Lock()
		buf, lags, overflow := s.pending, s.lags, s.overflow
		s.pending, s.lags = nil, nil
		if len(buf) == 0 && !overflow {
			s.writing = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		if overflow {
			s.hub.obs.StreamDropped()
			s.end(eventResync, reasonSlow, false)
			return
		}
		if !s.write(buf) {
			s.end("", "", false)
			return
		}
		now := time.Now().UnixMilli()
		for _, at := range lags {
			s.hub.obs.Delivered(time.Duration(now-at) * time.Millisecond)
		}
	}
}

// write writes b unless the stream has ended; false when the connection
// failed.
func (s *Stream) write(b []byte) bool {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed || s.broken {
		return !s.broken
	}
	_ = s.conn.SetWriteDeadline(time.Now().Add(s.hub.cfg.WriteTimeout))
	if _, err := s.conn.Write(b); err != nil {
		s.broken = true
		return false
	}
	s.lastWrite.Store(time.Now().UnixNano())
	return true
}

// end closes the stream for good: nothing is written after the final
// event (none when event is ""), and the connection closes before end
// returns. interrupt cuts short a write in progress (a revocation does not
// wait for a slow reader).
func (s *Stream) end(event, reason string, interrupt bool) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.pending, s.lags = nil, nil
	s.mu.Unlock()
	if interrupt {
		_ = s.conn.SetWriteDeadline(time.Now())
	}
	s.wmu.Lock()
	if event != "" && !s.broken {
		_ = s.conn.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = s.conn.Write(s.hub.finalEvent(event, reason))
	}
	_ = s.conn.Close()
	s.broken = true
	s.wmu.Unlock()
	s.hub.remove(s)
}

// read waits for the client to leave (it sends nothing after its request)
// and then ends the stream.
func (s *Stream) read() {
	var b [1]byte
	for {
		if _, err := s.conn.Read(b[:]); err != nil {
			s.end("", "", true)
			return
		}
	}
}

// subscriptions returns the subscriptions in force.
func (s *Stream) subscriptions() []sub {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subs
}

// requests returns the subscriptions as the client asked for them.
func requests(subs []sub) []Subscription {
	out := make([]Subscription, len(subs))
	for i, x := range subs {
		out[i] = x.req
	}
	return out
}
