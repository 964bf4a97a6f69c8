package gateway_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// caller is one of the levels, with the header it authenticates with.
type caller struct {
	level   int
	headers []string
}

func (e *env) callers(t *testing.T, app *appClient) []caller {
	t.Helper()
	coach, _ := e.userWithLevel(t, app, "coach_x", 3)
	member, _ := e.userWithLevel(t, app, "member_x", 4)
	return []caller{
		{0, []string{"Authorization", adminHeader("dba", testPassword)}},
		{1, []string{"Authorization", adminHeader("sysadmin", testPassword)}},
		{2, []string{"Authorization", adminHeader("admin", testPassword)}},
		{3, coach},
		{4, member},
		{5, nil},
	}
}

func (e *env) freshUser(t *testing.T, app *appClient, name string) string {
	t.Helper()
	_, id := e.userWithLevel(t, app, name, 4)
	return id
}

// TestAdminRoutesByLevel: every administration route at every level,
// allowed exactly where the policy says.
func TestAdminRoutesByLevel(t *testing.T) {
	e := MustStartGateway(t)
	app := newAppClient(t, e.srv.URL)
	lines := e.call(t, "GET", "/api/admin/policy", "sysadmin", "")
	var pol struct {
		Lines []string `json:"lines"`
	}
	_ = json.Unmarshal(lines.body.Data, &pol)
	policyBody, _ := json.Marshal(map[string]any{"lines": pol.Lines})
	routes := []struct {
		name, method string
		path         func(i int) string
		body         string
		lowest       int // the highest level number allowed
		okStatus     int
	}{
		{"list users", "GET", func(int) string { return "/api/admin/users" }, "", 1, 200},
		{"set level", "PUT", func(i int) string {
			return "/api/admin/users/" + e.freshUser(t, app, fmt.Sprintf("lvl_target_%d", i)) + "/level"
		}, `{"level":4}`, 1, 200},
		{"delete user", "DELETE", func(i int) string { return "/api/admin/users/" + e.freshUser(t, app, fmt.Sprintf("del_target_%d", i)) }, "", 1, 200},
		{"balance", "POST", func(i int) string { return "/api/admin/users/" + e.users["member"].UserID + "/balance" }, `{"delta":1,"reason":"level test"}`, 2, 200},
		{"drop collection", "DELETE", func(int) string { return "/api/admin/collections/coach?confirm=coach" }, "", 1, 200},
		{"read policy", "GET", func(int) string { return "/api/admin/policy" }, "", 1, 200},
		{"replace policy", "PUT", func(int) string { return "/api/admin/policy" }, string(policyBody), 1, 200},
		{"audit", "GET", func(int) string { return "/api/admin/audit" }, "", 1, 200},
		{"backup", "GET", func(int) string { return "/api/admin/backup" }, "", 0, 200},
	}
	for i, c := range e.callers(t, app) {
		for _, r := range routes {
			res := e.call(t, r.method, r.path(i), "", r.body, c.headers...)
			want := r.okStatus
			switch {
			case c.level == 5:
				want = 401
			case c.level > r.lowest:
				want = 403
			}
			if res.status != want {
				t.Errorf("level %d, %s: %d, want %d (%s)", c.level, r.name, res.status, want, clip(res.raw))
			}
		}
		res := e.call(t, "POST", "/api/admin/restore", "", "not an archive", c.headers...)
		if want := map[bool]int{true: 400, false: 403}[c.level == 0]; c.level < 5 && res.status != want {
			t.Errorf("level %d, restore: %d, want %d", c.level, res.status, want)
		}
	}
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200]
	}
	return s
}

func TestEscalationAttempts(t *testing.T) {
	e := MustStartGateway(t)
	app := newAppClient(t, e.srv.URL)
	member := e.freshUser(t, app, "plain_member")
	_, otherSys := e.userWithLevel(t, app, "other_sys", 1)
	sysID := e.users["sysadmin"].UserID
	e.run(t, []scenario{
		{name: "grant oneself level 0", method: "PUT", path: "/api/admin/users/" + sysID + "/level", user: "sysadmin", body: `{"level":0}`, status: 403, code: "PermissionDeniedError"},
		{name: "change one's own level", method: "PUT", path: "/api/admin/users/" + sysID + "/level", user: "sysadmin", body: `{"level":2}`, status: 403, code: "PermissionDeniedError"},
		{name: "grant a peer's level", method: "PUT", path: "/api/admin/users/" + member + "/level", user: "sysadmin", body: `{"level":1}`, status: 403, code: "PermissionDeniedError"},
		{name: "demote a peer", method: "PUT", path: "/api/admin/users/" + otherSys + "/level", user: "sysadmin", body: `{"level":4}`, status: 403, code: "PermissionDeniedError"},
		{name: "delete a superior", method: "DELETE", path: "/api/admin/users/" + e.users["dba"].UserID, user: "sysadmin", status: 403, code: "PermissionDeniedError"},
		{name: "level 0 even from the DBA", method: "PUT", path: "/api/admin/users/" + member + "/level", user: "dba", body: `{"level":0}`, status: 403, code: "PermissionDeniedError"},
		{name: "an Admin sets a level", method: "PUT", path: "/api/admin/users/" + member + "/level", user: "admin", body: `{"level":3}`, status: 403, code: "PermissionDeniedError"},
		{name: "level out of range", method: "PUT", path: "/api/admin/users/" + member + "/level", user: "sysadmin", body: `{"level":9}`, status: 400, code: "InvalidResourceValueError"},
		{name: "level through the envelope", path: "/api/profile", user: "sysadmin", body: `{"operation":"update","data":{"_id":"` + member + `","level":2}}`,
			status: 400, code: "InvalidResourceParameterError"},
		{name: "balance through the envelope", path: "/api/profile", user: "sysadmin", body: `{"operation":"update","data":{"_id":"` + member + `","balance":1000000}}`,
			status: 400, code: "InvalidResourceParameterError"},
		{name: "unknown user", method: "PUT", path: "/api/admin/users/0123456789abcdef01234567/level", user: "sysadmin", body: `{"level":3}`, status: 404, code: "ResourceNotFoundError"},
		{name: "sysadmin grants level 2", method: "PUT", path: "/api/admin/users/" + member + "/level", user: "sysadmin", body: `{"level":2}`, status: 200,
			contains: []string{`"level":2`, `"level_name":"Admin"`}, notContains: []string{"password_hash"}},
		{name: "drop account data", method: "DELETE", path: "/api/admin/collections/profile?confirm=profile", user: "sysadmin", status: 403, code: "PermissionDeniedError"},
		{name: "drop records", method: "DELETE", path: "/api/admin/collections/transaction_record?confirm=transaction_record", user: "sysadmin", status: 403, code: "PermissionDeniedError"},
		{name: "drop without confirmation", method: "DELETE", path: "/api/admin/collections/gym?confirm=gyms", user: "sysadmin", status: 400, code: "InvalidRequestError"},
		{name: "the audit is not a resource", path: "/api/audit", user: "dba", body: `{"operation":"delete","data":{"_id":"0123456789abcdef01234567"}}`,
			status: 404, code: "UnknownResourceError"},
	})
	// A PowerUser cannot update another's gym over HTTP either.
	coachA, _ := e.userWithLevel(t, app, "coach_a", 3)
	coachB, _ := e.userWithLevel(t, app, "coach_b", 3)
	r := e.call(t, "POST", "/api/gym", "", `{"operation":"create","data":{"name":"A's place"}}`, coachA...)
	var g struct {
		ID string `json:"_id"`
	}
	_ = json.Unmarshal(r.body.Data, &g)
	if r := e.call(t, "POST", "/api/gym", "", `{"operation":"update","data":{"_id":"`+g.ID+`","name":"B's now"}}`, coachB...); r.status != 403 {
		t.Errorf("PowerUser updates another's gym: %d %s", r.status, r.raw)
	}
}

// TestRevocationOnTheNextRequest: a level change or a deletion ends the
// target's sessions at once; an admin demoted mid-session loses the admin
// header on the very next call.
func TestRevocationOnTheNextRequest(t *testing.T) {
	e := MustStartGateway(t)
	app := newAppClient(t, e.srv.URL)
	member, memberID := e.userWithLevel(t, app, "revoke_me", 4)
	if r := e.call(t, "GET", "/api/gym", "", "", member...); r.status != 200 {
		t.Fatalf("before: %d", r.status)
	}
	if r := e.call(t, "PUT", "/api/admin/users/"+memberID+"/level", "sysadmin", `{"level":3}`); r.status != 200 {
		t.Fatalf("promote: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "GET", "/api/gym", "", "", member...); r.status != 401 {
		t.Errorf("old token after a level change: %d", r.status)
	}
	if r := e.call(t, "GET", "/api/gym", "admin", ""); r.status != 200 {
		t.Fatalf("admin before demotion: %d", r.status)
	}
	if r := e.call(t, "PUT", "/api/admin/users/"+e.users["admin"].UserID+"/level", "sysadmin", `{"level":4}`); r.status != 200 {
		t.Fatalf("demote: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "GET", "/api/gym", "admin", ""); r.status != 403 {
		t.Errorf("demoted admin's header on the next request: %d", r.status)
	}
	other, otherID := e.userWithLevel(t, app, "delete_me", 4)
	if r := e.call(t, "DELETE", "/api/admin/users/"+otherID, "sysadmin", ""); r.status != 200 {
		t.Fatalf("delete: %d", r.status)
	}
	if r := e.call(t, "GET", "/api/account/me", "", "", other...); r.status != 401 {
		t.Errorf("deleted user's token: %d", r.status)
	}
}

func TestRuntimePolicy(t *testing.T) {
	e := MustStartGateway(t)
	app := newAppClient(t, e.srv.URL)
	member, _ := e.userWithLevel(t, app, "policy_member", 4)
	r := e.call(t, "GET", "/api/admin/policy", "sysadmin", "")
	var pol struct {
		Lines []string `json:"lines"`
	}
	_ = json.Unmarshal(r.body.Data, &pol)
	without := func(drop string) []string {
		var out []string
		for _, l := range pol.Lines {
			if l != drop {
				out = append(out, l)
			}
		}
		return out
	}
	put := func(lines []string) reply {
		b, _ := json.Marshal(map[string]any{"lines": lines})
		return e.call(t, "PUT", "/api/admin/policy", "sysadmin", string(b))
	}
	// The SystemAdmin's right to edit the policy is fixed (API.md §8): an
	// edit that takes it is refused as a forbidden edit.
	if r := put(without("p, sysadmin, policy, manage")); r.status != 403 || r.body.ErrorCode != "PermissionDeniedError" {
		t.Errorf("lockout: %d %s", r.status, r.raw)
	}
	for name, lines := range map[string][]string{
		"injection":    append(without(""), `p, user, gym, query" || true`),
		"expression":   append(without(""), "p, user, keyMatch(r.obj), query"),
		"newline":      append(without(""), "p, user, gym, query\np, guest, gym, delete"),
		"extra column": append(without(""), "p, user, gym, query, allow"),
	} {
		if r := put(lines); r.status != 400 {
			t.Errorf("%s: %d %s", name, r.status, r.raw)
		}
	}
	if r := e.call(t, "GET", "/api/gym", "", "", member...); r.status != 200 {
		t.Fatalf("the policy in force changed after refusals: %d", r.status)
	}
	if r := put(without("p, user, data, query")); r.status != 200 || !strings.Contains(r.raw, `"version":1`) {
		t.Fatalf("replace: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "GET", "/api/gym", "", "", member...); r.status != 403 {
		t.Errorf("query after the right was removed: %d", r.status)
	}
	// The SystemAdmin lost the query right with the users it took it from;
	// the DBA, who holds every right, gives it back.
	if r := put(pol.Lines); r.status != 403 {
		t.Fatalf("a SystemAdmin gave back a right it no longer holds: %d %s", r.status, r.raw)
	}
	if r := e.putPolicy(t, "dba", pol.Lines); r.status != 200 || !strings.Contains(r.raw, `"version":2`) {
		t.Fatalf("restore policy: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "GET", "/api/gym", "", "", member...); r.status != 200 {
		t.Errorf("query after the right came back: %d", r.status)
	}
	// The stored policy is what a fresh start (another replica) applies.
	if err := e.admin.SyncPolicy(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (e *env) backup(t *testing.T) []byte {
	t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/admin/backup", nil)
	req.Header.Set("Authorization", adminHeader("dba", testPassword))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/gzip" {
		t.Fatalf("backup: %d %s", resp.StatusCode, b)
	}
	return b
}

func (e *env) restore(t *testing.T, archive []byte) reply {
	t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/admin/restore", bytes.NewReader(archive))
	req.Header.Set("Authorization", adminHeader("dba", testPassword))
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

// snapshot is what a user would compare: every gym, merchandise, profile
// and record as the DBA sees them.
func (e *env) snapshot(t *testing.T) string {
	t.Helper()
	var parts []string
	for _, res := range []string{"gym", "merchandise", "profile", "transaction_record", "coach"} {
		r := e.call(t, "GET", "/api/"+res+"?find=0", "dba", "")
		parts = append(parts, res+"="+string(r.body.Data))
	}
	return strings.Join(parts, "\n")
}

func TestBackupWipeRestore(t *testing.T) {
	e := MustStartGateway(t)
	app := newAppClient(t, e.srv.URL)
	buyer, buyerID := e.userWithLevel(t, app, "backup_buyer", 4)
	e.credit(t, buyerID, 500)
	e.create(t, "admin", "gym", `{"name":"Kept Gym","type":{"name":"yoga"},"location":{"lat":1.5,"lng":-2.25}}`)
	merch := e.create(t, "admin", "merchandise", `{"name":"Kept Mat","price":40,"stock":9}`)
	e.create(t, "admin", "coach", `{"name":"Kept Coach","rating":5}`)
	buy := e.call(t, "POST", "/api/perform_transaction", "", `{"items":[{"merchandise_id":"`+merch+`","quantity":2}]}`, buyer...)
	if buy.status != 201 {
		t.Fatal(buy.raw)
	}
	before := e.snapshot(t)
	archive := e.backup(t)

	// Wipe and change things.
	e.call(t, "DELETE", "/api/admin/collections/gym?confirm=gym", "sysadmin", "")
	e.call(t, "DELETE", "/api/admin/collections/coach?confirm=coach", "sysadmin", "")
	e.create(t, "admin", "gym", `{"name":"Newer Gym"}`)
	e.credit(t, buyerID, 1)
	if e.snapshot(t) == before {
		t.Fatal("the wipe changed nothing")
	}

	// Corrupt archives are refused whole, with nothing changed.
	changed := e.snapshot(t)
	flipped := append([]byte(nil), archive...)
	flipped[len(flipped)/2] ^= 0xff
	altered := recompress(t, archive, func(s string) string { return strings.Replace(s, `"price":40`, `"price":4`, 1) })
	noTrailer := recompress(t, archive, func(s string) string { return s[:strings.LastIndex(strings.TrimSuffix(s, "\n"), "\n")+1] })
	for name, bad := range map[string][]byte{
		"truncated": archive[:len(archive)*2/3], "flipped byte": flipped, "altered document": altered,
		"no trailer": noTrailer, "not gzip": []byte(`{"format":"gateway-backup"}`), "empty": nil,
	} {
		if r := e.restore(t, bad); r.status != 400 || r.body.ErrorCode != "InvalidRequestError" {
			t.Errorf("%s archive: %d %s", name, r.status, r.raw)
		}
		if e.snapshot(t) != changed {
			t.Fatalf("%s archive changed the data", name)
		}
	}

	if r := e.restore(t, archive); r.status != 200 {
		t.Fatalf("restore: %d %s", r.status, r.raw)
	}
	if after := e.snapshot(t); after != before {
		t.Errorf("restore lost or changed data:\nbefore %s\nafter  %s", before, after)
	}
	// A restore ends every session (API.md §8); after a new login the
	// restored record still verifies, and the trail shows both acts.
	if r := e.call(t, "GET", "/api/account/me", "", "", buyer...); r.status != 401 {
		t.Errorf("a session from before the restore: %d", r.status)
	}
	buyer = bearer(tokensOf(t, e.payloadCall(t, "/api/auth", app.seal(t, map[string]any{"username": "backup_buyer", "password": "a fine long password"}))).AccessToken)
	if r := e.call(t, "POST", "/api/verify_transaction_record", "", `{"record":`+string(buy.body.Data)+`}`, buyer...); !strings.Contains(r.raw, `"valid":true`) {
		t.Errorf("restored record: %d %s", r.status, r.raw)
	}
	audit := e.call(t, "GET", "/api/admin/audit?find=0", "sysadmin", "")
	for _, action := range []string{`"action":"backup"`, `"action":"restore"`, `"action":"balance"`} {
		if !strings.Contains(audit.raw, action) {
			t.Errorf("audit lacks %s", action)
		}
	}
}

// recompress decompresses an archive, edits its text and compresses it
// again (so only the archive's own checksum can catch the edit).
func recompress(t *testing.T, archive []byte, edit func(string) string) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(edit(string(plain))))
	_ = zw.Close()
	return buf.Bytes()
}

func TestAuditTrail(t *testing.T) {
	e := MustStartGateway(t)
	app := newAppClient(t, e.srv.URL)
	target := e.freshUser(t, app, "audited_user")
	e.call(t, "PUT", "/api/admin/users/"+target+"/level", "sysadmin", `{"level":3}`)
	e.call(t, "DELETE", "/api/admin/collections/coach?confirm=coach", "sysadmin", "")
	e.call(t, "DELETE", "/api/admin/users/"+target, "sysadmin", "")
	r := e.call(t, "GET", "/api/admin/audit?action=set_level", "sysadmin", "")
	var entries []map[string]any
	_ = json.Unmarshal(r.body.Data, &entries)
	if len(entries) != 1 || entries[0]["actor"] != e.users["sysadmin"].UserID || entries[0]["target"] != target || entries[0]["ip"] != "127.0.0.1" ||
		entries[0]["created_at"] == nil {
		t.Errorf("set_level entry: %s", r.raw)
	}
	all := e.call(t, "GET", "/api/admin/audit", "sysadmin", "")
	if i, j := strings.Index(all.raw, `"delete_user"`), strings.Index(all.raw, `"set_level"`); i < 0 || j < 0 || i > j {
		t.Errorf("audit not newest first: %s", all.raw)
	}
	if !strings.Contains(all.raw, `"drop_collection"`) {
		t.Errorf("drop not audited: %s", all.raw)
	}
}
