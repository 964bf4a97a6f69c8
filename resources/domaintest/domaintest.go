// Package domaintest gives the domain packages' tests the real parts they
// run on: a SQLite document store and a SQLite session store on fresh files,
// the registry of built-in resources, the default policy, a keyring and
// light password hashing. Nothing here is a stand-in.
package domaintest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tnt/gateway/crypto"
	"github.com/tnt/gateway/policy"
	"github.com/tnt/gateway/resources"
	sessionsqlite "github.com/tnt/gateway/resources/session/sqlite"
	"github.com/tnt/gateway/resources/sqlite"
	"github.com/tnt/gateway/resources/wallet"
)

// Kit is a set of real parts on fresh files, closed when the test ends.
type Kit struct {
	Store    *sqlite.Store
	Sessions *sessionsqlite.Store
	// DBPath and SessionsPath are the two SQLite files, for tests that
	// look inside them or lock them.
	DBPath, SessionsPath string
	Registry             *resources.Registry
	Policy               *policy.Holder
	Keyring              *crypto.Keyring
	Hasher               *crypto.Hasher
	Ctx                  context.Context
}

// MustOpen builds a kit; extra, when not empty, is a resources file.
func MustOpen(tb testing.TB, extra string) *Kit {
	tb.Helper()
	return MustOpenWith(tb, extra, "")
}

// MustOpenWith builds a kit with a resources file and a policy file (the
// default policy when empty), as an operator's configuration gives them.
func MustOpenWith(tb testing.TB, resourcesFile, policyFile string) *Kit {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	reg, err := resources.NewRegistry([]byte(resourcesFile))
	if err != nil {
		tb.Fatal(err)
	}
	if policyFile == "" {
		policyFile = policy.DefaultPolicy()
	}
	rules, err := policy.ParseRules(policyFile)
	if err != nil {
		tb.Fatal(err)
	}
	holder, err := policy.NewHolder(policy.Config{Rules: rules, Groups: reg.Groups(), Actions: append(resources.EngineActions(), wallet.Actions()...)})
	if err != nil {
		tb.Fatal(err)
	}
	dbPath, sessionsPath := filepath.Join(dir, "gateway.db"), filepath.Join(dir, "sessions.db")
	st, err := sqlite.Open(ctx, dbPath, 2)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	if err := resources.NewService(st, reg, holder, resources.ServiceConfig{}).Prepare(ctx); err != nil {
		tb.Fatal(err)
	}
	sessions, err := sessionsqlite.Open(ctx, sessionsPath, time.Minute)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = sessions.Close() })
	keyring, err := crypto.OpenKeyring(crypto.KeyringConfig{Path: filepath.Join(dir, "keyring.json"), RSABits: 2048, Grace: time.Hour})
	if err != nil {
		tb.Fatal(err)
	}
	hasher, err := crypto.NewHasher(crypto.Argon2Params{MemoryKiB: 256, Time: 1, Threads: 1}, 2)
	if err != nil {
		tb.Fatal(err)
	}
	return &Kit{Store: st, Sessions: sessions, DBPath: dbPath, SessionsPath: sessionsPath, Registry: reg, Policy: holder,
		Keyring: keyring, Hasher: hasher, Ctx: ctx}
}

// User stores an account of the level with a balance, as the account
// package would, and returns it as a principal.
func (k *Kit) User(tb testing.TB, name string, level int, balance int64) resources.Principal {
	tb.Helper()
	hash, err := k.Hasher.Hash(k.Ctx, "a fine long password")
	if err != nil {
		tb.Fatal(err)
	}
	now := resources.FormatTime(time.Now())
	u := resources.User{ID: resources.NewID(time.Now()), Username: name, PasswordHash: hash, Level: level, Balance: balance,
		CreatedAt: now, UpdatedAt: now}
	if err := k.Store.Insert(k.Ctx, resources.UsersCollection, u.Document()); err != nil {
		tb.Fatal(err)
	}
	return resources.Principal{UserID: u.ID, Username: name, Level: level}
}

// Balance reads a user's stored balance.
func (k *Kit) Balance(tb testing.TB, userID string) int64 {
	tb.Helper()
	u, err := resources.LoadUser(k.Ctx, k.Store, userID)
	if err != nil {
		tb.Fatal(err)
	}
	return u.Balance
}
