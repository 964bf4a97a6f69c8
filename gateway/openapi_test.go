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
)

type openAPIDoc struct {
	Paths map[string]map[string]struct {
		Responses map[string]json.RawMessage `json:"responses"`
	} `json:"paths"`
}

// loadDoc reads the document a gateway serves.
func loadDoc(t *testing.T, e *env) (openAPIDoc, any) {
	t.Helper()
	served := e.call(t, "GET", "/api/openapi.json", "", "")
	if served.status != 200 || !bytes.Equal([]byte(served.raw), e.gw.OpenAPI()) {
		t.Fatalf("served document: %d", served.status)
	}
	var doc openAPIDoc
	if err := json.Unmarshal([]byte(served.raw), &doc); err != nil {
		t.Fatal(err)
	}
	raw, err := jsonschema.UnmarshalJSON(strings.NewReader(served.raw))
	if err != nil {
		t.Fatal(err)
	}
	return doc, raw
}

// TestOpenAPIMatchesRoutes: every registered route is documented and every
// documented operation is registered, so the two cannot drift.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := MustStartGateway(t)
	doc, _ := loadDoc(t, e)
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
			served := method
			if method == "head" {
				served = "get" // a HEAD is served by the GET route
			}
			if !registered[served+" "+genericPath(path, e.resources())] {
				t.Errorf("documented %s %s is not a route", strings.ToUpper(method), path)
			}
		}
	}
	if len(registered) < 40 {
		t.Errorf("only %d routes registered", len(registered))
	}
}

// genericPath is the route that serves a resource's own documented path:
// /api/gym/{id} is served by /api/{resource}/{id}.
func genericPath(path string, names []string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if i >= 2 && slices.Contains(names, p) && (parts[i-1] == "api" || parts[i-1] == "discovery") {
			parts[i] = "{resource}"
		}
	}
	return strings.Join(parts, "/")
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
	doc, raw := loadDoc(t, e)
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
		{"GET", "/api/transaction_record_keys", "/api/transaction_record_keys", "", nil, 200},
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
		// Each resource's own paths, generated from the registry.
		{"POST", "/api/gym", "/api/gym", `{"operation":"create","data":{"name":"Typed","location":{"lat":1.5,"lng":2}}}`, admin, 201},
		{"POST", "/api/gym", "/api/gym", `{"operation":"query","data":{"name":{"contains":"typed"}}}`, admin, 200},
		{"GET", "/api/gym/" + gym, "/api/gym/{id}", "", admin, 200},
		{"GET", "/api/merchandise?find=1", "/api/merchandise", "", admin, 200},
		{"GET", "/api/coach", "/api/coach", "", admin, 200},
		{"GET", "/api/discovery/gym", "/api/discovery/gym", "", nil, 200},
		{"POST", "/api/gym", "/api/gym", `{"operation":"create","data":{"nom":"x"}}`, admin, 400},
		{"GET", "/api/profile/" + uid, "/api/profile/{id}", "", admin, 200},
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

// TestDeclaredResourceIsDescribed: a resource declared in a resources file
// (coach, here) has its schemas and paths in the served document with no
// code change, and those schemas agree with what the gateway accepts and
// answers.
func TestDeclaredResourceIsDescribed(t *testing.T) {
	e := MustStartGateway(t)
	doc, raw := loadDoc(t, e)
	for _, path := range []string{"/api/coach", "/api/coach/{id}", "/api/discovery/coach"} {
		if len(doc.Paths[path]) == 0 {
			t.Errorf("%s is not described", path)
		}
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("mem://openapi.json", raw); err != nil {
		t.Fatal(err)
	}
	compile := func(name string) *jsonschema.Schema {
		s, err := c.Compile(pointer("components", "schemas", name))
		if err != nil {
			t.Fatalf("schema %s: %v", name, err)
		}
		return s
	}
	operation, stored := compile("coach.operation"), compile("coach")
	for _, tc := range []struct {
		body   string
		status int
	}{
		{`{"operation":"create","data":{"name":"Ann","specialty":"yoga","rating":5}}`, 201},
		{`{"operation":"create","data":{"specialty":"yoga"}}`, 400},           // name is required
		{`{"operation":"create","data":{"name":"Bo","rating":6}}`, 400},       // rating is 0..5
		{`{"operation":"create","data":{"name":"Cy","level":"pro"}}`, 400},    // no such field
		{`{"operation":"query","data":{"specialty":{"equals":"yoga"}}}`, 200}, // a typed qualifier
		{`{"operation":"query","data":{"rating":{"contains":"5"}}}`, 400},     // contains is for text
		{`{"operation":"drop","data":{}}`, 400},                               // no such operation
	} {
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		valid := operation.Validate(inst) == nil
		r := e.call(t, "POST", "/api/coach", "admin", tc.body)
		if r.status != tc.status || valid != (tc.status < 400) {
			t.Errorf("%s: gateway %d (want %d), schema valid %v", tc.body, r.status, tc.status, valid)
		}
		if r.status == 201 {
			var created any
			_ = json.Unmarshal(r.body.Data, &created)
			if err := stored.Validate(created); err != nil {
				t.Errorf("the created coach does not match its schema: %v", err)
			}
		}
	}
}

// TestEveryOperationIsComplete: in the served document every operation has
// a unique operationId, 429 and 503 answers and a security
// requirement (empty where no credential is needed), every tag a
// description; servers and the licence are named.
func TestEveryOperationIsComplete(t *testing.T) {
	e := MustStartGateway(t)
	var doc struct {
		Info struct {
			License struct{ Name string } `json:"license"`
		} `json:"info"`
		Servers []struct{ URL string } `json:"servers"`
		Tags    []struct{ Name, Description string }
		Paths   map[string]map[string]struct {
			OperationID string                     `json:"operationId"`
			Security    *[]map[string][]string     `json:"security"`
			Responses   map[string]json.RawMessage `json:"responses"`
			Tags        []string                   `json:"tags"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(e.gw.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Info.License.Name == "" || len(doc.Servers) == 0 {
		t.Error("no licence or no servers")
	}
	tags := map[string]bool{}
	for _, tag := range doc.Tags {
		tags[tag.Name] = true
		if tag.Description == "" {
			t.Errorf("tag %s has no description", tag.Name)
		}
	}
	ids := map[string]string{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			where := strings.ToUpper(method) + " " + path
			if op.OperationID == "" {
				t.Errorf("%s has no operationId", where)
			} else if other, dup := ids[op.OperationID]; dup {
				t.Errorf("%s and %s share the operationId %s", where, other, op.OperationID)
			}
			ids[op.OperationID] = where
			if op.Security == nil {
				t.Errorf("%s has no security requirement", where)
			}
			// 429 is the 4XX every route may give (the per-address
			// rate limit); routes that read input document their 400s.
			for _, code := range []string{"429", "503"} {
				if _, ok := op.Responses[code]; !ok {
					t.Errorf("%s documents no %s", where, code)
				}
			}
			for _, tag := range op.Tags {
				if !tags[tag] {
					t.Errorf("%s has the undeclared tag %s", where, tag)
				}
			}
		}
	}
	if len(ids) < 60 {
		t.Errorf("only %d operations", len(ids))
	}
}
