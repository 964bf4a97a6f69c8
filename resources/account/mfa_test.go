package account_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/tnt/gateway/crypto"
	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/account"
)

// TestSessionsWithoutAFactorMayOnlyEnrol: a level named in MFALevels after
// its users signed in finds their sessions able only to enrol; a session
// opened with the factor is whole.
func TestSessionsWithoutAFactorMayOnlyEnrol(t *testing.T) {
	before := newApp(t, account.Config{})
	// The same stores, restarted with level 4 listed.
	after, err := account.New(account.Deps{Store: before.Store, Registry: before.Registry, Accounts: before.accounts, Sessions: before.Sessions,
		Rights: before.Policy, Tokens: crypto.NewTokens(before.Keyring, crypto.TokenConfig{Issuer: "gateway", Audience: "gateway-api"}),
		Payloads: before.Keyring, Sealer: before.Keyring}, account.Config{MFALevels: []int{4}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := before.Store.EnsureCollection(ctx, resources.AuditSpec); err != nil {
		t.Fatal(err)
	}
	tk, err := before.svc.Register(ctx, before.seal(t, map[string]any{"username": "old_user", "password": "a fine long password"}), from("10.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := after.CheckToken(ctx, tk.AccessToken)
	if err != nil || !p.EnrolOnly {
		t.Fatalf("a session from before the level was listed: %+v %v", p, err)
	}
	en, err := after.EnrolTOTP(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := totp.GenerateCode(en.Secret, time.Now())
	if _, err := after.ConfirmTOTP(ctx, p, code, "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	_, err = after.Login(ctx, before.seal(t, map[string]any{"username": "old_user", "password": "a fine long password"}), from("10.0.0.1"))
	var challenge *resources.DataError
	if !errors.As(err, &challenge) || resources.ErrorCode(err) != resources.EMFAREQUIRED {
		t.Fatalf("a login after enrolling: %v", err)
	}
	token := challenge.Data.(account.MFAChallenge).Token
	next, _ := totp.GenerateCode(en.Secret, time.Now().Add(30*time.Second))
	full, err := after.CompleteMFA(ctx, token, next, from("10.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	if p, err := after.CheckToken(ctx, full.AccessToken); err != nil || p.EnrolOnly || !p.SecondFactor {
		t.Errorf("a session opened with the factor: %+v %v", p, err)
	}
	// The refresh keeps what the session was opened with.
	again, err := after.Refresh(ctx, account.RefreshRequest{Token: full.RefreshToken})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := after.CheckToken(ctx, again.AccessToken); err != nil || p.EnrolOnly {
		t.Errorf("a refreshed session: %+v %v", p, err)
	}
}
