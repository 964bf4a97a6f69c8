package resources

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
)

// pages keeps the answers of raw queries on a store that tells when it was
// written to (Versioned): a page is served again while the store's version
// is the one read before the page was queried, so no write by any process
// can have landed in between. A write of any kind forgets every page.
type pages struct {
	mu      sync.Mutex
	entries map[string]page
	bytes   int // the documents' bytes held
}

type page struct {
	version uint64
	docs    []json.RawMessage
	next    string
}

// The cache's bounds: past them, arbitrary pages make room.
const (
	maxPages      = 1024
	maxPagesBytes = 16 << 20
	// maxPageBytes keeps a huge page out of the cache.
	maxPageBytes = 256 << 10
)

func newPages() *pages { return &pages{entries: map[string]page{}} }

// pageKey names a query's answer: the collection, whether the projection
// is the public one, and the whole validated query (conditions, the owner's
// included, sort, cursor, limit).
func pageKey(coll string, q Query, public bool) (string, bool) {
	b, err := json.Marshal(q)
	if err != nil {
		return "", false
	}
	return coll + "\x00" + strconv.FormatBool(public) + "\x00" + string(b), true
}

func (p *pages) get(key string, version uint64) (page, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pg, ok := p.entries[key]
	if !ok || pg.version != version {
		return page{}, false
	}
	return pg, true
}

// put keeps a copy of res under version, the store's version read before
// the query ran.
func (p *pages) put(key string, version uint64, res Result) {
	docs, _ := res.Data.([]json.RawMessage)
	size := 0
	for _, d := range docs {
		size += len(d)
	}
	if size > maxPageBytes {
		return
	}
	buf := make([]byte, 0, size)
	own := make([]json.RawMessage, len(docs))
	for i, d := range docs {
		start := len(buf)
		buf = append(buf, d...)
		own[i] = buf[start:len(buf):len(buf)]
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.drop(key)
	for k := range p.entries {
		if len(p.entries) < maxPages && p.bytes+size <= maxPagesBytes {
			break
		}
		p.drop(k)
	}
	p.entries[key] = page{version: version, docs: own, next: res.Next}
	p.bytes += size
}

// drop forgets one page (p.mu held).
func (p *pages) drop(key string) {
	if old, ok := p.entries[key]; ok {
		for _, d := range old.docs {
			p.bytes -= len(d)
		}
		delete(p.entries, key)
	}
}

// findCached is findRaw through the page cache when the store keeps a
// version; the version is read before the query, so a page filled while a
// write landed is kept under the older version and never served after it.
func (s *Service) findCached(ctx context.Context, rf RawFinder, sc *Schema, q Query, public bool) (Result, error) {
	vs, ok := s.store.(Versioned)
	if !ok {
		return findRaw(ctx, rf, s.buffers, sc, q, public)
	}
	version, err := vs.Version(ctx)
	if err != nil {
		return findRaw(ctx, rf, s.buffers, sc, q, public)
	}
	key, ok := pageKey(sc.Collection, q, public)
	if !ok {
		return findRaw(ctx, rf, s.buffers, sc, q, public)
	}
	if pg, hit := s.pages.get(key, version); hit {
		return Result{Data: pg.docs, Next: pg.next}, nil
	}
	res, err := findRaw(ctx, rf, s.buffers, sc, q, public)
	if err == nil {
		s.pages.put(key, version, res)
	}
	return res, err
}
