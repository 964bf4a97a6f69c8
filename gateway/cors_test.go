package gateway_test

import (
	"strings"
	"testing"

	"github.com/tnt/gateway/gateway"
)

// TestCrossOriginClients: a listed origin is answered by name with
// credentials and its preflights allow the methods the path serves and the
// headers the contract names; any other origin gets no Access-Control-*
// header at all (API.md §9).
func TestCrossOriginClients(t *testing.T) {
	const app = "https://app.example.com"
	eachSessionStore(t, options{corsOrigins: []string{app}}, func(t *testing.T, e *env) {
		r := e.call(t, "GET", "/api/discovery/gym", "", "", "Origin", app)
		if r.header.Get("Access-Control-Allow-Origin") != app || r.header.Get("Access-Control-Allow-Credentials") != "true" ||
			!strings.Contains(strings.Join(r.header.Values("Vary"), ","), "Origin") || !strings.Contains(r.header.Get("Access-Control-Expose-Headers"), "Retry-After") {
			t.Errorf("a listed origin's request: %v", r.header)
		}
		for path, want := range map[string]string{"/api/gym": "GET, HEAD, POST", "/api/admin/policy": "GET, HEAD, PUT", "/api/session": "GET, HEAD, DELETE", "/api/token/refresh": "POST"} {
			pre := e.call(t, "OPTIONS", path, "", "", "Origin", app, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,content-type")
			if pre.status != 204 || pre.header.Get("Access-Control-Allow-Methods") != want || pre.header.Get("Access-Control-Allow-Origin") != app {
				t.Errorf("a preflight of %s: %d %v", path, pre.status, pre.header)
			}
			for _, h := range []string{"Authorization", "Content-Type", "Idempotency-Key", "X-CSRF-Token", "browser", "X-Refresh-Transport", "X-Device-Token", "Last-Event-ID"} {
				if !strings.Contains(pre.header.Get("Access-Control-Allow-Headers"), h) {
					t.Errorf("a preflight of %s does not allow %s", path, h)
				}
			}
		}
		for _, origin := range []string{"https://evil.example.com", "null", "https://app.example.com.evil.com", "http://app.example.com"} {
			for _, r := range []reply{
				e.call(t, "GET", "/api/discovery/gym", "", "", "Origin", origin),
				e.call(t, "OPTIONS", "/api/gym", "", "", "Origin", origin, "Access-Control-Request-Method", "POST"),
			} {
				for k := range r.header {
					if strings.HasPrefix(k, "Access-Control-") {
						t.Errorf("origin %s got %s: %v", origin, k, r.header)
					}
				}
			}
		}
		if pre := e.call(t, "OPTIONS", "/api/gym", "", "", "Origin", app, "Access-Control-Request-Method", "PATCH"); pre.status != 204 || strings.Contains(pre.header.Get("Access-Control-Allow-Methods"), "PATCH") {
			t.Errorf("a preflight for a method no route serves: %d %v", pre.status, pre.header)
		}
	})
}

func TestParseOrigins(t *testing.T) {
	got, err := gateway.ParseOrigins(" https://App.Example.com , http://127.0.0.1:5173")
	if err != nil || strings.Join(got, " ") != "https://app.example.com http://127.0.0.1:5173" {
		t.Errorf("%v %v", got, err)
	}
	for _, bad := range []string{"*", "https://*.example.com", "app.example.com", "https://app.example.com/path", "ftp://x", "https://u:p@x"} {
		if _, err := gateway.ParseOrigins(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestAllowNamesHead: a 405 lists HEAD wherever GET is served.
func TestAllowNamesHead(t *testing.T) {
	e := MustStartGateway(t)
	for _, path := range []string{"/api/gpk", "/api/session", "/api/admin/policy"} {
		r := e.call(t, "PATCH", path, "", "")
		if r.status != 405 || !strings.Contains(r.header.Get("Allow"), "GET, HEAD") {
			t.Errorf("PATCH %s: %d, Allow %q", path, r.status, r.header.Get("Allow"))
		}
	}
}

// TestPreflightsAreRateLimited: preflights count against their address like
// any request, and a listed page can read the 429 and its Retry-After.
func TestPreflightsAreRateLimited(t *testing.T) {
	const app = "https://app.example.com"
	e := MustStartGatewayWith(t, options{corsOrigins: []string{app}, rateLimit: 2})
	limited := 0
	for range 10 {
		r := e.call(t, "OPTIONS", "/api/gym", "", "", "Origin", app, "Access-Control-Request-Method", "POST")
		if r.status == 429 {
			limited++
			if r.header.Get("Access-Control-Allow-Origin") != app || r.header.Get("Retry-After") == "" {
				t.Errorf("a limited preflight the page cannot read: %v", r.header)
			}
		}
	}
	if limited == 0 {
		t.Error("10 quick preflights at 2 per second: none limited")
	}
}
