package gateway_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
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
	blob := strings.Repeat("x", 64<<10)
	full := false
	for i := 0; i < 1000 && !full; i++ {
		if err := raw.Set(ctx, fmt.Sprintf("filler:%d", i), blob, 0).Err(); err != nil && strings.Contains(err.Error(), "OOM") {
			full = true
		}
	}
	if !full {
		t.Fatal("could not fill Redis")
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
