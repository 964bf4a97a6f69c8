package realtime

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/session"
)

// Config bounds the hub (the defaults are API.md §10's).
type Config struct {
	// Retention is how long missed events can be replayed.
	Retention time.Duration
	// MaxPerSession and MaxPerAddress bound the open streams of one
	// session (or one admin-scheme user) and of one client address.
	MaxPerSession, MaxPerAddress int
	// MaxSubscriptions bounds the subscriptions of one stream.
	MaxSubscriptions int
	// QueueBytes bounds what waits to be written to one stream.
	QueueBytes int
	// KeepAlive is the longest a stream stays silent.
	KeepAlive time.Duration
	// Retry is the reconnection delay clients are told.
	Retry time.Duration
	// WriteTimeout bounds one write to a client.
	WriteTimeout time.Duration
	// TicketTTL is how long a ticket can be used.
	TicketTTL time.Duration
}

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defInt := func(n *int, v int) {
		if *n <= 0 {
			*n = v
		}
	}
	def(&c.Retention, 10*time.Minute)
	def(&c.KeepAlive, 25*time.Second)
	def(&c.Retry, 2*time.Second)
	def(&c.WriteTimeout, 10*time.Second)
	def(&c.TicketTTL, 30*time.Second)
	defInt(&c.MaxPerSession, 5)
	defInt(&c.MaxPerAddress, 1000)
	defInt(&c.MaxSubscriptions, 100)
	defInt(&c.QueueBytes, 256<<10)
}

// Follower decides subscriptions: resources.Service.
type Follower interface {
	Follow(p resources.Principal, resource, id string, data map[string]any) (*resources.Follow, error)
}

// Checker tells whether a stream's binding still holds: its session still
// exists for the same user and level, or its admin-scheme credential is
// still the stored one.
type Checker interface {
	StillValid(ctx context.Context, b Binding) (bool, error)
}

// Observer records the hub's figures.
type Observer interface {
	// Streams is the number of open streams.
	Streams(open int)
	// Delivered records one event written to a client, with the time since
	// its change committed.
	Delivered(lag time.Duration)
	// StreamDropped counts a stream closed because it read too slowly.
	StreamDropped()
	// Resynced counts a resync event.
	Resynced()
}

// Deps are what the hub works with.
type Deps struct {
	Log     Log
	Follow  Follower
	Check   Checker
	Observe Observer
	Logger  *slog.Logger
	// Generation, when set, is the embedded session store's shared
	// revocation counter: a change made by another process makes the hub
	// check every stream's binding.
	Generation func() uint64
}

// Hub delivers the log's changes to the streams of this process.
type Hub struct {
	cfg    Config
	log    Log
	follow Follower
	check  Checker
	obs    Observer
	logger *slog.Logger
	gen    func() uint64

	mu       sync.Mutex
	streams  map[string]*Stream
	byColl   map[string]map[*Stream]struct{}
	byOwner  map[string]map[*Stream]struct{} // session id, or "u:"+user for the admin scheme
	byUser   map[string]map[*Stream]struct{}
	perAddr  map[string]int
	pos      uint64 // the last position dispatched
	ids      *ids   // the log's event ids (nil until the log is read)
	healthy  bool
	shutdown bool
	// up is closed while the hub can read the log; a fresh one waits for
	// the next recovery while it cannot.
	up chan struct{}

	// buffers recycles the streams' queues.
	buffers *bufferPool
}

// NewHub builds a hub; Run starts it.
func NewHub(cfg Config, deps Deps) *Hub {
	cfg.defaults()
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Observe == nil {
		deps.Observe = nopObserver{}
	}
	return &Hub{cfg: cfg, log: deps.Log, follow: deps.Follow, check: deps.Check, obs: deps.Observe, logger: deps.Logger, gen: deps.Generation,
		streams: map[string]*Stream{}, byColl: map[string]map[*Stream]struct{}{}, byOwner: map[string]map[*Stream]struct{}{},
		byUser: map[string]map[*Stream]struct{}{}, perAddr: map[string]int{}, up: make(chan struct{}),
		buffers: newBufferPool()}
}

// Config returns the hub's bounds, defaults filled in.
func (h *Hub) Config() Config { return h.cfg }

// Run tails the log and delivers its changes until ctx ends, then ends
// every stream with a shutdown event. It also keeps streams alive and
// prunes the log.
func (h *Hub) Run(ctx context.Context) {
	go h.tick(ctx)
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		m, err := h.log.Mark(ctx)
		if err != nil {
			h.setHealthy(false, err)
			sleep(ctx, backoff)
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		ids, err := newIDs(m.Epoch, m.Key)
		if err != nil {
			h.setHealthy(false, err)
			sleep(ctx, backoff)
			continue
		}
		h.mu.Lock()
		h.ids = ids
		if h.pos == 0 || m.Head < h.pos {
			h.pos = m.Head
		}
		after := h.pos
		h.mu.Unlock()
		h.setHealthy(true, nil)
		backoff = 100 * time.Millisecond
		for ctx.Err() == nil {
			entries, err := h.log.Next(ctx, after, 1000)
			if err != nil {
				if ctx.Err() == nil {
					h.setHealthy(false, err)
				}
				break
			}
			for _, e := range entries {
				h.dispatch(ctx, e)
				after = e.Pos
			}
		}
	}
	h.Shutdown()
}

// quickWrite bounds a dispatch's write to one stream where a write cannot
// be made without waiting; a stream whose client reads slower finishes on a
// goroutine of its own.
const quickWrite = 20 * time.Millisecond

// bufferPool recycles stream queues: an idle stream holds none.
type bufferPool struct{ p sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { return new([]byte) }}}
}

func (b *bufferPool) get() []byte { return (*b.p.Get().(*[]byte))[:0] }

func (b *bufferPool) put(buf []byte) {
	if buf == nil || cap(buf) > 64<<10 {
		return
	}
	b.p.Put(&buf)
}

// Up returns a channel closed once the hub can read the log (at start, and
// again after losing it).
func (h *Hub) Up() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.up
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// setHealthy records whether the log can be read; losing it ends every
// stream with a retry hint, since their events can no longer be vouched for.
func (h *Hub) setHealthy(ok bool, err error) {
	h.mu.Lock()
	was := h.healthy
	h.healthy = ok
	var all []*Stream
	switch {
	case ok && !was:
		close(h.up)
	case was && !ok:
		h.up = make(chan struct{})
		all = h.allLocked()
	}
	h.mu.Unlock()
	if was && !ok {
		h.logger.Warn("realtime change feed down: streams end with a retry hint until it is back", slog.String("error", err.Error()))
		for _, s := range all {
			s.end(eventShutdown, reasonUnavailable, true)
		}
	}
}

// Shutdown ends every stream with a shutdown event and a retry hint, and
// refuses new ones.
func (h *Hub) Shutdown() {
	h.mu.Lock()
	h.shutdown = true
	all := h.allLocked()
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.end(eventShutdown, reasonShutdown, true)
		}()
	}
	wg.Wait()
}

func (h *Hub) allLocked() []*Stream {
	out := make([]*Stream, 0, len(h.streams))
	for _, s := range h.streams {
		out = append(out, s)
	}
	return out
}

// finalEvent renders a stream's last event.
func (h *Hub) finalEvent(event, reason string) []byte {
	var retry int64
	if event == eventShutdown {
		retry = h.cfg.Retry.Milliseconds()
	}
	if event == eventResync {
		h.obs.Resynced()
	}
	return appendEvent(nil, event, reasonData(reason, retry))
}

// dispatch hands one entry to every stream it may concern.
func (h *Hub) dispatch(ctx context.Context, e Entry) {
	switch e.Op {
	case OpSubscriptions:
		h.reload(ctx, e.ID)
	case OpDrop:
		h.mu.Lock()
		for s := range h.byColl[e.Coll] {
			h.resync(s, e.Pos, reasonDrop)
		}
		h.pos = e.Pos
		h.mu.Unlock()
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.deliver(e, h.byColl[e.Coll])
	h.pos = e.Pos
}

// dispatchChunk is how many streams one goroutine decides a change for;
// larger fan-outs are shared between the cores.
const dispatchChunk = 512

// deliver decides a change for each stream of set and queues its event,
// in one part per dispatchChunk streams (at most one per core), side by
// side. h.mu is held.
func (h *Hub) deliver(e Entry, set map[*Stream]struct{}) {
	streams := make([]*Stream, 0, len(set))
	for s := range set {
		streams = append(streams, s)
	}
	deliverPart := func(part []*Stream) {
		r := newRendering(e)
		for _, s := range part {
			if action, data := r.eventFor(s); data != nil {
				s.deliverChange(e.Pos, e.At, h.ids, action, data)
			}
		}
	}
	parts := min(runtime.GOMAXPROCS(0), (len(streams)+dispatchChunk-1)/dispatchChunk)
	if parts <= 1 {
		deliverPart(streams)
		return
	}
	var wg sync.WaitGroup
	for p := range parts {
		wg.Go(func() { deliverPart(streams[p*len(streams)/parts : (p+1)*len(streams)/parts]) })
	}
	wg.Wait()
}

// resync tells a stream to refetch; the stream stays open. h.mu is held.
func (h *Hub) resync(s *Stream, pos uint64, reason string) {
	h.obs.Resynced()
	if s.enqueueEvent(pos, 0, h.ids, eventResync, reasonData(reason, 0)) {
		go s.flush(quickWrite)
	}
}

// Lost tells every stream to refetch: committed changes could not be
// recorded (Capture's OnLost).
func (h *Hub) Lost(err error) {
	h.logger.Error("changes committed but not recorded in the realtime log: every stream is told to refetch", slog.String("error", err.Error()))
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.streams {
		h.obs.Resynced()
		s.enqueue(0, 0, appendEvent(nil, eventResync, reasonData(reasonLost, 0)))
	}
}

// rendering shares what one change looks like between the streams that
// see it alike: the records by view, and the events' data by action and
// subscriptions.
type rendering struct {
	e       Entry
	records map[renderKey][]byte
	data    map[dataKey][]byte
	byClass map[string]decision
}

// decision is how a change looks to a class of streams.
type decision struct {
	action string
	data   []byte
}

type renderKey struct {
	resource string
	view     resources.View
}

type dataKey struct {
	renderKey
	action  string
	indexes string
}

func newRendering(e Entry) *rendering {
	return &rendering{e: e, records: map[renderKey][]byte{}, data: map[dataKey][]byte{}, byClass: map[string]decision{}}
}

func (r *rendering) record(f *resources.Follow, doc resources.Document, v resources.View) []byte {
	k := renderKey{f.Resource(), v}
	if b, ok := r.records[k]; ok {
		return b
	}
	b, err := json.Marshal(f.Schema().Render(doc, v))
	if err != nil {
		b = nil
	}
	r.records[k] = b
	return b
}

// eventFor decides the change for one stream: the event's name and data,
// or nil data for none. A subscriber sees create or update when some
// subscription shows the document afterwards; leave when none does but one
// showed it before; delete when one showed it before it was deleted.
func (r *rendering) eventFor(s *Stream) (string, []byte) {
	subs, class := s.decisive()
	if d, ok := r.byClass[class]; ok {
		return d.action, d.data
	}
	action, data := r.decide(subs)
	r.byClass[class] = decision{action, data}
	return action, data
}

// decide decides the change for one set of subscriptions.
func (r *rendering) decide(subs []sub) (string, []byte) {
	e := r.e
	var (
		now, then   []int
		nowF, thenF *resources.Follow
		nowV        resources.View
	)
	for _, x := range subs {
		if x.follow.Collection() != e.Coll {
			continue
		}
		if e.Op != OpDelete {
			if v := x.follow.ViewOf(e.After); v != resources.Hidden {
				now = append(now, x.index)
				if nowF == nil {
					nowF, nowV = x.follow, v
				}
			}
		}
		if e.Op != OpCreate && x.follow.ViewOf(e.Before) != resources.Hidden {
			then = append(then, x.index)
			if thenF == nil {
				thenF = x.follow
			}
		}
	}
	var k dataKey
	var indexes []int
	switch {
	case e.Op == OpDelete && len(then) > 0:
		k, indexes = dataKey{renderKey{thenF.Resource(), resources.Hidden}, string(OpDelete), ""}, then
	case e.Op != OpDelete && len(now) > 0:
		k, indexes = dataKey{renderKey{nowF.Resource(), nowV}, string(e.Op), ""}, now
	case e.Op == OpUpdate && len(then) > 0:
		k, indexes = dataKey{renderKey{thenF.Resource(), resources.Hidden}, "leave", ""}, then
	default:
		return "", nil
	}
	if len(indexes) != 1 || indexes[0] != 0 {
		k.indexes = fmt.Sprint(indexes)
	}
	if b, ok := r.data[k]; ok {
		return k.action, b
	}
	var record []byte
	if k.view == resources.Hidden {
		record = idRecord(e.ID)
	} else {
		record = r.record(nowF, e.After, k.view)
	}
	var b []byte
	if record != nil {
		b = changeData(k.resource, k.action, record, indexes)
	}
	r.data[k] = b
	return k.action, b
}

// remove forgets a closed stream and saves its descriptor, so it can be
// resumed.
func (h *Hub) remove(s *Stream) {
	h.mu.Lock()
	h.releaseLocked(s)
	if h.streams[s.id] != s {
		// A newer connection of the same stream took its place.
		h.mu.Unlock()
		return
	}
	h.unindexLocked(s)
	open := len(h.streams)
	h.mu.Unlock()
	h.obs.Streams(open)
	// Kept an hour past the retention: a client back after its events
	// were pruned still gets its stream and subscriptions, with a resync.
	_ = h.keep(context.Background(), s.id, s.bind, requests(s.subscriptions()), h.cfg.Retention+time.Hour)
}

func collsOf(subs []sub) map[string]bool {
	out := map[string]bool{}
	for _, x := range subs {
		out[x.follow.Collection()] = true
	}
	return out
}

func addTo(m map[string]map[*Stream]struct{}, k string, s *Stream) {
	if m[k] == nil {
		m[k] = map[*Stream]struct{}{}
	}
	m[k][s] = struct{}{}
}

func deleteFrom(m map[string]map[*Stream]struct{}, k string, s *Stream) {
	if set := m[k]; set != nil {
		delete(set, s)
		if len(set) == 0 {
			delete(m, k)
		}
	}
}

// ownerKey is what a session's stream limit counts by.
func ownerKey(b Binding) string {
	switch {
	case b.SID != "":
		return b.SID
	case b.UserID != "":
		return "u:" + b.UserID
	}
	return ""
}

// Revoked ends the streams whose binding a revocation took away, before it
// returns: a session's own streams at once, a user's or everyone's once
// their binding fails the check. The session store calls it for revocations
// made here, and for those heard from other replicas.
func (h *Hub) Revoked(e session.Ended) {
	h.mu.Lock()
	var direct, check []*Stream
	switch {
	case e.All:
		for _, s := range h.streams {
			if !s.bind.Guest() {
				check = append(check, s)
			}
		}
	case e.UserID != "":
		for s := range h.byUser[e.UserID] {
			check = append(check, s)
		}
	case e.SID != "":
		for s := range h.byOwner[e.SID] {
			direct = append(direct, s)
		}
	}
	h.mu.Unlock()
	for _, s := range direct {
		s.end(eventEnded, reasonSession, true)
	}
	h.recheck(check)
}

// recheck ends the streams whose binding no longer holds (or cannot be
// checked), a few at a time.
func (h *Hub) recheck(streams []*Stream) {
	if len(streams) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for _, s := range streams {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if ok, err := h.check.StillValid(ctx, s.bind); !ok || err != nil {
				s.end(eventEnded, reasonSession, true)
			}
		}()
	}
	wg.Wait()
}

// tick keeps silent streams alive, notices revocations made by other
// processes on the embedded store, and prunes the log.
func (h *Hub) tick(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	pruneEvery := min(h.cfg.Retention/10, time.Minute)
	lastPrune := time.Now()
	var lastGen uint64
	if h.gen != nil {
		lastGen = h.gen()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			h.keepAlive(now)
			if h.gen != nil {
				if g := h.gen(); g != lastGen {
					lastGen = g
					h.Revoked(session.Ended{All: true})
				}
			}
			if now.Sub(lastPrune) >= pruneEvery {
				lastPrune = now
				if err := h.Prune(ctx); err != nil && ctx.Err() == nil {
					h.logger.Warn("pruning the realtime log failed; it is tried again", slog.String("error", err.Error()))
				}
			}
		}
	}
}

// Prune forgets the changes older than the retention.
func (h *Hub) Prune(ctx context.Context) error { return h.log.Prune(ctx, h.cfg.Retention) }

var keepAliveComment = []byte(":\n\n")

func (h *Hub) keepAlive(now time.Time) {
	limit := now.Add(-h.cfg.KeepAlive).UnixNano()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.streams {
		if s.lastWrite.Load() < limit {
			s.enqueue(0, 0, keepAliveComment)
		}
	}
}

// Open counts the streams open in this process.
func (h *Hub) Open() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.streams)
}

type nopObserver struct{}

func (nopObserver) Streams(int)             {}
func (nopObserver) Delivered(time.Duration) {}
func (nopObserver) StreamDropped()          {}
func (nopObserver) Resynced()               {}
