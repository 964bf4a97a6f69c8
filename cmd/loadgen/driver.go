package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// driver runs one scenario at a fixed concurrency for a fixed time.
type driver struct {
	concurrency int
	duration    time.Duration
}

// result is what one scenario measured.
type result struct {
	name        string
	n, errors   int64
	rps         float64
	p50, p99    time.Duration
	firstStatus int
	// Per request, spent by the server process alone: CPU, allocations
	// and bytes allocated.
	cpu           time.Duration
	allocs, bytes float64
	// Per request, allocated by the load generator (this process).
	genAllocs, genBytes float64
}

func (r result) line(base result) string {
	return fmt.Sprintf("%-58s %8.0f req/s  p50 %8v  p99 %8v  %6.1f µs CPU  %6.0f allocs %8.0f B/req (load generator %6.0f B)  %5.1f%% of baseline  (%d errors)",
		r.name, r.rps, r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), us(r.cpu), r.allocs, r.bytes, r.genBytes, 100*r.rps/base.rps, r.errors)
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }

// statsFunc reads what the server process has spent so far.
type statsFunc func() (procStats, error)

// reqFunc returns the i-th request of a scenario.
type reqFunc func(i int64) *http.Request

func newClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns,
		DisableCompression: true, IdleConnTimeout: time.Minute,
	}, Timeout: 30 * time.Second}
}

func getReq(url, auth string) reqFunc {
	return func(int64) *http.Request {
		r, _ := http.NewRequest(http.MethodGet, url, nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		return r
	}
}

func postReq(url, auth string, body func(i int64) []byte) reqFunc {
	return func(i int64) *http.Request {
		r, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body(i)))
		r.Header.Set("Content-Type", "application/json")
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		return r
	}
}

func (d driver) measure(name string, next reqFunc, server statsFunc) (result, error) {
	client := newClient(d.concurrency)
	defer client.CloseIdleConnections()
	// Warm the connections and the caches.
	warm := time.Now().Add(300 * time.Millisecond)
	var seq atomic.Int64
	var wg sync.WaitGroup
	for range d.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(warm) {
				do(client, next(seq.Add(1)))
			}
		}()
	}
	wg.Wait()

	runtime.GC()
	var before, after runtime.MemStats
	srvBefore, err := server()
	if err != nil {
		return result{}, err
	}
	runtime.ReadMemStats(&before)
	lat := make([][]time.Duration, d.concurrency)
	var errs atomic.Int64
	var first atomic.Int64
	start := time.Now()
	end := start.Add(d.duration)
	for w := range d.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			own := make([]time.Duration, 0, 4096)
			for time.Now().Before(end) {
				t0 := time.Now()
				status := do(client, next(seq.Add(1)))
				own = append(own, time.Since(t0))
				if status < 200 || status > 299 {
					errs.Add(1)
					first.CompareAndSwap(0, int64(status))
				}
			}
			lat[w] = own
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	srvAfter, err := server()
	if err != nil {
		return result{}, err
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	n := int64(len(all))
	r := result{name: name, n: n, errors: errs.Load(), rps: float64(n) / elapsed.Seconds(), firstStatus: int(first.Load())}
	if n > 0 {
		r.p50, r.p99 = all[n/2], all[min(n-1, n*99/100)]
		r.genAllocs = float64(after.Mallocs-before.Mallocs) / float64(n)
		r.genBytes = float64(after.TotalAlloc-before.TotalAlloc) / float64(n)
		r.cpu = (srvAfter.CPU - srvBefore.CPU) / time.Duration(n)
		r.allocs = float64(srvAfter.Mallocs-srvBefore.Mallocs) / float64(n)
		r.bytes = float64(srvAfter.TotalAlloc-srvBefore.TotalAlloc) / float64(n)
	}
	return r, nil
}

func do(c *http.Client, r *http.Request) int {
	resp, err := c.Do(r)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// sequential runs n requests one after another and returns p50 and p99.
func sequential(n int, next reqFunc) (time.Duration, time.Duration, int) {
	client := newClient(1)
	defer client.CloseIdleConnections()
	do(client, next(0))
	lat := make([]time.Duration, 0, n)
	bad := 0
	for i := range n {
		t0 := time.Now()
		if s := do(client, next(int64(i))); s < 200 || s > 299 {
			bad++
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	return lat[n/2], lat[min(n-1, n*99/100)], bad
}
