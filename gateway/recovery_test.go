package gateway_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/account"
	"github.com/tnt/gateway/resources/mail"
	"github.com/tnt/gateway/resources/mail/mailtest"
)

// mustStartMailer runs an outbox to the options' SMTP server until the
// test ends.
func mustStartMailer(tb testing.TB, opt options, log *slog.Logger) *mail.Mailer {
	tb.Helper()
	srv, err := mail.ParseURL(opt.smtp)
	if err != nil {
		tb.Fatal(err)
	}
	tpl, err := mail.LoadTemplates("")
	if err != nil {
		tb.Fatal(err)
	}
	m, err := mail.New(mail.Config{Server: srv, From: "Gateway <noreply@gateway.example.com>", PublicURL: "https://gateway.example.com",
		Templates: tpl, Log: log, Retries: opt.mailRetries})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	tb.Cleanup(func() { cancel(); <-done })
	return m
}

// withMail starts a gateway, on each session store, whose mail goes to a
// fresh SMTP server.
func withMail(t *testing.T, opt options, run func(t *testing.T, e *env, box *mailtest.Server)) {
	onEachSessionStore(t, opt, func(t *testing.T, o options) {
		box := mailtest.Start(t, mailtest.Options{})
		o.smtp = box.URL()
		run(t, MustStartGatewayWith(t, o), box)
	})
}

// tokenIn reads the one-time token of a mail of a kind: it must be in the
// link and, the same, as text to paste, in both the plain and the HTML part.
func tokenIn(t *testing.T, m mailtest.Received, kind mail.Kind) string {
	t.Helper()
	text := m.Part("text/plain")
	match := regexp.MustCompile(`https://gateway\.example\.com/console/#` + string(kind) + `=([A-Za-z0-9_-]{43})`).FindStringSubmatch(text)
	if match == nil {
		t.Fatalf("no %s link in the mail:\n%s", kind, text)
	}
	token := match[1]
	if strings.Count(text, token) < 2 || !strings.Contains(m.Part("text/html"), token) || !strings.Contains(string(m.Raw), token) {
		t.Fatalf("the token is not both in the link and as text, in both parts and verbatim:\n%s", text)
	}
	return token
}

// signUpWithEmail registers a user with an email and returns its tokens.
func (e *env) signUpWithEmail(t *testing.T, app *appClient, username, email string) tokens {
	t.Helper()
	return e.signUp(t, app, map[string]any{"username": username, "password": "a fine long password", "email": email})
}

func (e *env) me(t *testing.T, access string) map[string]any {
	t.Helper()
	r := e.call(t, "GET", "/api/account/me", "", "", bearer(access)...)
	if r.status != http.StatusOK {
		t.Fatalf("me: %d %s", r.status, r.raw)
	}
	return dataOf(t, r)
}

// audited lists the actions of the audit trail.
func (e *env) audited(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, entry := range listOf(t, e.call(t, "GET", "/api/admin/audit?find=0", "dba", "")) {
		out = append(out, entry["action"].(string))
	}
	return out
}

func (e *env) confirmReset(t *testing.T, app *appClient, token, password string) reply {
	t.Helper()
	return e.payloadCall(t, "/api/account/password/reset/confirm", app.seal(t, map[string]any{"token": token, "new_password": password}))
}

func (e *env) login(t *testing.T, app *appClient, username, password string) reply {
	t.Helper()
	return e.payloadCall(t, "/api/auth", app.seal(t, map[string]any{"username": username, "password": password}))
}

func TestEmailVerificationJourney(t *testing.T) {
	box := mailtest.Start(t, mailtest.Options{})
	e := MustStartGatewayWith(t, options{smtp: box.URL()})
	app := newAppClient(t, e.srv.URL)
	tk := e.signUpWithEmail(t, app, "vera_1", "Vera@Example.com")
	if me := e.me(t, tk.AccessToken); me["email_verified"] != false {
		t.Fatalf("a new account's email is verified: %v", me)
	}
	if r := e.call(t, "POST", "/api/account/email/verification", "", "", bearer(tk.AccessToken)...); r.status != http.StatusAccepted {
		t.Fatalf("verification: %d %s", r.status, r.raw)
	}
	m := box.WaitFor(t, "vera@example.com", 0)
	if !strings.Contains(m.Header("Subject"), "email") {
		t.Errorf("subject %q", m.Header("Subject"))
	}
	token := tokenIn(t, m, mail.Verify)
	if r := e.call(t, "POST", "/api/account/email/verify", "", `{"token":"`+token+`"}`); r.status != http.StatusOK {
		t.Fatalf("verify: %d %s", r.status, r.raw)
	}
	if me := e.me(t, tk.AccessToken); me["email_verified"] != true {
		t.Fatalf("after verifying: %v", me)
	}
	if r := e.call(t, "POST", "/api/account/email/verify", "", `{"token":"`+token+`"}`); r.status != http.StatusUnauthorized || r.body.ErrorCode != "AuthenticationError" {
		t.Errorf("a spent token: %d %s", r.status, r.raw)
	}
	if !slices.Contains(e.audited(t), "verify_email") {
		t.Error("the verification is not audited")
	}

	// A change of email clears the proof; a token mailed to the old
	// address no longer proves the new one.
	_ = e.call(t, "POST", "/api/account/email/verification", "", "", bearer(tk.AccessToken)...)
	stale := tokenIn(t, box.WaitFor(t, "vera@example.com", 1), mail.Verify)
	id := e.me(t, tk.AccessToken)["_id"].(string)
	if r := e.call(t, "POST", "/api/profile", "", `{"operation":"update","data":{"_id":"`+id+`","email":"vera2@example.com"}}`, bearer(tk.AccessToken)...); r.status != http.StatusOK {
		t.Fatalf("email change: %d %s", r.status, r.raw)
	}
	if me := e.me(t, tk.AccessToken); me["email_verified"] != false {
		t.Errorf("a changed email stays verified: %v", me)
	}
	if r := e.call(t, "POST", "/api/account/email/verify", "", `{"token":"`+stale+`"}`); r.status != http.StatusUnauthorized {
		t.Errorf("a token of the old address verified the new one: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "POST", "/api/account/email/verify", "", `{"token":"made-up-but-long-enough-to-look-real-000000"}`); r.status != http.StatusUnauthorized {
		t.Errorf("a made-up token: %d", r.status)
	}

	// No email, no mail server: clear answers.
	other := e.register(t, app, "noemail_1", "a fine long password")
	if r := e.call(t, "POST", "/api/account/email/verification", "", "", bearer(other.AccessToken)...); r.status != http.StatusBadRequest {
		t.Errorf("an account without email: %d %s", r.status, r.raw)
	}
	bare := MustStartGateway(t)
	bareApp := newAppClient(t, bare.srv.URL)
	btk := bare.signUpWithEmail(t, bareApp, "vera_2", "vera@example.com")
	if r := bare.call(t, "POST", "/api/account/email/verification", "", "", bearer(btk.AccessToken)...); r.status != http.StatusServiceUnavailable {
		t.Errorf("without a mail server: %d %s", r.status, r.raw)
	}
}

func TestPasswordResetJourney(t *testing.T) {
	withMail(t, options{}, func(t *testing.T, e *env, box *mailtest.Server) {
		app := newAppClient(t, e.srv.URL)
		first := e.signUpWithEmail(t, app, "rosa_1", "rosa@example.com")
		second := tokensOf(t, e.login(t, app, "rosa_1", "a fine long password"))
		if r := e.call(t, "POST", "/api/account/password/reset", "", `{"email":"ROSA@example.com"}`); r.status != http.StatusAccepted {
			t.Fatalf("reset: %d %s", r.status, r.raw)
		}
		token := tokenIn(t, box.WaitFor(t, "rosa@example.com", 0), mail.Reset)

		// A new password that breaks the rules is refused and leaves the
		// token good.
		if r := e.confirmReset(t, app, token, "rosa_1"); r.status != http.StatusBadRequest {
			t.Errorf("a bad new password: %d %s", r.status, r.raw)
		}
		if r := e.confirmReset(t, app, token, "a brand new password"); r.status != http.StatusOK {
			t.Fatalf("confirm: %d %s", r.status, r.raw)
		}
		for _, tk := range []tokens{first, second} {
			if r := e.call(t, "GET", "/api/account/me", "", "", bearer(tk.AccessToken)...); r.status != http.StatusUnauthorized {
				t.Errorf("a session lived through the reset: %d", r.status)
			}
			if r := e.call(t, "POST", "/api/token/refresh", "", `{"refresh_token":"`+tk.RefreshToken+`"}`); r.status != http.StatusUnauthorized {
				t.Errorf("a refresh token lived through the reset: %d", r.status)
			}
		}
		if r := e.login(t, app, "rosa_1", "a fine long password"); r.status != http.StatusUnauthorized {
			t.Errorf("the old password: %d", r.status)
		}
		if r := e.login(t, app, "rosa_1", "a brand new password"); r.status != http.StatusOK {
			t.Errorf("the new password: %d %s", r.status, r.raw)
		}
		if r := e.confirmReset(t, app, token, "another new password"); r.status != http.StatusUnauthorized || r.body.ExceptionMessage != "the token or code is not valid" {
			t.Errorf("a spent token: %d %s", r.status, r.raw)
		}
		audit := e.audited(t)
		for _, action := range []string{"request_password_reset", "reset_password"} {
			if !slices.Contains(audit, action) {
				t.Errorf("%s is not audited: %v", action, audit)
			}
		}
	})
}

func TestResetTokenRules(t *testing.T) {
	box := mailtest.Start(t, mailtest.Options{})
	e := MustStartGatewayWith(t, options{smtp: box.URL(), auth: account.Config{ResetsPerAccount: 10}})
	app := newAppClient(t, e.srv.URL)
	tk := e.signUpWithEmail(t, app, "tara_1", "tara@example.com")
	ask := func(n int) string {
		t.Helper()
		if r := e.call(t, "POST", "/api/account/password/reset", "", `{"username":"tara_1"}`); r.status != http.StatusAccepted {
			t.Fatalf("reset: %d %s", r.status, r.raw)
		}
		return tokenIn(t, box.WaitFor(t, "tara@example.com", n), mail.Reset)
	}

	// A newer request spends the older token.
	older, newer := ask(0), ask(1)
	if r := e.confirmReset(t, app, older, "a brand new password"); r.status != http.StatusUnauthorized {
		t.Errorf("a replaced token: %d %s", r.status, r.raw)
	}

	// A password change spends it.
	change := app.seal(t, map[string]any{"old_password": "a fine long password", "new_password": "changed in the app"})
	if r := e.payloadCall(t, "/api/account/password", change, bearer(tk.AccessToken)...); r.status != http.StatusOK {
		t.Fatalf("password change: %d %s", r.status, r.raw)
	}
	if r := e.confirmReset(t, app, newer, "a brand new password"); r.status != http.StatusUnauthorized {
		t.Errorf("a token older than a password change: %d %s", r.status, r.raw)
	}

	// Thirty minutes: the stored expiry says so, and a token past it is
	// refused.
	token := ask(2)
	docs, err := e.store.Find(context.Background(), account.TokensCollection, resources.Query{SortPath: resources.FieldID, Limit: 10})
	if err != nil || len(docs) != 1 {
		t.Fatalf("stored tokens: %v %v", docs, err)
	}
	expires, _ := time.Parse(time.RFC3339Nano, docs[0]["expires_at"].(string))
	if left := time.Until(expires); left < 29*time.Minute || left > 30*time.Minute {
		t.Errorf("the token expires in %v", left)
	}
	if _, err := e.store.Update(context.Background(), account.TokensCollection, docs[0]["_id"].(string),
		resources.Document{"expires_at": resources.FormatTime(time.Now().Add(-time.Second))}, nil); err != nil {
		t.Fatal(err)
	}
	if r := e.confirmReset(t, app, token, "a brand new password"); r.status != http.StatusUnauthorized {
		t.Errorf("an expired token: %d %s", r.status, r.raw)
	}

	// Only hashes at rest, and never in the log.
	token = ask(3)
	for _, path := range []string{e.dbPath, e.sessionsPath} {
		for _, suffix := range []string{"", "-wal"} {
			raw, err := os.ReadFile(path + suffix)
			if err == nil && strings.Contains(string(raw), token) {
				t.Errorf("the token is stored in %s%s", path, suffix)
			}
		}
	}
	if r := e.confirmReset(t, app, token, "a brand new password"); r.status != http.StatusOK {
		t.Fatalf("confirm: %d %s", r.status, r.raw)
	}
	for _, tok := range []string{older, newer, token} {
		if strings.Contains(e.logs.String(), tok) {
			t.Error("a token is in the log")
		}
	}
}

func TestResetHasNoAccountOracle(t *testing.T) {
	box := mailtest.Start(t, mailtest.Options{})
	e := MustStartGatewayWith(t, options{smtp: box.URL(), auth: account.Config{ResetsPerClient: 1000, ResetsPerAccount: 1000}})
	app := newAppClient(t, e.srv.URL)
	e.signUpWithEmail(t, app, "olga_1", "olga@example.com")
	e.register(t, app, "nomail_1", "a fine long password")
	bodies := map[string]int{}
	var known, unknown []time.Duration
	for i := range 21 {
		for _, body := range []string{`{"email":"olga@example.com"}`, `{"email":"nobody@example.com"}`, `{"username":"ghost_user"}`, `{"username":"nomail_1"}`} {
			began := time.Now()
			r := e.call(t, "POST", "/api/account/password/reset", "", body)
			took := time.Since(began)
			if strings.Contains(body, "olga") {
				known = append(known, took)
			} else if strings.Contains(body, "nobody") {
				unknown = append(unknown, took)
			}
			bodies[strings.Join([]string{http.StatusText(r.status), r.raw, r.header.Get("Cache-Control")}, " ")]++
			_ = i
		}
	}
	if len(bodies) != 1 {
		t.Errorf("the answers differ: %v", bodies)
	}
	// The answer is given before the account is looked up: the same
	// work whether or not it exists.
	median := func(d []time.Duration) time.Duration {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return d[len(d)/2]
	}
	if diff := median(known) - median(unknown); diff > 20*time.Millisecond || diff < -20*time.Millisecond {
		t.Errorf("answers for a known email take %v, for an unknown one %v", median(known), median(unknown))
	}
	// Mails went only to the account that exists: the worker answers in
	// order, so once the last known account's mail is in, every earlier
	// request has been answered.
	e.signUpWithEmail(t, app, "last_1", "last@example.com")
	_ = e.call(t, "POST", "/api/account/password/reset", "", `{"email":"last@example.com"}`)
	box.WaitFor(t, "last@example.com", 0)
	for _, m := range box.Messages() {
		if to := m.To[0]; to != "olga@example.com" && to != "last@example.com" {
			t.Errorf("a mail went to %s", to)
		}
	}
	if n := box.Count("olga@example.com"); n != 21 {
		t.Errorf("olga got %d mails, want 21", n)
	}
	if r := e.call(t, "POST", "/api/account/password/reset", "", `{"email":"a@example.com","username":"x"}`); r.status != http.StatusBadRequest {
		t.Errorf("both email and username: %d", r.status)
	}
}

func TestResetThrottlesWithoutLockOut(t *testing.T) {
	box := mailtest.Start(t, mailtest.Options{})
	e := MustStartGatewayWith(t, options{smtp: box.URL(), trustedProxies: []string{"127.0.0.1"},
		auth: account.Config{ResetsPerAccount: 3, ResetsPerClient: 6}})
	app := newAppClient(t, e.srv.URL)
	for _, name := range []string{"ida_1", "jon_1", "kai_1", "lea_1"} {
		e.signUpWithEmail(t, app, name, name[:3]+"@example.com")
	}
	from := func(ip, body string) {
		t.Helper()
		if r := e.call(t, "POST", "/api/account/password/reset", "", body, "X-Forwarded-For", ip); r.status != http.StatusAccepted {
			t.Fatalf("reset from %s: %d %s", ip, r.status, r.raw)
		}
	}
	// Five requests for one account from five clients: three mails.
	for i := range 5 {
		from("10.0.0."+string(rune('1'+i)), `{"email":"ida@example.com"}`)
	}
	// Six requests from one client go through; the seventh does not.
	for range 6 {
		from("10.9.9.9", `{"email":"jon@example.com"}`)
	}
	from("10.9.9.9", `{"email":"kai@example.com"}`)
	from("10.8.8.8", `{"email":"lea@example.com"}`)
	box.WaitFor(t, "lea@example.com", 0) // every earlier request is answered
	if n := box.Count("ida@example.com"); n != 3 {
		t.Errorf("one account got %d mails, want 3", n)
	}
	if n := box.Count("kai@example.com"); n != 0 {
		t.Errorf("a client past its bound still had %d mails sent", n)
	}
	// No lock-out: the owners still sign in.
	for _, name := range []string{"ida_1", "jon_1"} {
		if r := e.login(t, app, name, "a fine long password"); r.status != http.StatusOK {
			t.Errorf("%s after the throttling: %d %s", name, r.status, r.raw)
		}
	}
}

func TestAdminCreatesAndResetsUsers(t *testing.T) {
	box := mailtest.Start(t, mailtest.Options{})
	e := MustStartGatewayWith(t, options{smtp: box.URL()})
	app := newAppClient(t, e.srv.URL)
	create := func(user string, fields map[string]any) reply {
		t.Helper()
		b, _ := json.Marshal(map[string]string{"payload": app.seal(t, fields)})
		return e.call(t, "POST", "/api/admin/users", user, string(b))
	}
	// An invitation: no password, a mail with a token that chooses one.
	r := create("sysadmin", map[string]any{"username": "invited_1", "email": "inv@example.com", "level": 3})
	if r.status != http.StatusCreated {
		t.Fatalf("invite: %d %s", r.status, r.raw)
	}
	id := dataOf(t, r)["_id"].(string)
	if r := e.login(t, app, "invited_1", "anything at all here"); r.status != http.StatusUnauthorized {
		t.Errorf("an invited account signs in before choosing a password: %d", r.status)
	}
	m := box.WaitFor(t, "inv@example.com", 0)
	if !strings.Contains(m.Part("text/plain"), "invited_1") {
		t.Errorf("the invitation does not name the account:\n%s", m.Part("text/plain"))
	}
	if r := e.confirmReset(t, app, tokenIn(t, m, mail.Invite), "my own password"); r.status != http.StatusOK {
		t.Fatalf("accept the invitation: %d %s", r.status, r.raw)
	}
	if r := e.login(t, app, "invited_1", "my own password"); r.status != http.StatusOK {
		t.Errorf("sign in after the invitation: %d %s", r.status, r.raw)
	}
	if r := create("sysadmin", map[string]any{"username": "invited_2", "level": 3}); r.status != http.StatusBadRequest {
		t.Errorf("an invitation without an email: %d %s", r.status, r.raw)
	}

	// An administrator's reset: mailed when it can be.
	if r := e.call(t, "POST", "/api/admin/users/"+id+"/password-reset", "sysadmin", ""); r.status != http.StatusAccepted || dataOf(t, r)["mailed"] != true {
		t.Fatalf("admin reset: %d %s", r.status, r.raw)
	}
	if r := e.confirmReset(t, app, tokenIn(t, box.WaitFor(t, "inv@example.com", 1), mail.Reset), "reset by an admin"); r.status != http.StatusOK {
		t.Errorf("confirm the admin's reset: %d %s", r.status, r.raw)
	}
	// Only lower levels, only by those who manage users.
	for _, c := range []struct {
		user, target string
		want         int
	}{{"admin", id, 403}, {"sysadmin", e.users["sysadmin"].UserID, 403}, {"sysadmin", e.users["dba"].UserID, 403}, {"dba", "000000000000000000000000", 404}} {
		if r := e.call(t, "POST", "/api/admin/users/"+c.target+"/password-reset", c.user, ""); r.status != c.want {
			t.Errorf("%s resets %s: %d, want %d", c.user, c.target, r.status, c.want)
		}
	}
	audit := e.audited(t)
	for _, action := range []string{"create_user", "invite_user", "send_password_reset", "reset_password"} {
		if !slices.Contains(audit, action) {
			t.Errorf("%s is not audited", action)
		}
	}

	// Without a mail server: a link to hand over; no invitation.
	bare := MustStartGateway(t)
	bareApp := newAppClient(t, bare.srv.URL)
	r = bare.call(t, "POST", "/api/admin/users/"+bare.users["coach"].UserID+"/password-reset", "sysadmin", "")
	if r.status != http.StatusOK {
		t.Fatalf("admin reset without mail: %d %s", r.status, r.raw)
	}
	link := dataOf(t, r)["link"].(string)
	token, found := strings.CutPrefix(link, "https://gateway.example.com/console/#reset=")
	if !found {
		t.Fatalf("link %q", link)
	}
	if r := bare.confirmReset(t, bareApp, token, "handed over by an admin"); r.status != http.StatusOK {
		t.Errorf("confirm with the link: %d %s", r.status, r.raw)
	}
	if r := bare.login(t, bareApp, "coach", "handed over by an admin"); r.status != http.StatusOK {
		t.Errorf("sign in after the link: %d", r.status)
	}
	b, _ := json.Marshal(map[string]string{"payload": bareApp.seal(t, map[string]any{"username": "invited_3", "email": "x@example.com"})})
	if r := bare.call(t, "POST", "/api/admin/users", "sysadmin", string(b)); r.status != http.StatusServiceUnavailable {
		t.Errorf("an invitation without a mail server: %d %s", r.status, r.raw)
	}
	if r := bare.call(t, "POST", "/api/account/password/reset", "", `{"username":"coach"}`); r.status != http.StatusServiceUnavailable {
		t.Errorf("a reset request without a mail server: %d %s", r.status, r.raw)
	}
}

// metric reads one series of /metrics.
func metric(t *testing.T, e *env, name string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` ([0-9.e+]+)$`).FindStringSubmatch(e.call(t, "GET", "/metrics", "", "").raw)
	if m == nil {
		t.Fatalf("no %s in /metrics", name)
	}
	var v float64
	_ = json.Unmarshal([]byte(m[1]), &v)
	return v
}

func TestMailServerDown(t *testing.T) {
	box := mailtest.Start(t, mailtest.Options{})
	box.Stop()
	e := MustStartGatewayWith(t, options{smtp: box.URL(), mailRetries: []time.Duration{time.Millisecond}})
	app := newAppClient(t, e.srv.URL)
	e.signUpWithEmail(t, app, "down_1", "down@example.com")
	if r := e.call(t, "POST", "/api/account/password/reset", "", `{"email":"down@example.com"}`); r.status != http.StatusAccepted {
		t.Fatalf("reset while the mail server is down: %d %s", r.status, r.raw)
	}
	e.logs.WaitFor(t, "mail not delivered: given up")
	if !strings.Contains(e.logs.String(), "mail delivery failed; it is tried again") {
		t.Error("the failed attempt is not logged")
	}
	if f, d := metric(t, e, "gateway_mail_failures_total"), metric(t, e, "gateway_mail_dropped_total"); f != 2 || d != 1 {
		t.Errorf("failures %v, dropped %v", f, d)
	}
}
