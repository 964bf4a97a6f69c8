package account_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tnt/gateway/crypto"
	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/account"
	"github.com/tnt/gateway/resources/sqlite"
)

// countingHasher counts real verifications, to see what the cache saves.
type countingHasher struct {
	*crypto.Hasher
	verifies atomic.Int64
}

func (c *countingHasher) Verify(ctx context.Context, enc, pw string) (bool, bool, error) {
	c.verifies.Add(1)
	return c.Hasher.Verify(ctx, enc, pw)
}

func newAccounts(t *testing.T) (*account.Accounts, *countingHasher, resources.Store) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gateway.db"), 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	reg, _ := resources.NewRegistry(nil)
	if err := resources.NewService(st, reg, nil, resources.ServiceConfig{}).Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	h, err := crypto.NewHasher(crypto.OWASPParams(), 2)
	if err != nil {
		t.Fatal(err)
	}
	ch := &countingHasher{Hasher: h}
	return account.NewAccounts(st, ch, account.NewCredentialCache(100, time.Minute), nil), ch, st
}

func TestBootstrap(t *testing.T) {
	a, _, _ := newAccounts(t)
	ctx := context.Background()
	if _, err := a.Bootstrap(ctx, "root", "short"); err == nil {
		t.Error("weak bootstrap password accepted")
	}
	created, err := a.Bootstrap(ctx, "rootadmin", "a strong password")
	if err != nil || !created {
		t.Fatalf("bootstrap: %v %v", created, err)
	}
	created, err = a.Bootstrap(ctx, "other_root", "another password")
	if err != nil || created {
		t.Errorf("second bootstrap while a level-0 user exists: %v %v", created, err)
	}
	p, err := a.Authenticate(ctx, "rootadmin", "a strong password")
	if err != nil || p.Level != 0 {
		t.Errorf("bootstrap user login: %+v %v", p, err)
	}
}

func TestAuthenticate(t *testing.T) {
	a, h, st := newAccounts(t)
	ctx := context.Background()
	id, err := a.Create(ctx, "admin1", "first password", 2)
	if err != nil {
		t.Fatal(err)
	}
	_, errUnknown := a.Authenticate(ctx, "nobody", "first password")
	_, errWrong := a.Authenticate(ctx, "admin1", "wrong password")
	if resources.ErrorCode(errUnknown) != resources.EAUTHENTICATION || resources.ErrorMessage(errUnknown) != resources.ErrorMessage(errWrong) {
		t.Errorf("unknown user %v vs wrong password %v", errUnknown, errWrong)
	}

	before := h.verifies.Load()
	for range 5 {
		if p, err := a.Authenticate(ctx, "admin1", "first password"); err != nil || p.UserID != id || p.Level != 2 {
			t.Fatalf("login: %+v %v", p, err)
		}
	}
	if n := h.verifies.Load() - before; n != 1 {
		t.Errorf("5 logins ran %d hash verifications, want 1 (cached)", n)
	}

	// A level change applies on the very next call, cache or not.
	if _, err := st.Update(ctx, resources.UsersCollection, id, resources.Document{"level": int64(4)}, nil); err != nil {
		t.Fatal(err)
	}
	if p, _ := a.Authenticate(ctx, "admin1", "first password"); p.Level != 4 {
		t.Errorf("level after demotion: %d", p.Level)
	}
	// A password change voids the cached entry.
	newHash, _ := h.Hash(ctx, "second password")
	if _, err := st.Update(ctx, resources.UsersCollection, id, resources.Document{"password_hash": newHash}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, "admin1", "first password"); resources.ErrorCode(err) != resources.EAUTHENTICATION {
		t.Errorf("old password after change: %v", err)
	}
	if _, err := a.Authenticate(ctx, "admin1", "second password"); err != nil {
		t.Errorf("new password: %v", err)
	}
	// Deletion: refused at once.
	if err := st.Delete(ctx, resources.UsersCollection, id); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, "admin1", "second password"); resources.ErrorCode(err) != resources.EAUTHENTICATION {
		t.Errorf("deleted user: %v", err)
	}
}

func TestLegacyHashUpgradedAtLogin(t *testing.T) {
	a, _, st := newAccounts(t)
	ctx := context.Background()
	sum := sha256.Sum256([]byte("legacy password"))
	id := resources.NewID(time.Now())
	if err := st.Insert(ctx, resources.UsersCollection, resources.Document{
		"_id": id, "username": "oldtimer", "password_hash": hex.EncodeToString(sum[:]), "level": int64(2)}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, "oldtimer", "legacy password"); err != nil {
		t.Fatalf("legacy login: %v", err)
	}
	doc, _ := st.Get(ctx, resources.UsersCollection, id)
	if h, _ := doc["password_hash"].(string); !strings.HasPrefix(h, "$argon2id$") {
		t.Errorf("hash not upgraded: %q", h)
	}
	if _, err := a.Authenticate(ctx, "oldtimer", "legacy password"); err != nil {
		t.Errorf("login after upgrade: %v", err)
	}
}

// TestBootstrapRace: replicas starting at once with the same bootstrap user
// all start; one of them made the user.
func TestBootstrapRace(t *testing.T) {
	a, _, _ := newAccounts(t)
	ctx := context.Background()
	var created atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			made, err := a.Bootstrap(ctx, "rootadmin", "a strong password")
			if made {
				created.Add(1)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a replica failed to start: %v", err)
		}
	}
	if created.Load() != 1 {
		t.Errorf("%d replicas created the bootstrap user", created.Load())
	}
}

// hookedHasher runs a hook before each hash it computes: a password change
// landing while a login upgrades a legacy hash.
type hookedHasher struct {
	*crypto.Hasher
	beforeHash func()
}

func (h *hookedHasher) Hash(ctx context.Context, pw string) (string, error) {
	if h.beforeHash != nil {
		h.beforeHash()
	}
	return h.Hasher.Hash(ctx, pw)
}

// TestLegacyUpgradeNeverOverwritesANewerPassword: the upgrade of a legacy
// hash after a login writes only if the stored hash is still the one the
// login verified; a password changed meanwhile stays, and the login fails.
func TestLegacyUpgradeNeverOverwritesANewerPassword(t *testing.T) {
	_, inner, st := newAccounts(t)
	ctx := context.Background()
	newer, _ := inner.Hash(ctx, "the newer password")
	hh := &hookedHasher{Hasher: inner.Hasher}
	a := account.NewAccounts(st, hh, nil, nil)
	sum := sha256.Sum256([]byte("legacy password"))
	id := resources.NewID(time.Now())
	if err := st.Insert(ctx, resources.UsersCollection, resources.Document{
		"_id": id, "username": "raced_user", "password_hash": hex.EncodeToString(sum[:]), "level": int64(4)}); err != nil {
		t.Fatal(err)
	}
	hh.beforeHash = func() {
		if _, err := st.Update(ctx, resources.UsersCollection, id, resources.Document{"password_hash": newer}, nil); err != nil {
			t.Error(err)
		}
	}
	if _, err := a.AuthenticateFresh(ctx, "raced_user", "legacy password"); resources.ErrorCode(err) != resources.EAUTHENTICATION {
		t.Errorf("a login whose password changed while it upgraded the hash: %v", err)
	}
	doc, _ := st.Get(ctx, resources.UsersCollection, id)
	if doc["password_hash"] != newer {
		t.Errorf("the newer password's hash was overwritten: %v", doc["password_hash"])
	}
}

// TestCurrentSeesEveryChange: a principal from a login is current until the
// user's level, password or existence changes.
func TestCurrentSeesEveryChange(t *testing.T) {
	a, h, st := newAccounts(t)
	ctx := context.Background()
	for _, change := range []func(id string) error{
		func(id string) error {
			_, err := st.Update(ctx, resources.UsersCollection, id, resources.Document{"level": int64(3)}, nil)
			return err
		},
		func(id string) error {
			hash, _ := h.Hash(ctx, "another password")
			_, err := st.Update(ctx, resources.UsersCollection, id, resources.Document{"password_hash": hash}, nil)
			return err
		},
		func(id string) error { return st.Delete(ctx, resources.UsersCollection, id) },
	} {
		name := "u" + resources.NewID(time.Now())[16:]
		if _, err := a.Create(ctx, name, "a first password", 4); err != nil {
			t.Fatal(err)
		}
		p, err := a.AuthenticateFresh(ctx, name, "a first password")
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Current(ctx, p); err != nil {
			t.Fatalf("unchanged user: %v", err)
		}
		if err := change(p.UserID); err != nil {
			t.Fatal(err)
		}
		if err := a.Current(ctx, p); resources.ErrorCode(err) != resources.EAUTHENTICATION {
			t.Errorf("after the change: %v", err)
		}
	}
}
