package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tnt/gateway/crypto"
	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/sqlite"
)

type growthRow struct {
	name, size string
	p50, p99   time.Duration
	note       string
}

// bulkSeed inserts gyms straight into the store's file up to total, in
// transactions of 5,000, and returns their ids.
func bulkSeed(ctx context.Context, st *sqlite.Store, from, to int, ids []string) ([]string, error) {
	for start := from; start < to; start += 5000 {
		end := min(to, start+5000)
		err := st.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error {
			for i := start; i < end; i++ {
				now := time.Now()
				id := resources.NewID(now)
				doc := resources.Document{
					"_id": id, "name": fmt.Sprintf("bulk %07d", i), "type": resources.Document{"name": "kind " + strconv.Itoa(i%10)},
					"description": "a gym seeded in bulk for cost growth", "owner": "load",
					"created_at": resources.FormatTime(now), "updated_at": resources.FormatTime(now),
				}
				if err := tx.Insert(ctx, "gym", doc); err != nil {
					return err
				}
				ids = append(ids, id)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return ids, nil
}

func growth(ctx context.Context, stdout io.Writer) ([]growthRow, error) {
	g, err := startGateway("", "", false, false)
	if err != nil {
		return nil, err
	}
	defer g.stop()
	fix, err := seed(g.url, 0)
	if err != nil {
		return nil, err
	}
	st, err := sqlite.Open(ctx, filepath.Join(g.dataDir, "gateway.db"), 2)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	var rows []growthRow
	var ids []string
	have := 0
	for _, size := range []int{1000, 10_000, 100_000} {
		if ids, err = bulkSeed(ctx, st, have, size, ids); err != nil {
			return nil, err
		}
		have = size
		label := strconv.Itoa(size)
		r := rand.New(rand.NewPCG(uint64(size), 7))
		measure := func(name, note string, next reqFunc) {
			n := 200
			if name == "contains (no match: scans every document)" {
				n = max(20, 200_000/size) // a full scan per request: fewer of them
				note += fmt.Sprintf("; %d requests", n)
			}
			p50, p99, bad := sequential(n, next)
			if bad > 0 {
				note += fmt.Sprintf(" (%d errors)", bad)
			}
			rows = append(rows, growthRow{name: name, size: label, p50: p50, p99: p99, note: note})
			fmt.Fprintf(stdout, "%-48s %7s  p50 %v  p99 %v\n", name, label, p50.Round(time.Microsecond), p99.Round(time.Microsecond))
		}
		measure("equals on an indexed field (name)", "flat: index lookup", postReq(g.url+"/api/gym", fix.adminJWT, func(int64) []byte {
			return []byte(`{"operation":"query","data":{"name":{"equals":"bulk ` + fmt.Sprintf("%07d", r.IntN(size)) + `"}}}`)
		}))
		measure("get by id", "flat: primary key", func(int64) *http.Request {
			req, _ := http.NewRequest("GET", g.url+"/api/gym/"+ids[r.IntN(len(ids))], nil)
			req.Header.Set("Authorization", fix.adminJWT)
			return req
		})
		measure("contains (no match: scans every document)", "linear in the documents, by design", postReq(g.url+"/api/gym", fix.adminJWT, func(int64) []byte {
			return []byte(`{"operation":"query","data":{"description":{"contains":"no such words"}}}`)
		}))
		p50, p99, err := pageThrough(g.url, fix.adminJWT, 200)
		if err != nil {
			return nil, err
		}
		rows = append(rows, growthRow{name: "page through with after (100 per page)", size: label, p50: p50, p99: p99, note: "flat per page: keyset cursor"})
		fmt.Fprintf(stdout, "%-48s %7s  p50 %v  p99 %v\n", "page through with after", label, p50.Round(time.Microsecond), p99.Round(time.Microsecond))
	}
	flood, err := loginFlood(g, fix)
	if err != nil {
		return nil, err
	}
	return append(rows, flood...), nil
}

// pageThrough follows next cursors for pages of 100 and times each page.
func pageThrough(base, auth string, pages int) (time.Duration, time.Duration, error) {
	client := newClient(1)
	defer client.CloseIdleConnections()
	var lat []time.Duration
	after := ""
	for range pages {
		u := base + "/api/gym?find=100"
		if after != "" {
			u += "&after=" + url.QueryEscape(after)
		}
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("Authorization", auth)
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, 0, err
		}
		var env struct {
			Next string `json:"next"`
		}
		err = json.NewDecoder(resp.Body).Decode(&env)
		resp.Body.Close()
		lat = append(lat, time.Since(t0))
		if err != nil || resp.StatusCode != 200 {
			return 0, 0, fmt.Errorf("page: %d %v", resp.StatusCode, err)
		}
		if env.Next == "" {
			after = "" // wrap around to the first page
			continue
		}
		after = env.Next
	}
	slices.Sort(lat)
	return lat[len(lat)/2], lat[len(lat)*99/100], nil
}

// loginFlood sends 200 logins at once while four clients keep querying, and
// reports the query latency during the flood and the heap's peak.
func loginFlood(g *gatewayProc, fix *fixture) ([]growthRow, error) {
	base := g.url
	info, err := crypto.FetchPublicKey(context.Background(), http.DefaultClient, base)
	if err != nil {
		return nil, err
	}
	payloads := make([][]byte, 200)
	for i := range payloads {
		if payloads[i], err = payload(info, map[string]any{"username": "load_user", "password": "load user passphrase"}); err != nil {
			return nil, err
		}
	}
	query := postReq(base+"/api/gym", fix.bearer, func(int64) []byte { return []byte(`{"operation":"query","data":{},"find":20}`) })
	before, _, _ := sequential(200, query)

	var peak atomic.Uint64
	stopSampling := make(chan struct{})
	go func() {
		for {
			select {
			case <-stopSampling:
				return
			case <-time.After(10 * time.Millisecond):
				if m, err := g.stats(); err == nil && m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}
	}()
	var wg sync.WaitGroup
	var ok, shed, other atomic.Int64
	client := newClient(200)
	start := time.Now()
	for i := range payloads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch do(client, postReq(base+"/api/auth", "", func(int64) []byte { return payloads[i] })(0)) {
			case 200:
				ok.Add(1)
			case 429, 503:
				shed.Add(1)
			default:
				other.Add(1)
			}
		}()
	}
	var lat []time.Duration
	var mu sync.Mutex
	floodDone := make(chan struct{})
	go func() { wg.Wait(); close(floodDone) }()
	var qwg sync.WaitGroup
	qc := newClient(4)
	for range 4 {
		qwg.Add(1)
		go func() {
			defer qwg.Done()
			for {
				select {
				case <-floodDone:
					return
				default:
				}
				t0 := time.Now()
				do(qc, query(0))
				mu.Lock()
				lat = append(lat, time.Since(t0))
				mu.Unlock()
			}
		}()
	}
	qwg.Wait()
	elapsed := time.Since(start)
	close(stopSampling)
	slices.Sort(lat)
	var p50, p99 time.Duration
	if n := len(lat); n > 0 {
		p50, p99 = lat[n/2], lat[min(n-1, n*99/100)]
	}
	note := fmt.Sprintf("during 200 concurrent logins (%v): %d served, %d shed with 429/503, %d other; heap peak %.0f MiB; the same query alone: p50 %s",
		elapsed.Round(time.Millisecond), ok.Load(), shed.Load(), other.Load(), float64(peak.Load())/(1<<20), ms(before))
	return []growthRow{{name: "query 20 documents during a login flood", size: "2000", p50: p50, p99: p99, note: note}}, nil
}
