package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/tnt/gateway/cmd/internal/gatewaytest"
)

// browserSession drives a real headless Chromium against a gateway and
// collects every script error and Content-Security-Policy violation the
// pages report.
type browserSession struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots string
	// downloads is where the browser saves files.
	downloads string
	mu        sync.Mutex
	problems  []string
}

// chromiumPath finds Debian's Chromium; the test skips without it, except
// under CI, where .ci/run installs it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is needed for the console's browser tests; .ci/run installs it")
	}
	t.Skip("chromium is not installed: the console's browser tests are skipped (apt-get install chromium)")
	return ""
}

func newBrowser(t *testing.T, base string) *browserSession {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 6*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	shots := os.Getenv("GATEWAY_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	b := &browserSession{t: t, ctx: ctx, base: base, shots: shots, downloads: t.TempDir()}
	downloads := b.downloads
	// The first action starts the browser, which lives as long as the
	// context it runs with: the session's, not a step's.
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads,
		})
		return err
	})); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				// A refused request (a 4xx the test provoked) is the
				// console's to show, not a fault of the page.
				if !strings.Contains(m.Text, "status of 4") {
					b.problem(string(m.Type) + ": " + m.Text)
				}
			}
		}
	}()
	return b
}

func (b *browserSession) problem(p string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.problems = append(b.problems, p)
}

// do runs browser actions, failing the test with the page's text when one
// fails.
func (b *browserSession) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		textCtx, cancelText := context.WithTimeout(b.ctx, 5*time.Second)
		defer cancelText()
		text, _ := chromedp.Run(textCtx, chromedp.Text(chromedp.CSS("body")))
		b.t.Fatalf("browser: %v\npage text:\n%s", err, text)
	}
}

// waitText waits until the element holds the text and no listing is
// loading (a listing being replaced would take the element away).
func (b *browserSession) waitText(sel, text string) {
	b.t.Helper()
	expr := fmt.Sprintf(`(() => { const e = document.querySelector(%q);
		return !!e && e.textContent.includes(%q) && !document.querySelector('[aria-busy="true"]'); })()`, sel, text)
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		page, _ := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("body")))
		b.t.Fatalf("waiting for %q in %s: %v\npage text:\n%s", text, sel, err, page)
	}
}

// click clicks the first button or link showing exactly this text.
func (b *browserSession) click(text string) {
	b.t.Helper()
	b.do(chromedp.Click(chromedp.Search(fmt.Sprintf(`//*[self::button or self::a][normalize-space()=%q]`, text))))
}

// clickCell clicks the table row whose cell shows exactly this text,
// finding and clicking it in one step of the page.
func (b *browserSession) clickCell(text string) {
	b.t.Helper()
	expr := fmt.Sprintf(`(() => { const td = [...document.querySelectorAll("#results td")].find((c) => c.textContent.trim() === %q);
		if (!td || document.querySelector('[aria-busy="true"]')) return false; td.click(); return true; })()`, text)
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		b.t.Fatalf("no row shows %q: %v", text, err)
	}
}

// openUser finds a user by name in the Users view and opens them.
func (b *browserSession) openUser(name string) {
	b.t.Helper()
	b.setValue(`input[aria-label="Username contains"]`, name)
	b.click("Search")
	b.waitText("#results", name)
	b.clickCell(name)
}

// absent checks that no button or link shows this text.
func (b *browserSession) absent(text string) {
	b.t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](fmt.Sprintf(`[...document.querySelectorAll("button, a")].filter((e) => e.textContent.trim() === %q).length`, text)))
	if err != nil || n != 0 {
		b.t.Errorf("%q is shown to this caller (%d, %v)", text, n, err)
	}
}

// typeInto types text into the element.
func (b *browserSession) typeInto(sel, text string) {
	b.t.Helper()
	b.do(chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), text))
}

// setValue sets a select's or an input's value.
func (b *browserSession) setValue(sel, value string) {
	b.t.Helper()
	b.do(chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.SetValue(chromedp.CSS(sel), value))
}

// confirm types the word into the console's confirmation dialog.
func (b *browserSession) confirm(word string) {
	b.t.Helper()
	b.typeInto(`dialog input[aria-label="Confirmation"]`, word)
	b.click("Confirm")
}

// shot writes a PNG of the whole page.
func (b *browserSession) shot(name string) {
	b.t.Helper()
	b.do(chromedp.EmulateViewport(1280, 800))
	b.capture(name, chromedp.FullScreenshot(100))
	// The same view on a 390 px phone: captured, and never wider than the
	// phone (a page that scrolls sideways is a broken page there).
	b.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	width, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	if err != nil {
		b.t.Fatal(err)
	}
	if width > 392 {
		b.t.Errorf("the %s view is %d px wide on a 390 px phone", name, width)
	}
	b.capture(name+"-phone", chromedp.FullScreenshot(100))
	b.do(chromedp.EmulateViewport(1280, 800))
}

// addPolicyLines adds lines through the Policy view as a person would:
// type them, check the diff (and that the derived line shows), take the
// named screenshot if any, save, and wait until inForce lists them.
func (b *browserSession) addPolicyLines(lines []string, derived, shot string, inForce func() string) {
	b.t.Helper()
	b.open("/console/#/policy")
	b.do(chromedp.WaitVisible(chromedp.CSS("#policy-lines")))
	b.typeInto("#policy-lines", "\n"+strings.Join(lines, "\n"))
	b.click("Check changes")
	b.waitText("#policy-diff", "+ "+lines[len(lines)-1])
	b.waitText("#policy-derived", derived)
	if shot != "" {
		b.shot(shot)
	}
	b.click("Save")
	gatewaytest.WaitFor(b.t, time.Minute, "the new policy lines in force", func() bool {
		now := inForce()
		for _, l := range lines {
			if !strings.Contains(now, l) {
				return false
			}
		}
		return true
	})
}

// capture writes a PNG the action takes.
func (b *browserSession) capture(name string, take chromedp.Action[[]byte]) {
	b.t.Helper()
	// A toast left over from the step before is not part of the view.
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`(() => { const n = document.querySelector("#notice"); if (n) n.hidden = true; return true; })()`)); err != nil {
		b.t.Fatal(err)
	}
	png, err := chromedp.Run(b.ctx, take)
	if err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// open goes to a page. A view of the console is opened as a person would
// follow a link inside it: by changing the fragment, with no page load.
func (b *browserSession) open(path string) {
	b.t.Helper()
	if view, ok := strings.CutPrefix(path, "/console/"); ok && strings.HasPrefix(view, "#") {
		if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf(`location.hash = %q`, view))); err != nil {
			b.t.Fatal(err)
		}
		return
	}
	b.do(chromedp.Navigate(b.base + path))
}

// adminCall calls the API with the admin scheme and returns the data of a
// successful answer.
func adminCall(t *testing.T, method, url, user, pass, body string) map[string]any {
	t.Helper()
	status, raw := doAs(t, method, url, "tnt-admin-auth-scheme "+base64.StdEncoding.EncodeToString([]byte(user+":"+pass)), body)
	var env struct {
		Success bool           `json:"success"`
		Data    map[string]any `json:"data"`
	}
	if err := json.Unmarshal([]byte(raw), &env); err != nil || !env.Success {
		t.Fatalf("%s %s: %d %s", method, url, status, raw)
	}
	return env.Data
}

// TestConsoleInBrowser walks the console in a real Chromium as a newcomer
// and as each kind of administrator would: the first run's setup link,
// then each view's main action, then a level-2 Admin who does not see the
// SystemAdmin's or the DBA's actions. A screenshot of every view is
// written (to GATEWAY_SCREENSHOTS when set).
func TestConsoleInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a browser")
	}
	g := MustRun(t, fastConfig(t, map[string]string{
		// §5's orders, granted below through the Policy view.
		"GATEWAY_RESOURCES_FILE": "../../examples/orders/resources.json",
	}))
	link := regexp.MustCompile(`"setup_link":"(http://[^"]+#setup=[A-Za-z0-9_-]{43})"`).FindStringSubmatch(g.logs.String())
	if link == nil {
		t.Fatalf("no setup link in the start-up log:\n%s", g.logs.String())
	}
	if n := strings.Count(g.logs.String(), "setup_link"); n != 1 {
		t.Errorf("the setup link is logged %d times", n)
	}
	// Whether the deployment has a DBA yet is told only to the link's
	// holder.
	token := link[1][strings.Index(link[1], "#setup=")+len("#setup="):]
	for _, c := range []struct {
		token   string
		pending bool
	}{{"", false}, {strings.Repeat("A", 43), false}, {token, true}} {
		req, _ := http.NewRequest("GET", g.url+"/api/setup", nil)
		if c.token != "" {
			req.Header.Set("X-Setup-Token", c.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if want := fmt.Sprintf(`"pending":%v`, c.pending); !strings.Contains(string(raw), want) {
			t.Errorf("the setup state for token %q: %s", c.token, raw)
		}
	}
	b := newBrowser(t, g.url)

	// A link cut or mistyped so that it does not decode says it cannot be
	// used, rather than leave the console loading.
	b.do(chromedp.Navigate(g.url + "/console/#setup=%E0%A4%A"))
	b.waitText("main", "cannot be used")

	// The first run: the link makes the first DBA and signs them in.
	const dba, dbaPass = "first_dba", "a first long password"
	b.do(chromedp.Navigate(link[1]))
	b.waitText("main", "Create the first administrator")
	address, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(address, "setup=") {
		t.Errorf("the setup token stays in the address bar: %s", address)
	}
	b.shot("setup")
	b.typeInto("#setup-username", dba)
	b.typeInto("#setup-password", dbaPass)
	b.typeInto("#setup-again", dbaPass)
	b.click("Create")
	b.waitText("#who", dba)
	b.waitText("#build", "version")
	b.shot("overview")
	// The link is spent: opening it again makes nobody.
	b.do(chromedp.Navigate(link[1]))
	b.waitText("main", "cannot be used")

	// Users and data the other views act on, made through the API.
	for _, name := range []string{"console_admin", "console_buyer"} {
		if status, _ := payloadCall(t, g.url, "/api/register", map[string]any{"username": name, "password": "a fine long password"}); status != 201 {
			t.Fatalf("register %s: %d", name, status)
		}
	}
	users := adminCall(t, "GET", g.url+"/api/account/me", dba, dbaPass, "")
	if users["level"] != float64(0) {
		t.Fatalf("the setup made level %v", users["level"])
	}
	// The setup link's creation is audited, like gatewayctl bootstrap's.
	if _, raw := doAs(t, "GET", g.url+"/api/admin/audit?action=bootstrap", "tnt-admin-auth-scheme "+base64.StdEncoding.EncodeToString([]byte(dba+":"+dbaPass)), ""); !strings.Contains(raw, `"setup_link"`) || !strings.Contains(raw, dba) {
		t.Errorf("the setup link's DBA is not in the audit trail: %s", raw)
	}

	// Resources: a form made from the schema checks before sending, and
	// the server's field error shows at its field.
	b.open("/console/#/resources/gym")
	b.click("New gym")
	b.typeInto("#f-name", "Iron Temple")
	b.typeInto("#f-phone", "call me")
	b.click("Create")
	b.waitText(`[data-path="phone"] .error`, "does not match")
	b.setValue("#f-phone", "+1 555 0100")
	b.click("Create")
	b.waitText("#notice", "created")
	b.waitText("#results", "Iron Temple")
	b.waitText("#results", dba) // the owner by username, not by id
	b.click("New gym")
	b.typeInto("#f-name", "Iron Temple")
	b.click("Create")
	b.waitText(`[data-path="name"] .error`, "Resource exists with name")
	b.shot("resources")

	// Text a user supplied is shown as text: markup in a name stays inert.
	const hostile = `<img src=x onerror="window.pwned=1">`
	body, _ := json.Marshal(map[string]any{"operation": "create", "data": map[string]any{"name": hostile}})
	// The list follows changes live: the document made elsewhere shows
	// without a click.
	b.waitText("#live", "live")
	adminCall(t, "POST", g.url+"/api/gym", dba, dbaPass, string(body))
	b.waitText("#results", hostile)
	if pwned, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`window.pwned === 1 || !!document.querySelector("#results img")`)); err != nil || pwned {
		t.Errorf("a document's name was rendered as markup (%v)", err)
	}
	// Edit sends only what changed; delete asks for a typed confirmation.
	b.clickCell("Iron Temple")
	b.click("Edit")
	b.setValue("#f-address", "1 Main Street")
	b.click("Save changes")
	b.waitText("#notice", "saved")
	b.waitText(".card pre", "1 Main Street")
	b.clickCell(hostile)
	b.click("Delete")
	b.confirm("delete")
	b.waitText("#notice", "deleted")
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](fmt.Sprintf(`!document.querySelector("#results").textContent.includes(%q)`, hostile),
		chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Errorf("the deleted document stays listed: %v", err)
	}

	// Users: promote console_admin to Admin (level 2), credit the buyer,
	// end a user's sessions.
	b.open("/console/#/users")
	b.openUser("console_admin")
	b.waitText("main", "Sessions")
	b.setValue(`select[aria-label="New level"]`, "2")
	b.click("Change level")
	b.waitText("#notice", "is now level 2")
	b.shot("users")

	b.openUser("console_buyer")
	b.waitText("main", "End all sessions")
	b.typeInto(`input[aria-label="Amount"]`, "500")
	b.typeInto(`input[aria-label="Reason"]`, "welcome credit")
	b.click("Apply")
	b.waitText("#notice", "500")
	b.click("End all sessions")
	b.waitText("#notice", "1 session(s) of console_buyer ended")

	// Transactions: the buyer purchases (through the API); the console
	// verifies the purchase with the buyer's code.
	merch := adminCall(t, "POST", g.url+"/api/merchandise", dba, dbaPass, `{"operation":"create","data":{"name":"Console Mat","price":120,"stock":3}}`)
	_, tokens := payloadCall(t, g.url, "/api/auth", map[string]any{"username": "console_buyer", "password": "a fine long password"})
	buy := func() (id, code string) {
		t.Helper()
		status, raw := doAs(t, "POST", g.url+"/api/perform_transaction", "Bearer "+fmt.Sprint(tokens["access_token"]),
			`{"items":[{"merchandise_id":"`+merch["_id"].(string)+`","quantity":1}]}`)
		var purchase struct {
			Data struct {
				ID   string `json:"_id"`
				Code string `json:"verification_code"`
			} `json:"data"`
		}
		_ = json.Unmarshal([]byte(raw), &purchase)
		if status != 201 {
			t.Fatalf("purchase: %d %s", status, raw)
		}
		return purchase.Data.ID, purchase.Data.Code
	}
	purchaseID, purchaseCode := buy()
	b.open("/console/#/transactions")
	b.setValue(`select[aria-label="Status"]`, "pending")
	b.click("Search")
	b.waitText("#results", purchaseID)
	b.clickCell(purchaseID)
	b.typeInto(`input[aria-label="Verification code"]`, purchaseCode)
	b.click("Verify")
	b.waitText("#notice", "verified")
	b.waitText(".card pre", `"completed"`)
	// A purchase made elsewhere shows in the pending list as it happens.
	b.waitText("#live", "live")
	secondID, _ := buy()
	b.waitText("#results", secondID)
	b.shot("transactions")

	// Policy: an edit is checked and its diff shown before it is saved.
	inForce := func() string {
		return fmt.Sprint(adminCall(t, "GET", g.url+"/api/admin/policy", dba, dbaPass, "")["lines"])
	}
	b.addPolicyLines([]string{"p, poweruser, ledger, query"}, "g2, gym, data", "policy", inForce)
	// §5's example as a DBA applies it: the three lines on the declared
	// order's own group, through the same view.
	b.open("/console/#/overview")
	b.addPolicyLines([]string{"p, user, orders, create", "p, user, orders, query_own", "p, user, orders, update_own"}, "g2, order, orders", "", inForce)
	var orderIDs []string
	for _, buyer := range []string{"console_admin", "console_buyer"} {
		_, login := payloadCall(t, g.url, "/api/auth", map[string]any{"username": buyer, "password": "a fine long password"})
		access := fmt.Sprint(login["access_token"])
		status, raw := doAs(t, "POST", g.url+"/api/order", "Bearer "+access, `{"operation":"create","data":{"items":[{"product":"gloves","quantity":1}]}}`)
		if status != 201 {
			t.Fatalf("%s creates an order after the grant: %d %s", buyer, status, raw)
		}
		var created struct {
			Data struct {
				ID string `json:"_id"`
			} `json:"data"`
		}
		_ = json.Unmarshal([]byte(raw), &created)
		orderIDs = append(orderIDs, created.Data.ID)
		if buyer == "console_buyer" {
			if status, raw := doAs(t, "GET", g.url+"/api/order/"+orderIDs[0], "Bearer "+access, ""); status != 404 {
				t.Errorf("a user reads another's order: %d %s", status, raw)
			}
			if _, raw := doAs(t, "POST", g.url+"/api/order", "Bearer "+access, `{"operation":"query","data":{}}`); !strings.Contains(raw, orderIDs[1]) || strings.Contains(raw, orderIDs[0]) {
				t.Errorf("a user's query of orders: %s", raw)
			}
		}
	}

	// Audit trail: the level change above, found by its action.
	b.open("/console/#/audit")
	b.typeInto(`input[aria-label="Action"]`, "set_level")
	b.click("Filter")
	b.waitText("#results", "set_level")
	b.shot("audit")
	// Every action the trail holds is one the filter offers, by its stored
	// name.
	offered, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#audit-actions option")].map((o) => o.value)`))
	if err != nil {
		t.Fatal(err)
	}
	_, trail := doAs(t, "GET", g.url+"/api/admin/audit?find=0", "tnt-admin-auth-scheme "+base64.StdEncoding.EncodeToString([]byte(dba+":"+dbaPass)), "")
	for _, m := range regexp.MustCompile(`"action":"([a-z_]+)"`).FindAllStringSubmatch(trail, -1) {
		if !slices.Contains(offered, m[1]) {
			t.Errorf("the audit filter does not offer the stored action %q (it offers %v)", m[1], offered)
		}
	}

	// Backup and restore: download the archive, then restore it after a
	// confirmation.
	b.open("/console/#/backup")
	b.click("Download backup")
	var archive string
	gatewaytest.WaitFor(t, time.Minute, "the backup download", func() bool {
		matches, _ := filepath.Glob(filepath.Join(b.downloads, "gateway-backup-*.jsonl.gz"))
		if len(matches) == 1 {
			archive = matches[0]
		}
		return archive != ""
	})
	b.do(chromedp.SetUploadFiles(chromedp.CSS("#restore-file"), []string{archive}))
	b.click("Restore…")
	b.confirm("restore")
	b.waitText("#restore-result", "Restored.")
	b.shot("backup")

	// The overview again, with the request counters moving.
	b.open("/console/#/overview")
	b.waitText("#requests", "")
	b.shot("overview")

	// A level-2 Admin sees only what they may do.
	b.click("Sign out")
	b.typeInto("#username", "console_admin")
	b.typeInto("#password", "a fine long password")
	b.click("Sign in")
	b.waitText("#who", "console_admin")
	for _, hidden := range []string{"Policy", "Audit trail", "Backup"} {
		b.absent(hidden)
	}
	b.open("/console/#/resources/gym")
	b.waitText("#results", "Iron Temple")
	b.absent("Drop data")
	b.open("/console/#/users")
	b.openUser("console_buyer")
	b.waitText("main", "Credit or debit")
	b.absent("Change level")
	b.absent("Delete user")
	b.absent("End all sessions")
	b.shot("users-as-admin")

	// The API reference renders offline with the vendored Swagger UI.
	b.open("/api/docs")
	b.do(chromedp.WaitVisible(chromedp.CSS(".opblock")))
	b.capture("docs", chromedp.CaptureScreenshot()) // the top of a long page
	if n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll(".errors-wrapper, .version-pragma").length`)); err != nil || n != 0 {
		t.Errorf("Swagger UI reports %d problems with the document (%v)", n, err)
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		t.Errorf("the page reported: %s", p)
	}
	t.Logf("screenshots in %s", b.shots)
}

// TestSetupLinkOnlyWhenNeeded: a gateway that has a level-0 user, or whose
// console is off, makes no setup link; the latter says how to make one.
func TestSetupLinkOnlyWhenNeeded(t *testing.T) {
	withRoot := MustRun(t, testConfig(t, t.TempDir()))
	if strings.Contains(withRoot.logs.String(), "setup_link") {
		t.Error("a setup link while a level-0 user exists")
	}
	off := MustRun(t, fastConfig(t, map[string]string{"GATEWAY_CONSOLE": "off"}))
	if logs := off.logs.String(); strings.Contains(logs, "setup_link") || !strings.Contains(logs, "gatewayctl bootstrap") {
		t.Errorf("console off, no administrator: %s", logs)
	}
	resp, err := http.Get(off.url + "/api/setup")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"pending":false`) {
		t.Errorf("setup state with the console off: %s", body)
	}
}
