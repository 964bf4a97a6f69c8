package gateway_test

// The five breaches outside testing found (API.md §8), each tried the way
// the outside tester tried it, over real HTTP, on both session stores where
// sessions are involved.

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tnt/gateway/crypto"
	"github.com/tnt/gateway/resources/account"
)

func (e *env) policyLines(t *testing.T) ([]string, string) {
	t.Helper()
	r := e.call(t, "GET", "/api/admin/policy", "sysadmin", "")
	var pol struct {
		Lines   []string `json:"lines"`
		Version int64    `json:"version"`
	}
	if err := json.Unmarshal(r.body.Data, &pol); err != nil || r.status != 200 {
		t.Fatalf("read policy: %d %s", r.status, r.raw)
	}
	return pol.Lines, r.raw
}

func (e *env) putPolicy(t *testing.T, user string, lines []string) reply {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"lines": lines})
	return e.call(t, "PUT", "/api/admin/policy", user, string(b))
}

// TestPolicyEditsCannotEscalate: the escalation chain of the outside test
// (a SystemAdmin grants itself the DBA's backup and restore, or strips the
// DBA) and its variants through inheritance and groups are refused with 403
// and nothing changed; what a SystemAdmin may do still works.
func TestPolicyEditsCannotEscalate(t *testing.T) {
	e := MustStartGateway(t)
	base, before := e.policyLines(t)
	with := func(add ...string) []string { return append(slices.Clone(base), add...) }
	without := func(drop string) []string {
		return slices.DeleteFunc(slices.Clone(base), func(l string) bool { return l == drop })
	}
	for _, c := range []struct {
		name  string
		lines []string
	}{
		{"grant itself backup", with("p, sysadmin, database, backup")},
		{"grant itself restore", with("p, sysadmin, database, restore")},
		{"strip the DBA of restore", without("p, dba, database, restore")},
		{"strip the DBA of backup", without("p, dba, database, backup")},
		{"cut the DBA off its inheritance", without("g, dba, sysadmin")},
		{"inherit from the DBA", with("g, sysadmin, dba")},
		{"make users inherit from the DBA", with("g, user, dba")},
		{"grant users the DBA's backup", with("p, user, database, backup")},
		{"regroup the database into data", with("g2, database, data")},
		{"take its own right to edit the policy", without("p, sysadmin, policy, manage")},
		{"take a peer right of its level", without("p, sysadmin, audit, read")},
		{"grant a right nobody was given", with("p, user, orders, create")},
	} {
		r := e.putPolicy(t, "sysadmin", c.lines)
		if r.status != 403 || r.body.ErrorCode != "PermissionDeniedError" {
			t.Errorf("%s: %d %s", c.name, r.status, r.raw)
		}
		if _, now := e.policyLines(t); now != before {
			t.Fatalf("%s changed the policy:\n%s", c.name, now)
		}
	}
	if r := e.call(t, "GET", "/api/admin/backup", "sysadmin", ""); r.status != 403 {
		t.Errorf("a SystemAdmin's backup after the attempts: %d", r.status)
	}
	if r := e.restore(t, []byte("x")); r.status != 400 {
		t.Fatalf("the DBA's restore route: %d", r.status)
	}
	// What the rule allows: taking a right from users (and so from every
	// level above them but the DBA); only an editor that still holds it,
	// the DBA, gives it back. And the DBA granting a SystemAdmin the backup.
	if r := e.putPolicy(t, "sysadmin", without("p, user, wallet, transfer")); r.status != 200 {
		t.Errorf("take transfers from users: %d %s", r.status, r.raw)
	}
	if r := e.putPolicy(t, "sysadmin", base); r.status != 403 {
		t.Errorf("a SystemAdmin gives back transfers it no longer holds: %d %s", r.status, r.raw)
	}
	if r := e.putPolicy(t, "dba", base); r.status != 200 {
		t.Errorf("the DBA gives transfers back: %d %s", r.status, r.raw)
	}
	if r := e.putPolicy(t, "dba", with("p, sysadmin, database, backup")); r.status != 200 {
		t.Fatalf("the DBA grants a SystemAdmin the backup: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "GET", "/api/admin/backup", "sysadmin", ""); r.status != 200 {
		t.Errorf("a SystemAdmin's backup once the DBA granted it: %d", r.status)
	}
	if r := e.putPolicy(t, "sysadmin", with("p, sysadmin, database, backup", "p, sysadmin, database, restore")); r.status != 403 {
		t.Errorf("a SystemAdmin adds restore to the backup it was given: %d %s", r.status, r.raw)
	}
}

// TestAuditSurvivesRestore: the trail is evidence; restoring an older
// archive keeps the entries written since (here, a SystemAdmin's level
// change) and adds the restore with who ran it and from where.
func TestAuditSurvivesRestore(t *testing.T) {
	e := MustStartGateway(t)
	app := newAppClient(t, e.srv.URL)
	archive := e.backup(t)
	target := e.freshUser(t, app, "audited_user")
	if r := e.call(t, "PUT", "/api/admin/users/"+target+"/level", "sysadmin", `{"level":3}`); r.status != 200 {
		t.Fatal(r.raw)
	}
	if r := e.restore(t, archive); r.status != 200 {
		t.Fatalf("restore: %d %s", r.status, r.raw)
	}
	audit := e.call(t, "GET", "/api/admin/audit?find=0", "dba", "")
	var entries []struct {
		Action        string `json:"action"`
		Target        string `json:"target"`
		ActorUsername string `json:"actor_username"`
		IP            string `json:"ip"`
	}
	if err := json.Unmarshal(audit.body.Data, &entries); err != nil {
		t.Fatal(audit.raw)
	}
	var setLevel, restore bool
	for _, en := range entries {
		setLevel = setLevel || (en.Action == "set_level" && en.Target == target && en.ActorUsername == "sysadmin")
		restore = restore || (en.Action == "restore" && en.ActorUsername == "dba" && en.IP != "")
	}
	if !setLevel || !restore {
		t.Errorf("after the restore the trail lacks the level change (%v) or the restore (%v): %s", setLevel, restore, audit.raw)
	}
	if len(entries) == 0 || entries[0].Action != "restore" {
		t.Errorf("the restore is not the newest entry: %+v", entries)
	}
}

// TestLoginRacingAdminActs: a login reads the user, hashes the password,
// then starts a session; an admin act landing in between (a level change, a
// deletion, a password change) must leave no session carrying what is no
// longer true. Argon2id runs with enough work that the act lands inside the
// hash; each act is raced many times.
func TestLoginRacingAdminActs(t *testing.T) {
	hashing := crypto.Argon2Params{MemoryKiB: 8 << 10, Time: 2, Threads: 1}
	eachSessionStore(t, options{hashing: &hashing}, func(t *testing.T, e *env) {
		app := newAppClient(t, e.srv.URL)
		// Rounds per act: on the code before the fix, a level change or a
		// deletion left a stale session in nearly every round, a password
		// change (which hashes twice itself) in one round of four.
		for act, rounds := range map[string]int{"level": 6, "delete": 6, "password": 12} {
			stale := 0
			for i := range rounds {
				name := fmt.Sprintf("race_%s_%d", act, i)
				first := e.register(t, app, name, "the first password")
				id := e.meID(t, first.AccessToken)
				// Three logins race the act: the bound on concurrent
				// hashes queues some of them, so their sessions start at
				// every moment around it.
				var logins []string
				for range 3 {
					logins = append(logins, app.seal(t, map[string]any{"username": name, "password": "the first password"}))
				}
				var change func() reply
				switch act {
				case "level":
					change = func() reply {
						return e.call(t, "PUT", "/api/admin/users/"+id+"/level", "sysadmin", `{"level":3}`)
					}
				case "delete":
					change = func() reply { return e.call(t, "DELETE", "/api/admin/users/"+id, "sysadmin", "") }
				case "password":
					body := app.seal(t, map[string]any{"old_password": "the first password", "new_password": "the second password"})
					change = func() reply { return e.payloadCall(t, "/api/account/password", body, bearer(first.AccessToken)...) }
				}
				logged := make([]reply, len(logins))
				var changed reply
				var wg sync.WaitGroup
				start := make(chan struct{})
				for j, payload := range logins {
					wg.Add(1)
					go func() { defer wg.Done(); <-start; logged[j] = e.payloadCall(t, "/api/auth", payload) }()
				}
				wg.Add(1)
				go func() { defer wg.Done(); <-start; changed = change() }()
				close(start)
				wg.Wait()
				if changed.status != 200 {
					t.Fatalf("%s: the admin act failed: %d %s", act, changed.status, changed.raw)
				}
				for _, l := range logged {
					if l.status == 200 && e.staleAfter(t, act, i, tokensOf(t, l)) {
						stale++
					}
				}
			}
			t.Logf("%s: %d stale sessions in %d rounds", act, stale, rounds)
		}
	})
}

// staleAfter reports (and fails the test) when a login's session outlived
// the admin act it raced: after a level change it must be gone or at the new
// level, refreshed or not; after a deletion or a password change it must be
// gone.
func (e *env) staleAfter(t *testing.T, act string, round int, tk tokens) bool {
	t.Helper()
	s := e.call(t, "GET", "/api/session", "", "", bearer(tk.AccessToken)...)
	refreshed := e.call(t, "POST", "/api/token/refresh", "", `{"refresh_token":"`+tk.RefreshToken+`"}`)
	if act != "level" {
		if s.status != 401 || refreshed.status != 401 {
			t.Errorf("round %d: a login with the first password survived the %s: session %d, refresh %d", round, act, s.status, refreshed.status)
			return true
		}
		return false
	}
	var sess struct {
		Level int `json:"level"`
	}
	_ = json.Unmarshal(s.body.Data, &sess)
	if s.status == 200 && sess.Level != 3 {
		t.Errorf("round %d: a session at level %d outlived the change to level 3", round, sess.Level)
		return true
	}
	if refreshed.status == 200 {
		after := e.call(t, "GET", "/api/session", "", "", bearer(tokensOf(t, refreshed).AccessToken)...)
		_ = json.Unmarshal(after.body.Data, &sess)
		if sess.Level != 3 {
			t.Errorf("round %d: a refresh carried level %d after the change to 3", round, sess.Level)
			return true
		}
	}
	return false
}

// meID returns the caller's user id.
func (e *env) meID(t *testing.T, access string) string {
	t.Helper()
	r := e.call(t, "GET", "/api/account/me", "", "", bearer(access)...)
	var me struct {
		ID string `json:"_id"`
	}
	if err := json.Unmarshal(r.body.Data, &me); err != nil || me.ID == "" {
		t.Fatalf("me: %d %s", r.status, r.raw)
	}
	return me.ID
}

// TestMetricLabelsStayBounded: requests with invented methods, on every kind
// of path, are answered 405 and counted under one method label; the number of
// series does not grow with them.
func TestMetricLabelsStayBounded(t *testing.T) {
	e := MustStartGateway(t)
	series := func() map[string]bool {
		r := e.call(t, "GET", "/metrics", "", "")
		out := map[string]bool{}
		sc := bufio.NewScanner(strings.NewReader(r.raw))
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "gateway_") {
				out[line[:strings.LastIndexByte(line, ' ')]] = true
			}
		}
		return out
	}
	send := func(from, to int) {
		for i := from; i < to; i++ {
			for _, path := range []string{"/healthz", "/api/gym", "/api/nowhere/x", "/nowhere", "/api/admin/backup"} {
				req, _ := http.NewRequest(fmt.Sprintf("INVENTED%d", i), e.srv.URL+path, nil)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				_ = resp.Body.Close()
				if resp.StatusCode != 405 {
					t.Fatalf("method INVENTED%d on %s: %d", i, path, resp.StatusCode)
				}
			}
		}
	}
	send(0, 20)
	series() // the scrape is counted too: its own series exist from here on
	after20 := series()
	send(20, 220)
	after220 := series()
	if len(after220) != len(after20) {
		for s := range after220 {
			if !after20[s] {
				t.Errorf("a new series appeared: %s", s)
			}
		}
	}
	for s := range after220 {
		if strings.Contains(s, "INVENTED") {
			t.Fatalf("an invented method became a label: %s", s)
		}
	}
	if !after220[`gateway_http_requests_total{method="OTHER",route="unmatched",status="405"}`] {
		t.Errorf("unknown methods are not counted under OTHER: %v", after220)
	}
}

// TestRestoreEndsSessions: after restoring an older archive, a user the
// restore lowered and a user the restore removed lose their sessions at
// once; only the session of the DBA who restored stays.
func TestRestoreEndsSessions(t *testing.T) {
	eachSessionStore(t, options{}, func(t *testing.T, e *env) {
		app := newAppClient(t, e.srv.URL)
		lowered := e.freshUser(t, app, "to_be_lowered")
		archive := e.backup(t)
		if r := e.call(t, "PUT", "/api/admin/users/"+lowered+"/level", "sysadmin", `{"level":3}`); r.status != 200 {
			t.Fatal(r.raw)
		}
		coach := bearer(tokensOf(t, e.payloadCall(t, "/api/auth", app.seal(t, map[string]any{"username": "to_be_lowered", "password": "a fine long password"}))).AccessToken)
		removed := bearer(e.register(t, app, "to_be_removed", "a fine long password").AccessToken)
		dbaToken := func() []string {
			r := e.call(t, "GET", "/api/admin/auth", "dba", "")
			return bearer(tokensOf(t, r).AccessToken)
		}
		restorer, otherDBA := dbaToken(), dbaToken()
		for name, h := range map[string][]string{"lowered": coach, "removed": removed} {
			if r := e.call(t, "GET", "/api/session", "", "", h...); r.status != 200 {
				t.Fatalf("%s before the restore: %d", name, r.status)
			}
		}
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/admin/restore", strings.NewReader(string(archive)))
		req.Header.Set("Authorization", restorer[1])
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("restore: %d", resp.StatusCode)
		}
		for name, h := range map[string][]string{"lowered": coach, "removed": removed, "another DBA session": otherDBA} {
			if r := e.call(t, "GET", "/api/gym", "", "", h...); r.status != 401 {
				t.Errorf("%s after the restore: %d %s", name, r.status, r.raw)
			}
		}
		if r := e.call(t, "GET", "/api/session", "", "", restorer...); r.status != 200 {
			t.Errorf("the restoring DBA's session: %d %s", r.status, r.raw)
		}
		if r := e.payloadCall(t, "/api/auth", app.seal(t, map[string]any{"username": "to_be_removed", "password": "a fine long password"})); r.status != 401 {
			t.Errorf("a user the restore removed logs in: %d", r.status)
		}
		r := e.payloadCall(t, "/api/auth", app.seal(t, map[string]any{"username": "to_be_lowered", "password": "a fine long password"}))
		if s := e.call(t, "GET", "/api/session", "", "", bearer(tokensOf(t, r).AccessToken)...); !strings.Contains(s.raw, `"level":4`) {
			t.Errorf("the lowered user logs in again at: %s", s.raw)
		}
	})
}

// TestThrottlingIsNoLockout: failures from one client (as the real username
// or a case variant of it) throttle that client, never the account's owner
// signing in from elsewhere; the same holds for the admin header.
func TestThrottlingIsNoLockout(t *testing.T) {
	eachSessionStore(t, options{trustedProxies: []string{"127.0.0.1"}}, func(t *testing.T, e *env) {
		app := newAppClient(t, e.srv.URL)
		e.register(t, app, "victim_b", "the victim's password")
		attacker := []string{"X-Forwarded-For", "198.51.100.1"}
		owner := []string{"X-Forwarded-For", "198.51.100.2"}
		login := func(name, password string, from []string) reply {
			return e.payloadCall(t, "/api/auth", app.seal(t, map[string]any{"username": name, "password": password}), from...)
		}
		var last reply
		for i := range 12 {
			login("Victim_B", fmt.Sprintf("guess %d", i), attacker)
			last = login("victim_b", fmt.Sprintf("guess %d", i), attacker)
		}
		if last.status != 429 {
			t.Errorf("the attacking client after 24 failures: %d", last.status)
		}
		if r := login("victim_b", "the victim's password", owner); r.status != 200 {
			t.Errorf("the owner from another client: %d %s", r.status, r.raw)
		}
		for range 12 {
			last = e.call(t, "GET", "/api/gym", "", "", append([]string{"Authorization", adminHeader("admin", "wrong password")}, attacker...)...)
		}
		if last.status != 429 {
			t.Errorf("the admin header from the attacking client: %d", last.status)
		}
		if r := e.call(t, "GET", "/api/gym", "", "", append([]string{"Authorization", adminHeader("admin", testPassword)}, owner...)...); r.status != 200 {
			t.Errorf("the admin from another client: %d %s", r.status, r.raw)
		}
	})
}

// TestImpossibleUsernamesGrowNoState: failed logins as usernames that cannot
// exist are counted against the client only: the session store holds one
// counter for them all.
func TestImpossibleUsernamesGrowNoState(t *testing.T) {
	e := MustStartGateway(t)
	app := newAppClient(t, e.srv.URL)
	for i := range 30 {
		e.payloadCall(t, "/api/auth", app.seal(t, map[string]any{"username": fmt.Sprintf("Nobody-%d!", i), "password": "a wrong password"}))
	}
	db, err := sql.Open("sqlite", "file:"+e.sessionsPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var keys []string
	rows, err := db.Query(`SELECT key FROM counters`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		_ = rows.Scan(&k)
		keys = append(keys, k)
	}
	if len(keys) != 1 || !strings.HasPrefix(keys[0], "fail:ip:") {
		t.Errorf("counters after 30 impossible usernames: %v", keys)
	}
}

// TestSessionsPerAccountAreBounded: logging in again and again never grows
// an account's sessions past the bound; the oldest end first.
func TestSessionsPerAccountAreBounded(t *testing.T) {
	e := MustStartGateway(t)
	app := newAppClient(t, e.srv.URL)
	first := e.register(t, app, "many_logins", "a fine long password")
	var last tokens
	for range account.MaxSessionsPerUser + 2 {
		last = tokensOf(t, e.payloadCall(t, "/api/auth", app.seal(t, map[string]any{"username": "many_logins", "password": "a fine long password"})))
	}
	r := e.call(t, "GET", "/api/sessions", "", "", bearer(last.AccessToken)...)
	var list []any
	_ = json.Unmarshal(r.body.Data, &list)
	if len(list) != account.MaxSessionsPerUser {
		t.Errorf("%d sessions, want %d", len(list), account.MaxSessionsPerUser)
	}
	if r := e.call(t, "GET", "/api/session", "", "", bearer(first.AccessToken)...); r.status != 401 {
		t.Errorf("the oldest session: %d", r.status)
	}
}
