package resources

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/tnt/gateway/crypto"
)

// UsersCollection holds the accounts; the profile resource is their public
// face. Fields beyond the profile schema (the password hash) never leave it.
const UsersCollection = "users"

// Account fields beyond the profile schema.
const (
	fieldUsername     = "username"
	fieldPasswordHash = "password_hash"
	fieldLevel        = "level"
	fieldBalance      = "balance"
)

var usernamePattern = regexp.MustCompile(`^[a-z0-9_]{4,32}$`)

// Password length bounds, in characters (NIST SP 800-63B: at least 8, long
// passphrases welcome, never truncated).
const (
	MinPasswordLen = 8
	MaxPasswordLen = 128
)

// PasswordHasher hashes and verifies passwords (crypto.Hasher).
type PasswordHasher interface {
	Hash(ctx context.Context, password string) (string, error)
	Verify(ctx context.Context, encoded, password string) (ok, rehash bool, err error)
	VerifyDummy(ctx context.Context, password string) error
}

// Accounts authenticates users by password and creates the bootstrap user.
type Accounts struct {
	store  Store
	hasher PasswordHasher
	cache  *CredentialCache
	now    func() time.Time
}

// NewAccounts builds the account service. cache may be nil (no caching).
func NewAccounts(store Store, hasher PasswordHasher, cache *CredentialCache, now func() time.Time) *Accounts {
	if now == nil {
		now = time.Now
	}
	return &Accounts{store: store, hasher: hasher, cache: cache, now: now}
}

// ValidateCredentials checks a new username and password against the rules
// of the contract.
func ValidateCredentials(username, password string) error {
	if !usernamePattern.MatchString(username) {
		return Errorf(EVALUE, "username must be 4 to 32 characters of a-z, 0-9 and _")
	}
	n := utf8.RuneCountInString(password)
	if !utf8.ValidString(password) || n < MinPasswordLen || n > MaxPasswordLen {
		return Errorf(EVALUE, "password must be %d to %d characters", MinPasswordLen, MaxPasswordLen)
	}
	if password == username {
		return Errorf(EVALUE, "password cannot be the username")
	}
	return nil
}

// Bootstrap creates a level-0 user when none exists. It reports whether it
// created one. A taken username is an error: the operator must pick another
// or promote that user with the CLI. Replicas starting at once race to
// create the same user; the losers find it made and go on.
func (a *Accounts) Bootstrap(ctx context.Context, username, password string) (bool, error) {
	exists, err := a.hasLevelZero(ctx)
	if err != nil || exists {
		return false, err
	}
	if err := ValidateCredentials(username, password); err != nil {
		return false, fmt.Errorf("bootstrap user: %s", ErrorMessage(err))
	}
	_, err = a.Create(ctx, username, password, 0)
	var dup *DuplicateError
	if errors.As(err, &dup) {
		if exists, err := a.hasLevelZero(ctx); err != nil || exists {
			return false, err
		}
		return false, fmt.Errorf("bootstrap user: username %s is taken by a user of another level", username)
	}
	return err == nil, err
}

func (a *Accounts) hasLevelZero(ctx context.Context) (bool, error) {
	found, err := a.store.Find(ctx, UsersCollection, Query{
		Conditions: []Condition{{Path: fieldLevel, Op: Equals, Value: int64(0)}},
		SortPath:   FieldID, Limit: 1,
	})
	return len(found) > 0, err
}

// Create stores a new user with the given level and returns its id.
func (a *Accounts) Create(ctx context.Context, username, password string, level int) (string, error) {
	p, err := a.CreateWith(ctx, username, password, level, nil)
	return p.UserID, err
}

// CreateWith stores a new user with extra fields (email, a WeChat binding)
// and returns it as a principal stamped with its credential. An empty
// password stores no hash: no password can log in to the account.
func (a *Accounts) CreateWith(ctx context.Context, username, password string, level int, extra Document) (Principal, error) {
	hash := ""
	if password != "" {
		h, err := a.hasher.Hash(ctx, password)
		if err != nil {
			return Principal{}, busy(err)
		}
		hash = h
	}
	now := a.now()
	doc := Document{
		FieldID:           NewID(now),
		fieldUsername:     username,
		fieldPasswordHash: hash,
		fieldLevel:        int64(level),
		fieldBalance:      int64(0),
		FieldCreatedAt:    FormatTime(now),
		FieldUpdatedAt:    FormatTime(now),
	}
	for k, v := range extra {
		doc[k] = v
	}
	if err := a.store.Insert(ctx, UsersCollection, doc); err != nil {
		return Principal{}, err
	}
	return principalOf(doc), nil
}

// principalOf is the principal a stored user authenticates as.
func principalOf(user Document) Principal {
	level, _ := toInt(user[fieldLevel])
	return Principal{UserID: stringOf(user[FieldID]), Username: stringOf(user[fieldUsername]), Level: int(level),
		Stamp: stampOf(stringOf(user[fieldPasswordHash]))}
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
func (a *Accounts) Current(ctx context.Context, p Principal) error {
	user, err := a.store.Get(ctx, UsersCollection, p.UserID)
	if errors.Is(err, ErrNotFound) {
		return errBadCredentials()
	}
	if err != nil {
		return err
	}
	if now := principalOf(user); now.Level != p.Level || subtle.ConstantTimeCompare([]byte(now.Stamp), []byte(p.Stamp)) != 1 {
		return errBadCredentials()
	}
	return nil
}

func (a *Accounts) findByUsername(ctx context.Context, username string) (Document, error) {
	docs, err := a.store.Find(ctx, UsersCollection, Query{
		Conditions: []Condition{{Path: fieldUsername, Op: Equals, Value: username}},
		SortPath:   FieldID, Limit: 1,
	})
	if err != nil || len(docs) == 0 {
		return nil, err
	}
	return docs[0], nil
}

// errBadCredentials is one answer for unknown users and wrong passwords.
func errBadCredentials() error {
	return Errorf(EAUTHENTICATION, "invalid username or password")
}

// Authenticate checks a username and password and returns the principal
// with the user's current level. Unknown users and wrong passwords get the
// same error after the same work. A verified pair is remembered for a short
// time (keyed by a keyed hash, tied to the stored hash) so that a console
// making many calls pays argon2id once; the user is still read on every call,
// so a level change, password change or deletion applies at once.
func (a *Accounts) Authenticate(ctx context.Context, username, password string) (Principal, error) {
	return a.authenticate(ctx, username, password, true)
}

// AuthenticateFresh is Authenticate without the cache: every call pays the
// password hash. Logins use it, so that a login always costs what a guess
// costs and the hashing bound protects the service.
func (a *Accounts) AuthenticateFresh(ctx context.Context, username, password string) (Principal, error) {
	return a.authenticate(ctx, username, password, false)
}

func (a *Accounts) authenticate(ctx context.Context, username, password string, cached bool) (Principal, error) {
	if len(username) > 64 || len(password) > 4*MaxPasswordLen {
		return Principal{}, errBadCredentials()
	}
	user, err := a.findByUsername(ctx, username)
	if err != nil {
		return Principal{}, err
	}
	if user == nil {
		if err := a.hasher.VerifyDummy(ctx, password); err != nil {
			return Principal{}, busy(err)
		}
		return Principal{}, errBadCredentials()
	}
	stored := stringOf(user[fieldPasswordHash])
	cache := a.cache
	if !cached {
		cache = nil
	}
	key := cache.key(username, password)
	if !cache.hit(key, stored, a.now()) {
		ok, rehash, err := a.hasher.Verify(ctx, stored, password)
		if err != nil {
			return Principal{}, busy(err)
		}
		if !ok {
			return Principal{}, errBadCredentials()
		}
		if rehash {
			if user, err = a.upgradeHash(ctx, stringOf(user[FieldID]), stored, password); err != nil {
				return Principal{}, err
			}
			stored = stringOf(user[fieldPasswordHash])
		}
		cache.put(key, stored, a.now())
	}
	return principalOf(user), nil
}

// upgradeHash replaces a legacy or weaker hash after a successful login,
// only if the stored hash is still the one just verified: a password
// changed meanwhile is never overwritten with the old password.
func (a *Accounts) upgradeHash(ctx context.Context, userID, verified, password string) (Document, error) {
	hash, err := a.hasher.Hash(ctx, password)
	if err != nil {
		return nil, busy(err)
	}
	var out Document
	err = a.store.WithTx(ctx, func(ctx context.Context, tx Tx) error {
		user, err := tx.Get(ctx, UsersCollection, userID)
		if errors.Is(err, ErrNotFound) {
			return errBadCredentials()
		}
		if err != nil {
			return err
		}
		if stringOf(user[fieldPasswordHash]) != verified {
			return errBadCredentials()
		}
		out, err = tx.Update(ctx, UsersCollection, userID, Document{fieldPasswordHash: hash, FieldUpdatedAt: FormatTime(a.now())}, nil)
		return err
	})
	return out, err
}

// busy turns a hasher that has no free slot into a 503 with Retry-After.
func busy(err error) error {
	if errors.Is(err, crypto.ErrHasherBusy) {
		return &RetryError{Err: Errorf(EUNAVAILABLE, "too many logins at once; try again shortly"), After: 2 * time.Second}
	}
	return err
}

// SetPassword replaces a user's password hash.
func (a *Accounts) SetPassword(ctx context.Context, userID, password string) error {
	hash, err := a.hasher.Hash(ctx, password)
	if err != nil {
		return busy(err)
	}
	_, err = a.store.Update(ctx, UsersCollection, userID, Document{fieldPasswordHash: hash, FieldUpdatedAt: FormatTime(a.now())}, nil)
	return err
}

// User returns a user's stored document (with its secrets: callers project).
func (a *Accounts) User(ctx context.Context, userID string) (Document, error) {
	return a.store.Get(ctx, UsersCollection, userID)
}

// FindUser returns the user with the username, or nil.
func (a *Accounts) FindUser(ctx context.Context, username string) (Document, error) {
	return a.findByUsername(ctx, username)
}

// Delete removes a user.
func (a *Accounts) Delete(ctx context.Context, userID string) error {
	return a.store.Delete(ctx, UsersCollection, userID)
}

// SetLevelDirect sets a user's level with no rule but the range, for the
// operator's CLI (the only way to make level 0 besides bootstrap). The act
// is audited in the same transaction.
func (a *Accounts) SetLevelDirect(ctx context.Context, username string, level int, actor Principal) (string, int, error) {
	if level < 0 || level > GuestLevel {
		return "", 0, Errorf(EVALUE, "level must be 0 to 5")
	}
	var id string
	var from int64
	err := a.store.WithTx(ctx, func(ctx context.Context, tx Tx) error {
		docs, err := tx.Find(ctx, UsersCollection, Query{Conditions: []Condition{{Path: fieldUsername, Op: Equals, Value: username}}, SortPath: FieldID, Limit: 1})
		if err != nil {
			return err
		}
		if len(docs) == 0 {
			return Errorf(ENOTFOUND, "no user is named %s", quoteName(username))
		}
		id = stringOf(docs[0][FieldID])
		from, _ = toInt(docs[0][fieldLevel])
		if _, err := tx.Update(ctx, UsersCollection, id, Document{fieldLevel: int64(level), FieldUpdatedAt: FormatTime(a.now())}, nil); err != nil {
			return err
		}
		return AuditAct(ctx, tx, a.now(), actor, "local", "set_level", id, Document{"from": from, "to": int64(level), "username": username})
	})
	return id, int(from), err
}
