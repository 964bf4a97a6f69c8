package gateway_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tnt/gateway/gateway"
)

type openAPIDoc struct {
	Paths map[string]map[string]struct {
		Responses map[string]json.RawMessage `json:"responses"`
	} `json:"paths"`
}

func loadDoc(t *testing.T) (openAPIDoc, any) {
	t.Helper()
	var doc openAPIDoc
	if err := json.Unmarshal(gateway.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	raw, err := jsonschema.UnmarshalJSON(bytes.NewReader(gateway.OpenAPI()))
	if err != nil {
		t.Fatal(err)
	}
	return doc, raw
}

// TestOpenAPIMatchesRoutes: every registered route is documented and every
// documented operation is registered, so the two cannot drift.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := MustStartGateway(t)
	doc, _ := loadDoc(t)
	registered := map[string]bool{}
	for _, r := range e.gw.Routes() {
		if r.Path == "/" || r.Path == "/console" || strings.HasPrefix(r.Path, "/console/") || strings.HasPrefix(r.Path, "/api/docs/") {
			continue // pages and their files, not operations
		}
		key := strings.ToLower(r.Method) + " " + r.Path
		registered[key] = true
		if _, ok := doc.Paths[r.Path][strings.ToLower(r.Method)]; !ok {
			t.Errorf("route %s %s is not in the OpenAPI document", r.Method, r.Path)
		}
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			if !registered[method+" "+path] {
				t.Errorf("documented %s %s is not a route", strings.ToUpper(method), path)
			}
		}
	}
	if len(registered) < 40 {
		t.Errorf("only %d routes registered", len(registered))
	}
}

func pointer(parts ...string) string {
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(p, "~", "~0"), "/", "~1")
	}
	return "mem://openapi.json#/" + strings.Join(parts, "/")
}

// TestResponsesMatchSchemas sends real requests and validates each answer
// against the schema the document gives for its route, method and status.
func TestResponsesMatchSchemas(t *testing.T) {
	e := MustStartGateway(t)
	doc, raw := loadDoc(t)
	c := jsonschema.NewCompiler()
	if err := c.AddResource("mem://openapi.json", raw); err != nil {
		t.Fatal(err)
	}
	app := newAppClient(t, e.srv.URL)
	tk := e.register(t, app, "schema_user", "a fine long password")
	userAuth := bearer(tk.AccessToken)
	_, uid := e.userWithLevel(t, app, "schema_buyer", 4)
	buyer := bearer(tokensOf(t, e.payloadCall(t, "/api/auth", app.seal(t, map[string]any{"username": "schema_buyer", "password": "a fine long password"}))).AccessToken)
	e.credit(t, uid, 1000)
	merch := e.create(t, "admin", "merchandise", `{"name":"Schema Mat","price":10,"stock":5}`)
	gym := e.create(t, "admin", "gym", `{"name":"Schema Gym"}`)
	admin := []string{"Authorization", adminHeader("admin", testPassword)}
	sys := []string{"Authorization", adminHeader("sysadmin", testPassword)}

	cases := []struct {
		method, path, route, body string
		headers                   []string
		status                    int
	}{
		{"GET", "/healthz", "/healthz", "", nil, 200},
		{"GET", "/readyz", "/readyz", "", nil, 200},
		{"GET", "/.well-known/jwks.json", "/.well-known/jwks.json", "", nil, 200},
		{"GET", "/api/gpk", "/api/gpk", "", nil, 200},
		{"GET", "/api/account/me", "/api/account/me", "", userAuth, 200},
		{"GET", "/api/account/balance", "/api/account/balance", "", userAuth, 200},
		{"GET", "/api/account/available?username=free_one", "/api/account/available", "", nil, 200},
		{"GET", "/api/session", "/api/session", "", userAuth, 200},
		{"GET", "/api/sessions", "/api/sessions", "", userAuth, 200},
		{"POST", "/api/token/refresh", "/api/token/refresh", `{"refresh_token":"` + tk.RefreshToken + `"}`, nil, 200},
		{"GET", "/api/admin/auth", "/api/admin/auth", "", admin, 200},
		{"POST", "/api/gym", "/api/{resource}", `{"operation":"create","data":{"name":"Another"}}`, admin, 201},
		{"POST", "/api/gym", "/api/{resource}", `{"operation":"query","data":{"name":{"contains":"schema"}}}`, admin, 200},
		{"GET", "/api/gym/" + gym, "/api/{resource}/{id}", "", admin, 200},
		{"GET", "/api/gym?find=1", "/api/{resource}", "", admin, 200},
		{"GET", "/api/discovery", "/api/discovery", "", nil, 200},
		{"GET", "/api/discovery/gym", "/api/discovery/{resource}", "", nil, 200},
		{"POST", "/api/perform_transaction", "/api/perform_transaction", `{"items":[{"merchandise_id":"` + merch + `","quantity":1}]}`, buyer, 201},
		{"POST", "/api/transfer", "/api/transfer", `{"recipient":"schema_user","amount":5}`, buyer, 201},
		{"POST", "/api/admin/users/" + uid + "/balance", "/api/admin/users/{id}/balance", `{"delta":5,"reason":"schema"}`, admin, 200},
		{"GET", "/api/admin/users", "/api/admin/users", "", sys, 200},
		{"GET", "/api/admin/policy", "/api/admin/policy", "", sys, 200},
		{"GET", "/api/admin/audit", "/api/admin/audit", "", sys, 200},
		// Errors are documented for their routes and have the error envelope.
		{"POST", "/api/gym", "/api/{resource}", `{"operation":"drop","data":{}}`, admin, 400},
		{"POST", "/api/gym", "/api/{resource}", `{"operation":"query","data":{}}`, nil, 401},
		{"GET", "/api/gym/0123456789abcdef01234567", "/api/{resource}/{id}", "", admin, 404},
		{"POST", "/api/transfer", "/api/transfer", `{"recipient":"schema_user","amount":100000}`, buyer, 409},
		{"GET", "/api/admin/users", "/api/admin/users", "", admin, 403},
		{"POST", "/api/register", "/api/register", `{"payload":"x"}`, nil, 401},
	}
	for _, tc := range cases {
		r := e.call(t, tc.method, tc.path, "", tc.body, tc.headers...)
		if r.status != tc.status {
			t.Errorf("%s %s: %d, want %d (%s)", tc.method, tc.path, r.status, tc.status, r.raw)
			continue
		}
		op, ok := doc.Paths[tc.route][strings.ToLower(tc.method)]
		if !ok {
			t.Errorf("%s %s is not documented", tc.method, tc.route)
			continue
		}
		if _, ok := op.Responses[fmt.Sprint(tc.status)]; !ok {
			t.Errorf("%s %s: status %d is not documented", tc.method, tc.route, tc.status)
			continue
		}
		loc := pointer("paths", tc.route, strings.ToLower(tc.method), "responses", fmt.Sprint(tc.status), "content", "application/json", "schema")
		if tc.status >= 400 {
			loc = pointer("components", "schemas", "ErrorEnvelope")
		}
		schema, err := c.Compile(loc)
		if err != nil {
			t.Fatalf("compile %s: %v", loc, err)
		}
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(r.raw))
		if err != nil {
			t.Errorf("%s %s: not JSON: %s", tc.method, tc.path, r.raw)
			continue
		}
		if err := schema.Validate(inst); err != nil {
			t.Errorf("%s %s (%d) does not match its schema: %v\n%s", tc.method, tc.path, tc.status, err, r.raw)
		}
	}
	if !slices.Contains([]int{200}, e.call(t, "GET", "/api/docs", "", "").status) {
		t.Error("docs page")
	}
	page := e.call(t, "GET", "/api/docs", "", "")
	if !strings.Contains(page.raw, "/api/openapi.json") || page.header.Get("Content-Security-Policy") == "" {
		t.Errorf("docs page: %s", page.raw[:min(200, len(page.raw))])
	}
	_ = http.StatusOK
}
