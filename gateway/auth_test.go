package gateway_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tnt/gateway/resources/account"
)

// tokens is the data of a login-like answer.
type tokens struct {
	TokenType        string `json:"token_type"`
	AccessToken      string `json:"access_token"`
	RefreshToken     string `json:"refresh_token"`
	ExpiresIn        int64  `json:"expires_in"`
	RefreshExpiresIn int64  `json:"refresh_expires_in"`
}

func (e *env) payloadCall(t *testing.T, path, payload string, headers ...string) reply {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"payload": payload})
	return e.call(t, "POST", path, "", string(b), headers...)
}

func tokensOf(t *testing.T, r reply) tokens {
	t.Helper()
	var tk tokens
	if err := json.Unmarshal(r.body.Data, &tk); err != nil || tk.AccessToken == "" {
		t.Fatalf("no tokens in %d %s", r.status, r.raw)
	}
	return tk
}

func (e *env) register(t *testing.T, app *appClient, username, password string) tokens {
	t.Helper()
	r := e.payloadCall(t, "/api/register", app.seal(t, map[string]any{"username": username, "password": password}))
	if r.status != http.StatusCreated {
		t.Fatalf("register %s: %d %s", username, r.status, r.raw)
	}
	return tokensOf(t, r)
}

func bearer(tk string) []string { return []string{"Authorization", "Bearer " + tk} }

func TestRegisterLoginRefreshLogout(t *testing.T) {
	e := MustStartGateway(t)
	app := newAppClient(t, e.srv.URL)
	tk := e.register(t, app, "alice_1", "correct horse battery")
	if tk.TokenType != "bearer" || tk.ExpiresIn != 900 || tk.RefreshExpiresIn < 720*3600-5 || tk.RefreshToken == "" {
		t.Errorf("tokens: %+v", tk)
	}
	me := e.call(t, "GET", "/api/account/me", "", "", bearer(tk.AccessToken)...)
	if me.status != 200 || !strings.Contains(me.raw, `"username":"alice_1"`) || !strings.Contains(me.raw, `"level":4`) ||
		!strings.Contains(me.raw, `"level_name":"User"`) || !strings.Contains(me.raw, `"balance":0`) || strings.Contains(me.raw, "password") {
		t.Errorf("me: %s", me.raw)
	}
	if r := e.call(t, "GET", "/api/gym", "", "", bearer(tk.AccessToken)...); r.status != 200 {
		t.Errorf("a User queries: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "POST", "/api/gym", "", `{"operation":"create","data":{"name":"x"}}`, bearer(tk.AccessToken)...); r.status != 403 {
		t.Errorf("a User creates: %d", r.status)
	}

	// Login: the header form (both shapes) and the payload form.
	for _, h := range []string{
		`tnt-user-auth-scheme realm="user", credentials="` + app.seal(t, map[string]any{"username": "alice_1", "password": "correct horse battery"}) + `"`,
		`tnt-user-auth-scheme ` + app.seal(t, map[string]any{"username": "alice_1", "password": "correct horse battery"}),
		`tnt-user-auth-scheme ` + app.sealBlock(t, map[string]any{"username": "alice_1", "password": "correct horse battery"}),
	} {
		if r := e.call(t, "GET", "/api/auth", "", "", "Authorization", h); r.status != 200 {
			t.Errorf("GET /api/auth: %d %s", r.status, r.raw)
		}
	}
	login := e.payloadCall(t, "/api/auth", app.seal(t, map[string]any{"username": "alice_1", "password": "correct horse battery"}),
		"User-Agent", "AliceApp/2.1", "browser", "MiniProgram")
	second := tokensOf(t, login)

	// Refresh rotates; the spent token, shown again, revokes the session.
	r := e.call(t, "POST", "/api/token/refresh", "", `{"refresh_token":"`+second.RefreshToken+`"}`)
	if r.status != 200 {
		t.Fatalf("refresh: %d %s", r.status, r.raw)
	}
	third := tokensOf(t, r)
	if third.RefreshToken == second.RefreshToken || third.AccessToken == second.AccessToken {
		t.Error("refresh did not rotate")
	}
	if r := e.call(t, "GET", "/api/session", "", "", bearer(third.AccessToken)...); r.status != 200 ||
		!strings.Contains(r.raw, `"browser":"MiniProgram"`) || !strings.Contains(r.raw, `"user_agent":"AliceApp/2.1"`) {
		t.Errorf("session: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "POST", "/api/token/refresh", "", `{"refresh_token":"`+second.RefreshToken+`"}`); r.status != 401 {
		t.Errorf("reused refresh token: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "GET", "/api/session", "", "", bearer(third.AccessToken)...); r.status != 401 {
		t.Errorf("access token of a session revoked by reuse: %d", r.status)
	}
	if r := e.call(t, "POST", "/api/token/refresh", "", `{"refresh_token":"`+third.RefreshToken+`"}`); r.status != 401 {
		t.Errorf("newest refresh token of a revoked session: %d", r.status)
	}

	// Logout ends the first session at once.
	if r := e.call(t, "DELETE", "/api/session", "", "", bearer(tk.AccessToken)...); r.status != 200 {
		t.Fatalf("logout: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "GET", "/api/account/me", "", "", bearer(tk.AccessToken)...); r.status != 401 {
		t.Errorf("access token after logout: %d", r.status)
	}
	if r := e.call(t, "POST", "/api/token/refresh", "", `{"refresh_token":"`+tk.RefreshToken+`"}`); r.status != 401 {
		t.Errorf("refresh token after logout: %d", r.status)
	}
}

func TestRegistrationRules(t *testing.T) {
	e := MustStartGateway(t)
	app := newAppClient(t, e.srv.URL)
	e.register(t, app, "taken_name", "a fine long password")
	cases := []struct {
		name   string
		fields map[string]any
		status int
		code   string
	}{
		{"7 characters", map[string]any{"username": "bob_1234", "password": "1234567"}, 400, "InvalidResourceValueError"},
		{"common password", map[string]any{"username": "bob_1234", "password": "password123"}, 400, "InvalidResourceValueError"},
		{"password is the username", map[string]any{"username": "bob_12345", "password": "bob_12345"}, 400, "InvalidResourceValueError"},
		{"bad username", map[string]any{"username": "Bob!", "password": "a fine long password"}, 400, "InvalidResourceValueError"},
		{"taken username", map[string]any{"username": "taken_name", "password": "a fine long password"}, 409, "DuplicateResourceCreationError"},
		{"level smuggled in", map[string]any{"username": "bob_1234", "password": "a fine long password", "level": 0}, 400, "InvalidResourceParameterError"},
		{"bad email", map[string]any{"username": "bob_1234", "password": "a fine long password", "email": "nope"}, 400, "InvalidResourceValueError"},
		{"missing password", map[string]any{"username": "bob_1234"}, 400, "InvalidResourceCreationError"},
	}
	for _, c := range cases {
		r := e.payloadCall(t, "/api/register", app.seal(t, c.fields))
		if r.status != c.status || r.body.ErrorCode != c.code {
			t.Errorf("%s: %d %s", c.name, r.status, r.raw)
		}
	}
	for _, ok := range []map[string]any{
		{"username": "unicode_pw", "password": "пароль-на-русском"},
		{"username": "long_pw", "password": strings.Repeat("long passphrase ", 5)},
		{"username": "with_email", "password": "a fine long password", "email": "w@example.com"},
	} {
		if r := e.payloadCall(t, "/api/register", app.seal(t, ok)); r.status != 201 {
			t.Errorf("%v: %d %s", ok["username"], r.status, r.raw)
		}
	}
	if r := e.call(t, "GET", "/api/account/available?username=taken_name", "", ""); !strings.Contains(r.raw, `"available":false`) {
		t.Errorf("available taken: %s", r.raw)
	}
	if r := e.call(t, "GET", "/api/account/available?username=free_name", "", ""); !strings.Contains(r.raw, `"available":true`) {
		t.Errorf("available free: %s", r.raw)
	}
	if r := e.call(t, "GET", "/api/account/available?username=No!", "", ""); r.status != 400 {
		t.Errorf("available with a bad pattern: %d", r.status)
	}
}

func TestPayloadAttacks(t *testing.T) {
	e := MustStartGateway(t)
	app := newAppClient(t, e.srv.URL)
	e.register(t, app, "carol_1", "a fine long password")
	creds := map[string]any{"username": "carol_1", "password": "a fine long password"}
	good := app.seal(t, creds)
	if r := e.payloadCall(t, "/api/auth", good); r.status != 200 {
		t.Fatalf("login: %d %s", r.status, r.raw)
	}
	refused := map[string]string{
		"replayed":         good,
		"stale ts":         app.sealAt(t, creds, time.Now().Add(-6*time.Minute)),
		"future ts":        app.sealAt(t, creds, time.Now().Add(6*time.Minute)),
		"garbage":          "not a payload at all",
		"flipped":          good[:len(good)-5] + "AAAAA",
		"plaintext object": `{"username":"carol_1","password":"a fine long password"}`,
	}
	bodies := map[string]bool{}
	for name, p := range refused {
		r := e.payloadCall(t, "/api/auth", p)
		if r.status != 401 || r.body.ErrorCode != "AuthenticationError" {
			t.Errorf("%s: %d %s", name, r.status, r.raw)
		}
		bodies[r.raw] = true
	}
	if len(bodies) != 1 {
		t.Errorf("refusals differ: %v", bodies)
	}
	// A megabyte of payload is refused before any work: the body limit.
	if r := e.payloadCall(t, "/api/auth", strings.Repeat(".", 1<<20)); r.status != 413 {
		t.Errorf("1 MB payload: %d", r.status)
	}
}

func TestUnknownUserAndWrongPasswordAlike(t *testing.T) {
	e := MustStartGateway(t)
	app := newAppClient(t, e.srv.URL)
	e.register(t, app, "dave_1", "a fine long password")
	a := e.payloadCall(t, "/api/auth", app.seal(t, map[string]any{"username": "dave_1", "password": "wrong password!"}))
	b := e.payloadCall(t, "/api/auth", app.seal(t, map[string]any{"username": "nobody_1", "password": "wrong password!"}))
	if a.status != 401 || a.raw != b.raw || a.header.Get("WWW-Authenticate") == "" {
		t.Errorf("wrong password %d %s vs unknown user %d %s", a.status, a.raw, b.status, b.raw)
	}
}

func TestLoginThrottling(t *testing.T) {
	e := MustStartGatewayWith(t, options{})
	app := newAppClient(t, e.srv.URL)
	e.register(t, app, "erin_1", "a fine long password")
	var last reply
	for i := range 12 {
		last = e.payloadCall(t, "/api/auth", app.seal(t, map[string]any{"username": "erin_1", "password": "guess number " + string(rune('a'+i))}))
	}
	if last.status != 429 || last.body.ErrorCode != "RateLimitedError" || last.header.Get("Retry-After") == "" {
		t.Fatalf("after 12 failures: %d %s (Retry-After %q)", last.status, last.raw, last.header.Get("Retry-After"))
	}
	// Even the right password waits out the window (no oracle), but other
	// users are not locked out.
	if r := e.payloadCall(t, "/api/auth", app.seal(t, map[string]any{"username": "erin_1", "password": "a fine long password"})); r.status != 429 {
		t.Errorf("right password while throttled: %d", r.status)
	}
	e.register(t, app, "frank_1", "a fine long password")
	if r := e.payloadCall(t, "/api/auth", app.seal(t, map[string]any{"username": "frank_1", "password": "a fine long password"})); r.status != 200 {
		t.Errorf("another user: %d %s", r.status, r.raw)
	}
	// The admin header is throttled the same way.
	for range 11 {
		last = e.call(t, "GET", "/api/gym", "", "", "Authorization", adminHeader("admin", "wrong password"))
	}
	if last.status != 429 {
		t.Errorf("admin header after 11 failures: %d", last.status)
	}
}

func TestSessionsAndPasswordChange(t *testing.T) {
	e := MustStartGateway(t)
	app := newAppClient(t, e.srv.URL)
	phone := e.register(t, app, "gina_1", "first fine password")
	laptop := tokensOf(t, e.payloadCall(t, "/api/auth", app.seal(t, map[string]any{"username": "gina_1", "password": "first fine password"})))
	tablet := tokensOf(t, e.payloadCall(t, "/api/auth", app.seal(t, map[string]any{"username": "gina_1", "password": "first fine password"})))
	other := e.register(t, app, "hank_1", "other fine password")

	list := e.call(t, "GET", "/api/sessions", "", "", bearer(phone.AccessToken)...)
	var sessions []struct {
		SID     string `json:"sid"`
		Current bool   `json:"current"`
	}
	_ = json.Unmarshal(list.body.Data, &sessions)
	if len(sessions) != 3 || strings.Contains(list.raw, "hash") {
		t.Fatalf("sessions: %s", list.raw)
	}
	var tabletSID string
	for _, s := range sessions {
		if !s.Current && strings.HasPrefix(tablet.RefreshToken, s.SID) {
			tabletSID = s.SID
		}
	}
	if r := e.call(t, "DELETE", "/api/sessions/"+tabletSID, "", "", bearer(other.AccessToken)...); r.status != 404 {
		t.Errorf("revoking another user's session: %d", r.status)
	}
	if r := e.call(t, "DELETE", "/api/sessions/"+tabletSID, "", "", bearer(phone.AccessToken)...); r.status != 200 {
		t.Errorf("revoke own session: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "GET", "/api/session", "", "", bearer(tablet.AccessToken)...); r.status != 401 {
		t.Errorf("revoked tablet: %d", r.status)
	}

	change := e.payloadCall(t, "/api/account/password",
		app.seal(t, map[string]any{"old_password": "first fine password", "new_password": "second fine password"}), bearer(phone.AccessToken)...)
	if change.status != 200 {
		t.Fatalf("password change: %d %s", change.status, change.raw)
	}
	if r := e.call(t, "GET", "/api/session", "", "", bearer(laptop.AccessToken)...); r.status != 401 {
		t.Errorf("other session after a password change: %d", r.status)
	}
	if r := e.call(t, "GET", "/api/session", "", "", bearer(phone.AccessToken)...); r.status != 200 {
		t.Errorf("the session that changed it: %d", r.status)
	}
	if r := e.payloadCall(t, "/api/auth", app.seal(t, map[string]any{"username": "gina_1", "password": "first fine password"})); r.status != 401 {
		t.Errorf("old password: %d", r.status)
	}
	if r := e.payloadCall(t, "/api/auth", app.seal(t, map[string]any{"username": "gina_1", "password": "second fine password"})); r.status != 200 {
		t.Errorf("new password: %d", r.status)
	}
	if r := e.call(t, "DELETE", "/api/sessions", "", "", bearer(phone.AccessToken)...); r.status != 200 || !strings.Contains(r.raw, `"revoked":2`) {
		t.Errorf("revoke all: %s", r.raw)
	}
	if r := e.call(t, "GET", "/api/session", "", "", bearer(phone.AccessToken)...); r.status != 401 {
		t.Errorf("after revoking all: %d", r.status)
	}
}

func TestDeleteAccount(t *testing.T) {
	e := MustStartGateway(t)
	app := newAppClient(t, e.srv.URL)
	tk := e.register(t, app, "ivan_1", "a fine long password")
	second := tokensOf(t, e.payloadCall(t, "/api/auth", app.seal(t, map[string]any{"username": "ivan_1", "password": "a fine long password"})))
	if r := e.call(t, "DELETE", "/api/account", "", `{"payload":"`+app.seal(t, map[string]any{"password": "wrong password"})+`"}`, bearer(tk.AccessToken)...); r.status != 401 {
		t.Errorf("delete with a wrong password: %d", r.status)
	}
	if r := e.call(t, "DELETE", "/api/account", "", `{"payload":"`+app.seal(t, map[string]any{"password": "a fine long password"})+`"}`, bearer(tk.AccessToken)...); r.status != 200 {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	for _, x := range []tokens{tk, second} {
		if r := e.call(t, "GET", "/api/account/me", "", "", bearer(x.AccessToken)...); r.status != 401 {
			t.Errorf("token after account deletion: %d", r.status)
		}
	}
	if r := e.payloadCall(t, "/api/auth", app.seal(t, map[string]any{"username": "ivan_1", "password": "a fine long password"})); r.status != 401 {
		t.Errorf("login after deletion: %d", r.status)
	}
}

func TestAdminTokens(t *testing.T) {
	e := MustStartGateway(t)
	r := e.call(t, "GET", "/api/admin/auth", "admin", "")
	if r.status != 200 {
		t.Fatalf("admin auth: %d %s", r.status, r.raw)
	}
	var tk tokens
	_ = json.Unmarshal(r.body.Data, &tk)
	if tk.ExpiresIn != 2592000 || tk.RefreshToken != "" || tk.TokenType != "bearer" {
		t.Errorf("admin token: %s", r.raw)
	}
	if r := e.call(t, "POST", "/api/gym", "", `{"operation":"create","data":{"name":"By admin token"}}`, bearer(tk.AccessToken)...); r.status != 201 {
		t.Errorf("admin token creates: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "GET", "/api/admin/auth", "member", ""); r.status != 403 {
		t.Errorf("admin auth for level 4: %d", r.status)
	}
	if r := e.call(t, "GET", "/api/admin/auth", "", "", "Authorization", adminHeader("admin", "wrong password")); r.status != 401 {
		t.Errorf("admin auth with a wrong password: %d", r.status)
	}
	// A refresh token is not an access token, and the other way round.
	app := newAppClient(t, e.srv.URL)
	user := e.register(t, app, "judy_1", "a fine long password")
	if r := e.call(t, "GET", "/api/session", "", "", bearer(user.RefreshToken)...); r.status != 401 {
		t.Errorf("refresh token as bearer: %d", r.status)
	}
	if r := e.call(t, "POST", "/api/token/refresh", "", `{"refresh_token":"`+user.AccessToken+`"}`); r.status != 401 {
		t.Errorf("access token as refresh token: %d", r.status)
	}
	if r := e.call(t, "POST", "/api/token/refresh", "", `{"refresh_token":"`+tk.AccessToken+`"}`); r.status != 401 {
		t.Errorf("admin token as refresh token: %d", r.status)
	}
	tampered := user.AccessToken[:len(user.AccessToken)-4] + "AAAA"
	none := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + strings.Split(user.AccessToken, ".")[1] + "."
	for name, tok := range map[string]string{"tampered": tampered, "alg none": none, "dots": strings.Repeat(".", 100_000)} {
		if r := e.call(t, "GET", "/api/session", "", "", bearer(tok)...); r.status != 401 && r.status != 431 {
			t.Errorf("%s: %d", name, r.status)
		}
	}
}

func TestParallelRefreshOneWins(t *testing.T) {
	e := MustStartGateway(t)
	app := newAppClient(t, e.srv.URL)
	tk := e.register(t, app, "kate_1", "a fine long password")
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.call(t, "POST", "/api/token/refresh", "", `{"refresh_token":"`+tk.RefreshToken+`"}`)
			if r.status == 200 {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d parallel refreshes with one token succeeded, want 1", wins)
	}
}

func TestCookieTransport(t *testing.T) {
	e := MustStartGateway(t)
	app := newAppClient(t, e.srv.URL)
	e.register(t, app, "liam_1", "a fine long password")
	r := e.payloadCall(t, "/api/auth", app.seal(t, map[string]any{"username": "liam_1", "password": "a fine long password"}),
		"X-Refresh-Transport", "cookie")
	if r.status != 200 || strings.Contains(r.raw, "refresh_token") {
		t.Fatalf("cookie login: %d %s", r.status, r.raw)
	}
	refresh, csrf := r.cookies()["refresh_token"], r.cookies()["csrf_token"]
	if refresh == nil || !refresh.HttpOnly || !refresh.Secure || refresh.SameSite != http.SameSiteStrictMode || csrf == nil || csrf.HttpOnly {
		t.Fatalf("cookies: %+v %+v", refresh, csrf)
	}
	cookie := "refresh_token=" + refresh.Value + "; csrf_token=" + csrf.Value
	if r := e.call(t, "POST", "/api/token/refresh", "", "", "Cookie", cookie); r.status != 403 {
		t.Errorf("cookie refresh without the CSRF header: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "POST", "/api/token/refresh", "", "", "Cookie", cookie, "X-CSRF-Token", "forged"); r.status != 403 {
		t.Errorf("cookie refresh with a wrong CSRF header: %d", r.status)
	}
	// Another origin is refused before the refresh token is spent.
	for _, h := range [][]string{{"Origin", "https://evil.example"}, {"Origin", "null"}, {"Sec-Fetch-Site", "cross-site"}} {
		if r := e.call(t, "POST", "/api/token/refresh", "", "", "Cookie", cookie, "X-CSRF-Token", csrf.Value, h[0], h[1]); r.status != 403 {
			t.Errorf("cookie refresh with %s: %s: %d %s", h[0], h[1], r.status, r.raw)
		}
	}
	r = e.call(t, "POST", "/api/token/refresh", "", "", "Cookie", cookie, "X-CSRF-Token", csrf.Value, "Origin", e.srv.URL)
	if r.status != 200 || strings.Contains(r.raw, "refresh_token") || !strings.Contains(r.header.Get("Set-Cookie"), "refresh_token=") {
		t.Errorf("cookie refresh: %d %s", r.status, r.raw)
	}

	// Logging out from a browser: the refresh cookie is scoped to the refresh
	// route, so only the CSRF cookie comes along; both must be dropped.
	access := tokensOf(t, r).AccessToken
	if renewed := r.cookies()["csrf_token"]; renewed != nil {
		csrf = renewed
	}
	out := e.call(t, "DELETE", "/api/session", "", "", append(bearer(access), "Cookie", "csrf_token="+csrf.Value)...)
	cleared := map[string]bool{}
	for name, c := range out.cookies() {
		cleared[name] = c.MaxAge < 0 && c.Value == ""
	}
	if out.status != 200 || !cleared["refresh_token"] || !cleared["csrf_token"] {
		t.Errorf("logout from a browser: %d, cookies dropped %v, Set-Cookie %q", out.status, cleared, out.header.Values("Set-Cookie"))
	}
}

func TestWeChatLogin(t *testing.T) {
	var calls int
	var mu sync.Mutex
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		q := r.URL.Query()
		if r.URL.Path != "/sns/jscode2session" || q.Get("appid") != "wxapp" || q.Get("secret") != "wx-secret-value" || q.Get("grant_type") != "authorization_code" {
			http.Error(w, "bad request", 400)
			return
		}
		switch q.Get("js_code") {
		case "code-for-mia":
			_, _ = w.Write([]byte(`{"openid":"o-mia-123","session_key":"sk"}`))
		default:
			_, _ = w.Write([]byte(`{"errcode":40029,"errmsg":"invalid code"}`))
		}
	}))
	defer fake.Close()
	e := MustStartGatewayWith(t, options{wechatBase: fake.URL})
	app := newAppClient(t, e.srv.URL)
	first := tokensOf(t, e.payloadCall(t, "/api/wechat_auth", app.seal(t, map[string]any{"code": "code-for-mia"})))
	second := tokensOf(t, e.payloadCall(t, "/api/wechat_auth", app.seal(t, map[string]any{"code": "code-for-mia", "openid": "attacker-chosen"})))
	me1 := e.call(t, "GET", "/api/account/me", "", "", bearer(first.AccessToken)...)
	me2 := e.call(t, "GET", "/api/account/me", "", "", bearer(second.AccessToken)...)
	if me1.status != 200 || me1.raw != me2.raw || !strings.Contains(me1.raw, `"level":4`) {
		t.Errorf("one user for one openid: %s / %s", me1.raw, me2.raw)
	}
	if r := e.payloadCall(t, "/api/wechat_auth", app.seal(t, map[string]any{"code": "bad-code"})); r.status != 401 {
		t.Errorf("refused code: %d %s", r.status, r.raw)
	}
	if strings.Contains(e.logs.String(), "wx-secret-value") {
		t.Error("the WeChat secret is in the logs")
	}
	off := MustStartGateway(t)
	offApp := newAppClient(t, off.srv.URL)
	if r := off.payloadCall(t, "/api/wechat_auth", offApp.seal(t, map[string]any{"code": "code-for-mia"})); r.status != 503 {
		t.Errorf("not configured: %d", r.status)
	}
}

// TestSpoofedForwardedForDoesNotEscapeThrottling: from an untrusted peer,
// X-Forwarded-For is ignored, so rotating it does not reset the per-address
// counter (no trusted proxies are configured).
func TestSpoofedForwardedForDoesNotEscapeThrottling(t *testing.T) {
	e := MustStartGatewayWith(t, options{auth: account.Config{FailuresPerIP: 5, FailuresPerUser: 100}})
	app := newAppClient(t, e.srv.URL)
	var last reply
	for i := range 7 {
		last = e.payloadCall(t, "/api/auth", app.seal(t, map[string]any{"username": "user_" + strconv.Itoa(i), "password": "wrong password"}),
			"X-Forwarded-For", "10.0.0."+strconv.Itoa(i), "X-Real-IP", "10.1.0."+strconv.Itoa(i))
	}
	if last.status != 429 {
		t.Errorf("after 7 failures from one peer with rotating X-Forwarded-For: %d %s", last.status, last.raw)
	}
}
