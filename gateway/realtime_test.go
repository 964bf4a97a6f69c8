package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/session/redis"
	"github.com/tnt/gateway/resources/session/redis/redistest"
)

// realtimeOptions runs the orders example (own-scoped orders) beside the
// coach resource (discoverable, with public and non-public fields).
func realtimeOptions(t *testing.T) options {
	t.Helper()
	orders, err := os.ReadFile(ordersResources)
	if err != nil {
		t.Fatal(err)
	}
	coach := `{"name":"coach","discoverable":true,"unique":"name","public":["name","specialty"],
	  "fields":{"name":{"type":"string","required":true,"maxLength":100},"specialty":{"type":"string","indexed":true},"rating":{"type":"int","min":0,"max":5}}}`
	file := strings.Replace(string(orders), `"resources": [`, `"resources": [`+coach+",", 1)
	path := filepath.Join(t.TempDir(), "resources.json")
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	return options{resourcesFile: path, policyFile: ordersPolicy}
}

func adminAuth(user string) []string {
	return []string{"Authorization", adminHeader(user, testPassword)}
}

// TestRealtimeEventsFollowTheRights: every event kind, and each subscriber
// sees a change exactly as its own query would show it — a user never sees
// another's order, a lower level never sees a private field, a guest sees
// only discoverable resources' public fields.
func TestRealtimeEventsFollowTheRights(t *testing.T) {
	t.Parallel() // a gateway of its own
	eachSessionStore(t, realtimeOptions(t), func(t *testing.T, e *env) {
		app := newAppClient(t, e.srv.URL)
		alice, aliceID := e.userWithLevel(t, app, "alice_rt", 4)
		bob, bobID := e.userWithLevel(t, app, "bob_rt", 4)
		url := e.srv.URL + "/api/realtime"

		as := openSSE(t, url, alice...)
		bs := openSSE(t, url, bob...)
		ad := openSSE(t, url, adminAuth("admin")...)
		gs := openSSE(t, url)
		e.subscribe(t, as, `[{"resource":"order"},{"resource":"profile"}]`, alice...)
		e.subscribe(t, bs, `[{"resource":"order"}]`, bob...)
		e.subscribe(t, ad, `[{"resource":"order","query":{"status":"new"}},{"resource":"profile"},{"resource":"coach"}]`, adminAuth("admin")...)
		e.subscribe(t, gs, `[{"resource":"coach","query":{"specialty":{"contains":"YOGA"}}}]`)

		// What a subscriber may not query is refused as its query would be.
		for _, c := range []struct {
			s    *sseStream
			subs string
			auth []string
			want int
		}{
			{gs, `[{"resource":"order"}]`, nil, http.StatusForbidden},
			{gs, `[{"resource":"profile"}]`, nil, http.StatusForbidden},
			{gs, `[{"resource":"coach","query":{"rating":5}}]`, nil, http.StatusBadRequest},
			{as, `[{"resource":"profile","query":{"email":"x@example.com"}}]`, alice, http.StatusForbidden},
			{as, `[{"resource":"nothing"}]`, alice, http.StatusNotFound},
			{as, `[{"resource":"order","query":{"status":{"like":"x"}}}]`, alice, http.StatusBadRequest},
		} {
			if r := e.putSubs(t, c.s.clientID, c.subs, c.auth...); r.status != c.want {
				t.Errorf("subscribe %s: %d %s, want %d", c.subs, r.status, r.raw, c.want)
			}
		}

		// Alice's order: alice and the admin see it; bob does not.
		r := e.call(t, "POST", "/api/order", "", `{"operation":"create","data":{"items":[{"product":"mat","quantity":1}],"note":"alice's"}}`, alice...)
		if r.status != http.StatusCreated {
			t.Fatalf("alice's order: %d %s", r.status, r.raw)
		}
		aliceOrder := dataOf(t, r)["_id"].(string)
		ev := as.next(t)
		if ev.event != "create" || ev.data["resource"] != "order" || ev.data["action"] != "create" || ev.record()["_id"] != aliceOrder ||
			ev.record()["owner"] != aliceID || !slices.Equal(ev.subs(), []int{0}) {
			t.Fatalf("alice's create: %+v", ev)
		}
		if ev := ad.next(t); ev.event != "create" || ev.record()["_id"] != aliceOrder || !slices.Equal(ev.subs(), []int{0}) {
			t.Fatalf("admin's create: %+v", ev)
		}
		// Bob's order: the first event bob gets is his own.
		r = e.call(t, "POST", "/api/order", "", `{"operation":"create","data":{"items":[{"product":"ball","quantity":2}]}}`, bob...)
		bobOrder := dataOf(t, r)["_id"].(string)
		if ev := bs.next(t); ev.event != "create" || ev.record()["_id"] != bobOrder {
			t.Fatalf("bob's first event is not his own order: %+v", ev)
		}
		if ev := ad.next(t); ev.record()["_id"] != bobOrder {
			t.Fatalf("admin: %+v", ev)
		}

		// Leave and back: the admin follows new orders only.
		r = e.call(t, "POST", "/api/order", "", `{"operation":"update","data":{"_id":"`+aliceOrder+`","status":"paid"}}`, alice...)
		if r.status != http.StatusOK {
			t.Fatalf("update: %d %s", r.status, r.raw)
		}
		// Alice's first event since her create is her own update: bob's
		// order never reached her.
		if ev := as.next(t); ev.event != "update" || ev.record()["_id"] != aliceOrder || ev.record()["status"] != "paid" {
			t.Fatalf("alice's update: %+v", ev)
		}
		if ev := ad.next(t); ev.event != "leave" || ev.record()["_id"] != aliceOrder || len(ev.record()) != 1 || !slices.Equal(ev.subs(), []int{0}) {
			t.Fatalf("admin's leave: %+v", ev)
		}
		e.call(t, "POST", "/api/order", "", `{"operation":"update","data":{"_id":"`+aliceOrder+`","status":"new"}}`, alice...)
		if ev := as.next(t); ev.event != "update" || ev.record()["status"] != "new" {
			t.Fatalf("alice's second update: %+v", ev)
		}
		if ev := ad.next(t); ev.event != "update" || ev.record()["status"] != "new" {
			t.Fatalf("an update that brings a document back arrives as update: %+v", ev)
		}

		// Private fields: bob's profile as alice sees it, and as the admin does.
		r = e.call(t, "POST", "/api/profile", "", `{"operation":"update","data":{"_id":"`+bobID+`","nickname":"bobby","email":"bob@example.com"}}`, bob...)
		if r.status != http.StatusOK {
			t.Fatalf("bob's profile: %d %s", r.status, r.raw)
		}
		ev = as.next(t)
		if ev.event != "update" || ev.data["resource"] != "profile" || ev.record()["nickname"] != "bobby" || !slices.Equal(ev.subs(), []int{1}) {
			t.Fatalf("alice sees bob's profile: %+v", ev)
		}
		for _, private := range []string{"email", "level", "balance", "password_hash", "password"} {
			if _, leaked := ev.record()[private]; leaked {
				t.Errorf("alice sees bob's %s: %s", private, ev.raw)
			}
		}
		if ev := ad.next(t); ev.record()["email"] != "bob@example.com" || ev.record()["level"] == nil || ev.record()["password_hash"] != nil {
			t.Fatalf("the admin sees private fields, and nothing internal: %+v", ev)
		}
		// Her own profile, alice sees whole.
		e.call(t, "POST", "/api/profile", "", `{"operation":"update","data":{"_id":"`+aliceID+`","email":"alice@example.com"}}`, alice...)
		if ev := as.next(t); ev.record()["email"] != "alice@example.com" {
			t.Fatalf("alice's own profile: %+v", ev)
		}
		if ev := ad.next(t); ev.record()["_id"] != aliceID {
			t.Fatalf("admin: %+v", ev)
		}

		// A guest: public fields of a discoverable resource, within its query.
		e.create(t, "admin", "coach", `{"name":"Kim","specialty":"boxing","rating":3}`)
		kim := ad.next(t)
		e.create(t, "admin", "coach", `{"name":"Lee","specialty":"Yoga flow","rating":5}`)
		if ev := ad.next(t); ev.record()["rating"] == nil {
			t.Fatalf("the admin sees every field: %+v", ev)
		}
		ev = gs.next(t)
		if ev.event != "create" || ev.record()["name"] != "Lee" || ev.record()["rating"] != nil || ev.record()["owner"] != nil {
			t.Fatalf("the guest's first event is Lee's public fields only: %+v (Kim was %s)", ev, kim.raw)
		}

		// Delete: alice's order, deleted by the admin.
		r = e.call(t, "POST", "/api/order", "admin", `{"operation":"delete","data":{"_id":"`+aliceOrder+`"}}`)
		if r.status != http.StatusOK {
			t.Fatalf("delete: %d %s", r.status, r.raw)
		}
		if ev := as.next(t); ev.event != "delete" || ev.record()["_id"] != aliceOrder || len(ev.record()) != 1 {
			t.Fatalf("alice's delete: %+v", ev)
		}
		if ev := ad.next(t); ev.event != "delete" {
			t.Fatalf("admin's delete: %+v", ev)
		}
		// Bob, who never saw alice's order, learns nothing of it: his next
		// event is his own order's change.
		e.call(t, "POST", "/api/order", "", `{"operation":"update","data":{"_id":"`+bobOrder+`","note":"hi"}}`, bob...)
		if ev := bs.next(t); ev.event != "update" || ev.record()["_id"] != bobOrder {
			t.Fatalf("bob: %+v", ev)
		}
		// Ids increase along each stream.
		if !strings.HasPrefix(as.lastID, as.clientID+".") {
			t.Errorf("event id %q does not belong to stream %s", as.lastID, as.clientID)
		}
		_ = fmt.Sprint
		_ = context.Background
		_ = resources.FieldID
	})
}

// TestRealtimeRevocationEndsStreams: a logout, a session or user
// revocation, a level change, a password change, a deletion and a restore
// end every stream they affect before the call returns: the stream's next
// event is `ended`, then it closes, even though a change it would have seen
// is made right after the call.
func TestRealtimeRevocationEndsStreams(t *testing.T) {
	t.Parallel() // a gateway of its own
	eachSessionStore(t, realtimeOptions(t), func(t *testing.T, e *env) {
		app := newAppClient(t, e.srv.URL)
		url := e.srv.URL + "/api/realtime"
		n := 0
		// follower makes a member whose stream follows coaches, and a
		// second session of the same member.
		follower := func(t *testing.T) (stream *sseStream, auth, other []string, id, name string) {
			n++
			name = fmt.Sprintf("rev_%d", n)
			auth, id = e.userWithLevel(t, app, name, 4)
			tk := tokensOf(t, e.payloadCall(t, "/api/auth", app.seal(t, map[string]any{"username": name, "password": "a fine long password"})))
			other = bearer(tk.AccessToken)
			stream = openSSE(t, url, auth...)
			e.subscribe(t, stream, `[{"resource":"coach"}]`, auth...)
			return
		}
		// afterwards makes a change every follower would see.
		afterwards := func(t *testing.T) {
			n++
			e.create(t, "sysadmin", "coach", fmt.Sprintf(`{"name":"coach %d"}`, n))
		}

		t.Run("logout", func(t *testing.T) {
			s, auth, _, _, _ := follower(t)
			if r := e.call(t, "DELETE", "/api/session", "", "", auth...); r.status != http.StatusOK {
				t.Fatalf("logout: %d %s", r.status, r.raw)
			}
			afterwards(t)
			s.ends(t, "ended")
		})
		t.Run("revoke one session, the other's stream lives", func(t *testing.T) {
			s, auth, other, _, _ := follower(t)
			s2 := openSSE(t, url, other...)
			e.subscribe(t, s2, `[{"resource":"coach"}]`, other...)
			sid := dataOf(t, e.call(t, "GET", "/api/session", "", "", auth...))["sid"].(string)
			if r := e.call(t, "DELETE", "/api/sessions/"+sid, "", "", other...); r.status != http.StatusOK {
				t.Fatalf("revoke: %d %s", r.status, r.raw)
			}
			afterwards(t)
			s.ends(t, "ended")
			if ev := s2.next(t); ev.event != "create" {
				t.Fatalf("the other session's stream: %+v", ev)
			}
		})
		t.Run("password change keeps the changing session's stream", func(t *testing.T) {
			s, auth, other, _, name := follower(t)
			s2 := openSSE(t, url, other...)
			e.subscribe(t, s2, `[{"resource":"coach"}]`, other...)
			change := e.payloadCall(t, "/api/account/password",
				app.seal(t, map[string]any{"old_password": "a fine long password", "new_password": "another fine password"}), auth...)
			if change.status != http.StatusOK {
				t.Fatalf("password change of %s: %d %s", name, change.status, change.raw)
			}
			afterwards(t)
			s2.ends(t, "ended")
			if ev := s.next(t); ev.event != "create" {
				t.Fatalf("the changing session's stream: %+v", ev)
			}
		})
		t.Run("level change", func(t *testing.T) {
			s, _, _, id, _ := follower(t)
			if r := e.call(t, "PUT", "/api/admin/users/"+id+"/level", "sysadmin", `{"level":3}`); r.status != http.StatusOK {
				t.Fatalf("level: %d %s", r.status, r.raw)
			}
			afterwards(t)
			s.ends(t, "ended")
		})
		t.Run("an admin ends the user's sessions", func(t *testing.T) {
			s, _, _, id, _ := follower(t)
			if r := e.call(t, "DELETE", "/api/admin/users/"+id+"/sessions", "sysadmin", ""); r.status != http.StatusOK {
				t.Fatalf("end sessions: %d %s", r.status, r.raw)
			}
			afterwards(t)
			s.ends(t, "ended")
		})
		t.Run("deletion", func(t *testing.T) {
			s, _, _, id, _ := follower(t)
			if r := e.call(t, "DELETE", "/api/admin/users/"+id, "sysadmin", ""); r.status != http.StatusOK {
				t.Fatalf("delete: %d %s", r.status, r.raw)
			}
			afterwards(t)
			s.ends(t, "ended")
		})
		t.Run("admin scheme: the credential's level changes", func(t *testing.T) {
			s := openSSE(t, url, adminAuth("admin")...)
			e.subscribe(t, s, `[{"resource":"coach"}]`, adminAuth("admin")...)
			if r := e.call(t, "PUT", "/api/admin/users/"+e.users["admin"].UserID+"/level", "sysadmin", `{"level":3}`); r.status != http.StatusOK {
				t.Fatalf("level: %d %s", r.status, r.raw)
			}
			afterwards(t)
			s.ends(t, "ended")
			// Put back for the restore below.
			if _, err := e.store.Update(context.Background(), resources.UsersCollection, e.users["admin"].UserID, resources.Document{"level": int64(2)}, nil); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("restore", func(t *testing.T) {
			archive := e.backup(t)
			s, _, _, _, _ := follower(t)
			guest := openSSE(t, url)
			e.subscribe(t, guest, `[{"resource":"coach"}]`)
			if r := e.restore(t, archive); r.status != http.StatusOK {
				t.Fatalf("restore: %d %s", r.status, r.raw)
			}
			afterwards(t)
			// The restore's own resync may come first, if the hub handed it
			// over before the sessions ended.
			if ev := s.next(t); ev.event != "resync" && ev.event != "ended" {
				t.Fatalf("after a restore: %+v", ev)
			} else if ev.event == "resync" {
				s.ends(t, "ended")
			} else {
				s.ends(t)
			}
			// A guest's stream outlives it, told to refetch.
			if ev := guest.next(t); ev.event != "resync" {
				t.Fatalf("guest after a restore: %+v", ev)
			}
			if ev := guest.next(t); ev.event != "create" {
				t.Fatalf("guest after the resync: %+v", ev)
			}
		})
	})
}

// TestRealtimeResume: a client that reconnects with Last-Event-ID gets its
// stream back (same client_id and subscriptions) and every event it missed,
// in order and once, then live ones; an id past the retention or unknown
// gets one resync, never an error status.
func TestRealtimeResume(t *testing.T) {
	t.Parallel() // a gateway of its own
	eachSessionStore(t, realtimeOptions(t), func(t *testing.T, e *env) {
		url := e.srv.URL + "/api/realtime"
		s := openSSE(t, url)
		e.subscribe(t, s, `[{"resource":"coach","query":{"specialty":"judo"}},{"resource":"coach"}]`)
		coach := func(i int, specialty string) string {
			return e.create(t, "admin", "coach", fmt.Sprintf(`{"name":"c%d","specialty":%q}`, i, specialty))
		}
		first := coach(1, "judo")
		if ev := s.next(t); ev.record()["_id"] != first || !slices.Equal(ev.subs(), []int{0, 1}) {
			t.Fatalf("first: %+v", ev)
		}
		last := s.lastID
		s.close()
		var missed []string
		for i := 2; i <= 6; i++ {
			missed = append(missed, coach(i, []string{"judo", "karate"}[i%2]))
		}
		// The header, as EventSource sends it.
		r := openSSE(t, url, "Last-Event-ID", last)
		if r.clientID != s.clientID {
			t.Fatalf("resumed as %s, was %s", r.clientID, s.clientID)
		}
		// Ids go on increasing across the resume, and show no position
		// of the log.
		if idCount(r.lastID) <= idCount(last) {
			t.Fatalf("the resumed stream's id %s does not follow %s", r.lastID, last)
		}
		r.lastN = idCount(r.lastID)
		for _, id := range missed {
			if ev := r.next(t); ev.event != "create" || ev.record()["_id"] != id {
				t.Fatalf("replay: %+v, want %s", ev, id)
			}
		}
		live := coach(7, "judo")
		if ev := r.next(t); ev.record()["_id"] != live || !slices.Equal(ev.subs(), []int{0, 1}) {
			t.Fatalf("live after the replay (the subscriptions kept): %+v", ev)
		}
		// Dropped again during nothing: resumed with the query parameter,
		// nothing is repeated.
		last = r.lastID
		r.close()
		again := openSSE(t, url+"?last_event_id="+last)
		next := coach(8, "karate")
		if ev := again.next(t); ev.record()["_id"] != next || !slices.Equal(ev.subs(), []int{1}) {
			t.Fatalf("nothing doubled: %+v", ev)
		}
		// Another caller cannot take a session's stream over by its id.
		app := newAppClient(t, e.srv.URL)
		auth, _ := e.userWithLevel(t, app, "resumer", 4)
		mine := openSSE(t, url, auth...)
		e.subscribe(t, mine, `[{"resource":"coach"}]`, auth...)
		coach(9, "judo")
		mine.next(t)
		mineID := mine.lastID
		mine.close()
		thief := openSSE(t, url, "Last-Event-ID", mineID)
		if thief.clientID == mine.clientID {
			t.Fatal("a guest resumed a user's stream")
		}
		if ev := thief.next(t); ev.event != "resync" {
			t.Fatalf("an id that is not the caller's: %+v", ev)
		}
		// Unknown and malformed ids: resync, with a fresh stream.
		for _, id := range []string{mine.clientID + ".nope.1", "garbage", strings.Repeat("x", 300)} {
			u := openSSE(t, url, "Last-Event-ID", id)
			if id != "garbage" && id != strings.Repeat("x", 300) {
				if ev := u.next(t); ev.event != "resync" {
					t.Fatalf("unknown id %q: %+v", id, ev)
				}
			}
			u.close()
		}
	})
}

// TestRealtimeResyncPastRetention: once the missed events are pruned, a
// resuming client gets its stream and subscriptions back with one resync.
func TestRealtimeResyncPastRetention(t *testing.T) {
	t.Parallel() // a gateway of its own
	opt := realtimeOptions(t)
	opt.realtime.Retention = time.Millisecond
	e := MustStartGatewayWith(t, opt)
	url := e.srv.URL + "/api/realtime"
	s := openSSE(t, url)
	e.subscribe(t, s, `[{"resource":"coach"}]`)
	e.create(t, "admin", "coach", `{"name":"a"}`)
	s.next(t)
	last := s.lastID
	s.close()
	e.create(t, "admin", "coach", `{"name":"b"}`)
	// Prune until the missed change is gone (the retention is 1 ms).
	ctx := context.Background()
	for {
		if err := e.hub.Prune(ctx); err != nil {
			t.Fatal(err)
		}
		m, err := e.changes.Mark(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m.Horizon == m.Head {
			break
		}
		runtime.Gosched()
	}
	r := openSSE(t, url, "Last-Event-ID", last)
	if r.clientID != s.clientID {
		t.Fatalf("the stream is kept past the retention of its events: %s, was %s", r.clientID, s.clientID)
	}
	if ev := r.next(t); ev.event != "resync" || ev.data["reason"] == "" {
		t.Fatalf("past the retention: %+v", ev)
	}
	c := e.create(t, "admin", "coach", `{"name":"c"}`)
	if ev := r.next(t); ev.record()["_id"] != c {
		t.Fatalf("the subscriptions are kept: %+v", ev)
	}
}

// TestRealtimeTicketsAndOwnership: EventSource's ticket is single use and
// bound to its session; only the session that opened a stream may change
// its subscriptions (a guest's stream: whoever holds its client_id); the
// bounds answer 429 and 400.
func TestRealtimeTicketsAndOwnership(t *testing.T) {
	t.Parallel() // a gateway of its own
	opt := realtimeOptions(t)
	opt.realtime.MaxPerSession = 2
	eachSessionStore(t, opt, func(t *testing.T, e *env) {
		app := newAppClient(t, e.srv.URL)
		url := e.srv.URL + "/api/realtime"
		alice, _ := e.userWithLevel(t, app, "alice_tk", 4)
		bob, _ := e.userWithLevel(t, app, "bob_tk", 4)
		tk := tokensOf(t, e.payloadCall(t, "/api/auth", app.seal(t, map[string]any{"username": "alice_tk", "password": "a fine long password"})))
		alice2 := bearer(tk.AccessToken)

		if r := e.call(t, "POST", "/api/realtime/ticket", "", ""); r.status != http.StatusUnauthorized {
			t.Fatalf("a guest's ticket: %d", r.status)
		}
		r := e.call(t, "POST", "/api/realtime/ticket", "", "", alice...)
		ticket, _ := dataOf(t, r)["ticket"].(string)
		if r.status != http.StatusOK || ticket == "" || dataOf(t, r)["expires_in"] != float64(30) || r.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("ticket: %d %s", r.status, r.raw)
		}
		s := openSSE(t, url+"?ticket="+ticket)
		// The ticket's stream is alice's session's: her session may change it,
		// her other session, bob and a guest may not.
		e.subscribe(t, s, `[{"resource":"order"}]`, alice...)
		for name, auth := range map[string][]string{"another session": alice2, "another user": bob, "a guest": nil} {
			if r := e.putSubs(t, s.clientID, `[]`, auth...); r.status != http.StatusNotFound {
				t.Errorf("%s changes alice's stream: %d %s", name, r.status, r.raw)
			}
		}
		// Refusals are answers of the description (e.call checks them).
		if r := e.call(t, "GET", "/api/realtime?ticket="+ticket, "", ""); r.status != http.StatusUnauthorized {
			t.Errorf("a spent ticket: %d", r.status)
		}
		if r := e.call(t, "GET", "/api/realtime?ticket="+strings.Repeat("A", 43), "", ""); r.status != http.StatusUnauthorized {
			t.Errorf("a made-up ticket: %d", r.status)
		}
		// A ticket of a session that ended is worthless.
		r = e.call(t, "POST", "/api/realtime/ticket", "", "", alice2...)
		late, _ := dataOf(t, r)["ticket"].(string)
		e.call(t, "DELETE", "/api/session", "", "", alice2...)
		if r := e.call(t, "GET", "/api/realtime?ticket="+late, "", ""); r.status != http.StatusUnauthorized {
			t.Errorf("the ticket of an ended session: %d", r.status)
		}
		// The order alice makes reaches the ticket's stream.
		r = e.call(t, "POST", "/api/order", "", `{"operation":"create","data":{"items":[{"product":"mat","quantity":1}]}}`, alice...)
		if ev := s.next(t); ev.event != "create" || ev.record()["_id"] != dataOf(t, r)["_id"] {
			t.Fatalf("the ticket's stream: %+v", ev)
		}

		// A guest's stream: its client_id is its only binding.
		g := openSSE(t, url)
		e.subscribe(t, g, `[{"resource":"coach"}]`, bob...)
		if r := e.putSubs(t, "AAAAAAAAAAAAAAAAAAAAAA", `[]`); r.status != http.StatusNotFound {
			t.Errorf("an unknown client_id: %d", r.status)
		}
		// Bounds: 101 subscriptions, and one stream more than a session may open.
		many := "[" + strings.TrimSuffix(strings.Repeat(`{"resource":"coach"},`, 101), ",") + "]"
		if r := e.putSubs(t, g.clientID, many); r.status != http.StatusBadRequest {
			t.Errorf("101 subscriptions: %d", r.status)
		}
		openSSE(t, url, alice...)
		if _, status := tryOpenSSE(t, url, alice...); status != http.StatusTooManyRequests {
			t.Errorf("a third stream of a session allowed two: %d", status)
		}
		// HEAD describes the stream without opening one.
		req, _ := http.NewRequest("HEAD", url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			t.Errorf("HEAD: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	})
}

// redisOptions puts sessions and the change log on one real redis-server.
func redisOptions(t *testing.T, opt options, srv *redistest.Server) options {
	t.Helper()
	rs, err := redis.Open(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rs.Close() })
	opt.sessions, opt.redisURL = rs, srv.URL()
	return opt
}

// TestRealtimeAcrossReplicas: two replicas on one redis-server. A write on
// A reaches a stream on B; subscriptions changed through B apply to a
// stream on A; a client whose replica dies resumes on the other with
// nothing lost.
func TestRealtimeAcrossReplicas(t *testing.T) {
	t.Parallel() // a gateway of its own
	srv := redistest.Start(t)
	a := MustStartGatewayWith(t, redisOptions(t, realtimeOptions(t), srv))
	b := MustStartGatewayWith(t, redisOptions(t, realtimeOptions(t), srv))
	onA := openSSE(t, a.srv.URL+"/api/realtime")
	onB := openSSE(t, b.srv.URL+"/api/realtime")
	a.subscribe(t, onA, `[{"resource":"coach"}]`)
	b.subscribe(t, onB, `[{"resource":"coach"}]`)

	kim := a.create(t, "admin", "coach", `{"name":"Kim","specialty":"boxing"}`)
	if ev := onB.next(t); ev.event != "create" || ev.record()["_id"] != kim {
		t.Fatalf("a write on A, on B: %+v", ev)
	}
	if ev := onA.next(t); ev.record()["_id"] != kim {
		t.Fatalf("on A: %+v", ev)
	}
	// A's stream, its subscriptions replaced through B.
	b.subscribe(t, onA, `[{"resource":"coach","query":{"specialty":"judo"}}]`)
	a.create(t, "admin", "coach", `{"name":"Lee","specialty":"karate"}`)
	judo := a.create(t, "admin", "coach", `{"name":"Max","specialty":"judo"}`)
	if ev := onA.next(t); ev.record()["_id"] != judo {
		t.Fatalf("the subscriptions set through B: %+v", ev)
	}
	// A stops: its streams are told to come back, and come back on B.
	last := onA.lastID
	a.stopHub()
	a.srv.Close()
	if ev := onA.next(t); ev.event != "shutdown" || ev.data["retry_ms"] == nil {
		t.Fatalf("A's shutdown: %+v", ev)
	}
	missed := b.create(t, "admin", "coach", `{"name":"Ann","specialty":"judo"}`)
	b.create(t, "admin", "coach", `{"name":"Bo","specialty":"chess"}`)
	resumed := openSSE(t, b.srv.URL+"/api/realtime", "Last-Event-ID", last)
	if resumed.clientID != onA.clientID {
		t.Fatalf("resumed on B as %s, was %s", resumed.clientID, onA.clientID)
	}
	if ev := resumed.next(t); ev.event != "create" || ev.record()["_id"] != missed {
		t.Fatalf("the missed event, on B: %+v", ev)
	}
	live := b.create(t, "admin", "coach", `{"name":"Cy","specialty":"judo"}`)
	if ev := resumed.next(t); ev.record()["_id"] != live {
		t.Fatalf("live on B: %+v", ev)
	}
}

// TestRealtimeRedisDown: Redis killed mid-stream ends the streams with a
// retry hint; while it is down a new stream is told to come back; once it
// is back, clients reconnect, refetch (the log is gone) and follow again.
func TestRealtimeRedisDown(t *testing.T) {
	t.Parallel() // a gateway of its own
	srv := redistest.Start(t)
	e := MustStartGatewayWith(t, redisOptions(t, realtimeOptions(t), srv))
	url := e.srv.URL + "/api/realtime"
	s := openSSE(t, url)
	e.subscribe(t, s, `[{"resource":"coach"}]`)
	e.create(t, "admin", "coach", `{"name":"Kim"}`)
	s.next(t)
	srv.Stop()
	ev := s.next(t)
	retry, _ := ev.data["retry_ms"].(float64)
	if ev.event != "shutdown" || retry <= 0 {
		t.Fatalf("Redis down: %+v", ev)
	}
	s.ends(t)
	if _, status := tryOpenSSE(t, url); status != http.StatusServiceUnavailable {
		t.Errorf("a stream while Redis is down: %d, want a shutdown event", status)
	}
	srv.Restart()
	select {
	case <-e.hub.Up():
	case <-time.After(eventWait):
		t.Fatal("the hub did not recover within the wait")
	}
	back := openSSE(t, url, "Last-Event-ID", s.lastID)
	if ev := back.next(t); ev.event != "resync" {
		t.Fatalf("after Redis came back empty: %+v", ev)
	}
	e.subscribe(t, back, `[{"resource":"coach"}]`)
	c := e.create(t, "admin", "coach", `{"name":"Lee"}`)
	if ev := back.next(t); ev.record()["_id"] != c {
		t.Fatalf("following again: %+v", ev)
	}
}

// TestRealtimeEveryWriteCounts: purchases, their verification and
// cancellation, transfers and an admin's credit reach the buyer's stream
// as changes of her records and of her own profile's balance.
func TestRealtimeEveryWriteCounts(t *testing.T) {
	t.Parallel() // a gateway of its own
	e := MustStartGatewayWith(t, realtimeOptions(t))
	app := newAppClient(t, e.srv.URL)
	seller, _ := e.userWithLevel(t, app, "seller_rt", 3)
	buyer, buyerID := e.userWithLevel(t, app, "buyer_rt", 4)
	_, payeeID := e.userWithLevel(t, app, "payee_rt", 4)
	s := openSSE(t, e.srv.URL+"/api/realtime", buyer...)
	e.subscribe(t, s, `[{"resource":"transaction_record"},{"resource":"profile","id":"`+buyerID+`"}]`, buyer...)

	// expect reads the next events (their order within one write is the
	// store's) and checks each against one of want.
	type want struct {
		action, resource, field string
		value                   any
	}
	expect := func(t *testing.T, wants ...want) map[string]map[string]any {
		t.Helper()
		got := map[string]map[string]any{}
		for range wants {
			ev := s.next(t)
			res, _ := ev.data["resource"].(string)
			got[res] = ev.record()
			ok := false
			for _, w := range wants {
				if ev.event == w.action && res == w.resource && fmt.Sprint(ev.record()[w.field]) == fmt.Sprint(w.value) {
					ok = true
				}
			}
			if !ok {
				t.Fatalf("unexpected event %s %s, want one of %+v", ev.event, ev.raw, wants)
			}
		}
		return got
	}
	e.credit(t, buyerID, 1000)
	expect(t, want{"update", "profile", "balance", 1000})

	merch := e.call(t, "POST", "/api/merchandise", "", `{"operation":"create","data":{"name":"Gloves","price":100,"stock":5}}`, seller...)
	mid := dataOf(t, merch)["_id"].(string)
	buy := recordOf(t, e.call(t, "POST", "/api/perform_transaction", "", `{"items":[{"merchandise_id":"`+mid+`","quantity":2}]}`, buyer...))
	got := expect(t, want{"create", "transaction_record", "status", "pending"}, want{"update", "profile", "balance", 800})
	if got["transaction_record"]["_id"] != buy.ID || got["transaction_record"]["verification_code"] != buy.VerificationCode {
		t.Fatalf("the buyer's record, her own private code included: %v", got["transaction_record"])
	}
	if r := e.call(t, "POST", "/api/verify_transaction", "", `{"transaction_id":"`+buy.ID+`","verification_code":"`+buy.VerificationCode+`"}`, seller...); r.status != http.StatusOK {
		t.Fatalf("verify: %d %s", r.status, r.raw)
	}
	expect(t, want{"update", "transaction_record", "status", "completed"})

	second := recordOf(t, e.call(t, "POST", "/api/perform_transaction", "", `{"items":[{"merchandise_id":"`+mid+`","quantity":1}]}`, buyer...))
	expect(t, want{"create", "transaction_record", "_id", second.ID}, want{"update", "profile", "balance", 700})
	if r := e.call(t, "POST", "/api/cancel_transaction", "", `{"transaction_id":"`+second.ID+`"}`, buyer...); r.status != http.StatusOK {
		t.Fatalf("cancel: %d %s", r.status, r.raw)
	}
	expect(t, want{"update", "transaction_record", "status", "cancelled"}, want{"update", "profile", "balance", 800})

	if r := e.call(t, "POST", "/api/transfer", "", `{"recipient":"`+payeeID+`","amount":50}`, buyer...); r.status != http.StatusCreated {
		t.Fatalf("transfer: %d %s", r.status, r.raw)
	}
	expect(t, want{"create", "transaction_record", "kind", "transfer"}, want{"update", "profile", "balance", 750})
}

// TestRealtimeClosedStreamsLeaveNothing: streams whose clients leave are
// forgotten, and no goroutine of theirs stays behind.
func TestRealtimeClosedStreamsLeaveNothing(t *testing.T) {
	e := MustStartGatewayWith(t, realtimeOptions(t))
	url := e.srv.URL + "/api/realtime"
	warm := openSSE(t, url)
	warm.close()
	waitFor(t, "the warm-up stream to go", func() bool { return e.hub.Open() == 0 })
	http.DefaultClient.CloseIdleConnections()
	base := runtime.NumGoroutine()
	var streams []*sseStream
	for range 30 {
		s := openSSE(t, url)
		e.subscribe(t, s, `[{"resource":"coach"}]`)
		streams = append(streams, s)
	}
	e.create(t, "admin", "coach", `{"name":"Kim"}`)
	for _, s := range streams {
		s.next(t)
	}
	if e.hub.Open() != 30 {
		t.Fatalf("%d streams open, want 30", e.hub.Open())
	}
	for _, s := range streams {
		s.close()
	}
	waitFor(t, "every stream to be forgotten", func() bool { return e.hub.Open() == 0 })
	// The calls' keep-alive connections are not the streams'.
	http.DefaultClient.CloseIdleConnections()
	waitFor(t, "their goroutines to end", func() bool { return runtime.NumGoroutine() <= base })
}

// waitFor waits until cond holds, checking as often as the scheduler lets
// it; the test fails past eventWait.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(eventWait)
	for !cond() {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Logf("goroutines:\n%s", buf[:runtime.Stack(buf, true)])
			t.Fatalf("waited %v for %s", eventWait, what)
		}
		runtime.Gosched()
	}
}

// TestRealtimePerAddressBound: one client address may hold so many streams
// on a replica; one more is a 429 with Retry-After, and a place frees when
// a stream closes.
func TestRealtimePerAddressBound(t *testing.T) {
	t.Parallel() // a gateway of its own
	opt := realtimeOptions(t)
	opt.realtime.MaxPerAddress = 2
	e := MustStartGatewayWith(t, opt)
	url := e.srv.URL + "/api/realtime"
	first := openSSE(t, url)
	openSSE(t, url)
	if r := e.call(t, "GET", "/api/realtime", "", ""); r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Fatalf("a third stream from one address: %d, Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	first.close()
	waitFor(t, "the closed stream's place to free", func() bool { return e.hub.Open() == 1 })
	openSSE(t, url)
}
