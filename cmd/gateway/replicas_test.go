package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tnt/gateway/cmd/internal/gatewaytest"

	"github.com/tnt/gateway/crypto"
	"github.com/tnt/gateway/resources/session/redis/redistest"
)

// login registers (once) or logs in through gateway g with an encrypted
// payload and returns the tokens' data.
func payloadCall(t *testing.T, base, path string, fields map[string]any) (int, map[string]any) {
	t.Helper()
	info, err := crypto.FetchPublicKey(context.Background(), http.DefaultClient, base)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := crypto.StampPayload(fields, time.Now())
	jwe, err := crypto.SealPayload(info, plain)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"payload": jwe})
	resp, err := http.Post(base+path, "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env struct {
		Data map[string]any `json:"data"`
	}
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &env)
	return resp.StatusCode, env.Data
}

func withBearer(t *testing.T, method, url, token string) int {
	t.Helper()
	return withBearerBody(t, method, url, token, "")
}

func withBearerBody(t *testing.T, method, url, token, body string) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func refresh(t *testing.T, base, token string) int {
	t.Helper()
	resp, err := http.Post(base+"/api/token/refresh", "application/json", strings.NewReader(`{"refresh_token":"`+token+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestReplicasShareRedis runs two gateway processes (the built binary) on
// one Redis and one data dir (so one keyring and one document store): a
// session made on one works on the other, a revocation on one is refused on
// the other at the very next request; with Redis down both fail closed
// (503), and after a restart of Redis without persistence no session comes
// back.
func TestReplicasShareRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	rs := redistest.Start(t)
	bin := gatewaytest.Build(t, ".")
	env := []string{"GATEWAY_DATA_DIR=" + t.TempDir(), "GATEWAY_RSA_BITS=2048", "GATEWAY_REDIS_URL=" + rs.URL(), "GATEWAY_RATE_LIMIT=0",
		"GATEWAY_BOOTSTRAP_USER=" + rootUser, "GATEWAY_BOOTSTRAP_PASSWORD=" + rootPass}
	pa := gatewaytest.Start(t, bin, env...)
	pb := gatewaytest.Start(t, bin, env...)
	a, b := struct{ url string }{"http://" + pa.Addr}, struct{ url string }{"http://" + pb.Addr}

	status, tk := payloadCall(t, a.url, "/api/register", map[string]any{"username": "replica_user", "password": "a fine long password"})
	if status != 201 {
		t.Fatalf("register on A: %d %v", status, tk)
	}
	access, refreshTok := tk["access_token"].(string), tk["refresh_token"].(string)
	if s := withBearer(t, "GET", b.url+"/api/account/me", access); s != 200 {
		t.Fatalf("A's token on B: %d", s)
	}
	_, second := payloadCall(t, b.url, "/api/auth", map[string]any{"username": "replica_user", "password": "a fine long password"})
	if s := withBearer(t, "DELETE", b.url+"/api/session", access); s != 200 {
		t.Fatalf("logout on B: %d", s)
	}
	if s := withBearer(t, "GET", a.url+"/api/account/me", access); s != 401 {
		t.Errorf("A after logout on B: %d", s)
	}
	if s := refresh(t, a.url, refreshTok); s != 401 {
		t.Errorf("refresh on A after logout on B: %d", s)
	}

	// Redis down: fail closed on both.
	rs.Stop()
	if s := withBearer(t, "GET", a.url+"/api/account/me", second["access_token"].(string)); s != 503 {
		t.Errorf("bearer with Redis down: %d", s)
	}
	if s, _ := payloadCall(t, b.url, "/api/auth", map[string]any{"username": "replica_user", "password": "a fine long password"}); s != 503 {
		t.Errorf("login with Redis down: %d", s)
	}
	resp, _ := http.Get(a.url + "/readyz")
	if resp != nil {
		resp.Body.Close()
		if resp.StatusCode != 503 {
			t.Errorf("readyz with Redis down: %d", resp.StatusCode)
		}
	}

	// Restarted empty: nothing is resurrected, and logins work again.
	rs.Restart()
	if s := withBearer(t, "GET", a.url+"/api/account/me", second["access_token"].(string)); s != 401 {
		t.Errorf("old session after a Redis restart: %d", s)
	}
	if s := refresh(t, b.url, second["refresh_token"].(string)); s != 401 {
		t.Errorf("old refresh token after a Redis restart: %d", s)
	}
	if s, _ := payloadCall(t, a.url, "/api/auth", map[string]any{"username": "replica_user", "password": "a fine long password"}); s != 200 {
		t.Errorf("login after Redis is back: %d", s)
	}
}

// TestPolicyReachesEveryReplica: a policy replaced on one replica is applied
// on the other within seconds, without a restart.
func TestPolicyReachesEveryReplica(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.RSABits = 2048
	a := MustRun(t, cfg)
	b := MustRun(t, cfg)
	get := func(url string) int {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := get(b.url + "/api/discovery/gym"); s != 200 {
		t.Fatalf("discovery before: %d", s)
	}
	_, body := do(t, "GET", a.url+"/api/admin/policy", "")
	var pol struct {
		Data struct {
			Lines []string `json:"lines"`
		} `json:"data"`
	}
	_ = json.Unmarshal([]byte(body), &pol)
	var lines []string
	for _, l := range pol.Data.Lines {
		if l != "p, guest, data, discover" {
			lines = append(lines, l)
		}
	}
	payload, _ := json.Marshal(map[string]any{"lines": lines})
	if s, body := do(t, "PUT", a.url+"/api/admin/policy", string(payload)); s != 200 {
		t.Fatalf("replace on A: %d %s", s, body)
	}
	if s := get(a.url + "/api/discovery/gym"); s != 404 {
		t.Errorf("A after the change: %d", s)
	}
	deadline := time.Now().Add(10 * time.Second)
	for get(b.url+"/api/discovery/gym") != 404 {
		if time.Now().After(deadline) {
			t.Fatal("B did not apply the new policy within 10 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRedisKilledDuringLoad kills Redis while clients keep calling, then
// starts it again empty: no answer is ever a 500; while it is down requests
// that need it are 503; afterwards old sessions and refresh tokens are 401
// (nothing resurrected, no refresh token accepted twice) and new logins
// work with no restart of the gateway. Each phase lasts until the clients
// have seen what it is for, and each request counts in the phase it started
// in, so the test holds however slow the machine is.
func TestRedisKilledDuringLoad(t *testing.T) {
	rs := redistest.Start(t)
	cfg := testConfig(t, t.TempDir())
	cfg.RSABits = 2048
	cfg.RedisURL = rs.URL()
	g := MustRun(t, cfg)
	status, _ := payloadCall(t, g.url, "/api/register", map[string]any{"username": "loaded_user", "password": "a fine long password"})
	if status != 201 {
		t.Fatalf("register: %d", status)
	}
	var mu sync.Mutex
	seen := map[string]map[int]int{}
	record := func(phase string, s int) {
		mu.Lock()
		defer mu.Unlock()
		if seen[phase] == nil {
			seen[phase] = map[int]int{}
		}
		seen[phase][s]++
	}
	count := func(phase string, s int) int {
		mu.Lock()
		defer mu.Unlock()
		return seen[phase][s]
	}
	var phase atomic.Value
	phase.Store("before")
	refreshed := map[string]int{}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, tk := payloadCall(t, g.url, "/api/auth", map[string]any{"username": "loaded_user", "password": "a fine long password"})
			access, _ := tk["access_token"].(string)
			refresh, _ := tk["refresh_token"].(string)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ph := phase.Load().(string)
				record(ph, withBearer(t, "GET", g.url+"/api/account/me", access))
				if i%5 == 4 && refresh != "" {
					ph := phase.Load().(string)
					s, next := refreshOnce(t, g.url, refresh)
					record(ph, s)
					if s == 200 {
						mu.Lock()
						refreshed[refresh]++
						mu.Unlock()
						refresh, access = next["refresh_token"].(string), next["access_token"].(string)
					}
				}
				time.Sleep(2 * time.Millisecond) // a client's pace, not a wait for anything
			}
		}()
	}
	gatewaytest.WaitFor(t, time.Minute, "20 answers with Redis up", func() bool { return count("before", 200) >= 20 })
	phase.Store("down")
	rs.Stop()
	gatewaytest.WaitFor(t, time.Minute, "4 answers of 503 with Redis down", func() bool { return count("down", 503) >= 4 })
	phase.Store("restarting")
	rs.Restart()
	phase.Store("after")
	gatewaytest.WaitFor(t, time.Minute, "8 refusals of old sessions after the restart", func() bool { return count("after", 401) >= 8 })
	close(stop)
	wg.Wait()

	for p, statuses := range seen {
		for s := range statuses {
			if s != 200 && s != 401 && s != 503 {
				t.Errorf("phase %s: status %d (%v)", p, s, statuses)
			}
		}
	}
	if seen["after"][200] != 0 {
		t.Errorf("a session from before the restart answered 200 after it: %v", seen["after"])
	}
	for tok, n := range refreshed {
		if n > 1 {
			t.Errorf("a refresh token was accepted %d times: %.12s…", n, tok)
		}
	}
	// The gateway recovers by itself: logins work again within moments.
	gatewaytest.WaitFor(t, 30*time.Second, "a login after Redis came back", func() bool {
		s, _ := payloadCall(t, g.url, "/api/auth", map[string]any{"username": "loaded_user", "password": "a fine long password"})
		if s != 200 && s != 503 {
			t.Fatalf("a login after Redis came back: %d", s)
		}
		return s == 200
	})
}

func refreshOnce(t *testing.T, base, token string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(base+"/api/token/refresh", "application/json", strings.NewReader(`{"refresh_token":"`+token+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env struct {
		Data map[string]any `json:"data"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&env)
	return resp.StatusCode, env.Data
}
