package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// crossOriginPage is a web app of another origin calling the gateway the
// way app code does: WebCrypto encrypts the credentials to the gateway's
// key; the session's refresh token stays in the gateway's httpOnly cookie
// (the cookie transport) and the CSRF token comes in the login's answer.
// It writes each step's status into #steps and "done" or the failure into
// #result.
const crossOriginPage = `<!doctype html><html><body><p id="steps"></p><p id="result">running</p><script>
const GW = "GATEWAY";
const steps = [];
const step = (name, status) => { steps.push(name + "=" + status); document.getElementById("steps").textContent = steps.join(" "); };
const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf)));
const b64url = (buf) => b64(buf).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
async function seal(fields) {
  const gpk = await (await fetch(GW + "/api/gpk")).json();
  const key = await crypto.subtle.importKey("jwk", gpk.jwk, { name: "RSA-OAEP", hash: "SHA-256" }, false, ["encrypt"]);
  const nonce = b64url(crypto.getRandomValues(new Uint8Array(16)));
  const plain = new TextEncoder().encode(JSON.stringify({ ...fields, ts: Math.floor(Date.now() / 1000), nonce }));
  return b64(await crypto.subtle.encrypt({ name: "RSA-OAEP" }, key, plain));
}
async function post(path, body, headers = {}) {
  const r = await fetch(GW + path, { method: "POST", credentials: "include", headers: { "Content-Type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: r.status, body: await r.json() };
}
async function run() {
  const creds = { username: "cross_origin_1", password: "a long cross-origin password" };
  let r = await post("/api/register", { payload: await seal(creds) });
  step("register", r.status);
  r = await post("/api/auth", { payload: await seal(creds) }, { "X-Refresh-Transport": "cookie" });
  step("login", r.status);
  const csrf = r.body.data.csrf_token, access = r.body.data.access_token;
  if (r.body.data.refresh_token) throw new Error("the refresh token left its cookie");
  r = await post("/api/gym", { operation: "query", data: {} }, { Authorization: "Bearer " + access });
  step("query", r.status);
  r = await post("/api/token/refresh", undefined, { "X-CSRF-Token": csrf });
  step("refresh", r.status);
  r = await post("/api/gym", { operation: "query", data: {} }, { Authorization: "Bearer " + r.body.data.access_token });
  step("query-after-refresh", r.status);
  return "done";
}
run().then((v) => { document.getElementById("result").textContent = v; },
  (e) => { document.getElementById("result").textContent = "failed: " + e; });
</script></body></html>`

// strangerPage tries to read the gateway from an origin nobody listed.
const strangerPage = `<!doctype html><html><body><p id="result">running</p><script>
fetch("GATEWAY/api/discovery/gym", { credentials: "include" }).then(
  (r) => { document.getElementById("result").textContent = "read " + r.status; },
  () => { document.getElementById("result").textContent = "blocked"; });
</script></body></html>`

// TestCrossOriginInBrowser: in Chromium, a page of a listed origin
// registers, logs in, queries and refreshes through the cookie transport;
// a page of an unlisted origin reads nothing (API.md §9).
func TestCrossOriginInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a browser")
	}
	// The pages' servers listen first, so that the gateway can list one
	// of their origins; they serve once the gateway's address is known.
	app, stranger := httptest.NewUnstartedServer(nil), httptest.NewUnstartedServer(nil)
	appOrigin := "http://" + app.Listener.Addr().String()
	g := MustRun(t, fastConfig(t, map[string]string{"GATEWAY_INSECURE_COOKIES": "true", "GATEWAY_CORS_ORIGINS": appOrigin}))
	for srv, page := range map[*httptest.Server]string{app: crossOriginPage, stranger: strangerPage} {
		body := strings.ReplaceAll(page, "GATEWAY", g.url)
		srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(body))
		})
		srv.Start()
		t.Cleanup(srv.Close)
	}
	b := newBrowser(t, g.url)
	b.do(chromedp.Navigate(app.URL + "/"))
	b.waitText("#result", "done")
	b.waitText("#steps", "register=201 login=200 query=200 refresh=200 query-after-refresh=200")
	b.do(chromedp.Navigate(stranger.URL + "/"))
	b.waitText("#result", "blocked")
}
