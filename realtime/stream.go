package realtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tnt/gateway/resources"
)

// Stream is one client's event stream. Its writer goroutine exists only
// while events wait to be written; an idle stream holds its connection,
// its subscriptions and a reader that notices the client leaving.
type Stream struct {
	hub  *Hub
	id   string  // the client id
	tag  [8]byte // binds the positions sealed in its event ids to it
	bind Binding
	addr string
	conn net.Conn
	// raw is the connection's descriptor, for writes that must not wait
	// (nil where the connection has none).
	raw syscall.RawConn

	mu   sync.Mutex
	subs []sub // replaced whole, never changed in place
	// class names what decides every change for this stream: its caller
	// (a guest, or a user at a level) and its subscriptions. Streams of one
	// class see every change alike, so a change is decided once per class.
	class   string
	pending []byte
	lags    []int64 // the commit times of the pending events
	// after is the last position this stream has been given (events at or
	// before it are never delivered again); n counts its events' ids.
	after     uint64
	n         uint64
	writing   bool // a writer goroutine runs
	replaying bool // the stream is catching up on the log; live events are left to it
	overflow  bool // the queue overflowed: resync and close
	closed    bool

	// wmu is held for each write to the connection; broken is set, under
	// it, once a write has failed, and partial while an event is cut short
	// (its rest still to come).
	wmu     sync.Mutex
	broken  bool
	partial bool

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
	if s.enqueueWith(pos, at, func(buf []byte) []byte { return append(buf, b...) }, len(b)) {
		go s.flush(quickWrite)
	}
}

// deliverChange queues a change event and writes what waits at once, in
// the caller's goroutine, unless a writer already runs. Its name and data
// are shared by every stream that sees the change alike. The write never
// waits for the client (see flush).
func (s *Stream) deliverChange(pos uint64, at int64, ids *ids, action string, data []byte) {
	if s.enqueueEvent(pos, at, ids, action, data) {
		s.flush(quickWrite)
	}
}

// enqueueEvent queues an event of the log at pos with the stream's next
// id, and reports whether the caller must flush.
func (s *Stream) enqueueEvent(pos uint64, at int64, ids *ids, name string, data []byte) bool {
	size := len(s.id) + len(ids.epoch) + len(name) + len(data) + 80
	return s.enqueueWith(pos, at, func(b []byte) []byte { return s.appendEvent(b, ids, pos, name, data) }, size)
}

// appendEvent writes an event of the log at pos with the stream's next id;
// s.mu is held, so ids increase in the order events reach the client.
func (s *Stream) appendEvent(b []byte, ids *ids, pos uint64, name string, data []byte) []byte {
	s.n++
	b = append(b, "id: "...)
	b = ids.appendID(b, s.id, s.tag, s.n, pos)
	return appendEvent(append(b, '\n'), name, data)
}

// event renders an event of the log at pos with the stream's next id.
func (s *Stream) event(b []byte, ids *ids, pos uint64, name string, data []byte) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appendEvent(b, ids, pos, name, data)
}

// enqueueWith appends an event of about size bytes with write, and reports
// whether the caller is now the stream's writer and must flush it.
func (s *Stream) enqueueWith(pos uint64, at int64, write func([]byte) []byte, size int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	// While the stream catches up on the log, its events come from there.
	if s.closed || s.overflow || (pos != 0 && (s.replaying || pos <= s.after)) {
		return false
	}
	if pos != 0 {
		s.after = pos
	}
	if len(s.pending)+size > s.hub.cfg.QueueBytes {
		// Too slow a reader: it is told to refetch rather than buffered
		// without end.
		s.hub.buffers.put(s.pending)
		s.pending, s.lags, s.overflow = nil, nil, true
	} else {
		if s.pending == nil {
			s.pending = s.hub.buffers.get()
		}
		s.pending = write(s.pending)
		if at != 0 {
			s.lags = append(s.lags, at)
		}
	}
	return s.claimWriter()
}

// claimWriter makes the caller the stream's writer if there is something
// to write and no writer runs and the stream is not catching up. s.mu is
// held.
func (s *Stream) claimWriter() bool {
	if s.writing || s.replaying || s.closed || (len(s.pending) == 0 && !s.overflow) {
		return false
	}
	s.writing = true
	return true
}

// flush writes what waits until nothing does; the caller has claimed the
// writer. With quick, a write takes what the socket takes at once (or
// within quick where descriptors cannot be written without waiting), and
// the rest of a client reading slowly is finished by a goroutine of the
// stream's own: the hub's dispatch never waits for a client. quick 0 is
// that goroutine.
func (s *Stream) flush(quick time.Duration) {
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
		// Ending a stream takes the hub's lock, which the dispatch that may
		// be running this flush holds: it is left to a goroutine.
		if overflow {
			s.hub.obs.StreamDropped()
			go s.end(eventResync, reasonSlow, false)
			return
		}
		n, err := s.writeWithin(buf, quick)
		if err != nil && quick > 0 && errors.Is(err, os.ErrDeadlineExceeded) {
			rest := buf[n:]
			go func() {
				if _, err := s.writeWithin(rest, 0); err != nil {
					s.end("", "", false)
					return
				}
				s.delivered(lags)
				s.hub.buffers.put(buf)
				s.flush(0)
			}()
			return
		}
		s.hub.buffers.put(buf)
		if err != nil {
			go s.end("", "", false)
			return
		}
		s.delivered(lags)
	}
}

// delivered records the lag of events written.
func (s *Stream) delivered(lags []int64) {
	if len(lags) == 0 {
		return
	}
	now := time.Now().UnixMilli()
	for _, at := range lags {
		s.hub.obs.Delivered(time.Duration(now-at) * time.Millisecond)
	}
}

// write writes b unless the stream has ended; false when the connection
// failed.
func (s *Stream) write(b []byte) bool {
	_, err := s.writeWithin(b, 0)
	return err == nil
}

// writeWithin writes b within limit (the write timeout when 0), unless the
// stream has ended. Past limit it returns how much was written and
// os.ErrDeadlineExceeded, and the stream stays usable; any other failure
// breaks it.
func (s *Stream) writeWithin(b []byte, limit time.Duration) (int, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if s.broken {
		return 0, errBroken
	}
	if s.partial && limit != 0 {
		// The rest of a cut event must go first, by the stream's own writer.
		return 0, os.ErrDeadlineExceeded
	}
	if closed {
		return 0, nil
	}
	quick := limit != 0
	var n int
	var err error
	if quick && s.raw != nil {
		// The dispatch's path: as much as the socket takes now, without a
		// deadline's timer or a wait.
		n, err = tryWrite(s.raw, b)
	} else {
		if !quick {
			limit = s.hub.cfg.WriteTimeout
		}
		_ = s.conn.SetWriteDeadline(time.Now().Add(limit))
		n, err = s.conn.Write(b)
	}
	if err != nil {
		s.partial = n > 0
		if !quick || !errors.Is(err, os.ErrDeadlineExceeded) {
			s.broken = true
		}
		return n, err
	}
	s.partial = false
	s.lastWrite.Store(time.Now().UnixNano())
	return n, nil
}

var errBroken = errors.New("the connection failed")

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
	if event != "" && !s.broken && !s.partial {
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

// decisive returns the subscriptions in force and their class.
func (s *Stream) decisive() ([]sub, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subs, s.class
}

// setSubscriptions puts subs in force.
func (s *Stream) setSubscriptions(subs []sub) {
	var b strings.Builder
	if s.bind.Guest() {
		b.WriteString("guest")
	} else {
		// A user's own documents and private fields depend on who it is.
		fmt.Fprintf(&b, "%d:%s", s.bind.Level, s.bind.UserID)
	}
	for _, x := range subs {
		q, _ := json.Marshal(x.req.Query) // map keys in order: one text per query
		fmt.Fprintf(&b, "|%d %q %q %s", x.index, x.req.Resource, x.req.ID, q)
	}
	s.mu.Lock()
	s.subs, s.class = subs, b.String()
	s.mu.Unlock()
}

// requests returns the subscriptions as the client asked for them.
func requests(subs []sub) []Subscription {
	out := make([]Subscription, len(subs))
	for i, x := range subs {
		out[i] = x.req
	}
	return out
}
