package gateway_test

// The weak points outside testing found beside the breaches (API.md §8),
// each tried over real HTTP.

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// TestMoneyBounds: prices, stock, quantities and amounts have upper bounds,
// no total overflows, and a cancel never wraps stock.
func TestMoneyBounds(t *testing.T) {
	e := MustStartGateway(t)
	app := newAppClient(t, e.srv.URL)
	buyer, buyerID := e.userWithLevel(t, app, "bounded_buyer", 4)
	e.run(t, []scenario{
		{name: "price over 10^12", path: "/api/merchandise", user: "admin", body: `{"operation":"create","data":{"name":"Gold","price":1000000000001}}`, status: 400, code: "InvalidResourceValueError"},
		{name: "stock over 10^9", path: "/api/merchandise", user: "admin", body: `{"operation":"create","data":{"name":"Sand","stock":1000000001}}`, status: 400, code: "InvalidResourceValueError"},
		{name: "transfer over 10^12", path: "/api/transfer", headers: buyer, body: `{"recipient":"admin","amount":1000000000001}`, status: 400, code: "InvalidResourceValueError"},
		{name: "credit over 10^12", path: "/api/admin/users/" + buyerID + "/balance", user: "admin", body: `{"delta":1000000000001,"reason":"too much"}`, status: 400, code: "InvalidResourceValueError"},
	})
	var ids []string
	for i := range 10 {
		ids = append(ids, e.create(t, "admin", "merchandise", fmt.Sprintf(`{"name":"Costly %d","price":1000000000000,"stock":1000000000}`, i)))
	}
	items := make([]string, len(ids))
	for i, id := range ids {
		items[i] = fmt.Sprintf(`{"merchandise_id":%q,"quantity":1000000}`, id)
	}
	e.run(t, []scenario{
		{name: "quantity over 10^6", path: "/api/perform_transaction", headers: buyer, body: `{"items":[{"merchandise_id":"` + ids[0] + `","quantity":1000001}]}`, status: 400, code: "InvalidResourceValueError"},
		{name: "a total past int64", path: "/api/perform_transaction", headers: buyer, body: `{"items":[` + strings.Join(items, ",") + `]}`, status: 400, code: "InvalidResourceValueError"},
	})
	// Stock at its bound, bought, topped up to the bound again, then the
	// purchase cancelled: the restock goes past the bound, never wraps.
	free := e.create(t, "admin", "merchandise", `{"name":"Free sample","price":0,"stock":1000000000}`)
	rec := recordOf(t, e.call(t, "POST", "/api/perform_transaction", "", `{"items":[{"merchandise_id":"`+free+`","quantity":1000000}]}`, buyer...))
	if r := e.call(t, "POST", "/api/merchandise", "admin", `{"operation":"update","data":{"_id":"`+free+`","stock":1000000000}}`); r.status != 200 {
		t.Fatal(r.raw)
	}
	if r := e.call(t, "POST", "/api/cancel_transaction", "", `{"transaction_id":"`+rec.ID+`"}`, buyer...); r.status != 200 {
		t.Fatalf("cancel: %d %s", r.status, r.raw)
	}
	if s := e.stock(t, free); s != 1_001_000_000 {
		t.Errorf("stock after the cancel: %d", s)
	}
}

// TestWalletAdministrationOnlyDownward: an Admin credits only users of lower
// levels: never itself, a peer or a superior.
func TestWalletAdministrationOnlyDownward(t *testing.T) {
	e := MustStartGateway(t)
	app := newAppClient(t, e.srv.URL)
	_, peerAdmin := e.userWithLevel(t, app, "peer_admin", 2)
	credit := `{"delta":100,"reason":"to test"}`
	e.run(t, []scenario{
		{name: "an Admin credits itself", path: "/api/admin/users/" + e.users["admin"].UserID + "/balance", user: "admin", body: credit, status: 403, code: "PermissionDeniedError"},
		{name: "an Admin credits a peer", path: "/api/admin/users/" + peerAdmin + "/balance", user: "admin", body: credit, status: 403, code: "PermissionDeniedError"},
		{name: "an Admin credits a SystemAdmin", path: "/api/admin/users/" + e.users["sysadmin"].UserID + "/balance", user: "admin", body: credit, status: 403, code: "PermissionDeniedError"},
		{name: "an Admin credits the DBA", path: "/api/admin/users/" + e.users["dba"].UserID + "/balance", user: "admin", body: credit, status: 403, code: "PermissionDeniedError"},
		{name: "the DBA credits itself", path: "/api/admin/users/" + e.users["dba"].UserID + "/balance", user: "dba", body: credit, status: 403, code: "PermissionDeniedError"},
		{name: "an Admin credits a PowerUser", path: "/api/admin/users/" + e.users["coach"].UserID + "/balance", user: "admin", body: credit, status: 200},
		{name: "a SystemAdmin credits an Admin", path: "/api/admin/users/" + e.users["admin"].UserID + "/balance", user: "sysadmin", body: credit, status: 200},
	})
}

// TestRestoreBombRefusedFast: an archive of 100 KB that expands a thousand
// times is refused as too large while it streams, with memory bounded.
func TestRestoreBombRefusedFast(t *testing.T) {
	e := MustStartGateway(t)
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	fmt.Fprintln(zw, `{"format":"gateway-backup","version":2,"collections":["gym"]}`)
	filler := strings.Repeat("a", 1<<20)
	for i := 0; buf.Len() < 100<<10; i++ {
		fmt.Fprintf(zw, `{"c":"gym","d":{"_id":"%024x","name":"gym %d","description":"%s"}}`+"\n", i, i, filler)
		_ = zw.Flush()
	}
	_ = zw.Close()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r := e.restore(t, buf.Bytes())
	runtime.ReadMemStats(&after)
	if r.status != 413 || r.body.ErrorCode != "PayloadTooLargeError" {
		t.Errorf("a %d KB archive expanding ~1000 times: %d %s", buf.Len()>>10, r.status, r.raw)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 256<<20 {
		t.Errorf("refusing it allocated %d MB", grew>>20)
	}
}

// TestOthersRecordsAnswerAsMissing: another user's transaction record, by
// any route, answers exactly as a record that does not exist.
func TestOthersRecordsAnswerAsMissing(t *testing.T) {
	e := MustStartGateway(t)
	app := newAppClient(t, e.srv.URL)
	buyer, buyerID := e.userWithLevel(t, app, "record_owner", 4)
	other, _ := e.userWithLevel(t, app, "record_prober", 4)
	e.credit(t, buyerID, 1000)
	merch := e.create(t, "admin", "merchandise", `{"name":"Rope","price":10,"stock":5}`)
	buy := e.call(t, "POST", "/api/perform_transaction", "", `{"items":[{"merchandise_id":"`+merch+`","quantity":1}]}`, buyer...)
	rec := recordOf(t, buy)
	const missing = "0123456789abcdef01234567"
	same := func(name string, ask func(id string) reply) {
		t.Helper()
		theirs, none := ask(rec.ID), ask(missing)
		if theirs.status != none.status || strings.ReplaceAll(theirs.raw, rec.ID, missing) != none.raw {
			t.Errorf("%s: another's record %d %s, a missing one %d %s", name, theirs.status, theirs.raw, none.status, none.raw)
		}
	}
	same("get", func(id string) reply { return e.call(t, "GET", "/api/transaction_record/"+id, "", "", other...) })
	same("query by id", func(id string) reply {
		return e.call(t, "POST", "/api/transaction_record", "", `{"operation":"query","data":{"_id":{"equals":"`+id+`"}}}`, other...)
	})
	same("verify", func(id string) reply {
		return e.call(t, "POST", "/api/verify_transaction", "", `{"transaction_id":"`+id+`","verification_code":"`+rec.VerificationCode+`"}`, other...)
	})
	same("cancel", func(id string) reply {
		return e.call(t, "POST", "/api/cancel_transaction", "", `{"transaction_id":"`+id+`"}`, other...)
	})
	same("verify_transaction_record", func(id string) reply {
		return e.call(t, "POST", "/api/verify_transaction_record", "", `{"record":`+strings.ReplaceAll(string(buy.body.Data), rec.ID, id)+`}`, other...)
	})
	same("a cursor pointing at it", func(id string) reply {
		cursor := base64.RawURLEncoding.EncodeToString([]byte(`{"s":"_id","i":"` + id + `"}`))
		return e.call(t, "POST", "/api/transaction_record", "", `{"operation":"query","data":{"after":"`+cursor+`"}}`, other...)
	})
	if r := e.call(t, "GET", "/api/transaction_record/"+rec.ID, "", "", buyer...); r.status != 200 {
		t.Errorf("the buyer's own record: %d", r.status)
	}
}

// TestNonceSpellingsReplay: one nonce written with padding, or with other
// unused trailing bits, is the same nonce: none of the spellings replays.
func TestNonceSpellingsReplay(t *testing.T) {
	eachSessionStore(t, options{}, func(t *testing.T, e *env) {
		app := newAppClient(t, e.srv.URL)
		e.register(t, app, "nonce_user", "a fine long password")
		raw := bytes.Repeat([]byte{0x5a}, 16)
		nonce := base64.RawURLEncoding.EncodeToString(raw) // 22 characters, 4 unused bits at the end
		last := nonce[len(nonce)-1]
		sibling := nonce[:len(nonce)-1] + string(last+1) // differs only in the unused bits
		login := func(n string) int {
			return e.payloadCall(t, "/api/auth", app.seal(t, map[string]any{"username": "nonce_user", "password": "a fine long password", "nonce": n})).status
		}
		if s := login(nonce); s != 200 {
			t.Fatalf("first use of the nonce: %d", s)
		}
		for _, spelling := range []string{nonce, nonce + "=", nonce + "==", sibling} {
			if s := login(spelling); s != 401 {
				t.Errorf("the nonce spelled %q: %d", spelling, s)
			}
		}
	})
}

// TestCSRFTokenBelongsToItsSession: the CSRF token of one browser session
// does not let a refresh of another through, and the refused attempt does
// not spend the refresh token.
func TestCSRFTokenBelongsToItsSession(t *testing.T) {
	eachSessionStore(t, options{}, func(t *testing.T, e *env) {
		app := newAppClient(t, e.srv.URL)
		e.register(t, app, "csrf_user", "a fine long password")
		cookies := func() (refresh, csrf string) {
			r := e.payloadCall(t, "/api/auth", app.seal(t, map[string]any{"username": "csrf_user", "password": "a fine long password"}), "X-Refresh-Transport", "cookie")
			if c := r.cookies()["refresh_token"]; c != nil {
				refresh = c.Value
			}
			if c := r.cookies()["csrf_token"]; c != nil {
				csrf = c.Value
			}
			return refresh, csrf
		}
		refreshA, csrfA := cookies()
		_, csrfB := cookies()
		r := e.call(t, "POST", "/api/token/refresh", "", "", "Cookie", "refresh_token="+refreshA+"; csrf_token="+csrfB, "X-CSRF-Token", csrfB)
		if r.status != 403 {
			t.Errorf("session A refreshed with session B's CSRF token: %d %s", r.status, r.raw)
		}
		r = e.call(t, "POST", "/api/token/refresh", "", "", "Cookie", "refresh_token="+refreshA+"; csrf_token="+csrfA, "X-CSRF-Token", csrfA)
		if r.status != 200 {
			t.Errorf("session A with its own CSRF token after the refused attempt: %d %s", r.status, r.raw)
		}
	})
}

// TestHeadOnGetRoutes: every GET route answers HEAD with the GET's status and
// headers and no body; HEAD of the backup takes no backup.
func TestHeadOnGetRoutes(t *testing.T) {
	e := MustStartGateway(t)
	auditLen := func() int {
		r := e.call(t, "GET", "/api/admin/audit?find=0&action=backup", "dba", "")
		var entries []any
		_ = json.Unmarshal(r.body.Data, &entries)
		return len(entries)
	}
	backups := auditLen()
	for _, c := range []struct{ path, user string }{
		{"/healthz", ""}, {"/readyz", ""}, {"/metrics", ""}, {"/.well-known/jwks.json", ""}, {"/api/gpk", ""},
		{"/api/openapi.json", ""}, {"/api/discovery", ""}, {"/api/discovery/gym", ""}, {"/api/gym", "member"},
		{"/api/gym", ""}, {"/api/account/me", "member"}, {"/api/admin/users", "sysadmin"}, {"/api/admin/users", "member"},
		{"/api/admin/backup", "dba"}, {"/api/admin/backup", "admin"}, {"/api/nowhere/at/all", ""},
	} {
		get := e.call(t, "GET", c.path, c.user, "")
		head := e.call(t, "HEAD", c.path, c.user, "")
		if head.status != get.status || head.raw != "" || head.header.Get("Content-Type") != get.header.Get("Content-Type") {
			t.Errorf("HEAD %s as %q: %d %q (%s), GET: %d (%s)", c.path, c.user, head.status, head.raw,
				head.header.Get("Content-Type"), get.status, get.header.Get("Content-Type"))
		}
	}
	if n := auditLen(); n != backups+1 {
		t.Errorf("backups in the trail: %d before, %d after one GET and one HEAD", backups, n)
	}
}

// TestUsersSeeNoLevels: a level-4 user lists profiles without anyone else's
// level, cannot filter or sort by it, and still sees its own.
func TestUsersSeeNoLevels(t *testing.T) {
	e := MustStartGateway(t)
	app := newAppClient(t, e.srv.URL)
	member, _ := e.userWithLevel(t, app, "curious_member", 4)
	list := e.call(t, "GET", "/api/profile?find=0", "", "", member...)
	var profiles []map[string]any
	_ = json.Unmarshal(list.body.Data, &profiles)
	if len(profiles) < 6 {
		t.Fatalf("profiles: %s", list.raw)
	}
	for _, p := range profiles {
		_, hasLevel := p["level"]
		if own := p["username"] == "curious_member"; hasLevel != own {
			t.Errorf("level shown %v for %v", hasLevel, p["username"])
		}
	}
	e.run(t, []scenario{
		{name: "filter by level", path: "/api/profile", headers: member, body: `{"operation":"query","data":{"level":{"equals":0}}}`, status: 403, code: "PermissionDeniedError"},
		{name: "sort by level", path: "/api/profile", headers: member, body: `{"operation":"query","data":{"sort":"level"}}`, status: 403, code: "PermissionDeniedError"},
		{name: "the DBA by id", method: "GET", path: "/api/profile/" + e.users["dba"].UserID, headers: member, status: 200, notContains: []string{`"level"`}},
		{name: "an Admin sees levels", method: "GET", path: "/api/profile/" + e.users["dba"].UserID, user: "admin", status: 200, contains: []string{`"level":0`}},
	})
}

// TestSuperiorsProfilesAreNotEditable: an administrator edits the profiles
// of lower levels only (an Admin changing a DBA's email would be a way into
// the DBA's account).
func TestSuperiorsProfilesAreNotEditable(t *testing.T) {
	e := MustStartGateway(t)
	update := func(id string) string {
		return `{"operation":"update","data":{"_id":"` + id + `","email":"new-` + id + `@example.org"}}`
	}
	e.run(t, []scenario{
		{name: "an Admin edits the DBA", path: "/api/profile", user: "admin", body: update(e.users["dba"].UserID), status: 403, code: "PermissionDeniedError"},
		{name: "an Admin edits a SystemAdmin", path: "/api/profile", user: "admin", body: update(e.users["sysadmin"].UserID), status: 403, code: "PermissionDeniedError"},
		{name: "an Admin edits a PowerUser", path: "/api/profile", user: "admin", body: update(e.users["coach"].UserID), status: 200},
		{name: "an Admin edits itself", path: "/api/profile", user: "admin", body: update(e.users["admin"].UserID), status: 200},
		{name: "a SystemAdmin edits an Admin", path: "/api/profile", user: "sysadmin", body: update(e.users["admin"].UserID), status: 200},
	})
	if r := e.call(t, "GET", "/api/profile/"+e.users["dba"].UserID, "dba", ""); strings.Contains(r.raw, "new-") {
		t.Errorf("the DBA's email changed: %s", r.raw)
	}
}
