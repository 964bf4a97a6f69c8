package resources

import (
	"context"
	"fmt"
	"strings"
)

// Fields of an account that every area relies on; the profile resource
// declares the others.
const (
	FieldUsername     = "username"
	FieldPasswordHash = "password_hash"
	FieldLevel        = "level"
	FieldBalance      = "balance"
	// FieldEmailVerified is true once the account's owner proved the
	// email address with a mailed token; a change of email clears it.
	FieldEmailVerified = "email_verified"
	// FieldMFATOTP holds the account's TOTP secret, sealed; an account
	// with it signs in with a second factor.
	FieldMFATOTP = "mfa_totp"
)

// AccountFields are the fields the gateway keeps in an account beside its
// profile; a resources file may not declare them on the profile, so no
// client writes or reads them through it.
func AccountFields() []string {
	return []string{FieldPasswordHash, FieldEmailVerified, FieldMFATOTP, "mfa_pending", "mfa_step", "mfa_recovery", "wechat_openid"}
}

// User is an account as the store keeps it, translated at the store edge:
// the fixed fields every area relies on, and the rest (the profile fields,
// a WeChat binding) as stored.
type User struct {
	ID           string
	Username     string
	PasswordHash string
	Level        int
	Balance      int64
	CreatedAt    string
	UpdatedAt    string
	// Profile holds every other stored field.
	Profile Document
}

// UserFrom reads a stored account.
func UserFrom(d Document) User {
	level, _ := AsInt(d[FieldLevel])
	balance, _ := AsInt(d[FieldBalance])
	u := User{
		ID: AsString(d[FieldID]), Username: AsString(d[FieldUsername]), PasswordHash: AsString(d[FieldPasswordHash]),
		Level: int(level), Balance: balance, CreatedAt: AsString(d[FieldCreatedAt]), UpdatedAt: AsString(d[FieldUpdatedAt]),
		Profile: Document{},
	}
	for k, v := range d {
		switch k {
		case FieldID, FieldUsername, FieldPasswordHash, FieldLevel, FieldBalance, FieldCreatedAt, FieldUpdatedAt:
		default:
			u.Profile[k] = v
		}
	}
	return u
}

// Document is the account as the store keeps it.
func (u User) Document() Document {
	d := make(Document, len(u.Profile)+7)
	for k, v := range u.Profile {
		d[k] = v
	}
	d[FieldID], d[FieldUsername], d[FieldPasswordHash] = u.ID, u.Username, u.PasswordHash
	d[FieldLevel], d[FieldBalance] = int64(u.Level), u.Balance
	d[FieldCreatedAt], d[FieldUpdatedAt] = u.CreatedAt, u.UpdatedAt
	return d
}

// Finder runs queries (a Store or a Tx).
type Finder interface {
	Find(ctx context.Context, coll string, q Query) ([]Document, error)
}

// LoadUser reads an account by id; ErrNotFound when there is none.
func LoadUser(ctx context.Context, g Getter, id string) (User, error) {
	d, err := g.Get(ctx, UsersCollection, id)
	if err != nil {
		return User{}, err
	}
	return UserFrom(d), nil
}

// FindUser reads the account with the username; found is false when there
// is none.
func FindUser(ctx context.Context, f Finder, username string) (u User, found bool, err error) {
	return FindUserBy(ctx, f, FieldUsername, username)
}

// FindUserBy reads the account whose unique field (username, email) holds
// value, as stored; found is false when there is none.
func FindUserBy(ctx context.Context, f Finder, field, value string) (u User, found bool, err error) {
	docs, err := f.Find(ctx, UsersCollection, Query{
		Conditions: []Condition{{Path: field, Op: Equals, Value: value}},
		SortPath:   FieldID, Limit: 1,
	})
	if err != nil || len(docs) == 0 {
		return User{}, false, err
	}
	return UserFrom(docs[0]), true, nil
}

// NeedFields checks that a resource declares the fields code relies on,
// with their types, so that the built-in schemas (or a resources file
// extending them) and the code cannot drift apart unnoticed: a mismatch
// stops the start with the field named.
func NeedFields(reg *Registry, resource string, fields map[string]FieldType) error {
	sc, err := reg.Schema(resource)
	if err != nil {
		return fmt.Errorf("resource %s is required: %w", resource, err)
	}
	for path, want := range fields {
		f := lookupDeclared(sc, path)
		if f == nil {
			return fmt.Errorf("resource %s must declare %s (%s)", resource, path, want)
		}
		if f.Type != want {
			return fmt.Errorf("resource %s: %s must be of type %s, not %s", resource, path, want, f.Type)
		}
	}
	return nil
}

// lookupDeclared finds a declared field by dot path, through objects and
// through the objects a list holds.
func lookupDeclared(sc *Schema, path string) *Field {
	fields := sc.Fields
	var f *Field
	for part := range strings.SplitSeq(path, ".") {
		if fields == nil {
			return nil
		}
		if f = fields[part]; f == nil {
			return nil
		}
		fields = f.Fields
		if f.Type == TypeArray && f.Items != nil {
			fields = f.Items.Fields
		}
	}
	return f
}
