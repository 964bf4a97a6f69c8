package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tnt/gateway/cmd/internal/gatewaytest"
	"github.com/tnt/gateway/resources/session/redis/redistest"
)

// metric reads one series of a gateway's /metrics (-1 when absent).
func metric(t *testing.T, base, series string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %q", series, v)
			}
			return f
		}
	}
	return -1
}

// victim is a user whose session the load keeps using while the test ends
// it on one replica or the other.
type victim struct {
	name, id, token string
	revoked         atomic.Bool // set once the call that ended it has returned
	refused         [2]atomic.Int64
}

// TestSessionCacheAcrossReplicas: two replicas on one Redis serve session
// checks from their caches while four clients keep calling both with five
// users' tokens. A logout, a level change, a deletion and a restore, made on
// one replica, are refused on both from the very next request: any request
// that starts after the ending call returned and still answers 200 fails
// the test. Mid-run the replicas' subscriptions are cut and kept from coming
// back; both caches switch to bypass, a deletion is refused at once, and
// when the subscriptions return the caches start empty and are used again.
func TestSessionCacheAcrossReplicas(t *testing.T) {
	rs := redistest.Start(t)
	cfg := testConfig(t, t.TempDir())
	cfg.RSABits = 2048
	cfg.RedisURL = rs.URL()
	replicas := []*gatewayProc{MustRun(t, cfg), MustRun(t, cfg)}
	a, b := replicas[0].url, replicas[1].url
	waitLive := func(want float64) {
		for _, g := range replicas {
			gatewaytest.WaitFor(t, time.Minute, "gateway_session_cache_live "+strconv.FormatFloat(want, 'g', -1, 64), func() bool {
				return metric(t, g.url, "gateway_session_cache_live") == want
			})
		}
	}
	waitLive(1)

	var victims []*victim
	for _, name := range []string{"logout_user", "level_user", "cut_user", "restore_user", "bystander"} {
		status, tk := payloadCall(t, a, "/api/register", map[string]any{"username": name, "password": "a fine long password"})
		if status != 201 {
			t.Fatalf("register %s: %d %v", name, status, tk)
		}
		v := &victim{name: name, token: tk["access_token"].(string)}
		_, body := doAs(t, "GET", b+"/api/account/me", "Bearer "+v.token, "")
		var me struct {
			Data struct {
				ID string `json:"_id"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(body), &me); err != nil || me.Data.ID == "" {
			t.Fatalf("me of %s: %s", name, body)
		}
		v.id = me.Data.ID
		victims = append(victims, v)
	}
	byName := func(name string) *victim {
		for _, v := range victims {
			if v.name == name {
				return v
			}
		}
		t.Fatalf("no victim %s", name)
		return nil
	}

	var (
		mu       sync.Mutex
		problems []string
		wg       sync.WaitGroup
	)
	stop := make(chan struct{})
	client := &http.Client{Timeout: 30 * time.Second}
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				v, r := victims[i%len(victims)], (i/len(victims))%2
				ended := v.revoked.Load()
				req, _ := http.NewRequest("GET", replicas[r].url+"/api/account/me", nil)
				req.Header.Set("Authorization", "Bearer "+v.token)
				resp, err := client.Do(req)
				if err != nil {
					mu.Lock()
					problems = append(problems, v.name+": "+err.Error())
					mu.Unlock()
					return
				}
				resp.Body.Close()
				switch {
				case resp.StatusCode == 401:
					v.refused[r].Add(1)
				case resp.StatusCode != 200 || ended:
					mu.Lock()
					problems = append(problems, v.name+" on replica "+"AB"[r:r+1]+": "+resp.Status+
						map[bool]string{true: " after its session was ended", false: ""}[ended])
					mu.Unlock()
				}
			}
		}()
	}
	finish := func() {
		close(stop)
		wg.Wait()
		for _, p := range problems {
			t.Error(p)
		}
	}
	defer func() {
		select {
		case <-stop:
		default:
			finish()
		}
	}()
	checks := func(base, result string) float64 {
		return metric(t, base, `gateway_session_checks_total{result="`+result+`"}`)
	}
	gatewaytest.WaitFor(t, time.Minute, "session checks served from memory on both replicas", func() bool {
		return checks(a, "hit") >= 20 && checks(b, "hit") >= 20
	})
	end := func(what string, act func() int, ended ...*victim) {
		t.Helper()
		if s := act(); s != 200 {
			t.Fatalf("%s: %d", what, s)
		}
		for _, v := range ended {
			v.revoked.Store(true)
		}
		// The very next request, on each replica.
		for _, v := range ended {
			for r, g := range replicas {
				if s := withBearer(t, "GET", g.url+"/api/account/me", v.token); s != 401 {
					t.Errorf("%s, then %s's next request on replica %s: %d", what, v.name, "AB"[r:r+1], s)
				}
			}
		}
	}
	end("logout on B", func() int {
		return withBearer(t, "DELETE", b+"/api/session", byName("logout_user").token)
	}, byName("logout_user"))
	end("level change on A", func() int {
		s, _ := do(t, "PUT", a+"/api/admin/users/"+byName("level_user").id+"/level", `{"level":3}`)
		return s
	}, byName("level_user"))

	// The cut: subscriptions dropped and refused until further notice.
	admin := goredis.NewClient(&goredis.Options{Addr: rs.Addr})
	defer admin.Close()
	ctx := context.Background()
	if err := admin.Do(ctx, "ACL", "SETUSER", "default", "-subscribe").Err(); err != nil {
		t.Fatal(err)
	}
	if err := admin.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	waitLive(0)
	bypassed := checks(b, "bypass")
	end("deletion on A while the subscriptions are cut", func() int {
		s, _ := do(t, "DELETE", a+"/api/admin/users/"+byName("cut_user").id, "")
		return s
	}, byName("cut_user"))
	gatewaytest.WaitFor(t, time.Minute, "checks reading Redis on B while cut", func() bool { return checks(b, "bypass") != bypassed })

	if err := admin.Do(ctx, "ACL", "SETUSER", "default", "+subscribe").Err(); err != nil {
		t.Fatal(err)
	}
	waitLive(1)
	hits := checks(b, "hit")
	gatewaytest.WaitFor(t, time.Minute, "checks served from memory on B again", func() bool { return checks(b, "hit") != hits })

	status, archive := do(t, "GET", a+"/api/admin/backup", "")
	if status != 200 {
		t.Fatalf("backup: %d", status)
	}
	end("restore on A", func() int {
		s, body := do(t, "POST", a+"/api/admin/restore", archive)
		if s != 200 {
			t.Logf("restore: %s", body)
		}
		return s
	}, byName("restore_user"), byName("bystander"))
	finish()
	for _, v := range victims {
		if v.refused[0].Load()+v.refused[1].Load() == 0 {
			t.Errorf("%s: the load never saw its session refused", v.name)
		}
	}
}

// TestSessionCacheOff: with GATEWAY_SESSION_CACHE=off every check reads the
// store (no cache series), and a logout is refused at the next request.
func TestSessionCacheOff(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.RSABits = 2048
	cfg.SessionCache = false
	g := MustRun(t, cfg)
	status, tk := payloadCall(t, g.url, "/api/register", map[string]any{"username": "uncached_user", "password": "a fine long password"})
	if status != 201 {
		t.Fatalf("register: %d %v", status, tk)
	}
	access := tk["access_token"].(string)
	if s := withBearer(t, "GET", g.url+"/api/account/me", access); s != 200 {
		t.Fatalf("me: %d", s)
	}
	if v := metric(t, g.url, "gateway_session_cache_live"); v != -1 {
		t.Errorf("gateway_session_cache_live with the cache off: %v", v)
	}
	if s := withBearer(t, "DELETE", g.url+"/api/session", access); s != 200 {
		t.Fatalf("logout: %d", s)
	}
	if s := withBearer(t, "GET", g.url+"/api/account/me", access); s != 401 {
		t.Errorf("after logout: %d", s)
	}
}
