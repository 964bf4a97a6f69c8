package account_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tnt/gateway/crypto"
	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/account"
	"github.com/tnt/gateway/resources/domaintest"
)

// newClockedService is an account service whose clock the test moves.
func newClockedService(t *testing.T) (*account.Service, *account.Accounts, *atomic.Int64) {
	t.Helper()
	kit := domaintest.MustOpen(t, "")
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	accounts := account.NewAccounts(kit.Store, kit.Hasher, nil, now)
	svc, err := account.New(account.Deps{Store: kit.Store, Registry: kit.Registry, Accounts: accounts, Sessions: kit.Sessions, Rights: kit.Policy,
		Tokens: crypto.NewTokens(kit.Keyring, crypto.TokenConfig{Issuer: "gateway", Audience: "gateway-api"}), Payloads: kit.Keyring, Sealer: kit.Keyring}, account.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return svc, accounts, &clock
}

// TestSetupLinkMakesOneDBA: the first run's link creates one level-0 user,
// once, and only with its own token, before it expires.
func TestSetupLinkMakesOneDBA(t *testing.T) {
	svc, _, _ := newClockedService(t)
	ctx := context.Background()
	setup, token, err := svc.NewSetup(ctx, time.Hour)
	if err != nil || setup == nil || len(token) < 40 {
		t.Fatalf("setup on an empty gateway: %v %v %q", setup, err, token)
	}
	if pending, err := setup.Pending(ctx, token); err != nil || !pending {
		t.Fatalf("pending: %v %v", pending, err)
	}
	if pending, _ := setup.Pending(ctx, token+"x"); pending {
		t.Fatal("pending for a caller without the token")
	}
	req := account.SetupRequest{Token: token, Username: "first_dba", Password: "a long first password"}

	for name, bad := range map[string]account.SetupRequest{
		"wrong token":     {Token: token[:len(token)-1] + "x", Username: req.Username, Password: req.Password},
		"common password": {Token: token, Username: req.Username, Password: "password123"},
		"bad username":    {Token: token, Username: "No Spaces", Password: req.Password},
	} {
		if _, err := setup.Complete(ctx, bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Racing requests with the right token: exactly one user is made.
	var wg sync.WaitGroup
	var made atomic.Int32
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := req
			r.Username = []string{"first_dba", "second_dba", "third_dba", "fourth_dba"}[i]
			if p, err := setup.Complete(ctx, r); err == nil {
				made.Add(1)
				if p.Level != 0 {
					t.Errorf("setup made level %d", p.Level)
				}
			} else if resources.ErrorCode(err) != resources.EAUTHENTICATION {
				t.Errorf("a losing racer: %v", err)
			}
		}()
	}
	wg.Wait()
	if made.Load() != 1 {
		t.Fatalf("%d users made with one link", made.Load())
	}
	if _, err := setup.Complete(ctx, req); resources.ErrorCode(err) != resources.EAUTHENTICATION {
		t.Errorf("the link used twice: %v", err)
	}
	if pending, _ := setup.Pending(ctx, token); pending {
		t.Error("still pending after use")
	}
	if again, _, err := svc.NewSetup(ctx, time.Hour); err != nil || again != nil {
		t.Errorf("a setup link while a level-0 user exists: %v %v", again, err)
	}
}

// TestSetupLinkExpires: after its time the link makes nobody.
func TestSetupLinkExpires(t *testing.T) {
	svc, _, clock := newClockedService(t)
	ctx := context.Background()
	setup, token, err := svc.NewSetup(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	clock.Add(int64(time.Hour))
	if _, err := setup.Complete(ctx, account.SetupRequest{Token: token, Username: "late_dba", Password: "a long first password"}); resources.ErrorCode(err) != resources.EAUTHENTICATION {
		t.Errorf("an expired link: %v", err)
	}
	if pending, _ := setup.Pending(ctx, token); pending {
		t.Error("an expired link is pending")
	}
}

// TestSetupLinkLosesToTheCLI: once the operator's CLI makes a DBA, the link
// makes nobody, and says why.
func TestSetupLinkLosesToTheCLI(t *testing.T) {
	svc, accounts, _ := newClockedService(t)
	ctx := context.Background()
	setup, token, err := svc.NewSetup(ctx, time.Hour)
	if err != nil || setup == nil {
		t.Fatal(err)
	}
	if created, err := accounts.Bootstrap(ctx, "cli_root", "a long cli password"); err != nil || !created {
		t.Fatalf("bootstrap: %v %v", created, err)
	}
	if _, err := setup.Complete(ctx, account.SetupRequest{Token: token, Username: "link_root", Password: "a long link password"}); resources.ErrorCode(err) != resources.ECONFLICT {
		t.Errorf("the link after the CLI made a DBA: %v", err)
	}
	if pending, _ := setup.Pending(ctx, token); pending {
		t.Error("the link is pending beside a DBA")
	}
	if _, err := accounts.Authenticate(ctx, "link_root", "a long link password"); err == nil {
		t.Error("the link made a second DBA")
	}
}
