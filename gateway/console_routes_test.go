package gateway_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tnt/gateway/gateway"
	"github.com/tnt/gateway/resources/account"
)

// TestAdminUserSessions: a SystemAdmin lists a user's sessions and ends
// them all; the user's token is refused on its next request, the act is
// audited, and nobody reaches the sessions of a peer or a superior.
func TestAdminUserSessions(t *testing.T) {
	eachSessionStore(t, options{}, func(t *testing.T, e *env) {
		app := newAppClient(t, e.srv.URL)
		member, memberID := e.userWithLevel(t, app, "session_owner", 4)
		list := e.call(t, "GET", "/api/admin/users/"+memberID+"/sessions", "sysadmin", "")
		var sessions []map[string]any
		if err := json.Unmarshal(list.body.Data, &sessions); err != nil || list.status != 200 || len(sessions) == 0 {
			t.Fatalf("list: %d %s", list.status, list.raw)
		}
		if sessions[0]["sid"] == "" || sessions[0]["ip"] != "127.0.0.1" || strings.Contains(list.raw, "hash") {
			t.Errorf("a session as the admin sees it: %s", list.raw)
		}
		for _, who := range []string{"admin", "coach", "member"} {
			if r := e.call(t, "GET", "/api/admin/users/"+memberID+"/sessions", who, ""); r.status != 403 {
				t.Errorf("%s lists a user's sessions: %d", who, r.status)
			}
		}
		if r := e.call(t, "DELETE", "/api/admin/users/"+e.users["dba"].UserID+"/sessions", "sysadmin", ""); r.status != 403 {
			t.Errorf("a SystemAdmin ends a DBA's sessions: %d %s", r.status, r.raw)
		}
		if r := e.call(t, "GET", "/api/admin/users/ffffffffffffffffffffffff/sessions", "sysadmin", ""); r.status != 404 {
			t.Errorf("an unknown user: %d", r.status)
		}
		revoke := e.call(t, "DELETE", "/api/admin/users/"+memberID+"/sessions", "sysadmin", "")
		if revoke.status != 200 || !strings.Contains(revoke.raw, `"revoked":1`) {
			t.Fatalf("revoke: %d %s", revoke.status, revoke.raw)
		}
		if r := e.call(t, "GET", "/api/account/me", "", "", member...); r.status != 401 {
			t.Errorf("the user's token after its sessions were ended: %d", r.status)
		}
		if r := e.call(t, "GET", "/api/admin/audit?action=revoke_sessions&target="+memberID, "sysadmin", ""); !strings.Contains(r.raw, `"sessions":1`) {
			t.Errorf("revocation not audited: %s", r.raw)
		}
	})
}

// TestPolicyDryRun: a dry run answers what a replacement would change, or
// the error it would get, and changes nothing.
func TestPolicyDryRun(t *testing.T) {
	e := MustStartGateway(t)
	current := e.call(t, "GET", "/api/admin/policy", "sysadmin", "")
	var view struct {
		Lines   []string `json:"lines"`
		Version int64    `json:"version"`
	}
	if err := json.Unmarshal(current.body.Data, &view); err != nil {
		t.Fatal(err)
	}
	var proposed []string
	for _, l := range view.Lines {
		if strings.TrimSpace(l) != "p, user, wallet, transfer" {
			proposed = append(proposed, l)
		}
	}
	proposed = append(proposed, "p,poweruser,ledger,query")
	body, _ := json.Marshal(map[string]any{"lines": proposed})
	dry := e.call(t, "PUT", "/api/admin/policy?dry_run=true", "sysadmin", string(body))
	var preview struct {
		Added, Removed []string
	}
	if err := json.Unmarshal(dry.body.Data, &preview); err != nil || dry.status != 200 {
		t.Fatalf("dry run: %d %s", dry.status, dry.raw)
	}
	if strings.Join(preview.Added, "|") != "p, poweruser, ledger, query" || strings.Join(preview.Removed, "|") != "p, user, wallet, transfer" {
		t.Errorf("preview: %s", dry.raw)
	}
	after := e.call(t, "GET", "/api/admin/policy", "sysadmin", "")
	if after.raw != current.raw {
		t.Errorf("a dry run changed the policy:\n%s\n%s", current.raw, after.raw)
	}
	// A refused edit is refused the same way in a dry run.
	escalate, _ := json.Marshal(map[string]any{"lines": append(append([]string{}, view.Lines...), "p, admin, database, restore")})
	if r := e.call(t, "PUT", "/api/admin/policy?dry_run=true", "sysadmin", string(escalate)); r.status != 403 {
		t.Errorf("a dry run of an escalation: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "PUT", "/api/admin/policy?dry_run=true", "admin", string(body)); r.status != 403 {
		t.Errorf("an Admin's dry run: %d", r.status)
	}
	if r := e.call(t, "GET", "/api/admin/audit?action=replace_policy", "sysadmin", ""); strings.Contains(r.raw, "replace_policy") {
		t.Errorf("a dry run was audited as a replacement: %s", r.raw)
	}
}

// TestAuditSinceUntil: the audit trail is cut by time, newest first.
func TestAuditSinceUntil(t *testing.T) {
	e := MustStartGateway(t)
	app := newAppClient(t, e.srv.URL)
	var stamps []string
	for _, name := range []string{"first_timed", "second_timed", "third_timed"} {
		_, id := e.userWithLevel(t, app, name, 4)
		if r := e.call(t, "PUT", "/api/admin/users/"+id+"/level", "sysadmin", `{"level":3}`); r.status != 200 {
			t.Fatal(r.raw)
		}
		entries := auditEntries(t, e, "action=set_level&find=1")
		stamps = append(stamps, entries[0]["created_at"].(string))
	}
	got := auditEntries(t, e, "action=set_level&since="+url.QueryEscape(stamps[1]))
	if len(got) != 2 || got[0]["created_at"] != stamps[2] || got[1]["created_at"] != stamps[1] {
		t.Errorf("since the second: %v", got)
	}
	got = auditEntries(t, e, "action=set_level&until="+url.QueryEscape(stamps[2]))
	if len(got) != 2 || got[0]["created_at"] != stamps[1] || got[1]["created_at"] != stamps[0] {
		t.Errorf("until the third: %v", got)
	}
	got = auditEntries(t, e, "action=set_level&since="+url.QueryEscape(stamps[1])+"&until="+url.QueryEscape(stamps[2]))
	if len(got) != 1 || got[0]["created_at"] != stamps[1] {
		t.Errorf("between: %v", got)
	}
	for _, bad := range []string{"since=yesterday", "until=2026-13-01T00:00:00Z", "since=" + url.QueryEscape(time.Now().Format(time.RFC3339)) + "&sort=action"} {
		if r := e.call(t, "GET", "/api/admin/audit?"+bad, "sysadmin", ""); r.status != 400 {
			t.Errorf("%s: %d %s", bad, r.status, r.raw)
		}
	}
}

func auditEntries(t *testing.T, e *env, query string) []map[string]any {
	t.Helper()
	r := e.call(t, "GET", "/api/admin/audit?"+query, "sysadmin", "")
	var entries []map[string]any
	if err := json.Unmarshal(r.body.Data, &entries); err != nil || r.status != 200 {
		t.Fatalf("audit ?%s: %d %s", query, r.status, r.raw)
	}
	return entries
}

// TestStatusReport: an operator sees each store, the build and the keys
// with their ages; nothing in it is secret, and lower levels see none of it.
func TestStatusReport(t *testing.T) {
	e := MustStartGateway(t)
	r := e.call(t, "GET", "/api/admin/status", "sysadmin", "")
	var st struct {
		Stores []struct {
			Name string `json:"name"`
			OK   bool   `json:"ok"`
		} `json:"stores"`
		Keys []struct {
			Kid, Use string
			Current  bool
		} `json:"keys"`
		GoVersion string `json:"go_version"`
	}
	if err := json.Unmarshal(r.body.Data, &st); err != nil || r.status != 200 {
		t.Fatalf("status: %d %s", r.status, r.raw)
	}
	if len(st.Stores) != 2 || !st.Stores[0].OK || !st.Stores[1].OK || len(st.Keys) < 3 || !strings.HasPrefix(st.GoVersion, "go") {
		t.Errorf("status: %s", r.raw)
	}
	for _, secret := range []string{"PRIVATE", e.dbPath, "password"} {
		if strings.Contains(r.raw, secret) {
			t.Errorf("status shows %q: %s", secret, r.raw)
		}
	}
	if r := e.call(t, "GET", "/api/admin/status", "admin", ""); r.status != 403 {
		t.Errorf("an Admin reads the status: %d", r.status)
	}
	if r := e.call(t, "GET", "/api/admin/status", "", ""); r.status != 401 {
		t.Errorf("a guest reads the status: %d", r.status)
	}
}

// rootAnswer reads what / answers, without following its redirect.
func rootAnswer(t *testing.T, e *env) (status int, location string, links map[string]string) {
	t.Helper()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(e.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_ = json.NewDecoder(resp.Body).Decode(&links)
	return resp.StatusCode, resp.Header.Get("Location"), links
}

// TestConsoleAndDocsPages: / sends a browser to the console; the console
// and the API reference are served from the binary with a strict
// Content-Security-Policy and may not be framed.
func TestConsoleAndDocsPages(t *testing.T) {
	e := MustStartGateway(t)
	if status, to, links := rootAnswer(t, e); status != http.StatusFound || to != "/console/" || links["docs"] != "/api/docs" {
		t.Errorf("/: %d %s %v", status, to, links)
	}
	console, docs := gateway.Assets()
	for _, page := range []string{"/console/", "/api/docs"} {
		r := e.call(t, "GET", page, "", "")
		csp := r.header.Get("Content-Security-Policy")
		if r.status != 200 || !strings.Contains(r.header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: %d %s", page, r.status, r.header.Get("Content-Type"))
		}
		for _, want := range []string{"default-src 'none'", "script-src 'self';", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", page, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "http") {
			t.Errorf("%s: CSP allows eval or a foreign origin: %q", page, csp)
		}
	}
	if csp := e.call(t, "GET", "/console/", "", "").header.Get("Content-Security-Policy"); strings.Contains(csp, "unsafe-inline") {
		t.Errorf("the console allows inline code: %q", csp)
	}
	for _, f := range console {
		if r := e.call(t, "GET", "/console/"+f, "", ""); r.status != 200 || r.raw == "" {
			t.Errorf("console file %s: %d", f, r.status)
		}
	}
	for _, f := range docs {
		if r := e.call(t, "GET", "/api/docs/"+f, "", ""); r.status != 200 {
			t.Errorf("docs file %s: %d", f, r.status)
		}
	}
	if r := e.call(t, "GET", "/console/../../go.mod", "", ""); r.status == 200 && strings.Contains(r.raw, "module") {
		t.Error("a path out of the console is served")
	}
	if r := e.call(t, "GET", "/console/js/", "", ""); r.status != 404 || strings.Contains(r.raw, "app.js") {
		t.Errorf("a folder of the console is listed: %d %s", r.status, r.raw)
	}
}

// TestConsoleOff: with the console off, /console/ is gone and / points to
// the API reference.
func TestConsoleOff(t *testing.T) {
	e := MustStartGatewayWith(t, options{noConsole: true})
	if r := e.call(t, "GET", "/console/", "", ""); r.status != 404 {
		t.Errorf("/console/ with the console off: %d", r.status)
	}
	if _, to, _ := rootAnswer(t, e); to != "/api/docs" {
		t.Errorf("/ with the console off points to %q", to)
	}
	if r := e.call(t, "GET", "/api/docs", "", ""); r.status != 200 {
		t.Errorf("the API reference with the console off: %d", r.status)
	}
}

// TestSetupRoutesWithoutALink: a gateway that started with a level-0 user
// has no setup to complete, and says so the same way whatever is sent.
func TestSetupRoutesWithoutALink(t *testing.T) {
	e := MustStartGateway(t)
	if r := e.call(t, "GET", "/api/setup", "", ""); r.status != 200 || !strings.Contains(r.raw, `"pending":false`) {
		t.Errorf("setup state: %d %s", r.status, r.raw)
	}
	for _, body := range []string{
		`{"token":"` + strings.Repeat("A", 43) + `","username":"late_root","password":"a long root password"}`,
		`{"token":"","username":"late_root","password":"a long root password"}`,
	} {
		if r := e.call(t, "POST", "/api/setup", "", body); r.status != 401 || r.body.ErrorCode != "AuthenticationError" {
			t.Errorf("setup without a link: %d %s", r.status, r.raw)
		}
	}
	for _, body := range []string{`{"token":"x"}`, `{"token":1,"username":"a","password":"b"}`, `{"token":"x","username":"late_root","password":"a long root password","level":0}`} {
		if r := e.call(t, "POST", "/api/setup", "", body); r.status != 400 {
			t.Errorf("setup with %s: %d %s", body, r.status, r.raw)
		}
	}
}

// authFailures reads gateway_auth_failures_total by reason from /metrics.
func authFailures(t *testing.T, e *env) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	re := regexp.MustCompile(`(?m)^gateway_auth_failures_total\{reason="([a-z_]+)"\} ([0-9.e+]+)$`)
	for _, m := range re.FindAllStringSubmatch(e.call(t, "GET", "/metrics", "", "").raw, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		out[m[1]] = v
	}
	return out
}

// TestUserLoginFailuresAreCounted: each refused login or refresh is counted
// under its reason, from a fixed set that every series starts at zero.
func TestUserLoginFailuresAreCounted(t *testing.T) {
	e := MustStartGatewayWith(t, options{auth: account.Config{FailuresPerUser: 2}})
	app := newAppClient(t, e.srv.URL)
	before := authFailures(t, e)
	for _, reason := range account.Reasons() {
		if _, ok := before[reason]; !ok {
			t.Errorf("reason %s is not pre-seeded", reason)
		}
	}
	e.register(t, app, "counted_user", "a fine long password")
	wrong := func() int {
		return e.payloadCall(t, "/api/auth", app.seal(t, map[string]any{"username": "counted_user", "password": "not the password"})).status
	}
	if s := wrong(); s != 401 {
		t.Fatalf("wrong password: %d", s)
	}
	wrong()
	if s := wrong(); s != 429 {
		t.Fatalf("third failure: %d", s)
	}
	e.payloadCall(t, "/api/auth", "not-a-payload")
	e.call(t, "POST", "/api/token/refresh", "", `{"refresh_token":"`+strings.Repeat("a", 32)+"."+strings.Repeat("b", 43)+`"}`)
	e.call(t, "POST", "/api/token/refresh", "", "", "Cookie", "refresh_token=x; csrf_token=y", "X-CSRF-Token", "z")
	after := authFailures(t, e)
	for reason, want := range map[string]float64{account.ReasonCredentials: 2, account.ReasonThrottled: 1, account.ReasonPayload: 1,
		account.ReasonRefreshToken: 1, account.ReasonCSRF: 1} {
		if got := after[reason] - before[reason]; got != want {
			t.Errorf("%s: counted %v, want %v", reason, got, want)
		}
	}
	if len(after) != len(before) {
		t.Errorf("reasons grew from %d to %d: the label is not bounded", len(before), len(after))
	}
}
