package gateway

import (
	"math"
	"sync"
	"time"
)

// rateLimiter is a token bucket per client address: rate requests a second
// with bursts of burst. It protects each replica from one client's flood;
// login failures are throttled across replicas in the session store.
type rateLimiter struct {
	rate, burst float64
	mu          sync.Mutex
	buckets     map[string]*bucket
	lastSweep   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(perSecond, burst int) *rateLimiter {
	if perSecond <= 0 {
		return nil
	}
	if burst < perSecond {
		burst = perSecond
	}
	return &rateLimiter{rate: float64(perSecond), burst: float64(burst), buckets: make(map[string]*bucket)}
}

// maxBuckets bounds the table of client addresses: a flood from many
// addresses (or many forwarded ones from a trusted proxy) cannot grow it.
const maxBuckets = 100_000

// allow takes a token for the address, or says how long until one is free.
func (l *rateLimiter) allow(addr string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > time.Minute {
		l.sweep(now, time.Minute)
	}
	b, ok := l.buckets[addr]
	if !ok {
		if len(l.buckets) >= maxBuckets {
			l.sweep(now, 0)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[addr] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// sweep forgets addresses idle for longer than idle, which then start again
// with a full bucket (what a refilled bucket would hold). When the table is
// still full it forgets a tenth of it, chosen by map order (at random).
func (l *rateLimiter) sweep(now time.Time, idle time.Duration) {
	for k, b := range l.buckets {
		if now.Sub(b.last) > idle && b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
	l.lastSweep = now
	for k := range l.buckets {
		if len(l.buckets) < maxBuckets-maxBuckets/10 {
			break
		}
		delete(l.buckets, k)
	}
}
