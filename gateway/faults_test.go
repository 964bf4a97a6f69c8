package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tnt/gateway/resources/session/redis"
	"github.com/tnt/gateway/resources/session/redis/redistest"
)

// TestLoginFlood: 200 logins at once are all answered (served, or shed with
// 503 and Retry-After when every hashing slot stays busy), never with a 500,
// and the rest of the API keeps answering meanwhile.
func TestLoginFlood(t *testing.T) {
	e := MustStartGateway(t)
	app := newAppClient(t, e.srv.URL)
	e.register(t, app, "flood_user", "a fine long password")
	payloads := make([]string, 200)
	for i := range payloads {
		payloads[i] = app.seal(t, map[string]any{"username": "flood_user", "password": "a fine long password"})
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for _, p := range payloads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.payloadCall(t, "/api/auth", p)
			mu.Lock()
			statuses[r.status]++
			mu.Unlock()
			if r.status == 503 && r.header.Get("Retry-After") == "" {
				t.Error("a shed login without Retry-After")
			}
		}()
	}
	if r := e.call(t, "GET", "/api/discovery/gym", "", ""); r.status != 200 {
		t.Errorf("the API during the flood: %d", r.status)
	}
	wg.Wait()
	if statuses[200]+statuses[503] != 200 || statuses[200] == 0 {
		t.Errorf("200 parallel logins: %v", statuses)
	}
}

// TestSessionStoreHoldsOnlyHashes: the session database never holds a
// refresh token, its secret or an access token.
func TestSessionStoreHoldsOnlyHashes(t *testing.T) {
	e := MustStartGateway(t)
	app := newAppClient(t, e.srv.URL)
	tk := e.register(t, app, "hash_only", "a fine long password")
	secret := tk.RefreshToken[strings.Index(tk.RefreshToken, ".")+1:]
	if len(secret) < 43 { // 256 bits in base64url
		t.Errorf("refresh secret of %d characters", len(secret))
	}
	var all []byte
	for _, f := range []string{e.sessionsPath, e.sessionsPath + "-wal"} {
		b, _ := os.ReadFile(f)
		all = append(all, b...)
	}
	if len(all) == 0 {
		t.Fatal("no session database found")
	}
	for name, s := range map[string]string{"refresh token": tk.RefreshToken, "refresh secret": secret, "access token": tk.AccessToken} {
		if bytes.Contains(all, []byte(s)) {
			t.Errorf("the session store holds the %s", name)
		}
	}
}

// TestRedisFullFailsClosed: a Redis at maxmemory with noeviction refuses
// writes; logins then fail closed with 503, while requests that only read
// their session still work, and nothing the gateway wrote was evicted.
func TestRedisFullFailsClosed(t *testing.T) {
	srv := redistest.StartWith(t, "--maxmemory", "4mb")
	rs, err := redis.Open(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	e := MustStartGatewayWith(t, options{sessions: rs})
	app := newAppClient(t, e.srv.URL)
	tk := e.register(t, app, "before_full", "a fine long password")

	raw := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer raw.Close()
	ctx := context.Background()
	// Fill with large values, then smaller ones: Redis refuses a large
	// write while it still takes small ones, and a login writes little.
	for _, size := range []int{64 << 10, 1 << 10, 16} {
		blob := strings.Repeat("x", size)
		full := false
		for i := 0; i < 100_000 && !full; i++ {
			if err := raw.Set(ctx, fmt.Sprintf("filler:%d:%d", size, i), blob, 0).Err(); err != nil && strings.Contains(err.Error(), "OOM") {
				full = true
			}
		}
		if !full {
			t.Fatalf("could not fill Redis with values of %d bytes", size)
		}
	}
	r := e.payloadCall(t, "/api/auth", app.seal(t, map[string]any{"username": "before_full", "password": "a fine long password"}))
	if r.status != 503 || r.body.ErrorCode != "ServiceUnavailableError" {
		t.Errorf("login with Redis full: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "GET", "/api/account/me", "", "", bearer(tk.AccessToken)...); r.status != 200 {
		t.Errorf("a session read with Redis full: %d %s", r.status, r.raw)
	}
}

// TestStalledStoreAnswers503: with the document store's write lock held by
// someone else, a write waits until the request's deadline and is answered
// 503 with nothing written; the store serves again once the lock is gone.
func TestStalledStoreAnswers503(t *testing.T) {
	e := MustStartGatewayWith(t, options{requestTimeout: 400 * time.Millisecond})
	db, err := sql.Open("sqlite", "file:"+e.dbPath+"?_pragma=busy_timeout(100)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := e.call(t, "POST", "/api/gym", "admin", `{"operation":"create","data":{"name":"Stalled"}}`)
	if r.status != 503 || r.body.ErrorCode != "ServiceUnavailableError" {
		t.Errorf("write with the store stalled: %d %s", r.status, r.raw)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Errorf("the stalled write took %v, past its deadline", waited)
	}
	if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if r := e.call(t, "POST", "/api/gym", "admin", `{"operation":"create","data":{"name":"Stalled"}}`); r.status != 201 {
		t.Errorf("after the stall: %d %s (the stalled write must not have landed)", r.status, r.raw)
	}
}

// TestRateLimitPerClient: one client over its rate gets 429 with
// Retry-After; another client is still served. (The test's clients are told
// apart by X-Forwarded-For from a trusted proxy: loopback here.)
func TestRateLimitPerClient(t *testing.T) {
	e := MustStartGatewayWith(t, options{rateLimit: 5, trustedProxies: []string{"127.0.0.1"}})
	limited := 0
	var last reply
	for range 20 {
		last = e.call(t, "GET", "/api/discovery/gym", "", "", "X-Forwarded-For", "203.0.113.7")
		if last.status == 429 {
			limited++
		}
	}
	if limited < 10 || last.header.Get("Retry-After") == "" || last.body.ErrorCode != "RateLimitedError" {
		t.Errorf("20 quick requests at 5/s: %d limited; last %d %s", limited, last.status, last.raw)
	}
	if r := e.call(t, "GET", "/api/discovery/gym", "", "", "X-Forwarded-For", "203.0.113.8"); r.status != 200 {
		t.Errorf("another client: %d", r.status)
	}
	// Probes and metrics are limited too: outside the limiter, a loop of
	// them was a free way to make the gateway work (API.md §8).
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/nowhere"} {
		if r := e.call(t, "GET", path, "", "", "X-Forwarded-For", "203.0.113.7"); r.status != 429 {
			t.Errorf("%s from a client over its rate: %d", path, r.status)
		}
	}
	if r := e.call(t, "GET", "/healthz", "", "", "X-Forwarded-For", "203.0.113.9"); r.status != 200 {
		t.Errorf("health check from a client within its rate: %d", r.status)
	}
}

// TestSmugglingStyleRequests: ambiguous framing is refused by the server
// before the gateway sees it (on a public route, which reads its body).
func TestSmugglingStyleRequests(t *testing.T) {
	e := MustStartGateway(t)
	addr := strings.TrimPrefix(e.srv.URL, "http://")
	for name, raw := range map[string]string{
		"Content-Length and Transfer-Encoding": "POST /api/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"two Content-Lengths":                  "POST /api/register HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}",
		"bad chunked framing":                  "POST /api/register HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
		"header without a colon":               "GET /api/gym HTTP/1.1\r\nHost: x\r\nbroken header\r\n\r\n",
	} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = conn.Write([]byte(raw))
		status, _ := bufio.NewReader(conn).ReadString('\n')
		conn.Close()
		if !strings.Contains(status, " 400 ") && !strings.Contains(status, " 501 ") {
			t.Errorf("%s: %q", name, status)
		}
	}
}
