package realtime

import (
	"bufio"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/tnt/gateway/resources"
)

// OpenRequest is a client's request for a stream.
type OpenRequest struct {
	Binding Binding
	// Addr is the client's address, for the per-address bound.
	Addr string
	// LastEventID is the id of the last event the client received, when it
	// reconnects.
	LastEventID string
}

// Serve answers a stream request on w: it resumes the stream LastEventID
// names, or opens a new one, then takes over the connection. An error is
// returned only before anything is written (a bound reached: 429).
func (h *Hub) Serve(w http.ResponseWriter, r *http.Request, req OpenRequest) error {
	ctx := r.Context()
	h.mu.Lock()
	down, healthy, ids := h.shutdown, h.healthy, h.ids
	h.mu.Unlock()
	if down || !healthy {
		// Never an error status, which would stop EventSource for good:
		// the client is told when to come back.
		reason := reasonUnavailable
		if down {
			reason = reasonShutdown
		}
		return h.refuse(w, reason)
	}
	s := &Stream{hub: h, bind: req.Binding, addr: req.Addr}
	var subs []Subscription
	resume := false
	var from uint64
	if cid, n, ok := clientOf(req.LastEventID); ok {
		body, found, err := h.log.LoadStream(ctx, cid)
		if err != nil {
			return h.refuse(w, reasonUnavailable)
		}
		// The stream, its subscriptions and its count of ids come back to
		// its owner; its missed events too, while the log still holds them.
		if d, ok := decodeDescriptor(body); found && ok && d.Binding.sameOwner(req.Binding) && d.Binding.Guest() == req.Binding.Guest() {
			s.id, s.n, subs = cid, n, d.Subscriptions
			m, err := h.log.Mark(ctx)
			if err != nil {
				return h.refuse(w, reasonUnavailable)
			}
			_, _, pos, sealed := ids.parse(req.LastEventID)
			resume = sealed && pos >= m.Horizon && pos <= m.Head
			from = pos
		}
	}
	if s.id == "" {
		s.id = newID(clientIDBytes)
	}
	s.tag = clientTag(s.id)
	followed, _ := h.followAll(s.bind, subs) // what no longer holds is left out
	s.setSubscriptions(followed)
	if err := h.admit(s); err != nil {
		return err
	}
	conn, err := takeOver(w)
	if err != nil {
		h.release(s)
		return err
	}
	s.conn = conn
	if sc, ok := conn.(syscall.Conn); ok && runtime.GOOS != "windows" {
		s.raw, _ = sc.SyscallConn()
	}
	s.lastWrite.Store(time.Now().UnixNano())
	// Registered from the cut on, catching up on the log (so that its
	// events reach it in order, with increasing ids) until it is live.
	h.mu.Lock()
	cut := h.pos
	s.after = cut
	if resume {
		s.after = max(cut, from)
	}
	s.replaying = true
	h.register(s)
	h.mu.Unlock()
	// The caller's credentials were checked before the store was read; a
	// revocation made meanwhile did not see this stream, so it is checked
	// again now that any later one will.
	if !s.bind.Guest() {
		if valid, err := h.check.StillValid(ctx, s.bind); err != nil || !valid {
			s.end(eventEnded, reasonSession, false)
			go s.read()
			return nil
		}
	}
	// first is the last position the client has seen.
	first := from
	if !resume {
		first = cut
	}
	head := s.event(h.retryLine(), ids, first, eventConnected,
		[]byte(`{"client_id":"`+s.id+`","retry_ms":`+strconv.FormatInt(h.cfg.Retry.Milliseconds(), 10)+`}`))
	if req.LastEventID != "" && !resume {
		h.obs.Resynced()
		head = s.event(head, ids, first, eventResync, reasonData(reasonUnknown, 0))
	}
	ok := s.write(head)
	go func() { _ = h.keep(context.Background(), s.id, s.bind, requests(s.subscriptions()), h.openTTL()) }()
	go s.read()
	if !ok {
		s.end("", "", false)
		return nil
	}
	go h.catchUp(s, ids, min(first, cut), first)
	return nil
}

// retryLine tells EventSource how long to wait before it reconnects.
func (h *Hub) retryLine() []byte {
	return []byte("retry: " + strconv.FormatInt(h.cfg.Retry.Milliseconds(), 10) + "\n\n")
}

// refuse answers a stream that cannot be served now: a shutdown event with
// a retry hint, and the connection closes.
func (h *Hub) refuse(w http.ResponseWriter, reason string) error {
	conn, err := takeOver(w)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = conn.Write(append(h.retryLine(), h.finalEvent(eventShutdown, reason)...))
	return nil
}

// TooManyError says which bound a refused stream reached.
type TooManyError struct{ What string }

func (e *TooManyError) Error() string { return "too many open streams " + e.What }

// admit reserves the stream's place under the bounds.
func (h *Hub) admit(s *Stream) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if k := ownerKey(s.bind); k != "" && len(h.byOwner[k]) >= h.cfg.MaxPerSession {
		// A stream being resumed replaces its earlier connection.
		if old := h.streams[s.id]; old == nil || ownerKey(old.bind) != k {
			return &TooManyError{What: "for this session (at most " + strconv.Itoa(h.cfg.MaxPerSession) + ")"}
		}
	}
	if h.perAddr[s.addr] >= h.cfg.MaxPerAddress {
		return &TooManyError{What: "from this address (at most " + strconv.Itoa(h.cfg.MaxPerAddress) + ")"}
	}
	h.perAddr[s.addr]++
	return nil
}

// release gives back a place admit reserved for a stream never registered.
func (h *Hub) release(s *Stream) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.releaseLocked(s)
}

// releaseLocked gives back the stream's place per address; h.mu is held.
func (h *Hub) releaseLocked(s *Stream) {
	if h.perAddr[s.addr]--; h.perAddr[s.addr] <= 0 {
		delete(h.perAddr, s.addr)
	}
}

// register adds a stream to the indexes; h.mu is held. An earlier
// connection of the same stream (a client that reconnected before this
// process noticed it leave) is ended.
func (h *Hub) register(s *Stream) {
	if old := h.streams[s.id]; old != nil {
		go old.end("", "", true)
		h.unindexLocked(old)
	}
	h.streams[s.id] = s
	for coll := range collsOf(s.subs) {
		addTo(h.byColl, coll, s)
	}
	addTo(h.byOwner, ownerKey(s.bind), s)
	if s.bind.UserID != "" {
		addTo(h.byUser, s.bind.UserID, s)
	}
	h.obs.Streams(len(h.streams))
}

// unindexLocked takes a stream out of the indexes (its place per address
// stays until it is removed).
func (h *Hub) unindexLocked(s *Stream) {
	delete(h.streams, s.id)
	for coll := range collsOf(s.subscriptions()) {
		deleteFrom(h.byColl, coll, s)
	}
	deleteFrom(h.byOwner, ownerKey(s.bind), s)
	deleteFrom(h.byUser, s.bind.UserID, s)
}

// catchUp writes, in order, the events of the log after from that the
// client has not seen (those after seen: a resumed stream's missed ones,
// and whatever came while it started), then makes it live: from then on
// the dispatch gives it each change. It goes live only when nothing was
// dispatched since it last read, so no event is missed or written twice.
func (h *Hub) catchUp(s *Stream, ids *ids, from, seen uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		h.mu.Lock()
		upTo := h.pos
		if from >= upTo {
			s.mu.Lock()
			s.replaying = false
			s.after = max(s.after, from)
			write := s.claimWriter()
			s.mu.Unlock()
			h.mu.Unlock()
			if write {
				s.flush(quickWrite)
			}
			return
		}
		h.mu.Unlock()
		entries, err := h.log.Range(ctx, from, upTo, 500)
		if err != nil {
			s.end(eventShutdown, reasonUnavailable, false)
			return
		}
		if len(entries) == 0 {
			from = upTo // nothing kept in between
			continue
		}
		var out []byte
		for _, e := range entries {
			switch {
			case e.Pos <= seen: // the client had it (from another replica)
			case e.Op == OpDrop:
				if collsOf(s.subscriptions())[e.Coll] {
					h.obs.Resynced()
					out = s.event(out, ids, e.Pos, eventResync, reasonData(reasonDrop, 0))
				}
			case e.Op == OpCreate || e.Op == OpUpdate || e.Op == OpDelete:
				if action, data := newRendering(e).eventFor(s); data != nil {
					out = s.event(out, ids, e.Pos, action, data)
				}
			}
			from = e.Pos
		}
		if len(out) > 0 && !s.write(out) {
			s.end("", "", false)
			return
		}
	}
}

// takeOver hijacks the connection and writes the stream's response head,
// with the headers already set on w (CORS, request id, security headers).
// The stream then owns the connection: no server goroutine, buffer or
// deadline stays attached to it.
func takeOver(w http.ResponseWriter) (net.Conn, error) {
	hdr := w.Header().Clone()
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, err
	}
	if u, ok := conn.(interface{ NetConn() net.Conn }); ok {
		conn = u.NetConn()
	}
	_ = conn.SetDeadline(time.Time{})
	for _, k := range []string{"Content-Length", "Content-Type", "Connection", "Transfer-Encoding", "Cache-Control"} {
		hdr.Del(k)
	}
	bw := bufio.NewWriterSize(conn, 1024)
	_, _ = bw.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nCache-Control: no-store\r\n" +
		"X-Accel-Buffering: no\r\nConnection: close\r\n")
	_ = hdr.Write(bw)
	_, _ = bw.WriteString("\r\n")
	_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := bw.Flush(); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return conn, nil
}

// followAll decides a stream's subscriptions for its binding, keeping each
// one's index. One that does not hold (its resource's rights were taken
// since, or it was never allowed) is left out, and the first such refusal
// is returned.
func (h *Hub) followAll(b Binding, reqs []Subscription) ([]sub, error) {
	out := make([]sub, 0, len(reqs))
	var refused error
	for i, r := range reqs {
		f, err := h.follow.Follow(b.Principal(), r.Resource, r.ID, r.Query)
		if err != nil {
			refused = cmp.Or(refused, err)
			continue
		}
		out = append(out, sub{index: i, req: r, follow: f})
	}
	return out, refused
}

// keep stores a stream's binding and subscriptions for ttl, so it can be
// resumed on any replica.
func (h *Hub) keep(ctx context.Context, clientID string, b Binding, subs []Subscription, ttl time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return h.log.SaveStream(ctx, clientID, descriptor{Binding: b, Subscriptions: subs}.encode(), ttl)
}

// openTTL is how long an open stream's descriptor is kept: a day past the
// retention, renewed whenever the stream changes or closes.
func (h *Hub) openTTL() time.Duration { return h.cfg.Retention + 24*time.Hour }

// Subscribe replaces the subscriptions of the stream clientID names, for a
// caller bound as caller, and returns the set in force. Not the caller's
// stream (or none): ENOTFOUND. Each subscription is decided as the stream's
// own query would be (resources.Follow's errors).
func (h *Hub) Subscribe(ctx context.Context, caller Binding, clientID string, reqs []Subscription) ([]Subscription, error) {
	if len(reqs) > h.cfg.MaxSubscriptions {
		return nil, resources.Errorf(resources.EVALUE, "a stream holds at most %d subscriptions", h.cfg.MaxSubscriptions)
	}
	notFound := resources.Errorf(resources.ENOTFOUND, "no stream of yours has this client_id")
	if !validClientID(clientID) {
		return nil, notFound
	}
	h.mu.Lock()
	s := h.streams[clientID]
	h.mu.Unlock()
	bind := caller
	if s != nil {
		bind = s.bind
	} else {
		body, found, err := h.log.LoadStream(ctx, clientID)
		if err != nil {
			return nil, resources.Errorf(resources.EUNAVAILABLE, "the stream store is unavailable")
		}
		d, ok := decodeDescriptor(body)
		if !found || !ok {
			return nil, notFound
		}
		bind = d.Binding
	}
	if !bind.sameOwner(caller) {
		return nil, notFound
	}
	subs, err := h.followAll(bind, reqs)
	if err != nil {
		return nil, err
	}
	if err := h.keep(ctx, clientID, bind, reqs, h.openTTL()); err != nil {
		return nil, resources.Errorf(resources.EUNAVAILABLE, "the stream store is unavailable")
	}
	if s != nil && h.apply(s, subs) {
		return reqs, nil
	}
	// The stream is open on another replica, or closed and resumable: the
	// replica that holds it reloads it.
	if err := h.log.Append(ctx, []Change{{Op: OpSubscriptions, ID: clientID, At: nowMillis()}}); err != nil {
		return nil, resources.Errorf(resources.EUNAVAILABLE, "the change feed is unavailable")
	}
	return reqs, nil
}

// apply puts subscriptions in force on a local stream; false when it has
// closed meanwhile.
func (h *Hub) apply(s *Stream, subs []sub) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.streams[s.id] != s {
		return false
	}
	old := s.subscriptions()
	s.setSubscriptions(subs)
	for coll := range collsOf(old) {
		deleteFrom(h.byColl, coll, s)
	}
	for coll := range collsOf(subs) {
		addTo(h.byColl, coll, s)
	}
	return true
}

// reload applies subscriptions another replica stored for a stream held
// here.
func (h *Hub) reload(ctx context.Context, clientID string) {
	h.mu.Lock()
	s := h.streams[clientID]
	h.mu.Unlock()
	if s == nil {
		return
	}
	body, found, err := h.log.LoadStream(ctx, clientID)
	if err != nil || !found {
		return
	}
	if d, ok := decodeDescriptor(body); ok {
		subs, _ := h.followAll(s.bind, d.Subscriptions) // as checked when stored
		h.apply(s, subs)
	}
}

// IssueTicket makes a single-use ticket bound to b, for EventSource, which
// cannot send headers. Only its hash is stored.
func (h *Hub) IssueTicket(ctx context.Context, b Binding) (string, error) {
	t := newID(32)
	if err := h.log.PutTicket(ctx, ticketHash(t), b, h.cfg.TicketTTL); err != nil {
		return "", resources.Errorf(resources.EUNAVAILABLE, "the ticket store is unavailable")
	}
	return t, nil
}

// RedeemTicket spends a ticket and returns its binding once checked to
// still hold.
func (h *Hub) RedeemTicket(ctx context.Context, ticket string) (Binding, error) {
	bad := resources.Errorf(resources.EAUTHENTICATION, "the ticket is invalid, spent or expired")
	if len(ticket) != 43 {
		return Binding{}, bad
	}
	b, ok, err := h.log.TakeTicket(ctx, ticketHash(ticket))
	if err != nil {
		return Binding{}, resources.Errorf(resources.EUNAVAILABLE, "the ticket store is unavailable")
	}
	if !ok {
		return Binding{}, bad
	}
	if valid, err := h.check.StillValid(ctx, b); err != nil || !valid {
		return Binding{}, bad
	}
	return b, nil
}

func ticketHash(t string) string {
	sum := sha256.Sum256([]byte("realtime-ticket\x00" + t))
	return hex.EncodeToString(sum[:])
}
