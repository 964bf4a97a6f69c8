package account

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/tnt/gateway/crypto"
	"github.com/tnt/gateway/resources"
)

// PasswordHasher hashes and verifies passwords (crypto.Hasher).
type PasswordHasher interface {
	Hash(ctx context.Context, password string) (string, error)
	Verify(ctx context.Context, encoded, password string) (ok, rehash bool, err error)
	VerifyDummy(ctx context.Context, password string) error
}

// Accounts creates users and authenticates them by password.
type Accounts struct {
	store  resources.Store
	hasher PasswordHasher
	cache  *CredentialCache
	now    func() time.Time
}

// NewAccounts builds the account store. cache may be nil (no caching).
func NewAccounts(store resources.Store, hasher PasswordHasher, cache *CredentialCache, now func() time.Time) *Accounts {
	if now == nil {
		now = time.Now
	}
	return &Accounts{store: store, hasher: hasher, cache: cache, now: now}
}

// Bootstrap creates a level-0 user when none exists. It reports whether it
// created one. A taken username is an error: the operator must pick another
// (the name is reserved from the first start, so only an account made
// before it was configured can hold it; nothing advises promoting that
// account, which may not be the operator's). Replicas starting at once race to
// create the same user; the losers find it made and go on. The absence of
// a level-0 user is checked again after the password hash, where the user
// is inserted.
func (a *Accounts) Bootstrap(ctx context.Context, username, password string) (bool, error) {
	exists, err := a.HasLevelZero(ctx)
	if err != nil || exists {
		return false, err
	}
	if err := ValidateCredentials(username, password); err != nil {
		return false, fmt.Errorf("bootstrap user: %s", resources.ErrorMessage(err))
	}
	_, err = a.CreateFirstDBA(ctx, username, password, FirstDBAVia{Action: "bootstrap", IP: "local", Means: "GATEWAY_BOOTSTRAP_USER"})
	if resources.ErrorCode(err) == resources.ECONFLICT {
		return false, nil // another replica, or the CLI, made one meanwhile
	}
	var dup *resources.DuplicateError
	if errors.As(err, &dup) {
		if exists, err := a.HasLevelZero(ctx); err != nil || exists {
			return false, err
		}
		return false, fmt.Errorf("bootstrap user: username %s is taken by an existing account; set GATEWAY_BOOTSTRAP_USER to another name", username)
	}
	return err == nil, err
}

// HasLevelZero reports whether a level-0 user exists.
func (a *Accounts) HasLevelZero(ctx context.Context) (bool, error) {
	found, err := a.store.Find(ctx, resources.UsersCollection, levelZeroQuery())
	return len(found) > 0, err
}

// Create stores a new user with the given level and returns its id.
func (a *Accounts) Create(ctx context.Context, username, password string, level int) (string, error) {
	p, err := a.CreateWith(ctx, username, password, level, nil)
	return p.UserID, err
}

// CreateWith stores a new user with profile fields (an email, a WeChat
// binding) and returns it as a principal stamped with its credential. An
// empty password stores no hash: no password can log in to the account.
func (a *Accounts) CreateWith(ctx context.Context, username, password string, level int, profile resources.Document) (resources.Principal, error) {
	hash := ""
	if password != "" {
		h, err := a.hasher.Hash(ctx, password)
		if err != nil {
			return resources.Principal{}, busy(err)
		}
		hash = h
	}
	u := a.newUser(username, hash, level, profile)
	if err := a.store.Insert(ctx, resources.UsersCollection, u.Document()); err != nil {
		return resources.Principal{}, err
	}
	return principalOf(u), nil
}

func (a *Accounts) newUser(username, hash string, level int, profile resources.Document) resources.User {
	now := resources.FormatTime(a.now())
	return resources.User{
		ID: resources.NewID(a.now()), Username: username, PasswordHash: hash, Level: level,
		CreatedAt: now, UpdatedAt: now, Profile: profile,
	}
}

// FirstDBAVia says how the first level-0 user came to be, for the audit
// trail: the action, the client address and the means (the setup link, the
// bootstrap setting).
type FirstDBAVia struct {
	Action, IP, Means string
}

// CreateFirstDBA stores a level-0 user only while none exists, and audits
// it in the same transaction. The password is hashed first; the check that
// no level-0 user exists is made after the hash, in the transaction that
// inserts, so a DBA made meanwhile (by the CLI) is seen and the creation
// refused with 409.
func (a *Accounts) CreateFirstDBA(ctx context.Context, username, password string, via FirstDBAVia) (resources.Principal, error) {
	// The first start bootstraps before the administration prepares its
	// collections: the audit trail may not exist yet.
	if err := a.store.EnsureCollection(ctx, resources.AuditSpec); err != nil {
		return resources.Principal{}, err
	}
	hash, err := a.hasher.Hash(ctx, password)
	if err != nil {
		return resources.Principal{}, busy(err)
	}
	u := a.newUser(username, hash, 0, nil)
	err = a.store.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error {
		found, err := tx.Find(ctx, resources.UsersCollection, levelZeroQuery())
		if err != nil {
			return err
		}
		if len(found) > 0 {
			return resources.Errorf(resources.ECONFLICT, "the gateway has a level-0 user already; sign in with it")
		}
		if err := tx.Insert(ctx, resources.UsersCollection, u.Document()); err != nil {
			return err
		}
		return resources.WriteAudit(ctx, tx, resources.AuditEntry{Actor: principalOf(u), IP: via.IP, Action: via.Action, Target: u.ID,
			Detail: resources.Document{"username": username, "via": via.Means}, At: a.now()})
	})
	if err != nil {
		return resources.Principal{}, err
	}
	return principalOf(u), nil
}

// levelZeroQuery finds one level-0 user.
func levelZeroQuery() resources.Query {
	return resources.Query{
		Conditions: []resources.Condition{{Path: resources.FieldLevel, Op: resources.Equals, Value: int64(0)}},
		SortPath:   resources.FieldID, Limit: 1,
	}
}

// principalOf is the principal a stored user authenticates as.
func principalOf(u resources.User) resources.Principal {
	return resources.Principal{UserID: u.ID, Username: u.Username, Level: u.Level, Stamp: stampOf(u.PasswordHash)}
}

// stampOf digests a stored password hash into the principal's stamp.
func stampOf(storedHash string) string {
	sum := sha256.Sum256([]byte("stamp\x00" + storedHash))
	return hex.EncodeToString(sum[:16])
}

// Current checks that a principal from a password login (or a registration)
// still describes the stored user: same user, same level, same credential.
// Session creation calls it after the session exists, so that an admin act
// that lands at any moment of a login either sees the session (and ends it)
// or is seen here.
func (a *Accounts) Current(ctx context.Context, p resources.Principal) error {
	return a.currentIn(ctx, a.store, p)
}

// currentIn is Current, reading through g (a store or a transaction).
func (a *Accounts) currentIn(ctx context.Context, g resources.Getter, p resources.Principal) error {
	u, err := resources.LoadUser(ctx, g, p.UserID)
	if errors.Is(err, resources.ErrNotFound) {
		return errBadCredentials()
	}
	if err != nil {
		return err
	}
	if now := principalOf(u); now.Level != p.Level || subtle.ConstantTimeCompare([]byte(now.Stamp), []byte(p.Stamp)) != 1 {
		return errBadCredentials()
	}
	return nil
}

// errBadCredentials is one answer for unknown users and wrong passwords.
func errBadCredentials() error {
	return failed(ReasonCredentials, resources.Errorf(resources.EAUTHENTICATION, "invalid username or password"))
}

// Authenticate checks a username and password and returns the principal
// with the user's current level. Unknown users and wrong passwords get the
// same error after the same work. A verified pair is remembered for a short
// time (keyed by a keyed hash, tied to the stored hash) so that a console
// making many calls pays argon2id once; the user is still read on every call,
// so a level change, password change or deletion applies at once.
func (a *Accounts) Authenticate(ctx context.Context, username, password string) (resources.Principal, error) {
	u, err := a.authenticate(ctx, byUsername(username), password, true)
	return principalOf(u), err
}

// AuthenticateFresh is Authenticate without the cache: every call pays the
// password hash. Logins use it, so that a login always costs what a guess
// costs and the hashing bound protects the service.
func (a *Accounts) AuthenticateFresh(ctx context.Context, username, password string) (resources.Principal, error) {
	u, err := a.authenticate(ctx, byUsername(username), password, false)
	return principalOf(u), err
}

// authenticate checks a password for the account an identity names (by
// username or by email) and returns the account as it read it.
func (a *Accounts) authenticate(ctx context.Context, id identity, password string, cached bool) (resources.User, error) {
	if len(id.value) > 254 || len(password) > 4*MaxPasswordLen {
		return resources.User{}, errBadCredentials()
	}
	u, found, err := resources.FindUserBy(ctx, a.store, id.field, id.value)
	if err != nil {
		return resources.User{}, err
	}
	if !found {
		if err := a.hasher.VerifyDummy(ctx, password); err != nil {
			return resources.User{}, busy(err)
		}
		return resources.User{}, errBadCredentials()
	}
	cache := a.cache
	if !cached {
		cache = nil
	}
	key := cache.key(id.field+":"+id.value, password)
	if !cache.hit(key, u.PasswordHash, a.now()) {
		ok, rehash, err := a.hasher.Verify(ctx, u.PasswordHash, password)
		if err != nil {
			return resources.User{}, busy(err)
		}
		if !ok {
			return resources.User{}, errBadCredentials()
		}
		if rehash {
			if u, err = a.upgradeHash(ctx, u.ID, u.PasswordHash, password); err != nil {
				return resources.User{}, err
			}
		}
		cache.put(key, u.PasswordHash, a.now())
	}
	return u, nil
}

// upgradeHash replaces a legacy or weaker hash after a successful login,
// only if the stored hash is still the one just verified: a password
// changed meanwhile is never overwritten with the old password.
func (a *Accounts) upgradeHash(ctx context.Context, userID, verified, password string) (resources.User, error) {
	hash, err := a.hasher.Hash(ctx, password)
	if err != nil {
		return resources.User{}, busy(err)
	}
	var out resources.User
	err = a.store.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error {
		u, err := resources.LoadUser(ctx, tx, userID)
		if errors.Is(err, resources.ErrNotFound) {
			return errBadCredentials()
		}
		if err != nil {
			return err
		}
		if u.PasswordHash != verified {
			return errBadCredentials()
		}
		d, err := tx.Update(ctx, resources.UsersCollection, userID,
			resources.Document{resources.FieldPasswordHash: hash, resources.FieldUpdatedAt: resources.FormatTime(a.now())}, nil)
		out = resources.UserFrom(d)
		return err
	})
	return out, err
}

// busy turns a hasher that has no free slot into a 503 with Retry-After.
func busy(err error) error {
	if errors.Is(err, crypto.ErrHasherBusy) {
		return &resources.RetryError{Err: resources.Errorf(resources.EUNAVAILABLE, "too many logins at once; try again shortly"), After: 2 * time.Second}
	}
	return err
}

// SetPassword replaces the password of the user p names, if the stored
// credential is still the one p was authenticated with (its stamp): a
// password changed meanwhile is never overwritten.
func (a *Accounts) SetPassword(ctx context.Context, p resources.Principal, password string) error {
	hash, err := a.hasher.Hash(ctx, password)
	if err != nil {
		return busy(err)
	}
	return a.store.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error {
		if err := a.currentIn(ctx, tx, p); err != nil {
			return err
		}
		_, err := tx.Update(ctx, resources.UsersCollection, p.UserID,
			resources.Document{resources.FieldPasswordHash: hash, resources.FieldUpdatedAt: resources.FormatTime(a.now())}, nil)
		return err
	})
}

// Delete removes the user p names, if its stored credential and level are
// still the ones p was authenticated with.
func (a *Accounts) Delete(ctx context.Context, p resources.Principal) error {
	return a.store.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error {
		if err := a.currentIn(ctx, tx, p); err != nil {
			return err
		}
		return tx.Delete(ctx, resources.UsersCollection, p.UserID)
	})
}
