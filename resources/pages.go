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

// appendPageKey names a query's answer: the collection, whether the
// projection is the public one, and the whole validated query (conditions,
// the owner's included, sort, cursor, limit). Every part is written with
// its length or type first, so no two queries share a key.
func appendPageKey(b []byte, coll string, q Query, public bool) ([]byte, bool) {
	b = strconv.AppendQuote(b, coll)
	b = strconv.AppendBool(b, public)
	b = strconv.AppendQuote(b, q.SortPath)
	b = strconv.AppendBool(b, q.SortDesc)
	b = appendKeyInt(b, int64(q.Limit))
	b = appendKeyInt(b, int64(len(q.Conditions)))
	var ok bool
	for _, c := range q.Conditions {
		b = strconv.AppendQuote(b, c.Path)
		b = appendKeyInt(b, int64(c.Op))
		if b, ok = appendKeyValue(b, c.Value); !ok {
			return nil, false
		}
	}
	if q.After != nil {
		b = append(b, 'a')
		b = strconv.AppendQuote(b, q.After.ID)
		b = strconv.AppendBool(b, q.After.Null)
		if b, ok = appendKeyValue(b, q.After.Value); !ok {
			return nil, false
		}
	}
	return b, true
}

// appendKeyInt writes a number and its end, so two numbers in a row never
// read as one.
func appendKeyInt(b []byte, n int64) []byte { return append(strconv.AppendInt(b, n, 10), ';') }

// appendKeyValue writes a query value with its type; a kind a validated
// query never holds makes the query uncacheable.
func appendKeyValue(b []byte, v any) ([]byte, bool) {
	switch x := v.(type) {
	case nil:
		return append(b, 'n'), true
	case string:
		return strconv.AppendQuote(append(b, 's'), x), true
	case bool:
		return strconv.AppendBool(append(b, 'b'), x), true
	case int64:
		return appendKeyInt(append(b, 'i'), x), true
	case int:
		return appendKeyInt(append(b, 'i'), int64(x)), true
	case float64:
		return append(strconv.AppendFloat(append(b, 'f'), x, 'g', -1, 64), ';'), true
	case json.Number:
		return strconv.AppendQuote(append(b, 'd'), string(x)), true
	}
	return nil, false
}

func (p *pages) get(key []byte, version uint64) (page, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pg, ok := p.entries[string(key)]
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
	var (
		version uint64
		space   [256]byte
		key     []byte
	)
	vs, cached := s.store.(Versioned)
	if cached = cached && !s.cfg.NoPageCache; cached {
		var err error
		version, err = vs.Version(ctx)
		cached = err == nil
	}
	if cached {
		key, cached = appendPageKey(space[:0], sc.Collection, q, public)
	}
	if cached {
		if pg, hit := s.pages.get(key, version); hit {
			return Result{Data: pg.docs, Next: pg.next}, nil
		}
	}
	res, err := findRaw(ctx, rf, s.buffers, sc, q, public)
	if cached && err == nil {
		s.pages.put(string(key), version, res)
	}
	return res, err
}
