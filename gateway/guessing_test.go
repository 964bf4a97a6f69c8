package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// fromAddress is an HTTP client whose connections leave from a loopback
// address of their own (127.0.0.2, 127.0.0.3, …), as separate machines
// would.
func fromAddress(t *testing.T, ip string) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// loginFrom sends a password login from client with extra headers and
// returns the status and the device token of a successful answer.
func (e *env) loginFrom(t *testing.T, client *http.Client, app *appClient, user, password string, headers ...string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"payload": app.seal(t, map[string]any{"username": user, "password": password})})
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/auth", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out struct {
		Data struct {
			DeviceToken string `json:"device_token"`
		} `json:"data"`
	}
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out.Data.DeviceToken
}

// TestSpreadGuessingIsThrottled is the third outside round's finding: 162
// wrong passwords for one account from 18 addresses, 9 from each (under the
// per-address limits). The account is throttled for unknown clients well
// before 100 failures, while its owner, on a device that signed in before,
// still signs in with the right password, and a wrong guess from an
// address never seen gets 429 without a hash.
func TestSpreadGuessingIsThrottled(t *testing.T) {
	eachSessionStore(t, options{}, func(t *testing.T, e *env) {
		app := newAppClient(t, e.srv.URL)
		const password = "the owner's long password"
		e.register(t, app, "guess_target", password)
		status, device := e.loginFrom(t, fromAddress(t, "127.0.0.1"), app, "guess_target", password)
		if status != 200 || device == "" {
			t.Fatalf("the owner's sign-in: %d, device token %q", status, device)
		}
		refused, failedFirst := 0, 0
		for a := range 18 {
			client := fromAddress(t, fmt.Sprintf("127.0.0.%d", a+2))
			for g := range 9 {
				switch s, _ := e.loginFrom(t, client, app, "guess_target", fmt.Sprintf("guess %d from %d", g, a)); s {
				case 401:
					if refused == 0 {
						failedFirst++
					}
				case 429:
					refused++
				default:
					t.Fatalf("a guess answered %d", s)
				}
			}
		}
		t.Logf("%d guesses answered 401 before the first 429; %d of 162 refused", failedFirst, refused)
		if failedFirst >= 100 || refused == 0 {
			t.Errorf("spread guessing: %d failures before any refusal, %d refused", failedFirst, refused)
		}
		stranger := fromAddress(t, "127.0.0.100")
		if s, _ := e.loginFrom(t, stranger, app, "guess_target", password); s != 429 {
			t.Errorf("an unknown client during the attack: %d", s)
		}
		owner := fromAddress(t, "127.0.0.1")
		if s, _ := e.loginFrom(t, owner, app, "guess_target", password, "X-Device-Token", device); s != 200 {
			t.Errorf("the owner with the device token of an earlier sign-in: %d", s)
		}
		if s, _ := e.loginFrom(t, stranger, app, "guess_target", password, "Cookie", "device_token="+device); s != 200 {
			t.Errorf("the owner's browser with its device cookie, from a new address: %d", s)
		}
		// Another account's device token does not pass for this one.
		e.register(t, app, "guess_other", password)
		_, otherDevice := e.loginFrom(t, fromAddress(t, "127.0.0.1"), app, "guess_other", password)
		if s, _ := e.loginFrom(t, stranger, app, "guess_target", password, "X-Device-Token", otherDevice); s != 429 {
			t.Errorf("another account's device token: %d", s)
		}
		if s, _ := e.loginFrom(t, stranger, app, "guess_target", password, "X-Device-Token", "not.a.token"); s != 429 {
			t.Errorf("a forged device token: %d", s)
		}
		// A device token is no credential.
		if r := e.call(t, "GET", "/api/account/me", "", "", bearer(device)...); r.status != 401 {
			t.Errorf("a device token as a bearer token: %d", r.status)
		}
	})
}
