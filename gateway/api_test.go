package gateway_test

import (
	"net/http"
	"strings"
	"testing"
)

// scenario is one API call and what a client must observe.
type scenario struct {
	name        string
	method      string
	path        string
	user        string // "" is a Guest
	body        string
	headers     []string
	status      int
	code        string   // errorCode, "" on success
	contains    []string // substrings of the raw body
	notContains []string
}

func (e *env) run(t *testing.T, cases []scenario) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			method := c.method
			if method == "" {
				method = "POST"
			}
			r := e.call(t, method, c.path, c.user, c.body, c.headers...)
			if r.status != c.status {
				t.Errorf("status %d, want %d; body %s", r.status, c.status, r.raw)
			}
			if strings.HasPrefix(c.path, "/api") && r.body.ErrorCode != c.code {
				t.Errorf("errorCode %q, want %q; body %s", r.body.ErrorCode, c.code, r.raw)
			}
			if strings.HasPrefix(c.path, "/api") && r.body.Success != (c.code == "") {
				t.Errorf("success %v; body %s", r.body.Success, r.raw)
			}
			for _, s := range c.contains {
				if !strings.Contains(r.raw, s) {
					t.Errorf("body lacks %q: %s", s, r.raw)
				}
			}
			for _, s := range c.notContains {
				if strings.Contains(r.raw, s) {
					t.Errorf("body has %q: %s", s, r.raw)
				}
			}
		})
	}
}

func TestEveryErrorCode(t *testing.T) {
	e := MustStartGateway(t)
	gymID := e.create(t, "admin", "gym", `{"name":"Iron Temple","type":{"name":"boxing"}}`)
	e.run(t, []scenario{
		{name: "not JSON", path: "/api/gym", user: "admin", body: `{"operation":`, status: 400, code: "InvalidRequestError",
			contains: []string{`"valid JSON body is required for the request"`}},
		{name: "missing operation", path: "/api/gym", user: "admin", body: `{"data":{}}`, status: 400, code: "InvalidRequestError",
			contains: []string{`"operation is required for the request"`}},
		{name: "missing data", path: "/api/gym", user: "admin", body: `{"operation":"create"}`, status: 400, code: "InvalidRequestError",
			contains: []string{`"data is required for the request"`}},
		{name: "update without _id", path: "/api/gym", user: "admin", body: `{"operation":"update","data":{"name":"x"}}`, status: 400,
			code: "InvalidRequestError", contains: []string{`"_id is required for the request"`}},
		{name: "unknown operation", path: "/api/gym", user: "admin", body: `{"operation":"drop","data":{}}`, status: 400,
			code: "InvalidOperationError", contains: []string{`"Operation drop is not supported"`}},
		{name: "missing required field", path: "/api/gym", user: "admin", body: `{"operation":"create","data":{"address":"x"}}`,
			status: 400, code: "InvalidResourceCreationError", contains: []string{`"name is required for creating gym"`}},
		{name: "unknown field", path: "/api/gym", user: "admin", body: `{"operation":"create","data":{"name":"x","colour":"red"}}`,
			status: 400, code: "InvalidResourceParameterError", contains: []string{`"colour cannot be found in gym"`}},
		{name: "unknown query field", path: "/api/gym", user: "admin", body: `{"operation":"query","data":{"colour":{"equals":"red"}}}`,
			status: 400, code: "InvalidResourceParameterError", contains: []string{`"colour cannot be found in gym"`}},
		{name: "wrong type", path: "/api/merchandise", user: "admin", body: `{"operation":"create","data":{"name":"x","price":"10"}}`,
			status: 400, code: "InvalidResourceValueError", contains: []string{"price must be an integer"}},
		{name: "contains on a number", path: "/api/merchandise", user: "admin", body: `{"operation":"query","data":{"price":{"contains":"1"}}}`,
			status: 400, code: "InvalidResourceValueError"},
		{name: "duplicate name", path: "/api/gym", user: "admin", body: `{"operation":"create","data":{"name":"Iron Temple"}}`,
			status: 409, code: "DuplicateResourceCreationError", contains: []string{`"Resource exists with name <Iron Temple> for gym"`}},
		{name: "unknown id", method: "GET", path: "/api/gym/0123456789abcdef01234567", user: "admin", status: 404,
			code: "ResourceNotFoundError", contains: []string{"0123456789abcdef01234567"}},
		{name: "update unknown id", path: "/api/gym", user: "admin", body: `{"operation":"update","data":{"_id":"0123456789abcdef01234567","address":"x"}}`,
			status: 404, code: "ResourceNotFoundError"},
		{name: "unknown resource", path: "/api/spaceship", user: "admin", body: `{"operation":"query","data":{}}`, status: 404,
			code: "UnknownResourceError", contains: []string{`"Resource type spaceship is not supported"`}},
		{name: "wrong password", path: "/api/gym", body: `{"operation":"query","data":{}}`, status: 401, code: "AuthenticationError",
			headers: []string{"Authorization", adminHeader("admin", "not the password")}},
		{name: "Guest query", path: "/api/gym", body: `{"operation":"query","data":{}}`, status: 401, code: "AuthenticationError"},
		{name: "level 3 on the admin scheme", path: "/api/gym", user: "coach", body: `{"operation":"query","data":{}}`, status: 403,
			code: "PermissionDeniedError"},
		{name: "body over the limit", path: "/api/gym", user: "admin", body: `{"operation":"create","data":{"name":"` + strings.Repeat("x", 70<<10) + `"}}`,
			status: 413, code: "PayloadTooLargeError"},
		{name: "form body", path: "/api/gym", user: "admin", body: `{}`, headers: []string{"Content-Type", "application/x-www-form-urlencoded"},
			status: 415, code: "UnsupportedMediaTypeError"},
		{name: "method not allowed", method: "DELETE", path: "/api/gym", user: "admin", status: 405, code: "MethodNotAllowedError"},
		{name: "no such route", method: "GET", path: "/api/gym/" + gymID + "/extra", status: 404, code: "ResourceNotFoundError"},
	})
}

func TestWWWAuthenticateOn401(t *testing.T) {
	e := MustStartGateway(t)
	for _, h := range []string{"", adminHeader("admin", "wrong password"), adminHeader("nobody_here", "wrong password"),
		"tnt-admin-auth-scheme !!!notbase64", "Basic", "Bearer x.y.z", "Digest foo"} {
		r := e.call(t, "POST", "/api/gym", "", `{"operation":"query","data":{}}`, "Authorization", h)
		if r.status != 401 || !strings.Contains(r.header.Get("WWW-Authenticate"), "tnt-admin-auth-scheme") {
			t.Errorf("Authorization %q: %d, WWW-Authenticate %q", h, r.status, r.header.Get("WWW-Authenticate"))
		}
	}
	// Unknown user and wrong password: the same status and body.
	a := e.call(t, "POST", "/api/gym", "", `{"operation":"query","data":{}}`, "Authorization", adminHeader("admin", "wrong password"))
	b := e.call(t, "POST", "/api/gym", "", `{"operation":"query","data":{}}`, "Authorization", adminHeader("nobody_here", "wrong password"))
	if a.raw != b.raw {
		t.Errorf("wrong password and unknown user differ:\n%s\n%s", a.raw, b.raw)
	}
}

func TestAdminSchemeForms(t *testing.T) {
	e := MustStartGateway(t)
	cred := strings.TrimPrefix(adminHeader("admin", testPassword), `tnt-admin-auth-scheme realm="admin", credentials="`)
	cred = strings.TrimSuffix(cred, `"`)
	for _, h := range []string{
		`tnt-admin-auth-scheme realm="admin", credentials="` + cred + `"`,
		`tnt-admin-auth-scheme ` + cred,
		`Basic ` + cred,
		`TNT-ADMIN-AUTH-SCHEME credentials="` + cred + `", realm="admin"`,
	} {
		r := e.call(t, "GET", "/api/gym", "", "", "Authorization", h)
		if r.status != 200 {
			t.Errorf("%q: %d %s", h, r.status, r.raw)
		}
	}
}

func TestLevelsOverHTTP(t *testing.T) {
	e := MustStartGateway(t)
	for _, user := range []string{"dba", "sysadmin", "admin"} {
		id := e.create(t, user, "gym", `{"name":"gym of `+user+`"}`)
		e.run(t, []scenario{
			{name: user + " queries", method: "GET", path: "/api/gym?name=gym+of+" + user, user: user, status: 200, contains: []string{id}},
			{name: user + " updates", path: "/api/gym", user: user, body: `{"operation":"update","data":{"_id":"` + id + `","address":"1 Main St"}}`,
				status: 200, contains: []string{`"address":"1 Main St"`}},
			{name: user + " reads by id", method: "GET", path: "/api/gym/" + id, user: user, status: 200},
			{name: user + " deletes", path: "/api/gym", user: user, body: `{"operation":"delete","data":{"_id":"` + id + `"}}`, status: 200},
		})
	}
	gymID := e.create(t, "admin", "gym", `{"name":"Guarded"}`)
	for _, user := range []string{"coach", "member"} {
		e.run(t, []scenario{
			{name: user + " is refused the admin scheme", path: "/api/gym", user: user,
				body: `{"operation":"update","data":{"_id":"` + gymID + `","address":"x"}}`, status: 403, code: "PermissionDeniedError"},
		})
	}
	e.run(t, []scenario{
		{name: "Guest create", path: "/api/gym", body: `{"operation":"create","data":{"name":"x"}}`, status: 401, code: "AuthenticationError"},
		{name: "Guest update", path: "/api/gym", body: `{"operation":"update","data":{"_id":"` + gymID + `","name":"x"}}`, status: 401, code: "AuthenticationError"},
		{name: "Guest delete", path: "/api/gym", body: `{"operation":"delete","data":{"_id":"` + gymID + `"}}`, status: 401, code: "AuthenticationError"},
		{name: "Guest list", method: "GET", path: "/api/gym", status: 401, code: "AuthenticationError"},
		{name: "Guest by id", method: "GET", path: "/api/gym/" + gymID, status: 401, code: "AuthenticationError"},
		{name: "Guest discovery", method: "GET", path: "/api/discovery/gym", status: 200, contains: []string{"Guarded"}, notContains: []string{"owner"}},
	})
	// The Guest's update changed nothing.
	r := e.call(t, "GET", "/api/gym/"+gymID, "admin", "")
	if !strings.Contains(r.raw, `"name":"Guarded"`) {
		t.Errorf("gym changed: %s", r.raw)
	}
}

func TestInjectionAttempts(t *testing.T) {
	e := MustStartGateway(t)
	e.create(t, "admin", "gym", `{"name":"(a+)+$"}`)
	e.create(t, "admin", "gym", `{"name":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"}`)
	e.create(t, "admin", "gym", `{"name":"$ne"}`)
	e.run(t, []scenario{
		{name: "operator as qualifier", path: "/api/gym", user: "admin", body: `{"operation":"query","data":{"name":{"$ne":null}}}`,
			status: 400, code: "InvalidResourceValueError"},
		{name: "operator object as value", path: "/api/gym", user: "admin", body: `{"operation":"query","data":{"name":{"equals":{"$ne":null}}}}`,
			status: 400, code: "InvalidResourceValueError"},
		{name: "operator object in create", path: "/api/gym", user: "admin", body: `{"operation":"create","data":{"name":{"$gt":""}}}`,
			status: 400, code: "InvalidResourceValueError"},
		{name: "$where field", path: "/api/gym", user: "admin", body: `{"operation":"query","data":{"$where":{"equals":"sleep(1000)"}}}`,
			status: 400, code: "InvalidResourceParameterError"},
		{name: "$expr field", path: "/api/gym", user: "admin", body: `{"operation":"query","data":{"$expr":{"equals":1}}}`,
			status: 400, code: "InvalidResourceParameterError"},
		{name: "undeclared nested field", path: "/api/gym", user: "admin", body: `{"operation":"query","data":{"type.$where":{"equals":"x"}}}`,
			status: 400, code: "InvalidResourceParameterError"},
		{name: "NUL in field name", path: "/api/gym", user: "admin", body: `{"operation":"query","data":{"na\u0000me":{"equals":"x"}}}`,
			status: 400, code: "InvalidResourceParameterError"},
		{name: "operator text is matched literally", path: "/api/gym", user: "admin", body: `{"operation":"query","data":{"name":{"equals":"$ne"}}}`,
			status: 200, contains: []string{`"name":"$ne"`}, notContains: []string{"(a+)+$"}},
		{name: "regex metacharacters are literal", path: "/api/gym", user: "admin", body: `{"operation":"query","data":{"name":{"contains":"(a+)+$"}}}`,
			status: 200, contains: []string{`"name":"(a+)+$"`}, notContains: []string{"aaaa!"}},
		{name: "dot-star matches nothing", path: "/api/gym", user: "admin", body: `{"operation":"query","data":{"name":{"contains":".*"}}}`,
			status: 200, contains: []string{`"data":[]`}},
		{name: "contains too long", path: "/api/gym", user: "admin", body: `{"operation":"query","data":{"name":{"contains":"` + strings.Repeat("a", 10000) + `"}}}`,
			status: 400, code: "InvalidResourceValueError"},
		{name: "extended JSON", path: "/api/gym", user: "admin", body: `{"operation":"create","data":{"name":{"$oid":"0123456789abcdef01234567"}}}`,
			status: 400, code: "InvalidResourceValueError"},
		{name: "duplicate key", path: "/api/gym", user: "admin", body: `{"operation":"create","data":{"name":"a","name":"b"}}`,
			status: 400, code: "InvalidRequestError"},
		{name: "case-variant key", path: "/api/profile", user: "admin", body: `{"operation":"update","data":{"_id":"0123456789abcdef01234567","level":4,"Level":0}}`,
			status: 400, code: "InvalidRequestError"},
		{name: "deep nesting", path: "/api/gym", user: "admin", body: `{"operation":"create","data":` + strings.Repeat(`{"a":`, 5000) + `1` + strings.Repeat(`}`, 5001),
			status: 400, code: "InvalidRequestError"},
		{name: "trailing garbage", path: "/api/gym", user: "admin", body: `{"operation":"query","data":{}}garbage`, status: 400, code: "InvalidRequestError"},
		{name: "non-UTF-8 bytes", path: "/api/gym", user: "admin", body: "{\"operation\":\"create\",\"data\":{\"name\":\"\xff\xfe\"}}", status: 400, code: "InvalidRequestError"},
		{name: "server-managed fields", path: "/api/gym", user: "admin", body: `{"operation":"create","data":{"name":"n","_id":"0123456789abcdef01234567"}}`,
			status: 400, code: "InvalidResourceParameterError"},
		{name: "owner cannot be set", path: "/api/gym", user: "admin", body: `{"operation":"create","data":{"name":"n","owner":"someone"}}`,
			status: 400, code: "InvalidResourceParameterError"},
		{name: "level through the envelope", path: "/api/profile", user: "admin",
			body: `{"operation":"update","data":{"_id":"` + e.users["member"].UserID + `","level":0}}`, status: 400, code: "InvalidResourceParameterError"},
		{name: "trailing slash is not another route", method: "GET", path: "/api/gym/", user: "admin", status: 404, code: "ResourceNotFoundError"},
		{name: "encoded slash", method: "GET", path: "/api/gym%2F..%2Fprofile", user: "admin", status: 404, code: "ResourceNotFoundError"},
	})
	r := e.call(t, "GET", "/api/profile/"+e.users["member"].UserID, "admin", "")
	if !strings.Contains(r.raw, `"level":4`) {
		t.Errorf("member's level changed: %s", r.raw)
	}
}

func TestNoSecretsInResponsesOrLogs(t *testing.T) {
	e := MustStartGateway(t)
	r := e.call(t, "GET", "/api/profile?find=0", "sysadmin", "")
	if r.status != 200 || !strings.Contains(r.raw, `"username":"member"`) {
		t.Fatalf("profiles: %d %s", r.status, r.raw)
	}
	for _, secret := range []string{"password_hash", "argon2id", testPassword} {
		if strings.Contains(r.raw, secret) {
			t.Errorf("response holds %q", secret)
		}
	}
	e.call(t, "GET", "/api/gym", "", "", "Authorization", adminHeader("admin", "wrong password here"))
	logs := e.logs.String()
	for _, secret := range []string{testPassword, "wrong password here", "argon2id", adminHeader("admin", testPassword)[30:]} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs hold %q", secret)
		}
	}
	if !strings.Contains(logs, `"request_id"`) || !strings.Contains(logs, `"route":"/api/:resource"`) {
		t.Errorf("access log lines missing: %s", logs)
	}
}

func TestDeclaredResourceWorks(t *testing.T) {
	e := MustStartGateway(t)
	id := e.create(t, "admin", "coach", `{"name":"Lee","specialty":"boxing","rating":4}`)
	e.run(t, []scenario{
		{name: "query by declared field", path: "/api/coach", user: "admin", body: `{"operation":"query","data":{"specialty":{"equals":"boxing"}}}`,
			status: 200, contains: []string{id, `"rating":4`}},
		{name: "declared bound", path: "/api/coach", user: "admin", body: `{"operation":"create","data":{"name":"Max","rating":9}}`,
			status: 400, code: "InvalidResourceValueError", contains: []string{"rating must be at most 5"}},
		{name: "discovery shows public fields only", method: "GET", path: "/api/discovery/coach", status: 200,
			contains: []string{`"specialty":"boxing"`}, notContains: []string{"rating", "owner"}},
		{name: "discovery refuses a non-public filter", method: "GET", path: "/api/discovery/coach?rating=4", status: 400,
			code: "InvalidResourceParameterError"},
		{name: "discovery list", method: "GET", path: "/api/discovery", status: 200, contains: []string{`"resource":"coach"`, `"resource":"gym"`},
			notContains: []string{`"resource":"profile"`}},
		{name: "profiles are not discoverable", method: "GET", path: "/api/discovery/profile", status: 404, code: "UnknownResourceError"},
	})
}

func TestPagesOverHTTP(t *testing.T) {
	e := MustStartGateway(t) // page size 50
	for i := range 60 {
		e.create(t, "admin", "merchandise", `{"name":"item `+string(rune('A'+i/26))+string(rune('a'+i%26))+`","price":`+string(rune('0'+i%10))+`}`)
	}
	r := e.call(t, "POST", "/api/merchandise", "admin", `{"operation":"query","data":{},"find":0}`)
	if r.status != 200 || r.body.Next == "" || strings.Count(string(r.body.Data), `"_id"`) != 50 {
		t.Fatalf("first page: %d next=%q", r.status, r.body.Next)
	}
	r2 := e.call(t, "POST", "/api/merchandise", "admin", `{"operation":"query","data":{"after":"`+r.body.Next+`"},"find":0}`)
	if r2.status != 200 || r2.body.Next != "" || strings.Count(string(r2.body.Data), `"_id"`) != 10 {
		t.Fatalf("second page: %d next=%q %s", r2.status, r2.body.Next, r2.raw)
	}
	r3 := e.call(t, "GET", "/api/merchandise?find=1000000&sort=-price", "admin", "")
	if r3.status != 200 || r3.body.Next == "" {
		t.Errorf("find of a million is clamped with a next cursor: %d %q", r3.status, r3.body.Next)
	}
	r4 := e.call(t, "GET", "/api/merchandise?find=5&price=3", "admin", "")
	if n := strings.Count(string(r4.body.Data), `"_id"`); r4.status != 200 || n != 5 {
		t.Errorf("find 5 with a typed filter: %d, %d docs", r4.status, n)
	}
}

func TestOperationalEndpoints(t *testing.T) {
	e := MustStartGateway(t)
	r := e.call(t, "GET", "/healthz", "", "")
	if r.status != 200 {
		t.Errorf("healthz: %d", r.status)
	}
	if r := e.call(t, "GET", "/readyz", "", ""); r.status != 200 {
		t.Errorf("readyz: %d %s", r.status, r.raw)
	}
	e.call(t, "GET", "/api/gym", "admin", "", "X-Request-Id", "trace-123")
	e.call(t, "GET", "/api/session", "", "", "Authorization", "Bearer not-a-token")
	r = e.call(t, "GET", "/api/gym", "admin", "", "X-Request-Id", "trace-123")
	if r.header.Get("X-Request-Id") != "trace-123" {
		t.Errorf("request id not echoed: %q", r.header.Get("X-Request-Id"))
	}
	if bad := e.call(t, "GET", "/api/gym", "admin", "", "X-Request-Id", "evil\tid"); bad.header.Get("X-Request-Id") == "evil\tid" || bad.header.Get("X-Request-Id") == "" {
		t.Errorf("unsafe request id echoed: %q", bad.header.Get("X-Request-Id"))
	}
	m := e.call(t, "GET", "/metrics", "", "")
	for _, want := range []string{`gateway_http_requests_total{method="GET",route="/api/:resource",status="200"} 3`,
		"gateway_http_request_duration_seconds_bucket", "go_goroutines",
		`gateway_store_duration_seconds_bucket{op="find",outcome="ok"`, `gateway_auth_failures_total{reason=`} {
		if !strings.Contains(m.raw, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// A store that cannot be reached: readiness fails and operations answer
	// 503 with nothing half-written.
	_ = e.store.Close()
	if r := e.call(t, "GET", "/readyz", "", ""); r.status != http.StatusServiceUnavailable {
		t.Errorf("readyz with the store closed: %d", r.status)
	}
	r = e.call(t, "POST", "/api/gym", "", `{"operation":"query","data":{}}`, "Authorization", adminHeader("admin", testPassword))
	if r.status != http.StatusServiceUnavailable || r.body.ErrorCode != "ServiceUnavailableError" || r.header.Get("Retry-After") == "" {
		t.Errorf("operation with the store closed: %d %s", r.status, r.raw)
	}
	if strings.Contains(r.raw, "sql") || strings.Contains(r.raw, "closed") {
		t.Errorf("driver text leaked: %s", r.raw)
	}
}

// chunked hides a body's length so the client sends it chunked.
type chunked struct{ r *strings.Reader }

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p) }

func TestChunkedBodyOverTheLimit(t *testing.T) {
	e := MustStartGateway(t) // limit 64 KiB
	body := `{"operation":"create","data":{"name":"` + strings.Repeat("x", 200<<10) + `"}}`
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/gym", chunked{strings.NewReader(body)})
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", adminHeader("admin", testPassword))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if req.ContentLength != 0 || resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked body over the limit: %d (request length %d)", resp.StatusCode, req.ContentLength)
	}
}
