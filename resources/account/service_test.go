package account_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tnt/gateway/crypto"
	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/account"
	"github.com/tnt/gateway/resources/domaintest"
)

// app is an account service on real parts, and a client that seals
// payloads to its keyring the way an app does.
type app struct {
	*domaintest.Kit
	svc      *account.Service
	accounts *account.Accounts
}

func newApp(t *testing.T, cfg account.Config) *app {
	t.Helper()
	kit := domaintest.MustOpen(t, "")
	accounts := account.NewAccounts(kit.Store, kit.Hasher, account.NewCredentialCache(100, time.Minute), nil)
	svc, err := account.New(account.Deps{Store: kit.Store, Registry: kit.Registry, Accounts: accounts, Sessions: kit.Sessions, Rights: kit.Policy,
		Tokens: crypto.NewTokens(kit.Keyring, crypto.TokenConfig{Issuer: "gateway", Audience: "gateway-api"}), Payloads: kit.Keyring, Sealer: kit.Keyring}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &app{Kit: kit, svc: svc, accounts: accounts}
}

// seal encrypts fields with a fresh ts and nonce.
func (a *app) seal(t *testing.T, fields map[string]any) string {
	t.Helper()
	plain, err := crypto.StampPayload(fields, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	jwe, err := crypto.SealPayload(a.Keyring.PayloadPublicKey(), plain)
	if err != nil {
		t.Fatal(err)
	}
	return jwe
}

func from(ip string) account.Device { return account.Device{IP: ip, UserAgent: "test/1"} }

func errCode(err error) string { return resources.ErrorCode(err) }

// TestRegisterLoginRefreshLogout: the journey of an app, and what is refused
// on the way.
func TestRegisterLoginRefreshLogout(t *testing.T) {
	a := newApp(t, account.Config{})
	ctx := context.Background()
	creds := map[string]any{"username": "alice_1", "password": "correct horse battery"}
	if _, err := a.svc.Register(ctx, a.seal(t, creds), from("10.0.0.1")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.svc.Register(ctx, a.seal(t, creds), from("10.0.0.1")); errCode(err) != resources.EDUPLICATE {
		t.Errorf("a taken username: %v", err)
	}
	for name, fields := range map[string]map[string]any{
		"common password":      {"username": "bob_1", "password": "password123"},
		"short password":       {"username": "bob_1", "password": "short"},
		"username as password": {"username": "bob_long_name", "password": "bob_long_name"},
		"smuggled level":       {"username": "bob_1", "password": "a fine long password", "level": 0},
	} {
		if _, err := a.svc.Register(ctx, a.seal(t, fields), from("10.0.0.1")); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	payload := a.seal(t, creds)
	tk, err := a.svc.Login(ctx, payload, from("10.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.svc.Login(ctx, payload, from("10.0.0.1")); errCode(err) != resources.EAUTHENTICATION {
		t.Errorf("a replayed payload: %v", err)
	}
	p, err := a.svc.CheckToken(ctx, tk.AccessToken)
	if err != nil || p.Username != "alice_1" || p.Level != 4 {
		t.Fatalf("check token: %+v %v", p, err)
	}
	me, err := a.svc.Me(ctx, p)
	if err != nil || me["level_name"] != "User" || me["password_hash"] != nil {
		t.Errorf("me: %v %v", me, err)
	}
	next, err := a.svc.Refresh(ctx, account.RefreshRequest{Token: tk.RefreshToken})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.svc.Refresh(ctx, account.RefreshRequest{Token: tk.RefreshToken}); errCode(err) != resources.EAUTHENTICATION {
		t.Errorf("a spent refresh token: %v", err)
	}
	if _, err := a.svc.CheckToken(ctx, next.AccessToken); errCode(err) != resources.EAUTHENTICATION {
		t.Errorf("reuse of a refresh token must end the whole session: %v", err)
	}
	tk, _ = a.svc.Login(ctx, a.seal(t, creds), from("10.0.0.1"))
	p, _ = a.svc.CheckToken(ctx, tk.AccessToken)
	if err := a.svc.Logout(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := a.svc.CheckToken(ctx, tk.AccessToken); errCode(err) != resources.EAUTHENTICATION {
		t.Errorf("a token after logout: %v", err)
	}
}

// TestThrottling: failures count per client and per (username, client);
// the owner signs in from another client; a success clears the owner's
// count from that client.
func TestThrottling(t *testing.T) {
	a := newApp(t, account.Config{FailuresPerUser: 3, FailuresPerIP: 6})
	ctx := context.Background()
	if _, err := a.accounts.Create(ctx, "carol_1", "the right password", 4); err != nil {
		t.Fatal(err)
	}
	login := func(name, password, ip string) error {
		_, err := a.svc.Login(ctx, a.seal(t, map[string]any{"username": name, "password": password}), from(ip))
		return err
	}
	for range 3 {
		_ = login("carol_1", "a wrong password", "10.0.0.1")
	}
	if err := login("carol_1", "the right password", "10.0.0.1"); errCode(err) != resources.ERATELIMITED {
		t.Errorf("the failing client: %v", err)
	}
	if err := login("carol_1", "the right password", "10.0.0.2"); err != nil {
		t.Errorf("the owner from elsewhere: %v", err)
	}
	for i := range 3 {
		_ = login("Carol_"+strings.Repeat("x", i), "a wrong password", "10.0.0.3")
	}
	if err := login("carol_1", "the right password", "10.0.0.3"); err != nil {
		t.Errorf("case variants must count against their client only: %v", err)
	}
	for i := range 6 {
		_ = login("nobody_"+strings.Repeat("z", i+1), "a wrong password", "10.0.0.4")
	}
	if err := login("carol_1", "the right password", "10.0.0.4"); errCode(err) != resources.ERATELIMITED {
		t.Errorf("a client over its own limit: %v", err)
	}
}

// TestPasswordChangeAndDeletion: a password change ends every other session
// and the old password; a deletion ends the account's sessions.
func TestPasswordChangeAndDeletion(t *testing.T) {
	a := newApp(t, account.Config{})
	ctx := context.Background()
	creds := map[string]any{"username": "dave_1", "password": "the first password"}
	first, err := a.svc.Register(ctx, a.seal(t, creds), from("10.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	second, _ := a.svc.Login(ctx, a.seal(t, creds), from("10.0.0.2"))
	p, _ := a.svc.CheckToken(ctx, first.AccessToken)
	change := a.seal(t, map[string]any{"old_password": "the first password", "new_password": "the second password"})
	if err := a.svc.ChangePassword(ctx, p, change, "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.svc.CheckToken(ctx, second.AccessToken); errCode(err) != resources.EAUTHENTICATION {
		t.Errorf("another session after the change: %v", err)
	}
	if _, err := a.svc.CheckToken(ctx, first.AccessToken); err != nil {
		t.Errorf("the changing session: %v", err)
	}
	if _, err := a.svc.Login(ctx, a.seal(t, creds), from("10.0.0.5")); errCode(err) != resources.EAUTHENTICATION {
		t.Errorf("the old password: %v", err)
	}
	if err := a.svc.DeleteAccount(ctx, p, a.seal(t, map[string]any{"password": "the second password"}), "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.svc.CheckToken(ctx, first.AccessToken); errCode(err) != resources.EAUTHENTICATION {
		t.Errorf("a session of a deleted account: %v", err)
	}
}

// TestRacingPasswordChanges: two sessions change the password at once with
// the same old one: exactly one change takes, and the password is the one
// it set.
func TestRacingPasswordChanges(t *testing.T) {
	a := newApp(t, account.Config{})
	ctx := context.Background()
	for round := range 8 {
		name := "racer_" + strings.Repeat("r", round+1)
		creds := map[string]any{"username": name, "password": "the old password"}
		first, err := a.svc.Register(ctx, a.seal(t, creds), from("10.0.1.1"))
		if err != nil {
			t.Fatal(err)
		}
		second, _ := a.svc.Login(ctx, a.seal(t, creds), from("10.0.1.2"))
		var callers []resources.Principal
		var bodies []string
		for i, tk := range []account.Tokens{first, second} {
			p, err := a.svc.CheckToken(ctx, tk.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			callers = append(callers, p)
			bodies = append(bodies, a.seal(t, map[string]any{"old_password": "the old password", "new_password": fmt.Sprintf("new password number %d", i)}))
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range callers {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = a.svc.ChangePassword(ctx, callers[i], bodies[i], "10.0.1.3") }()
		}
		wg.Wait()
		won := -1
		for i, err := range errs {
			if err == nil {
				if won >= 0 {
					t.Fatalf("round %d: both changes took", round)
				}
				won = i
			}
		}
		if won < 0 {
			t.Fatalf("round %d: no change took: %v", round, errs)
		}
		_, err = a.svc.Login(ctx, a.seal(t, map[string]any{"username": name, "password": fmt.Sprintf("new password number %d", won)}), from("10.0.1.4"))
		if err != nil {
			t.Errorf("round %d: the winner's password does not log in: %v", round, err)
		}
	}
}
