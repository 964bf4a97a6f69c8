package resources

import (
	"context"
	"errors"
	"net/url"
	"time"
)

// Collections of the administration.
const (
	SettingsCollection = "settings"
	policySettingID    = "policy"
)

// Administration rights (objects and actions of the policy).
const (
	objPolicy      = "policy"
	objCollections = "collections"
	objAudit       = "audit"
	objDatabase    = "database"
	actManage      = "manage"
	actDrop        = "drop"
	actRead        = "read"
	actBackup      = "backup"
	actRestore     = "restore"
)

// PolicyEditor checks and applies whole policies (policy.Holder).
type PolicyEditor interface {
	// Lines and Version are the policy in force.
	Lines() []string
	Version() int64
	// Base is the configured policy, in force while none is stored.
	Base() []string
	// CheckEdit decides whether a caller of the level may replace current
	// with proposed (API.md §8): an application error says why not
	// (InvalidResourceValueError for lines that are no policy,
	// PermissionDeniedError for an edit the level may not make).
	CheckEdit(level int, current, proposed []string) error
	// Check decides whether lines form a policy that may be in force.
	Check(lines []string) error
	// Apply puts lines in force with their stored version.
	Apply(lines []string, version int64) error
}

// sessionRevoker ends sessions (session.Store).
type sessionRevoker interface {
	RevokeUser(ctx context.Context, userID, keep string) (int, error)
	RevokeAll(ctx context.Context, keep string) (int, error)
}

// Admin holds the tools of the upper levels: users and levels, collections,
// the runtime policy, the audit trail, backup and restore.
type Admin struct {
	store    Store
	reg      *Registry
	auth     Authorizer
	sessions sessionRevoker
	policy   PolicyEditor
	creds    *CredentialCache
	now      func() time.Time
	maxPage  int
	audits   *Schema // how audit entries are filtered and paged
}

// NewAdmin builds the administration service.
func NewAdmin(store Store, reg *Registry, auth Authorizer, sessions sessionRevoker, policy PolicyEditor, creds *CredentialCache, maxPage int, now func() time.Time) *Admin {
	if now == nil {
		now = time.Now
	}
	if maxPage <= 0 {
		maxPage = 1000
	}
	return &Admin{store: store, reg: reg, auth: auth, sessions: sessions, policy: policy, creds: creds, now: now, maxPage: maxPage,
		audits: auditSchema()}
}

// Prepare creates the settings collection.
func (a *Admin) Prepare(ctx context.Context) error {
	return a.store.EnsureCollection(ctx, CollectionSpec{Name: SettingsCollection})
}

func (a *Admin) require(p Principal, object, action string) error {
	return requireRight(a.auth, p, object, action, action+" "+object)
}

func (a *Admin) audit(ctx context.Context, tx Tx, p Principal, ip, action, target string, detail Document) error {
	return AuditAct(ctx, tx, a.now(), p, ip, action, target, detail)
}

// userView is a user as administrators see it: no credential.
func userView(u Document) Document {
	out := Document{}
	for k, v := range u {
		if k != fieldPasswordHash && k != "wechat_openid" {
			out[k] = v
		}
	}
	return out
}

// ListUsers lists users with their levels, filtered and paged like a query
// of profiles (`?level=2`, `?username:contains=ad`, `find`, `after`).
func (a *Admin) ListUsers(ctx context.Context, p Principal, params url.Values) (Result, error) {
	if err := a.require(p, objUsers, actManage); err != nil {
		return Result{}, err
	}
	profile, err := a.reg.Schema("profile")
	if err != nil {
		return Result{}, err
	}
	data, err := profile.QueryFromURL(params)
	if err != nil {
		return Result{}, err
	}
	q, err := profile.ParseQuery(data, a.maxPage)
	if err != nil {
		return Result{}, err
	}
	docs, next, err := findPage(ctx, a.store, UsersCollection, q)
	if err != nil {
		return Result{}, err
	}
	out := make([]Document, len(docs))
	for i, d := range docs {
		out[i] = userView(d)
	}
	return Result{Data: out, Next: next}, nil
}

// target loads a user an administrator acts on, and refuses acting on a
// peer or a superior (a level numerically at or below the caller's).
func (a *Admin) target(ctx context.Context, g getter, p Principal, id string) (Document, error) {
	if !ValidID(id) {
		return nil, Errorf(ENOTFOUND, "profile with _id %s cannot be found", quoteName(id))
	}
	u, err := g.Get(ctx, UsersCollection, id)
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(ENOTFOUND, "profile with _id %s cannot be found", id)
	}
	if err != nil {
		return nil, err
	}
	if lvl, _ := toInt(u[fieldLevel]); int(lvl) <= p.Level {
		return nil, Errorf(EPERMISSION, "level %d cannot act on a user of level %d", p.Level, lvl)
	}
	return u, nil
}

// SetLevel changes a user's level. Nobody grants a level at or above their
// own, nobody changes a peer's or a superior's level, and level 0 is made
// only by bootstrap or the CLI. The user's sessions end at once.
func (a *Admin) SetLevel(ctx context.Context, p Principal, id string, body any, ip string) (Document, error) {
	if err := a.require(p, objUsers, actManage); err != nil {
		return nil, err
	}
	m, err := fields(body, "level")
	if err != nil {
		return nil, err
	}
	level, ok := toInt(m["level"])
	if !ok || level < 0 || level > GuestLevel {
		return nil, Errorf(EVALUE, "level must be a whole number from 1 to 5")
	}
	if level == 0 {
		return nil, Errorf(EPERMISSION, "level 0 is made only by bootstrap or the operator's CLI")
	}
	if int(level) <= p.Level {
		return nil, Errorf(EPERMISSION, "level %d cannot grant level %d", p.Level, level)
	}
	if _, err := a.target(ctx, a.store, p, id); err != nil {
		return nil, err
	}
	// Sessions end before and after the change: no session outlives it
	// with the old level, whatever runs in between.
	if _, err := a.sessions.RevokeUser(ctx, id, ""); err != nil {
		return nil, err
	}
	var out Document
	err = a.store.WithTx(ctx, func(ctx context.Context, tx Tx) error {
		u, err := a.target(ctx, tx, p, id)
		if err != nil {
			return err
		}
		from, _ := toInt(u[fieldLevel])
		updated, err := tx.Update(ctx, UsersCollection, id, Document{fieldLevel: level, FieldUpdatedAt: FormatTime(a.now())}, nil)
		if err != nil {
			return err
		}
		out = userView(updated)
		return a.audit(ctx, tx, p, ip, "set_level", id, Document{"from": from, "to": level, "username": u[fieldUsername]})
	})
	if err != nil {
		return nil, err
	}
	if _, err := a.sessions.RevokeUser(ctx, id, ""); err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteUser removes a user of a lower level and ends their sessions.
func (a *Admin) DeleteUser(ctx context.Context, p Principal, id, ip string) error {
	if err := a.require(p, objUsers, actManage); err != nil {
		return err
	}
	if _, err := a.target(ctx, a.store, p, id); err != nil {
		return err
	}
	if _, err := a.sessions.RevokeUser(ctx, id, ""); err != nil {
		return err
	}
	err := a.store.WithTx(ctx, func(ctx context.Context, tx Tx) error {
		u, err := a.target(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if err := tx.Delete(ctx, UsersCollection, id); err != nil {
			return err
		}
		return a.audit(ctx, tx, p, ip, "delete_user", id, Document{"username": u[fieldUsername], "level": u[fieldLevel], "balance": u[fieldBalance]})
	})
	if err != nil {
		return err
	}
	_, err = a.sessions.RevokeUser(ctx, id, "")
	return err
}

// DropCollection removes every document of a resource. The confirmation
// must repeat the name; account data (profiles, transaction records) cannot
// be dropped this way.
func (a *Admin) DropCollection(ctx context.Context, p Principal, resource, confirm, ip string) (Document, error) {
	if err := a.require(p, objCollections, actDrop); err != nil {
		return nil, err
	}
	sc, err := a.reg.Schema(resource)
	if err != nil {
		return nil, err
	}
	if confirm != resource {
		return nil, Errorf(EINVALIDREQUEST, "confirm=%s is required for the request", resource)
	}
	if sc.Collection == UsersCollection || sc.Collection == RecordsCollection {
		return nil, Errorf(EPERMISSION, "%s holds account data and cannot be dropped", resource)
	}
	err = a.store.WithTx(ctx, func(ctx context.Context, tx Tx) error {
		if err := tx.Drop(ctx, sc.Collection); err != nil {
			return err
		}
		return a.audit(ctx, tx, p, ip, "drop_collection", resource, nil)
	})
	if err != nil {
		return nil, err
	}
	return Document{"dropped": resource}, nil
}

// Policy returns the policy in force.
func (a *Admin) Policy(p Principal) (Document, error) {
	if err := a.require(p, objPolicy, actManage); err != nil {
		return nil, err
	}
	return Document{"lines": a.policy.Lines(), "version": a.policy.Version()}, nil
}

// ReplacePolicy checks a whole new policy, stores it with the next version
// and applies it; other replicas pick the version up (SyncPolicy). The edit
// is checked inside the transaction that stores it, against the policy
// stored there, so two editors racing each other cannot both pass a check
// against a policy the other is replacing.
func (a *Admin) ReplacePolicy(ctx context.Context, p Principal, body any, ip string) (Document, error) {
	if err := a.require(p, objPolicy, actManage); err != nil {
		return nil, err
	}
	m, err := fields(body, "lines")
	if err != nil {
		return nil, err
	}
	raw, ok := m["lines"].([]any)
	if !ok || len(raw) == 0 || len(raw) > 2000 {
		return nil, Errorf(EVALUE, "lines must be a list of 1 to 2000 policy lines")
	}
	lines := make([]string, len(raw))
	for i, l := range raw {
		s, ok := l.(string)
		if !ok || len(s) > 512 {
			return nil, Errorf(EVALUE, "lines[%d] must be a policy line of at most 512 characters", i)
		}
		lines[i] = s
	}
	var version int64
	err = a.store.WithTx(ctx, func(ctx context.Context, tx Tx) error {
		current, stored, err := storedPolicy(ctx, tx)
		if err != nil {
			return err
		}
		if stored == 0 {
			current = a.policy.Base()
		}
		if err := a.policy.CheckEdit(p.Level, current, lines); err != nil {
			return err
		}
		version = stored + 1
		if err := writePolicy(ctx, tx, lines, version, a.now(), p.UserID); err != nil {
			return err
		}
		return a.audit(ctx, tx, p, ip, "replace_policy", "policy", Document{"version": version, "lines": int64(len(lines))})
	})
	if err != nil {
		return nil, err
	}
	if err := a.policy.Apply(lines, version); err != nil {
		return nil, err
	}
	return Document{"lines": a.policy.Lines(), "version": version}, nil
}

// storedPolicy reads the stored policy and its version (0: none stored).
func storedPolicy(ctx context.Context, g getter) ([]string, int64, error) {
	cur, err := g.Get(ctx, SettingsCollection, policySettingID)
	if errors.Is(err, ErrNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	v, _ := toInt(cur["version"])
	raw, _ := cur["lines"].([]any)
	lines := make([]string, 0, len(raw))
	for _, l := range raw {
		lines = append(lines, stringOf(l))
	}
	return lines, v, nil
}

// writePolicy stores lines as the policy of the version.
func writePolicy(ctx context.Context, tx Tx, lines []string, version int64, now time.Time, by string) error {
	stored := make([]any, len(lines))
	for i, l := range lines {
		stored[i] = l
	}
	doc := Document{"lines": stored, "version": version, FieldUpdatedAt: FormatTime(now), "by": by}
	_, err := tx.Get(ctx, SettingsCollection, policySettingID)
	switch {
	case err == nil:
		_, err = tx.Update(ctx, SettingsCollection, policySettingID, doc, nil)
		return err
	case !errors.Is(err, ErrNotFound):
		return err
	}
	doc[FieldID] = policySettingID
	return tx.Insert(ctx, SettingsCollection, doc)
}

// SyncPolicy applies the stored policy when it is newer than the one in
// force. Every replica calls it at start and then every few seconds.
func (a *Admin) SyncPolicy(ctx context.Context) error {
	lines, v, err := storedPolicy(ctx, a.store)
	if err != nil || v <= a.policy.Version() {
		return err
	}
	return a.policy.Apply(lines, v)
}

// Audit lists the audit trail, newest first (`?action=…&actor=…&target=…`,
// `find`, `after`). Nothing in the API changes it.
func (a *Admin) Audit(ctx context.Context, p Principal, params url.Values) (Result, error) {
	if err := a.require(p, objAudit, actRead); err != nil {
		return Result{}, err
	}
	sc := a.audits
	data, err := sc.QueryFromURL(params)
	if err != nil {
		return Result{}, err
	}
	if _, has := data[keySort]; !has {
		data[keySort] = "-" + FieldCreatedAt
	}
	q, err := sc.ParseQuery(data, a.maxPage)
	if err != nil {
		return Result{}, err
	}
	docs, next, err := findPage(ctx, a.store, AuditCollection, q)
	if err != nil {
		return Result{}, err
	}
	return Result{Data: docs, Next: next}, nil
}

// auditSchema describes audit entries for filtering and paging.
func auditSchema() *Schema {
	str := func() *Field { return &Field{Type: TypeString} }
	s := &Schema{Name: "audit", Fields: map[string]*Field{
		"actor": str(), "actor_username": str(), "action": str(), "target": str(), "ip": str(),
		"actor_level": {Type: TypeInt},
	}, Operations: []string{OpQuery}}
	if err := s.compile(); err != nil {
		panic(err) // a programming error in the literal above
	}
	return s
}
