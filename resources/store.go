package resources

import (
	"context"
	"errors"
)

// The gateway's own collections, beside those of declared resources.
const (
	// UsersCollection holds the accounts; the profile resource is their
	// public face. Fields beyond the profile schema (the password hash)
	// never leave it.
	UsersCollection = "users"
	// RecordsCollection is the ledger: transaction records, written only
	// by the wallet.
	RecordsCollection = "transaction_record"
	// AuditCollection is the audit trail of privileged acts.
	AuditCollection = "audit"
	// IdempotencyCollection keeps the first result of each Idempotency-Key.
	IdempotencyCollection = "idempotency"
	// SettingsCollection holds settings every replica shares (the policy).
	SettingsCollection = "settings"
	// FilesCollection records each stored file: who uploaded it and its
	// size, for the uploader's quota.
	FilesCollection = "files"
	// FileUsageCollection holds the bytes of files each user uploaded.
	FileUsageCollection = "file_usage"
)

// FilesSpec and FileUsageSpec are the collections of file records and of
// each user's bytes.
var (
	FilesSpec     = CollectionSpec{Name: FilesCollection, Indexed: []string{"user"}}
	FileUsageSpec = CollectionSpec{Name: FileUsageCollection}
)

// IdempotencySpec is the collection of Idempotency-Keys, swept by age.
var IdempotencySpec = CollectionSpec{Name: IdempotencyCollection, Indexed: []string{FieldCreatedAt}}

// Getter reads one document (a Store or a Tx).
type Getter interface {
	Get(ctx context.Context, coll, id string) (Document, error)
}

// CollectionSpec tells a store what a collection needs: its unique keys
// and the paths queries filter and sort on.
type CollectionSpec struct {
	Name string
	// Unique lists the paths whose values no two documents share (a
	// document without the path takes no part).
	Unique  []string
	Indexed []string
}

// Store keeps documents. Backends (resources/sqlite, resources/mongo) pass
// the same conformance suite (resources/storetest). Every value they receive
// has been validated; they never see client JSON.
//
// Errors: ErrNotFound for an unknown id, *DuplicateError for a unique-key
// collision, ErrUnavailable (wrapped) when the store cannot be reached.
type Store interface {
	// EnsureCollection creates the collection and its indexes if missing.
	EnsureCollection(ctx context.Context, spec CollectionSpec) error
	// Insert stores a new document; doc carries its _id.
	Insert(ctx context.Context, coll string, doc Document) error
	// Get returns one document by id.
	Get(ctx context.Context, coll, id string) (Document, error)
	// Find returns at most q.Limit documents that match q, in q's order.
	Find(ctx context.Context, coll string, q Query) ([]Document, error)
	// Update sets and removes top-level fields of one document atomically
	// and returns the document as stored afterwards.
	Update(ctx context.Context, coll, id string, set Document, unset []string) (Document, error)
	// Delete removes one document.
	Delete(ctx context.Context, coll, id string) error
	// Drop removes every document of a collection, keeping its indexes.
	Drop(ctx context.Context, coll string) error
	// Ping reports whether the store is reachable.
	Ping(ctx context.Context) error
	// WithTx runs fn atomically: all of its writes or none. fn may run more
	// than once (MongoDB retries transient conflicts), so it must have no
	// effect outside tx and must use only the ctx and tx it is given.
	WithTx(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error
	// ReadSnapshot runs fn on a read-only, consistent view of the store
	// that does not hold up writers (backups read through it).
	ReadSnapshot(ctx context.Context, fn func(ctx context.Context, r Tx) error) error
}

// Tx is the part of a store usable inside a transaction. Reads see the
// transaction's own writes; a read-modify-write of a document inside one
// transaction is never lost to a concurrent one.
type Tx interface {
	Get(ctx context.Context, coll, id string) (Document, error)
	Insert(ctx context.Context, coll string, doc Document) error
	Update(ctx context.Context, coll, id string, set Document, unset []string) (Document, error)
	Find(ctx context.Context, coll string, q Query) ([]Document, error)
	Delete(ctx context.Context, coll, id string) error
	Drop(ctx context.Context, coll string) error
}

// SpecFor returns the collection spec a resource needs.
func SpecFor(s *Schema) CollectionSpec {
	return CollectionSpec{Name: s.Collection, Unique: s.UniquePaths(), Indexed: s.IndexedPaths()}
}

// RawFinder is a store that can hand over query results as the JSON text it
// keeps, so that results can be projected and sent without decoding. A store
// without it is served through Find.
type RawFinder interface {
	// FindRaw runs q and calls each with every document's JSON text, in
	// the query's order. The bytes are valid only during the call (the
	// backend may reuse them), and an error from each stops the query.
	FindRaw(ctx context.Context, coll string, q Query, each func(doc []byte) error) error
}

// Versioned is a store that can tell cheaply whether anything was written
// to it since: Version returns a value that differs from every earlier
// one once any write has been committed, by any process. A store that
// cannot tell returns an error, and its queries are never cached.
type Versioned interface {
	Version(ctx context.Context) (uint64, error)
}

// ErrNoVersion is the answer of a store that keeps no version.
var ErrNoVersion = errors.New("the store keeps no version")

// VersionOf asks s for its version: how a decorator passes its store's
// version through. A store that is not Versioned answers ErrNoVersion.
func VersionOf(ctx context.Context, s Store) (uint64, error) {
	if v, ok := s.(Versioned); ok {
		return v.Version(ctx)
	}
	return 0, ErrNoVersion
}
