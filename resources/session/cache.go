package session

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Ended names what a revocation ended: one session, every session of a
// user, or every session. Stores that serve several processes tell the
// others with it.
type Ended struct {
	SID    string
	UserID string
	All    bool
}

// Watcher is a store that tells every process which sessions ended
// elsewhere (Redis pub/sub). Watch feeds c until ctx ends: c.Up once the
// subscription is confirmed, c.End for each revocation, c.Down whenever the
// subscription is lost.
type Watcher interface {
	Watch(ctx context.Context, c *Cache)
}

// Generations is a store whose revocations, by any process that opens it,
// bump a counter every process reads at the cost of a memory load (the
// embedded store's shared generation).
type Generations interface {
	Generation() uint64
}

// CacheConfig bounds a Cache.
type CacheConfig struct {
	// MaxEntries bounds the cached sessions; past it an arbitrary entry
	// makes room.
	MaxEntries int
	// MaxAge is how long an entry is served before the store is read
	// again. It bounds the one case push cannot cover: a process that dies
	// between ending a session and telling the others.
	MaxAge time.Duration
	// OnLive, when set, is called with each change between live (serving
	// from memory) and bypass (reading the store on every check).
	OnLive func(live bool)
	// OnHeard, when set, is called with each revocation heard from another
	// process, before the revoker is told it was applied (realtime streams
	// end with it).
	OnHeard func(e Ended)
}

// Cache is a Store whose Get is served from memory while the cache is live,
// so the session check of every request stops paying a store round trip.
// It is live only while it is sure to hear of every revocation: through the
// store's shared generation (embedded), or while the store's subscription is
// up (Redis). Otherwise every Get reads the store, as without a cache.
// Revocations made through the cache end its own entries before they
// return; the store tells the other processes.
//
// A cached Get may return a RefreshHash older than the current one when
// another process rotated it: Rotate is the only authority on refresh
// hashes.
type Cache struct {
	Store
	cfg    CacheConfig
	shared Generations // nil unless the store has one

	mu      sync.RWMutex
	entries map[string]cacheEntry
	live    bool
	epoch   uint64 // bumped by every invalidation and every change of live
	gen     uint64 // the shared generation the entries were filled under

	hits, misses, bypass atomic.Uint64
}

type cacheEntry struct {
	s      Session
	filled time.Time
}

// NewCache wraps store. A store with a shared generation makes the cache
// live at once; a Watcher's makes it live when its subscription is
// confirmed (call Start); any other store leaves it in bypass for good.
func NewCache(store Store, cfg CacheConfig) *Cache {
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = 100_000
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = time.Minute
	}
	c := &Cache{Store: store, cfg: cfg, entries: map[string]cacheEntry{}}
	if g, ok := store.(Generations); ok {
		c.shared = g
		c.gen = g.Generation()
		c.live = true
	}
	return c
}

// Start feeds the cache from its store's subscription, when the store has
// one, until ctx ends or stop is called; stop returns once the feed has
// stopped, so the store can then be closed.
func (c *Cache) Start(ctx context.Context) (stop func()) {
	w, ok := c.Store.(Watcher)
	if !ok {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Watch(ctx, c)
	}()
	return func() {
		cancel()
		<-done
	}
}

// Live reports whether checks are served from memory.
func (c *Cache) Live() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.live
}

// CacheStats counts the session checks of a Cache.
type CacheStats struct {
	// Hits were served from memory, Misses read the store and filled the
	// cache, Bypass read the store because the cache was not live.
	Hits, Misses, Bypass uint64
}

// Stats returns the counts so far.
func (c *Cache) Stats() CacheStats {
	return CacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Bypass: c.bypass.Load()}
}

// syncShared forgets everything when another process (or this one) has
// ended sessions since the entries were filled, and returns the generation
// and epoch a fill must still see to be kept.
func (c *Cache) syncShared() (live bool, epoch, gen uint64) {
	var now uint64
	if c.shared != nil {
		now = c.shared.Generation()
	}
	c.mu.RLock()
	live, epoch, gen = c.live, c.epoch, c.gen
	c.mu.RUnlock()
	if c.shared == nil || now == gen {
		return live, epoch, gen
	}
	c.mu.Lock()
	if c.gen != now {
		clear(c.entries)
		c.gen = now
		c.epoch++
	}
	live, epoch, gen = c.live, c.epoch, c.gen
	c.mu.Unlock()
	return live, epoch, gen
}

// Get returns a live session, from memory when the cache is live and holds
// it, else from the store. A fill is kept only if no invalidation happened
// while the store was read.
func (c *Cache) Get(ctx context.Context, sid string) (Session, error) {
	live, epoch, gen := c.syncShared()
	if !live {
		c.bypass.Add(1)
		return c.Store.Get(ctx, sid)
	}
	now := time.Now()
	c.mu.RLock()
	e, ok := c.entries[sid]
	c.mu.RUnlock()
	if ok && now.Before(e.s.ExpiresAt) && now.Sub(e.filled) < c.cfg.MaxAge {
		c.hits.Add(1)
		return e.s, nil
	}
	c.misses.Add(1)
	s, err := c.Store.Get(ctx, sid)
	if err != nil {
		return s, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch != epoch || c.gen != gen || !c.live || (c.shared != nil && c.shared.Generation() != gen) {
		return s, nil // something ended meanwhile: serve this read, keep nothing
	}
	if len(c.entries) >= c.cfg.MaxEntries {
		for k := range c.entries {
			delete(c.entries, k)
			break
		}
	}
	c.entries[sid] = cacheEntry{s: s, filled: now}
	return s, nil
}

// End forgets what e names.
func (c *Cache) End(e Ended) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	switch {
	case e.All:
		clear(c.entries)
	case e.SID != "":
		delete(c.entries, e.SID)
	}
	if e.UserID != "" {
		for sid, x := range c.entries {
			if x.s.UserID == e.UserID {
				delete(c.entries, sid)
			}
		}
	}
}

// Heard forgets what another process ended and passes the notice on to
// OnHeard.
func (c *Cache) Heard(e Ended) {
	c.End(e)
	if c.cfg.OnHeard != nil {
		c.cfg.OnHeard(e)
	}
}

// Down switches to bypass and forgets everything: revocations may now go
// unheard.
func (c *Cache) Down() { c.setLive(false) }

// Up forgets everything and serves from memory again: from now on every
// revocation is heard.
func (c *Cache) Up() { c.setLive(true) }

func (c *Cache) setLive(live bool) {
	c.mu.Lock()
	changed := c.live != live
	c.live = live
	clear(c.entries)
	c.epoch++
	c.mu.Unlock()
	if changed && c.cfg.OnLive != nil {
		c.cfg.OnLive(live)
	}
}

// Touch records activity in the store and in the cached entry, so the
// caller does not touch again at every request.
func (c *Cache) Touch(ctx context.Context, sid string, at time.Time) error {
	err := c.Store.Touch(ctx, sid, at)
	if err == nil {
		c.mu.Lock()
		if e, ok := c.entries[sid]; ok {
			e.s.LastSeen = at
			c.entries[sid] = e
		}
		c.mu.Unlock()
	}
	return err
}

// Rotate rotates in the store and forgets the cached entry, whose refresh
// hash is now stale (or whose session a reuse has ended).
func (c *Cache) Rotate(ctx context.Context, sid, oldHash, newHash string) (Session, error) {
	s, err := c.Store.Rotate(ctx, sid, oldHash, newHash)
	c.End(Ended{SID: sid})
	return s, err
}

// Revoke ends a session in the store and in memory.
func (c *Cache) Revoke(ctx context.Context, sid string) error {
	err := c.Store.Revoke(ctx, sid)
	c.End(Ended{SID: sid})
	return err
}

// RevokeUser ends a user's sessions in the store and in memory.
func (c *Cache) RevokeUser(ctx context.Context, userID, keep string) (int, error) {
	n, err := c.Store.RevokeUser(ctx, userID, keep)
	c.endUserExcept(userID, keep)
	return n, err
}

func (c *Cache) endUserExcept(userID, keep string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	for sid, x := range c.entries {
		if x.s.UserID == userID && sid != keep {
			delete(c.entries, sid)
		}
	}
}

// RevokeAll ends every session in the store and in memory.
func (c *Cache) RevokeAll(ctx context.Context, keep string) (int, error) {
	n, err := c.Store.RevokeAll(ctx, keep)
	c.mu.Lock()
	c.epoch++
	for sid := range c.entries {
		if sid != keep {
			delete(c.entries, sid)
		}
	}
	c.mu.Unlock()
	return n, err
}
