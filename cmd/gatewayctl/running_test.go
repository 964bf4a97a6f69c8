package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/tnt/gateway/cmd/internal/config"
	"github.com/tnt/gateway/cmd/internal/server"

	"github.com/tnt/gateway/crypto"
)

// startInProcess runs a gateway in this process on a fresh data dir (GATEWAY_DATA_DIR is set
// for the CLI too) until the test ends, and returns its context and base URL.
func startInProcess(t *testing.T) (context.Context, string) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("GATEWAY_DATA_DIR", dir)
	ctx, base, stop := runInProcess(t, dir)
	t.Cleanup(stop)
	return ctx, base
}

// runInProcess runs a gateway in this process on dir until stop, which
// returns once it has shut down.
func runInProcess(t *testing.T, dir string) (context.Context, string, func()) {
	t.Helper()
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"GATEWAY_ADDR": "127.0.0.1:0", "GATEWAY_DATA_DIR": dir, "GATEWAY_RSA_BITS": "2048",
			"GATEWAY_CONSOLE": "off"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	addr := make(chan string, 1)
	go func() {
		done <- server.Run(ctx, cfg, slog.New(slog.DiscardHandler), func(a string) { addr <- a })
	}()
	stop := sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	select {
	case a := <-addr:
		return ctx, "http://" + a, stop
	case err := <-done:
		t.Fatal(err)
	case <-time.After(30 * time.Second):
		t.Fatal("the gateway did not start")
	}
	return nil, "", nil
}

// TestSetLevelReachesARunningGateway: on the embedded store the CLI writes
// the session file from a process of its own; the running gateway, which
// serves session checks from memory, refuses the user's token at its very
// next request.
func TestSetLevelReachesARunningGateway(t *testing.T) {
	ctx, base := startInProcess(t)

	info, err := crypto.FetchPublicKey(ctx, http.DefaultClient, base)
	if err != nil {
		t.Fatal(err)
	}
	// sealed is the body of a login-like call for cli_target.
	sealed := func(password string) string {
		plain, _ := crypto.StampPayload(map[string]any{"username": "cli_target", "password": password}, time.Now())
		jwe, err := crypto.SealPayload(info, plain)
		if err != nil {
			t.Fatal(err)
		}
		return `{"payload":"` + jwe + `"}`
	}
	resp, err := http.Post(base+"/api/register", "application/json", strings.NewReader(sealed("a fine long password")))
	if err != nil {
		t.Fatal(err)
	}
	var reg struct {
		Data struct {
			AccessToken string `json:"access_token"`
		} `json:"data"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&reg)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("register: %d", resp.StatusCode)
	}
	me := func() int {
		req, _ := http.NewRequest("GET", base+"/api/account/me", nil)
		req.Header.Set("Authorization", "Bearer "+reg.Data.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for range 3 { // the first check fills the cache, the next are served from it
		if s := me(); s != 200 {
			t.Fatalf("me: %d", s)
		}
	}
	var out, errOut bytes.Buffer
	if err := run([]string{"set-level", "cli_target", "3"}, nil, &out, &errOut); err != nil {
		t.Fatalf("set-level: %v %s", err, errOut.String())
	}
	if s := me(); s != 401 {
		t.Errorf("the token's next request after set-level: %d", s)
	}

	// reset-password: a new password from standard input; the session
	// signed in before it ends at once, the old password is refused and the
	// new one works.
	login := func(password string) (int, string) {
		resp, err := http.Post(base+"/api/auth", "application/json", strings.NewReader(sealed(password)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var tk struct {
			Data struct {
				AccessToken string `json:"access_token"`
			} `json:"data"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&tk)
		return resp.StatusCode, tk.Data.AccessToken
	}
	status, token := login("a fine long password")
	if status != 200 {
		t.Fatalf("login before the reset: %d", status)
	}
	reg.Data.AccessToken = token
	if s := me(); s != 200 {
		t.Fatalf("me before the reset: %d", s)
	}
	if err := run([]string{"reset-password", "--password-stdin", "cli_target"}, strings.NewReader("password123\n"), &out, &errOut); err == nil {
		t.Error("reset-password took a common password")
	}
	if err := run([]string{"reset-password", "--password-stdin", "nobody_here"}, strings.NewReader("a brand new passphrase\n"), &out, &errOut); err == nil {
		t.Error("reset-password of a user that does not exist")
	}
	out.Reset()
	if err := run([]string{"reset-password", "--password-stdin", "cli_target"}, strings.NewReader("a brand new passphrase\n"), &out, &errOut); err != nil {
		t.Fatalf("reset-password: %v %s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "password reset; 1 sessions ended") {
		t.Errorf("reset-password output: %s", out.String())
	}
	if s := me(); s != 401 {
		t.Errorf("a session from before the reset: %d", s)
	}
	if s, _ := login("a fine long password"); s != 401 {
		t.Errorf("the old password after the reset: %d", s)
	}
	status, token = login("a brand new passphrase")
	if status != 200 {
		t.Fatalf("the new password: %d", status)
	}

	// reset-mfa: the way back for a lost authenticator.
	call := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	_, raw := call("POST", "/api/account/mfa/totp", "")
	var en struct {
		Data struct {
			Secret string `json:"secret"`
		} `json:"data"`
	}
	_ = json.Unmarshal([]byte(raw), &en)
	code, err := totp.GenerateCode(en.Data.Secret, time.Now())
	if err != nil {
		t.Fatalf("enrol: %s", raw)
	}
	if s, raw := call("POST", "/api/account/mfa/totp/confirm", `{"code":"`+code+`"}`); s != 200 {
		t.Fatalf("confirm: %d %s", s, raw)
	}
	if s, _ := login("a brand new passphrase"); s != 401 {
		t.Fatalf("a password alone signs in to an account with a second factor: %d", s)
	}
	out.Reset()
	if err := run([]string{"reset-mfa", "cli_target"}, nil, &out, &errOut); err != nil || !strings.Contains(out.String(), "cli_target: second factor removed;") {
		t.Fatalf("reset-mfa: %v %s %s", err, out.String(), errOut.String())
	}
	if s, _ := call("GET", "/api/account/me", ""); s != 401 {
		t.Errorf("a session from before reset-mfa: %d", s)
	}
	if s, _ := login("a brand new passphrase"); s != 200 {
		t.Errorf("the password after reset-mfa: %d", s)
	}
}
