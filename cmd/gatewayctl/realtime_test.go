package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tnt/gateway/crypto"
)

// registerUser registers name on the gateway at base and returns its access
// token and id.
func registerUser(t *testing.T, base, name string) (token, id string) {
	t.Helper()
	info, err := crypto.FetchPublicKey(context.Background(), http.DefaultClient, base)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := crypto.StampPayload(map[string]any{"username": name, "password": "a fine long password"}, time.Now())
	jwe, err := crypto.SealPayload(info, plain)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(base+"/api/register", "application/json", strings.NewReader(`{"payload":"`+jwe+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var reg struct {
		Data struct {
			AccessToken string `json:"access_token"`
		} `json:"data"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&reg)
	req, _ := http.NewRequest("GET", base+"/api/account/me", nil)
	req.Header.Set("Authorization", "Bearer "+reg.Data.AccessToken)
	me, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer me.Body.Close()
	var doc struct {
		Data struct {
			ID string `json:"_id"`
		} `json:"data"`
	}
	_ = json.NewDecoder(me.Body).Decode(&doc)
	return reg.Data.AccessToken, doc.Data.ID
}

// stream is an event stream read line by line.
type stream struct {
	r                *bufio.Reader
	clientID, lastID string
}

// openStream opens the token's stream (resuming after lastID when set)
// and reads up to its connected event.
func openStream(t *testing.T, base, token, lastID string) *stream {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/realtime", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stream: %v", err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	s := &stream{r: bufio.NewReader(resp.Body)}
	if ev, data := s.next(); ev == "connected" {
		s.clientID, _, _ = strings.Cut(strings.TrimPrefix(data, `{"client_id":"`), `"`)
	} else {
		t.Fatalf("first event: %s %s", ev, data)
	}
	return s
}

// follow subscribes the stream to profiles.
func (s *stream) follow(t *testing.T, base, token string) {
	t.Helper()
	body := `{"client_id":"` + s.clientID + `","subscriptions":[{"resource":"profile"}]}`
	req, _ := http.NewRequest("PUT", base+"/api/realtime/subscriptions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	put, err := http.DefaultClient.Do(req)
	if err != nil || put.StatusCode != 200 {
		t.Fatalf("subscribe: %v", err)
	}
	put.Body.Close()
}

// next reads up to the next event's name and data ("" at the end).
func (s *stream) next() (string, string) {
	var name string
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return "", ""
		}
		line = strings.TrimSpace(line)
		if id, ok := strings.CutPrefix(line, "id: "); ok {
			s.lastID = id
		}
		if n, ok := strings.CutPrefix(line, "event: "); ok {
			name = n
		}
		if d, ok := strings.CutPrefix(line, "data: "); ok && name != "" {
			return name, d
		}
	}
}

// TestCLIWritesReachStreams: the CLI, a process of its own on the same data
// dir, writes through the same change log: a user following profiles sees
// the change it makes, and the stream of the user it changes ends.
func TestCLIWritesReachStreams(t *testing.T) {
	_, base := startInProcess(t)
	watcher, _ := registerUser(t, base, "watcher")
	target, targetID := registerUser(t, base, "cli_target")
	watching := openStream(t, base, watcher, "")
	watching.follow(t, base, watcher)
	targeted := openStream(t, base, target, "")
	targeted.follow(t, base, target)
	var out, errOut bytes.Buffer
	if err := run([]string{"set-level", "cli_target", "3"}, nil, &out, &errOut); err != nil {
		t.Fatalf("set-level: %v %s", err, errOut.String())
	}
	if ev, data := watching.next(); ev != "update" || !strings.Contains(data, targetID) || strings.Contains(data, `"level"`) {
		t.Errorf("the watcher's event for the CLI's change: %s %s", ev, data)
	}
	// The target's own stream ends (its session did); an update may come
	// first, if the change was read before the revocation was noticed.
	ev, data := targeted.next()
	if ev == "update" {
		ev, data = targeted.next()
	}
	if ev != "ended" {
		t.Errorf("the changed user's stream: %s %s", ev, data)
	}
}

// TestRealtimeLogSurvivesARestart: on the embedded store the change log is
// a file of the data dir. A client whose gateway stopped resumes on the
// restarted one and gets what changed meanwhile, written by the CLI while
// no gateway ran.
func TestRealtimeLogSurvivesARestart(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GATEWAY_DATA_DIR", dir)
	_, base, stop := runInProcess(t, dir)
	watcher, _ := registerUser(t, base, "watcher")
	s := openStream(t, base, watcher, "")
	s.follow(t, base, watcher)
	_, targetID := registerUser(t, base, "cli_target")
	if ev, data := s.next(); ev != "create" || !strings.Contains(data, targetID) {
		t.Fatalf("before the restart: %s %s", ev, data)
	}
	stop()
	if ev, data := s.next(); ev != "shutdown" || !strings.Contains(data, "retry_ms") {
		t.Fatalf("at shutdown: %s %s", ev, data)
	}
	var out, errOut bytes.Buffer
	if err := run([]string{"set-level", "cli_target", "3"}, nil, &out, &errOut); err != nil {
		t.Fatalf("set-level while the gateway is down: %v %s", err, errOut.String())
	}
	_, base, stop = runInProcess(t, dir)
	defer stop()
	r := openStream(t, base, watcher, s.lastID)
	if r.clientID != s.clientID {
		t.Fatalf("resumed as %s, was %s", r.clientID, s.clientID)
	}
	if ev, data := r.next(); ev != "update" || !strings.Contains(data, targetID) {
		t.Fatalf("the change made while no gateway ran: %s %s", ev, data)
	}
}
