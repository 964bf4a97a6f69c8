// Package admin holds the tools of the upper levels: users and their levels,
// collections, the runtime policy and its edits, the audit trail, backup and
// restore. It takes typed requests, returns typed results, knows nothing of
// HTTP and imports no other area: it reaches sessions and the credential
// cache through the small interfaces below.
package admin

import (
	"context"
	"time"

	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/files"
	"github.com/tnt/gateway/resources/session"
)

// Administration rights (objects and actions of the policy).
const (
	objPolicy      = "policy"
	objUsers       = "users"
	objCollections = "collections"
	objAudit       = "audit"
	objDatabase    = "database"
	actManage      = "manage"
	actDrop        = "drop"
	actRead        = "read"
	actBackup      = "backup"
	actRestore     = "restore"
)

// Sessions lists and ends sessions (session.Store).
type Sessions interface {
	List(ctx context.Context, userID string) ([]session.Session, error)
	RevokeUser(ctx context.Context, userID, keep string) (int, error)
	RevokeAll(ctx context.Context, keep string) (int, error)
}

// CredentialCache forgets verified credentials after a bulk change
// (account.CredentialCache); nil when there is none.
type CredentialCache interface {
	Clear()
}

// Deps are the parts the administration works with.
type Deps struct {
	Store    resources.Store
	Registry *resources.Registry
	Auth     resources.Authorizer
	Sessions Sessions
	Policy   PolicyEditor
	// Credentials may be nil.
	Credentials CredentialCache
	// MaxPage is the most users or audit entries one page holds.
	MaxPage int
	// ArchiveKey returns the secret that authenticates backup archives and
	// its id (crypto.Keyring); without it, backup and restore are refused.
	ArchiveKey func() (kid string, secret []byte)
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Files removes the files of deleted users and dropped collections
	// (files.Service); may be nil.
	Files Files
	// Blobs are where files live, for backups and restores; nil, or files
	// in an S3 store (which keeps them itself), leaves them out of
	// archives.
	Blobs files.Blobs
}

// Files removes files whose documents are gone.
type Files interface {
	Forget(ctx context.Context, collection, id string)
	ForgetCollection(ctx context.Context, collection string)
}

// Admin holds the tools of the upper levels. Build it with New.
type Admin struct {
	store    resources.Store
	reg      *resources.Registry
	auth     resources.Authorizer
	sessions Sessions
	policy   PolicyEditor
	creds    CredentialCache
	now      func() time.Time
	maxPage  int
	audits   *resources.Schema // how audit entries are filtered and paged
	archive  func() (string, []byte)
	files    Files
	blobs    files.Blobs
}

// New builds the administration.
func New(d Deps) *Admin {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.MaxPage <= 0 {
		d.MaxPage = 1000
	}
	return &Admin{store: d.Store, reg: d.Registry, auth: d.Auth, sessions: d.Sessions, policy: d.Policy, creds: d.Credentials,
		now: d.Now, maxPage: d.MaxPage, audits: auditSchema(), archive: d.ArchiveKey, files: d.Files, blobs: d.Blobs}
}

// Prepare creates the settings collection, the audit trail and every other
// collection of the gateway's own that a backup holds.
func (a *Admin) Prepare(ctx context.Context) error {
	for _, spec := range []resources.CollectionSpec{{Name: resources.SettingsCollection}, resources.AuditSpec, resources.IdempotencySpec,
		resources.FilesSpec, resources.FileUsageSpec} {
		if err := a.store.EnsureCollection(ctx, spec); err != nil {
			return err
		}
	}
	return nil
}

func (a *Admin) require(p resources.Principal, object, action string) error {
	return resources.Require(a.auth, p, object, action, action+" "+object)
}

func (a *Admin) audit(ctx context.Context, tx resources.Tx, p resources.Principal, ip, action, target string, detail resources.Document) error {
	return resources.WriteAudit(ctx, tx, resources.AuditEntry{Actor: p, IP: ip, Action: action, Target: target, Detail: detail, At: a.now()})
}

// InvalidField is the error for a request field whose value breaks its rule
// (or has the wrong type): the same words whoever finds it, the
// administration or the code that decodes a request.
func InvalidField(name string) error {
	switch name {
	case "level":
		return resources.Errorf(resources.EVALUE, "level must be a whole number from 1 to 5")
	case "lines":
		return resources.Errorf(resources.EVALUE, "lines must be a list of 1 to %d policy lines", maxPolicyLines)
	}
	return resources.Errorf(resources.EVALUE, "%s is not valid", resources.QuoteName(name))
}

// InvalidLine is the error for a policy line that is not text of at most
// 512 characters.
func InvalidLine(i int) error {
	return resources.Errorf(resources.EVALUE, "lines[%d] must be a policy line of at most %d characters", i, maxPolicyLine)
}
