package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tnt/gateway/resources/mail/mailtest"
)

// sdkDir is the TypeScript SDK.
const sdkDir = "../../sdk/typescript"

// sdkTools makes sure node and the SDK's development tools are there.
func sdkTools(t *testing.T) {
	t.Helper()
	npmTools(t)
	for _, tool := range []string{"tsc", "esbuild"} {
		if _, err := os.Stat(filepath.Join(sdkDir, "node_modules", ".bin", tool)); err != nil {
			runIn(t, sdkDir, nil, "npm", "ci", "--no-audit", "--no-fund")
			return
		}
	}
}

// sdkGateway is a gateway for the SDK's tests: a DBA to set scenes, the
// SDK's test resources (a declared resource, file fields with
// thumbnails), a real SMTP server whose mails the tests read over HTTP,
// and a WeChat stand-in.
type sdkGateway struct {
	*gatewayProc
	// env is what the SDK's tests read: GATEWAY_URL, GATEWAY_ADMIN,
	// GATEWAY_MAILBOX.
	env []string
}

// sdkRoot is the DBA of the SDK's gateway.
const sdkRoot, sdkRootPass = "sdk_root", "a root long password"

func startSDKGateway(t *testing.T, extra map[string]string) *sdkGateway {
	t.Helper()
	box := mailtest.Start(t, mailtest.Options{})
	wechat := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"openid": "o-" + r.URL.Query().Get("js_code"), "session_key": "sk"})
	}))
	t.Cleanup(wechat.Close)
	// The mailbox: GET /?to=ADDRESS&skip=N answers the text of the mail
	// to ADDRESS after the first N, once it arrives.
	mailbox := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		skip, _ := strconv.Atoi(r.URL.Query().Get("skip"))
		ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
		defer cancel()
		m, err := box.Next(ctx, r.URL.Query().Get("to"), skip)
		if err != nil {
			http.Error(w, "no mail arrived", http.StatusGatewayTimeout)
			return
		}
		_, _ = w.Write([]byte(m.Part("text/plain")))
	}))
	t.Cleanup(mailbox.Close)
	settings := map[string]string{
		"GATEWAY_BOOTSTRAP_USER": sdkRoot, "GATEWAY_BOOTSTRAP_PASSWORD": sdkRootPass,
		"GATEWAY_RESOURCES_FILE": filepath.Join(sdkDir, "test", "resources.json"),
		"GATEWAY_SMTP_URL":       box.URL(), "GATEWAY_MAIL_FROM": "noreply@example.com", "GATEWAY_PUBLIC_URL": "http://app.example.test",
		"GATEWAY_WECHAT_APPID": "wxapp", "GATEWAY_WECHAT_SECRET": "wx-secret-value", "GATEWAY_WECHAT_API_BASE": wechat.URL,
	}
	for k, v := range extra {
		settings[k] = v
	}
	g := MustRun(t, fastConfig(t, settings))
	return &sdkGateway{gatewayProc: g, env: []string{"GATEWAY_URL=" + g.url, "GATEWAY_ADMIN=" + sdkRoot + ":" + sdkRootPass, "GATEWAY_MAILBOX=" + mailbox.URL}}
}

// TestTypeScriptSDK builds the SDK and runs its tests (node's test runner)
// against a gateway started here: every area of the SDK as an app uses
// it, among them a refresh storm that makes one refresh, a purchase
// retried after a dropped answer charged once, a stream resumed with
// nothing lost, types generated from the served description, and the
// bundle's size.
func TestTypeScriptSDK(t *testing.T) {
	if testing.Short() {
		t.Skip("installs and runs node tools")
	}
	sdkTools(t)
	g := startSDKGateway(t, nil)
	// Built afresh (nothing stale is tested), beside the package, where node finds its dependency (jose)
	// and the package itself by its name.
	for _, dir := range []string{"dist", "dist-test"} {
		if err := os.RemoveAll(filepath.Join(sdkDir, dir)); err != nil {
			t.Fatal(err)
		}
	}
	runIn(t, sdkDir, nil, "node_modules/.bin/tsc", "-p", ".")
	runIn(t, sdkDir, nil, "node_modules/.bin/tsc", "-p", "test")
	tests, err := filepath.Glob(filepath.Join(sdkDir, "dist-test", "test", "*.test.js"))
	if err != nil || len(tests) == 0 {
		t.Fatalf("no compiled tests (%v)", err)
	}
	args := []string{"--test", "--test-concurrency=1"}
	for _, f := range tests {
		args = append(args, strings.TrimPrefix(f, sdkDir+string(filepath.Separator)))
	}
	t.Log(runIn(t, sdkDir, g.env, "node", args...))
}

// TestSDKInBrowser runs the SDK in Chromium, in a page of another origin
// that the gateway lists (sdk/typescript/test/browser.html, with the SDK
// bundled as a browser would load it): registration and sign-in by the
// cookie transport, with the refresh token never in script's reach; ten
// calls on an expiring token making one refresh by the cookie; a realtime
// event; an upload reporting progress and a thumbnail drawn from a blob:
// URL; a purchase whose record verifies offline with WebCrypto; and a
// logout that ends the cookie.
func TestSDKInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a browser")
	}
	sdkTools(t)
	bundle := filepath.Join(t.TempDir(), "sdk.js")
	runIn(t, sdkDir, nil, "node_modules/.bin/esbuild", "src/index.ts", "--bundle", "--format=esm", "--platform=browser", "--outfile="+bundle)
	page, err := os.ReadFile(filepath.Join(sdkDir, "test", "browser.html"))
	if err != nil {
		t.Fatal(err)
	}
	// The page's server listens first, so that the gateway can list its
	// origin.
	app := httptest.NewUnstartedServer(nil)
	g := startSDKGateway(t, map[string]string{"GATEWAY_CORS_ORIGINS": "http://" + app.Listener.Addr().String(), "GATEWAY_INSECURE_COOKIES": "true"})
	app.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write(page)
		case "/sdk.js":
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			http.ServeFile(w, r, bundle)
		default:
			http.NotFound(w, r)
		}
	})
	app.Start()
	t.Cleanup(app.Close)
	b := newBrowser(t, g.url)
	b.do(chromedp.Navigate(app.URL + "/?" + url.Values{"gw": {g.url}, "admin": {sdkRoot + ":" + sdkRootPass}}.Encode()))
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](`document.getElementById("result").textContent !== "running"`, chromedp.WithPollingTimeout(2*time.Minute))); err != nil {
		t.Fatalf("the page did not finish: %v", err)
	}
	result, _ := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("#result")))
	if result != "done" {
		steps, _ := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("#steps")))
		t.Fatalf("in the browser: %s (after: %s)", result, steps)
	}
	b.waitText("#steps", "register login refresh realtime files wallet logout")
	if len(b.problems) > 0 {
		t.Errorf("the page reported: %v", b.problems)
	}
}

// readmeBlocks returns the fenced code blocks of a README section, in
// order, each with its language.
func readmeBlocks(t *testing.T, readme, section string) [][2]string {
	t.Helper()
	start := strings.Index(readme, "\n## "+section+"\n")
	if start < 0 {
		t.Fatalf("the README has no section %q", section)
	}
	body := readme[start+1:]
	if end := strings.Index(body[3:], "\n## "); end >= 0 {
		body = body[:end+3]
	}
	var blocks [][2]string
	for _, m := range regexp.MustCompile("(?s)```(\\w+)\n(.*?)```").FindAllStringSubmatch(body, -1) {
		blocks = append(blocks, [2]string{m[1], m[2]})
	}
	return blocks
}

// TestSDKPackage packs the SDK with npm pack, installs the package into an
// empty app, and runs the README's quick start as written (only the
// gateway's address differs): the types generated with npx, and the script
// that registers, reads every page, subscribes and signs out.
func TestSDKPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("installs and runs node tools")
	}
	sdkTools(t)
	g := startSDKGateway(t, nil)
	dir := t.TempDir()
	packed := strings.Fields(runIn(t, sdkDir, nil, "npm", "pack", "--pack-destination", dir))
	tarball := filepath.Join(dir, packed[len(packed)-1])
	listing := runIn(t, dir, nil, "tar", "-tzf", tarball)
	for _, want := range []string{"package/dist/index.js", "package/dist/index.d.ts", "package/dist/cli.js", "package/README.md", "package/LICENSE"} {
		if !strings.Contains(listing, want+"\n") {
			t.Errorf("the package lacks %s:\n%s", want, listing)
		}
	}
	if strings.Contains(listing, "package/src/") || strings.Contains(listing, "test") {
		t.Errorf("the package carries sources or tests:\n%s", listing)
	}

	app := filepath.Join(dir, "app")
	if err := os.MkdirAll(app, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "package.json"), []byte(`{"name": "quickstart", "private": true}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(sdkDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	const readmeURL = "http://localhost:8080"
	ran := 0
	for _, block := range readmeBlocks(t, string(readme), "Quick start") {
		code := strings.ReplaceAll(block[1], readmeURL, g.url)
		switch block[0] {
		case "js":
			if err := os.WriteFile(filepath.Join(app, "quickstart.mjs"), []byte(code), 0o644); err != nil {
				t.Fatal(err)
			}
		case "sh":
			for _, line := range strings.Split(strings.TrimSpace(code), "\n") {
				args := strings.Fields(line)
				if line == "npm install @tnt/gateway-sdk" {
					// Not published: the packed tarball stands for it.
					args = []string{"npm", "install", "--no-audit", "--no-fund", "--prefer-offline", tarball}
				}
				out := runIn(t, app, nil, args[0], args[1:]...)
				if args[0] == "node" {
					for _, want := range []string{"signed in as alice_", "(User)", "gyms: ", "signed out: logout"} {
						if !strings.Contains(out, want) {
							t.Errorf("the quick start printed no %q:\n%s", want, out)
						}
					}
				}
				ran++
			}
		default:
			t.Fatalf("a %s block in the quick start", block[0])
		}
	}
	if ran != 3 {
		t.Fatalf("the quick start ran %d commands, not install, generate and node", ran)
	}
	types, err := os.ReadFile(filepath.Join(app, "gateway-types.ts"))
	if err != nil || !strings.Contains(string(types), "export interface Gym {") || !strings.Contains(string(types), "export interface Coach {") {
		t.Fatalf("generate wrote no types (%v):\n%.500s", err, types)
	}
}
