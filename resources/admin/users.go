package admin

import (
	"context"
	"errors"

	"github.com/tnt/gateway/policy"
	"github.com/tnt/gateway/resources"
)

// LevelChange sets a user's level.
type LevelChange struct {
	UserID string
	Level  int64
	IP     string
}

// UserDeletion removes a user.
type UserDeletion struct {
	UserID string
	IP     string
}

// userView is a user as an administrator sees it: the profile as the
// caller's own query of profiles would show it (no credential, no binding,
// private fields only with read_private), and always its level, which the
// user administration exists to manage, whether its email is verified and
// whether it signs in with a second factor.
func (a *Admin) userView(p resources.Principal, profile *resources.Schema, d resources.Document) resources.Document {
	out := resources.Project(a.auth, p, profile, d)
	out[resources.FieldLevel] = d[resources.FieldLevel]
	out[resources.FieldEmailVerified] = d[resources.FieldEmailVerified] == true
	out["mfa"] = map[string]bool{"totp": resources.AsString(d[resources.FieldMFATOTP]) != ""}
	return out
}

// ListUsers lists users with their levels, filtered and paged like a query
// of profiles (`?level=2`, `?username:contains=ad`, `find`, `after`), under
// the same rules: a caller who may not read profiles' private fields
// neither sees them nor filters or sorts by them (the level excepted).
func (a *Admin) ListUsers(ctx context.Context, p resources.Principal, params map[string][]string) (resources.Result, error) {
	if err := a.require(p, objUsers, actManage); err != nil {
		return resources.Result{}, err
	}
	profile, err := a.reg.Schema("profile")
	if err != nil {
		return resources.Result{}, err
	}
	data, err := profile.QueryFromParams(params)
	if err != nil {
		return resources.Result{}, err
	}
	q, err := profile.ParseQuery(data, a.maxPage)
	if err != nil {
		return resources.Result{}, err
	}
	if err := resources.CheckPrivateUse(a.auth, p, profile, withoutLevel(q)); err != nil {
		return resources.Result{}, err
	}
	docs, next, err := resources.FindPage(ctx, a.store, resources.UsersCollection, q)
	if err != nil {
		return resources.Result{}, err
	}
	out := make([]resources.Document, len(docs))
	for i, d := range docs {
		out[i] = a.userView(p, profile, d)
	}
	return resources.Result{Data: out, Next: next}, nil
}

// withoutLevel is q without its conditions and order on the level, which
// the user administration may always use.
func withoutLevel(q resources.Query) resources.Query {
	out := q
	out.Conditions = nil
	for _, c := range q.Conditions {
		if c.Path != resources.FieldLevel {
			out.Conditions = append(out.Conditions, c)
		}
	}
	if out.SortPath == resources.FieldLevel {
		out.SortPath = resources.FieldID
	}
	return out
}

// target loads a user an administrator acts on, and refuses acting on a
// peer or a superior (a level numerically at or below the caller's).
func target(ctx context.Context, g resources.Getter, p resources.Principal, id string) (resources.User, error) {
	if !resources.ValidID(id) {
		return resources.User{}, resources.Errorf(resources.ENOTFOUND, "profile with _id %s cannot be found", resources.QuoteName(id))
	}
	u, err := resources.LoadUser(ctx, g, id)
	if errors.Is(err, resources.ErrNotFound) {
		return resources.User{}, resources.Errorf(resources.ENOTFOUND, "profile with _id %s cannot be found", id)
	}
	if err != nil {
		return resources.User{}, err
	}
	return u, checkTarget(p, u)
}

// checkTarget refuses acting on a peer or a superior.
func checkTarget(p resources.Principal, u resources.User) error {
	if u.Level <= p.Level {
		return resources.Errorf(resources.EPERMISSION, "level %d cannot act on a user of level %d", p.Level, u.Level)
	}
	return nil
}

// SetLevel changes a user's level. Nobody grants a level at or above their
// own, nobody changes a peer's or a superior's level, and level 0 is made
// only by bootstrap or the CLI. The user's sessions end at once.
func (a *Admin) SetLevel(ctx context.Context, p resources.Principal, req LevelChange) (resources.Document, error) {
	if err := a.require(p, objUsers, actManage); err != nil {
		return nil, err
	}
	if req.Level < 0 || req.Level > resources.GuestLevel {
		return nil, InvalidField("level")
	}
	if req.Level == 0 {
		return nil, resources.Errorf(resources.EPERMISSION, "level 0 is made only by bootstrap or the operator's CLI")
	}
	if int(req.Level) <= p.Level {
		return nil, resources.Errorf(resources.EPERMISSION, "level %d cannot grant level %d", p.Level, req.Level)
	}
	if _, err := target(ctx, a.store, p, req.UserID); err != nil {
		return nil, err
	}
	updated, _, err := a.changeLevel(ctx, p, req.IP, req.UserID, int(req.Level), func(u resources.User) error {
		return checkTarget(p, u)
	})
	if err != nil {
		return nil, err
	}
	profile, err := a.reg.Schema("profile")
	if err != nil {
		return nil, err
	}
	out := a.userView(p, profile, updated)
	out["level_name"] = policy.Level(req.Level).String()
	return out, nil
}

// OperatorLevel is the outcome of SetLevelByOperator.
type OperatorLevel struct {
	UserID string
	From   int
}

// SetLevelByOperator sets a user's level with no rule but the range: the
// operator's CLI, with access to the store itself, is the only way to make
// level 0 besides bootstrap. The act is audited, and the user's sessions end
// at once, as for SetLevel.
func (a *Admin) SetLevelByOperator(ctx context.Context, actor resources.Principal, username string, level int) (OperatorLevel, error) {
	if level < 0 || level > resources.GuestLevel {
		return OperatorLevel{}, resources.Errorf(resources.EVALUE, "level must be 0 to 5")
	}
	u, found, err := resources.FindUser(ctx, a.store, username)
	if err != nil {
		return OperatorLevel{}, err
	}
	if !found {
		return OperatorLevel{}, resources.Errorf(resources.ENOTFOUND, "no user is named %s", resources.QuoteName(username))
	}
	_, was, err := a.changeLevel(ctx, actor, "local", u.ID, level, func(resources.User) error { return nil })
	return OperatorLevel{UserID: u.ID, From: was.Level}, err
}

// changeLevel sets a user's level after check accepts the user as read in
// the transaction, audits it there, and ends the user's sessions before and
// after: no session outlives the change with the old level, whatever runs
// in between. It returns the user as stored afterwards and as it was.
func (a *Admin) changeLevel(ctx context.Context, p resources.Principal, ip, id string, level int,
	check func(resources.User) error) (resources.Document, resources.User, error) {
	if _, err := a.sessions.RevokeUser(ctx, id, ""); err != nil {
		return nil, resources.User{}, err
	}
	var out resources.Document
	var was resources.User
	err := a.store.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error {
		u, err := resources.LoadUser(ctx, tx, id)
		if errors.Is(err, resources.ErrNotFound) {
			return resources.Errorf(resources.ENOTFOUND, "profile with _id %s cannot be found", id)
		}
		if err != nil {
			return err
		}
		if err := check(u); err != nil {
			return err
		}
		was = u
		out, err = tx.Update(ctx, resources.UsersCollection, id,
			resources.Document{resources.FieldLevel: int64(level), resources.FieldUpdatedAt: resources.FormatTime(a.now())}, nil)
		if err != nil {
			return err
		}
		return a.audit(ctx, tx, p, ip, "set_level", id, resources.Document{"from": int64(u.Level), "to": int64(level), "username": u.Username})
	})
	if err != nil {
		return nil, was, err
	}
	if _, err := a.sessions.RevokeUser(ctx, id, ""); err != nil {
		return nil, was, err
	}
	return out, was, nil
}

// DeleteUser removes a user of a lower level and ends their sessions.
func (a *Admin) DeleteUser(ctx context.Context, p resources.Principal, req UserDeletion) error {
	if err := a.require(p, objUsers, actManage); err != nil {
		return err
	}
	if _, err := target(ctx, a.store, p, req.UserID); err != nil {
		return err
	}
	if _, err := a.sessions.RevokeUser(ctx, req.UserID, ""); err != nil {
		return err
	}
	err := a.store.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error {
		u, err := target(ctx, tx, p, req.UserID)
		if err != nil {
			return err
		}
		if err := tx.Delete(ctx, resources.UsersCollection, u.ID); err != nil {
			return err
		}
		return a.audit(ctx, tx, p, req.IP, "delete_user", u.ID, resources.Document{"username": u.Username, "level": int64(u.Level), "balance": u.Balance})
	})
	if err != nil {
		return err
	}
	if a.files != nil {
		a.files.Forget(ctx, resources.UsersCollection, req.UserID)
	}
	_, err = a.sessions.RevokeUser(ctx, req.UserID, "")
	return err
}
