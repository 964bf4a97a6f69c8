package gateway_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/tnt/gateway/resources/account"
)

// codeAt is the TOTP code of a secret steps time steps from now.
func codeAt(t *testing.T, secret string, steps int) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, time.Now().Add(time.Duration(steps)*30*time.Second),
		totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// enrol enrols a TOTP authenticator for the session and returns its secret
// and recovery codes.
func (e *env) enrol(t *testing.T, auth []string) (string, []string) {
	t.Helper()
	r := e.call(t, "POST", "/api/account/mfa/totp", "", "", auth...)
	if r.status != http.StatusOK {
		t.Fatalf("enrol: %d %s", r.status, r.raw)
	}
	var en struct {
		Secret string `json:"secret"`
		URI    string `json:"otpauth_uri"`
		QR     string `json:"qr_png"`
	}
	_ = json.Unmarshal(r.body.Data, &en)
	png, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(en.QR, "data:image/png;base64,"))
	if err != nil || !strings.HasPrefix(string(png), "\x89PNG") {
		t.Errorf("the QR code is not a PNG: %.40s", en.QR)
	}
	if !strings.HasPrefix(en.URI, "otpauth://totp/") || !strings.Contains(en.URI, "secret="+en.Secret) {
		t.Errorf("otpauth_uri %q", en.URI)
	}
	confirm := func(code string) reply {
		return e.call(t, "POST", "/api/account/mfa/totp/confirm", "", `{"code":"`+code+`"}`, auth...)
	}
	if r := confirm("000000"); r.status != http.StatusUnauthorized && codeAt(t, en.Secret, 0) != "000000" {
		t.Errorf("a wrong code confirmed the enrolment: %d %s", r.status, r.raw)
	}
	r = confirm(codeAt(t, en.Secret, 0))
	if r.status != http.StatusOK {
		t.Fatalf("confirm: %d %s", r.status, r.raw)
	}
	var out struct {
		Codes []string `json:"recovery_codes"`
	}
	_ = json.Unmarshal(r.body.Data, &out)
	if len(out.Codes) != 10 {
		t.Fatalf("recovery codes: %v", out.Codes)
	}
	return en.Secret, out.Codes
}

// challenge signs in with a password and expects MfaRequiredError; it
// returns the mfa_token.
func (e *env) challenge(t *testing.T, app *appClient, username, password string) string {
	t.Helper()
	r := e.login(t, app, username, password)
	if r.status != http.StatusUnauthorized || r.body.ErrorCode != "MfaRequiredError" {
		t.Fatalf("sign-in with a second factor: %d %s", r.status, r.raw)
	}
	var c struct {
		Token     string `json:"mfa_token"`
		ExpiresIn int    `json:"expires_in"`
	}
	if err := json.Unmarshal(r.body.Data, &c); err != nil || c.Token == "" || c.ExpiresIn != 300 {
		t.Fatalf("challenge data: %s", r.raw)
	}
	if strings.Contains(r.raw, "access_token") {
		t.Fatal("tokens came with the challenge")
	}
	return c.Token
}

func (e *env) secondStep(t *testing.T, token, code string) reply {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"mfa_token": token, "code": code})
	return e.call(t, "POST", "/api/auth/mfa", "", string(b))
}

func TestTOTPSignIn(t *testing.T) {
	e := MustStartGatewayWith(t, options{auth: account.Config{FailuresPerUser: 6}})
	app := newAppClient(t, e.srv.URL)
	first := e.register(t, app, "mina_1", "a fine long password")
	other := tokensOf(t, e.login(t, app, "mina_1", "a fine long password"))

	// Until confirmed, the password alone signs in.
	if r := e.call(t, "POST", "/api/account/mfa/totp", "", "", bearer(first.AccessToken)...); r.status != http.StatusOK {
		t.Fatalf("enrol: %d", r.status)
	}
	if r := e.login(t, app, "mina_1", "a fine long password"); r.status != http.StatusOK {
		t.Fatalf("sign-in with an unconfirmed enrolment: %d %s", r.status, r.raw)
	}
	secret, recovery := e.enrol(t, bearer(first.AccessToken))
	if me := e.me(t, first.AccessToken)["mfa"].(map[string]any); me["totp"] != true || me["recovery_codes_left"] != float64(10) {
		t.Errorf("me after enrolling: %v", me)
	}
	if r := e.call(t, "GET", "/api/account/me", "", "", bearer(other.AccessToken)...); r.status != http.StatusUnauthorized {
		t.Errorf("a session without the factor lived through the enrolment: %d", r.status)
	}
	if r := e.call(t, "POST", "/api/account/mfa/totp", "", "", bearer(first.AccessToken)...); r.status != http.StatusConflict {
		t.Errorf("enrolling twice: %d", r.status)
	}

	// The code that confirmed is used; one step ahead is accepted; the
	// same code again is a replay, and so is an older one.
	token := e.challenge(t, app, "mina_1", "a fine long password")
	if r := e.secondStep(t, token, codeAt(t, secret, 0)); r.status != http.StatusUnauthorized || r.body.ExceptionMessage != "the token or code is not valid" {
		t.Errorf("the confirming code again: %d %s", r.status, r.raw)
	}
	ahead := codeAt(t, secret, 1)
	r := e.secondStep(t, token, ahead)
	if r.status != http.StatusOK {
		t.Fatalf("a code one step ahead: %d %s", r.status, r.raw)
	}
	tk := tokensOf(t, r)
	if me := e.me(t, tk.AccessToken); me["username"] != "mina_1" {
		t.Errorf("signed in as %v", me["username"])
	}
	if r := e.secondStep(t, token, codeAt(t, secret, 1)); r.status != http.StatusUnauthorized {
		t.Errorf("a spent mfa_token: %d", r.status)
	}
	token = e.challenge(t, app, "mina_1", "a fine long password")
	for _, code := range []string{ahead, codeAt(t, secret, 0), codeAt(t, secret, -1), codeAt(t, secret, 4)} {
		if code == codeAt(t, secret, 2) {
			continue // a coincidence of codes
		}
		if r := e.secondStep(t, token, code); r.status != http.StatusUnauthorized {
			t.Errorf("code %s (replayed, older or too far ahead): %d", code, r.status)
		}
	}
	if r := e.secondStep(t, "made.up", "123456"); r.status != http.StatusUnauthorized {
		t.Errorf("a made-up mfa_token: %d", r.status)
	}

	// Recovery codes: each once.
	token = e.challenge(t, app, "mina_1", "a fine long password")
	// (The refusals above counted against the account; a good code
	// clears the count.)
	if r := e.secondStep(t, token, strings.ToUpper(recovery[0])); r.status != http.StatusOK {
		t.Fatalf("a recovery code: %d %s", r.status, r.raw)
	}
	token = e.challenge(t, app, "mina_1", "a fine long password")
	if r := e.secondStep(t, token, recovery[0]); r.status != http.StatusUnauthorized {
		t.Errorf("a recovery code twice: %d", r.status)
	}
	if r := e.secondStep(t, token, recovery[1]); r.status != http.StatusOK {
		t.Errorf("another recovery code: %d %s", r.status, r.raw)
	}
	if left := e.me(t, tk.AccessToken)["mfa"].(map[string]any)["recovery_codes_left"]; left != float64(8) {
		t.Errorf("recovery codes left: %v", left)
	}

	// Removal takes the password and a code; then the password alone
	// signs in again.
	remove := func(password, code string) reply {
		b, _ := json.Marshal(map[string]string{"payload": app.seal(t, map[string]any{"password": password, "code": code})})
		return e.call(t, "DELETE", "/api/account/mfa/totp", "", string(b), bearer(tk.AccessToken)...)
	}
	if r := remove("a fine long password", recovery[1]); r.status != http.StatusUnauthorized {
		t.Errorf("removal with a used recovery code: %d %s", r.status, r.raw)
	}
	if r := remove("a fine long password", recovery[2]); r.status != http.StatusOK {
		t.Fatalf("removal: %d %s", r.status, r.raw)
	}
	if r := e.login(t, app, "mina_1", "a fine long password"); r.status != http.StatusOK {
		t.Errorf("sign-in after removal: %d %s", r.status, r.raw)
	}
	audit := e.audited(t)
	for _, action := range []string{"enable_mfa", "use_recovery_code", "disable_mfa"} {
		if !slices.Contains(audit, action) {
			t.Errorf("%s is not audited", action)
		}
	}
	if strings.Contains(e.logs.String(), secret) {
		t.Error("the secret is in the log")
	}
}

func TestAdminSchemeTakesTheCode(t *testing.T) {
	e := MustStartGateway(t)
	app := newAppClient(t, e.srv.URL)
	dba := tokensOf(t, e.login(t, app, "dba", testPassword))
	secret, _ := e.enrol(t, bearer(dba.AccessToken))
	header := adminHeader("dba", testPassword)
	r := e.call(t, "GET", "/api/admin/auth", "", "", "Authorization", header)
	if r.status != http.StatusUnauthorized || r.body.ErrorCode != "MfaRequiredError" || !strings.Contains(r.raw, `"factor":"totp"`) {
		t.Fatalf("the admin scheme without a code: %d %s", r.status, r.raw)
	}
	withCode := header + `, otp="` + codeAt(t, secret, 1) + `"`
	r = e.call(t, "GET", "/api/admin/auth", "", "", "Authorization", withCode)
	if r.status != http.StatusOK {
		t.Fatalf("the admin scheme with a code: %d %s", r.status, r.raw)
	}
	admin := tokensOf(t, r)
	if r := e.call(t, "GET", "/api/admin/users", "", "", bearer(admin.AccessToken)...); r.status != http.StatusOK {
		t.Errorf("the admin token: %d", r.status)
	}
	if r := e.call(t, "GET", "/api/admin/users", "", "", "Authorization", withCode); r.status != http.StatusUnauthorized {
		t.Errorf("the same code again: %d %s", r.status, r.raw)
	}
	// Wrong codes are throttled like passwords.
	statuses := []int{}
	for range 12 {
		statuses = append(statuses, e.call(t, "GET", "/api/admin/auth", "", "", "Authorization", header+`, otp="999999"`).status)
	}
	if !slices.Contains(statuses, http.StatusTooManyRequests) || statuses[0] != http.StatusUnauthorized {
		t.Errorf("twelve wrong codes: %v, want 401s then 429s", statuses)
	}
	users := listOf(t, e.call(t, "GET", "/api/admin/users?find=0", "", "", bearer(admin.AccessToken)...))
	for _, u := range users {
		want := u["username"] == "dba"
		if u["mfa"].(map[string]any)["totp"] != want {
			t.Errorf("%s: mfa %v", u["username"], u["mfa"])
		}
		if _, ok := u["email_verified"].(bool); !ok {
			t.Errorf("%s: email_verified %v", u["username"], u["email_verified"])
		}
	}
}

func TestMFALevelsMustEnrol(t *testing.T) {
	eachSessionStore(t, options{auth: account.Config{MFALevels: []int{0, 1}}}, func(t *testing.T, e *env) {
		app := newAppClient(t, e.srv.URL)
		r := e.login(t, app, "sysadmin", testPassword)
		if r.status != http.StatusOK {
			t.Fatalf("sign-in of a level that must enrol: %d %s", r.status, r.raw)
		}
		only := tokensOf(t, r)
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/api/account/me", ""}, {"GET", "/api/gym", ""}, {"GET", "/api/admin/users", ""},
			{"POST", "/api/gym", `{"operation":"create","data":{"name":"x"}}`}, {"GET", "/api/sessions", ""},
		} {
			if r := e.call(t, c.method, c.path, "", c.body, bearer(only.AccessToken)...); r.status != http.StatusForbidden {
				t.Errorf("%s %s with an enrol-only session: %d %s", c.method, c.path, r.status, r.raw)
			}
		}
		if r := e.call(t, "GET", "/api/admin/auth", "", "", "Authorization", adminHeader("sysadmin", testPassword)); r.status != http.StatusUnauthorized ||
			r.body.ErrorCode != "MfaRequiredError" || !strings.Contains(r.raw, `"enrol":true`) {
			t.Errorf("the admin scheme before enrolling: %d %s", r.status, r.raw)
		}
		// Other levels sign in as before.
		if r := e.call(t, "GET", "/api/gym", "admin", ""); r.status != http.StatusOK {
			t.Errorf("level 2: %d", r.status)
		}
		secret, _ := e.enrol(t, bearer(only.AccessToken))
		token := e.challenge(t, app, "sysadmin", testPassword)
		r = e.secondStep(t, token, codeAt(t, secret, 1))
		if r.status != http.StatusOK {
			t.Fatalf("sign-in with the factor: %d %s", r.status, r.raw)
		}
		full := tokensOf(t, r)
		if r := e.call(t, "GET", "/api/admin/users", "", "", bearer(full.AccessToken)...); r.status != http.StatusOK {
			t.Errorf("a session with the factor: %d %s", r.status, r.raw)
		}
		if r := e.call(t, "DELETE", "/api/session", "", "", bearer(only.AccessToken)...); r.status != http.StatusOK {
			t.Errorf("signing out of an enrol-only session: %d %s", r.status, r.raw)
		}
	})
}
