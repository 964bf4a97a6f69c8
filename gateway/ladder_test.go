package gateway_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tnt/gateway/gateway"
)

// TestLadderRungsDoWhatTheyName: every rung answers the authenticated query;
// the store rung answers exactly what the gateway answers; a forged token is
// refused from the JWT rung on, and an ended session from the session rung
// on (the JWT rung alone still takes it, as it only checks the signature).
func TestLadderRungsDoWhatTheyName(t *testing.T) {
	e := MustStartGateway(t)
	for _, name := range []string{"ladder one", "ladder two"} {
		e.create(t, "admin", "gym", `{"name":"`+name+`"}`)
	}
	// An admin's session token: a bearer token like any login's.
	r := e.call(t, "GET", "/api/admin/auth", "admin", "")
	var tk struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(r.body.Data, &tk); err != nil || r.status != 200 {
		t.Fatalf("admin token: %d %s", r.status, r.raw)
	}
	post := func(url, token string) (int, string) {
		req, _ := http.NewRequest("POST", url+"/api/gym", strings.NewReader(`{"operation":"query","data":{},"find":20}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, want := post(e.srv.URL, tk.AccessToken)
	if status != 200 || !strings.Contains(want, "ladder two") {
		t.Fatalf("the gateway's answer: %d %s", status, want)
	}
	rungs := e.gw.Ladder(gateway.LadderDeps{Tokens: e.tokens, Policy: e.policy, Answer: func() []byte { return []byte(want) }}, "gym")
	if len(rungs) != 7 {
		t.Fatalf("%d rungs, want bare, JWT, session, policy, envelope, store and the gateway", len(rungs))
	}
	urls := make([]string, len(rungs))
	for i, r := range rungs {
		srv := httptest.NewServer(r.Handler)
		defer srv.Close()
		urls[i] = srv.URL
		if status, got := post(srv.URL, tk.AccessToken); status != 200 || got != want {
			t.Errorf("rung %q: %d %s", r.Name, status, got)
		}
	}
	forged := tk.AccessToken[:len(tk.AccessToken)-4] + "AAAA"
	for i, r := range rungs {
		status, _ := post(urls[i], forged)
		if wantStatus := map[bool]int{true: 200, false: 401}[i == 0]; status != wantStatus {
			t.Errorf("rung %q with a forged token: %d, want %d", r.Name, status, wantStatus)
		}
	}
	if r := e.call(t, "DELETE", "/api/session", "", "", "Authorization", "Bearer "+tk.AccessToken); r.status != 200 {
		t.Fatalf("logout: %d %s", r.status, r.raw)
	}
	for i, r := range rungs {
		status, _ := post(urls[i], tk.AccessToken)
		if wantStatus := map[bool]int{true: 200, false: 401}[i < 2]; status != wantStatus {
			t.Errorf("rung %q with an ended session: %d, want %d", r.Name, status, wantStatus)
		}
	}
}

// TestConcurrentQueriesKeepTheirOwnAnswers: query results are projected into
// buffers that are recycled once the answer is written; many queries at once,
// each for a different document, each get exactly their own.
func TestConcurrentQueriesKeepTheirOwnAnswers(t *testing.T) {
	e := MustStartGateway(t)
	const n = 12
	for i := range n {
		e.create(t, "admin", "gym", fmt.Sprintf(`{"name":"own answer %02d","address":"%s"}`, i, strings.Repeat("x", 40*i)))
	}
	var wg sync.WaitGroup
	errs := make(chan string, n*40)
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 40 {
				i := (w + round) % n
				name := fmt.Sprintf("own answer %02d", i)
				r := e.call(t, "POST", "/api/gym", "admin", `{"operation":"query","data":{"name":"`+name+`"}}`)
				var docs []struct {
					Name    string `json:"name"`
					Address string `json:"address"`
				}
				if err := json.Unmarshal(r.body.Data, &docs); err != nil || r.status != 200 || len(docs) != 1 ||
					docs[0].Name != name || len(docs[0].Address) != 40*i {
					errs <- fmt.Sprintf("query for %q: %d %s", name, r.status, r.raw)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
