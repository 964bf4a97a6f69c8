package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sseEvent is one event of a stream, as EventSource would dispatch it.
type sseEvent struct {
	id, event string
	data      map[string]any
	raw       string
}

// sseStream is a real Server-Sent Events client over HTTP: it reads the
// stream in the background and hands events over one at a time.
type sseStream struct {
	resp     *http.Response
	cancel   context.CancelFunc
	events   chan sseEvent
	eof      chan struct{}
	clientID string
	lastID   string
	lastN    uint64 // the count in the last id: ids increase along a stream
}

// idCount is the count an event id carries (its third part).
func idCount(id string) uint64 {
	parts := strings.Split(id, ".")
	if len(parts) != 4 {
		return 0
	}
	n, _ := strconv.ParseUint(parts[2], 10, 64)
	return n
}

// eventWait bounds the wait for one event; tests wait for events, and only
// a broken gateway ever reaches it.
const eventWait = 20 * time.Second

// openSSE opens GET path (with headers) and reads up to the connected event.
func openSSE(tb testing.TB, url string, headers ...string) *sseStream {
	tb.Helper()
	s, status := tryOpenSSE(tb, url, headers...)
	if status != http.StatusOK {
		tb.Fatalf("GET %s: %d", url, status)
	}
	return s
}

// tryOpenSSE is openSSE that returns the status of a refused stream.
func tryOpenSSE(tb testing.TB, url string, headers ...string) (*sseStream, int) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := (&http.Transport{}).RoundTrip(req)
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		cancel()
		return nil, resp.StatusCode
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		tb.Fatalf("GET %s: Content-Type %q", url, ct)
	}
	s := &sseStream{resp: resp, cancel: cancel, events: make(chan sseEvent, 1024), eof: make(chan struct{})}
	go s.read()
	tb.Cleanup(s.close)
	first := s.next(tb)
	if first.event == "shutdown" {
		return s, http.StatusServiceUnavailable
	}
	if first.event != "connected" || first.data["client_id"] == "" {
		tb.Fatalf("first event: %+v", first)
	}
	s.clientID, _ = first.data["client_id"].(string)
	return s, http.StatusOK
}

func (s *sseStream) read() {
	defer close(s.eof)
	defer close(s.events)
	r := bufio.NewReader(s.resp.Body)
	var ev sseEvent
	var data []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if ev.event != "" || len(data) > 0 {
				ev.raw = strings.Join(data, "\n")
				_ = json.Unmarshal([]byte(ev.raw), &ev.data)
				s.events <- ev
			}
			ev, data = sseEvent{}, nil
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "id: "):
			ev.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			ev.event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = append(data, strings.TrimPrefix(line, "data: "))
		}
	}
}

// next returns the next event; the test fails if the stream ends first.
func (s *sseStream) next(tb testing.TB) sseEvent {
	tb.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			tb.Fatal("the stream ended before the next event")
		}
		if ev.id != "" {
			if n := idCount(ev.id); n <= s.lastN {
				tb.Fatalf("event id %s does not increase on %s", ev.id, s.lastID)
			} else {
				s.lastN = n
			}
			s.lastID = ev.id
		}
		return ev
	case <-time.After(eventWait):
		tb.Fatalf("no event within %v", eventWait)
	}
	return sseEvent{}
}

// ends checks that the stream's remaining events are exactly the named
// ones, then that the server closed it.
func (s *sseStream) ends(tb testing.TB, events ...string) {
	tb.Helper()
	for _, want := range events {
		if ev := s.next(tb); ev.event != want {
			tb.Fatalf("event %q (%s), want %q", ev.event, ev.raw, want)
		}
	}
	select {
	case ev, ok := <-s.events:
		if ok {
			tb.Fatalf("event %q (%s) after the stream should have ended", ev.event, ev.raw)
		}
	case <-time.After(eventWait):
		tb.Fatal("the stream stayed open")
	}
}

// close drops the connection, as a client losing its network would.
func (s *sseStream) close() {
	s.cancel()
	_ = s.resp.Body.Close()
	<-s.eof
}

// record is the event's record.
func (ev sseEvent) record() map[string]any {
	m, _ := ev.data["record"].(map[string]any)
	return m
}

// subs is the event's subscription indexes.
func (ev sseEvent) subs() []int {
	var out []int
	l, _ := ev.data["subscriptions"].([]any)
	for _, x := range l {
		f, _ := x.(float64)
		out = append(out, int(f))
	}
	return out
}

// subscribe replaces a stream's subscriptions and fails the test on
// anything but 200.
func (e *env) subscribe(tb testing.TB, s *sseStream, subs string, auth ...string) {
	tb.Helper()
	if r := e.putSubs(tb, s.clientID, subs, auth...); r.status != http.StatusOK {
		tb.Fatalf("subscribe %s: %d %s", subs, r.status, r.raw)
	}
}

func (e *env) putSubs(tb testing.TB, clientID, subs string, auth ...string) reply {
	tb.Helper()
	return e.call(tb, "PUT", "/api/realtime/subscriptions", "", `{"client_id":"`+clientID+`","subscriptions":`+subs+`}`, auth...)
}
