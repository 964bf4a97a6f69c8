package realtime

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/domaintest"
)

func openLog(t *testing.T) *FileLog {
	t.Helper()
	l, err := OpenFileLog(context.Background(), filepath.Join(t.TempDir(), "realtime.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// TestCaptureRecordsWhatCommitted: inserts, updates (with the document
// before), deletes and drops of followed collections reach the log in
// order, with internal fields left out; a retried or failed transaction
// records nothing of its failed attempt; other collections record nothing.
func TestCaptureRecordsWhatCommitted(t *testing.T) {
	kit := domaintest.MustOpen(t, "")
	ctx := kit.Ctx
	log := openLog(t)
	st := Capture(kit.Store, log, CaptureConfig{Schemas: kit.Registry.Schemas(), Serial: true})
	gym := resources.Document{resources.FieldID: "0123456789abcdef01234567", "name": "Iron"}
	if err := st.Insert(ctx, "gym", gym); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Update(ctx, "gym", "0123456789abcdef01234567", resources.Document{"name": "Steel"}, nil); err != nil {
		t.Fatal(err)
	}
	// A transaction that fails leaves nothing; one that commits, all.
	boom := errors.New("boom")
	err := st.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error {
		_ = tx.Insert(ctx, "gym", resources.Document{resources.FieldID: "0123456789abcdef01234568", "name": "Ghost"})
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if err := kit.Store.EnsureCollection(ctx, resources.CollectionSpec{Name: resources.AuditCollection}); err != nil {
		t.Fatal(err)
	}
	user := kit.User(t, "member", 4, 10)
	err = st.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error {
		if _, err := tx.Update(ctx, resources.UsersCollection, user.UserID, resources.Document{"balance": int64(20)}, nil); err != nil {
			return err
		}
		return tx.Insert(ctx, resources.AuditCollection, resources.Document{resources.FieldID: "0123456789abcdef01234569", "action": "x"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, "gym", "0123456789abcdef01234567"); err != nil {
		t.Fatal(err)
	}
	if err := st.Drop(ctx, "merchandise"); err != nil {
		t.Fatal(err)
	}
	got, err := log.Range(ctx, 0, 1<<62, 100)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, e := range got {
		seen = append(seen, string(e.Op)+" "+e.Coll)
	}
	want := []string{"create gym", "update gym", "update users", "delete gym", "drop merchandise"}
	if strings.Join(seen, ", ") != strings.Join(want, ", ") {
		t.Fatalf("log: %v, want %v", seen, want)
	}
	if got[1].Before["name"] != "Iron" || got[1].After["name"] != "Steel" || got[3].Before["name"] != "Steel" {
		t.Errorf("before and after: %+v %+v", got[1], got[3])
	}
	if _, leaked := got[2].Before["password_hash"]; leaked || got[2].After["username"] != "member" {
		t.Errorf("a user's change carries internal fields or lacks declared ones: %+v", got[2].After)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Pos <= got[i-1].Pos {
			t.Errorf("positions do not increase: %d then %d", got[i-1].Pos, got[i].Pos)
		}
	}
	// A log that cannot take the change: the write stands, the loss is told.
	_ = log.Close()
	var lost error
	st = Capture(kit.Store, log, CaptureConfig{Schemas: kit.Registry.Schemas(), OnLost: func(err error) { lost = err }})
	if err := st.Insert(ctx, "gym", resources.Document{resources.FieldID: "0123456789abcdef0123456a", "name": "Lost"}); err != nil {
		t.Fatal(err)
	}
	if lost == nil {
		t.Error("a change the log could not take was not reported")
	}
	if _, err := kit.Store.Get(ctx, "gym", "0123456789abcdef0123456a"); err != nil {
		t.Errorf("the write itself: %v", err)
	}
}

// pipeStream is a stream on one end of a synchronous pipe: every write
// waits for the client end to read it.
func pipeStream(t *testing.T, cfg Config) (*Hub, *Stream, net.Conn) {
	t.Helper()
	h := NewHub(cfg, Deps{Log: openLog(t)})
	var err error
	if h.ids, err = newIDs("ep", randomBytes(16)); err != nil {
		t.Fatal(err)
	}
	server, client := net.Pipe()
	t.Cleanup(func() { _ = client.Close() })
	s := &Stream{hub: h, id: newID(clientIDBytes), conn: server, addr: "test"}
	s.tag = clientTag(s.id)
	h.mu.Lock()
	h.perAddr["test"]++
	h.register(s)
	h.mu.Unlock()
	return h, s, client
}

// TestSlowReaderIsResyncedAndClosed: a client that stops reading is not
// buffered without end: past the queue's bound its stream gets a resync
// and closes, and the hub forgets it.
func TestSlowReaderIsResyncedAndClosed(t *testing.T) {
	h, s, client := pipeStream(t, Config{QueueBytes: 1024})
	event := appendEvent(nil, "update", []byte(`{"pad":"`+strings.Repeat("x", 200)+`"}`))
	s.enqueue(1, 0, event)
	// The first event is being written (the pipe holds the writer until
	// the client reads); the next ones wait in the queue, past its bound.
	first := make([]byte, 1)
	if _, err := io.ReadFull(client, first); err != nil {
		t.Fatal(err)
	}
	for i := 2; i <= 20; i++ {
		s.enqueue(uint64(i), 0, event)
	}
	rest, err := io.ReadAll(client)
	got := append(first, rest...)
	if err != nil {
		t.Fatal(err)
	}
	text := string(got)
	if !strings.HasSuffix(text, "event: resync\ndata: {\"reason\":\""+reasonSlow+"\"}\n\n") {
		t.Fatalf("the stream's end: %q", text[max(0, len(text)-200):])
	}
	if n := strings.Count(text, "event: update"); n != 1 {
		t.Errorf("%d of 20 events written before the resync, want the one in progress", n)
	}
	if h.Open() != 0 {
		t.Error("the hub still holds the closed stream")
	}
}

// TestKeepAliveAndShutdown: a silent stream gets a comment; a shutdown
// ends it with a retry hint.
func TestKeepAliveAndShutdown(t *testing.T) {
	h, s, client := pipeStream(t, Config{KeepAlive: time.Nanosecond, Retry: 3 * time.Second})
	s.lastWrite.Store(0)
	go h.keepAlive(time.Now())
	buf := make([]byte, 3)
	if _, err := io.ReadFull(client, buf); err != nil || string(buf) != ":\n\n" {
		t.Fatalf("keep-alive: %q %v", buf, err)
	}
	go h.Shutdown()
	rest, _ := io.ReadAll(client)
	if string(rest) != "event: shutdown\ndata: {\"reason\":\""+reasonShutdown+"\",\"retry_ms\":3000}\n\n" {
		t.Fatalf("shutdown: %q", rest)
	}
}

// TestEventIDs: ids name their stream and count its events; the position
// they carry is sealed, so it neither shows nor can be made up, altered or
// moved to another stream or log.
func TestEventIDs(t *testing.T) {
	codec, err := newIDs("ep", randomBytes(16))
	if err != nil {
		t.Fatal(err)
	}
	cid := newID(clientIDBytes)
	id := string(codec.appendID(nil, cid, clientTag(cid), 7, 42))
	c, n, p, ok := codec.parse(id)
	if !ok || c != cid || n != 7 || p != 42 {
		t.Fatalf("round trip of %s: %s %d %d %v", id, c, n, p, ok)
	}
	if strings.Contains(id, ".42") {
		t.Errorf("the position shows in %s", id)
	}
	parts := strings.Split(id, ".")
	other := newID(clientIDBytes)
	otherLog, _ := newIDs("ep", randomBytes(16))
	box := []byte(parts[3])
	box[3] ^= 1
	for name, bad := range map[string]string{
		"another stream's": other + "." + parts[1] + "." + parts[2] + "." + parts[3],
		"another epoch's":  parts[0] + ".xx." + parts[2] + "." + parts[3],
		"an altered":       parts[0] + "." + parts[1] + "." + parts[2] + "." + string(box),
		"a made-up":        parts[0] + "." + parts[1] + ".1.AAAAAAAAAAAAAAAAAAAAAA",
		"a plain position": parts[0] + "." + parts[1] + ".1.42",
		"too long":         strings.Repeat("a", 200),
		"three parts":      cid + ".ep.42",
	} {
		if _, _, _, ok := codec.parse(bad); ok {
			t.Errorf("%s id accepted: %s", name, bad)
		}
	}
	if _, _, _, ok := otherLog.parse(id); ok {
		t.Error("another log's key opened the id")
	}
	if c, n, ok := clientOf(id); !ok || c != cid || n != 7 {
		t.Errorf("clientOf: %s %d %v", c, n, ok)
	}
	for _, pos := range []uint64{0, 1, 1700000000000<<seqBits | 5} {
		if got, ok := parseRedisID(redisID(pos)); !ok || got != pos {
			t.Errorf("redis id of %d: %d %v", pos, got, ok)
		}
	}
}

// TestDispatchSurvivesAVanishedClient: a write that fails while the hub
// dispatches (the client vanished before its reader noticed) ends the
// stream without holding the dispatch up.
func TestDispatchSurvivesAVanishedClient(t *testing.T) {
	h, s, client := pipeStream(t, Config{})
	_ = client.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.mu.Lock() // as the dispatch holds it
		s.deliverChange(1, 0, h.ids, "update", []byte(`{}`))
		h.mu.Unlock()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the dispatch is stuck on a stream whose client vanished")
	}
	for h.Open() != 0 {
		runtime.Gosched()
	}
}
