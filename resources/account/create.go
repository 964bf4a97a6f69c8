package account

import (
	"context"
	"errors"

	"github.com/tnt/gateway/policy"
	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/mail"
)

// NewUserRequest is an administrator's creation of an account: the
// encrypted payload {"username", "password"?, "email"?, "level"?, profile
// fields} and the address it comes from (for the audit trail).
type NewUserRequest struct {
	Payload string
	IP      string
}

// CreateUser makes an account for an administrator who manages users
// (API.md §11): at a level numerically above the caller's (4 by default),
// with the profile fields validated as at registration. The account and its
// audit entry are written in one transaction. Without a password the user
// is invited: a mail to the given email carries a token with which the user
// chooses a password (as with a reset); without a mail server that answers
// 503 and nothing is made.
func (a *Service) CreateUser(ctx context.Context, p resources.Principal, req NewUserRequest) (resources.Document, error) {
	if err := a.mayManageUsers(p); err != nil {
		return nil, err
	}
	m, err := a.openPayload(ctx, req.Payload)
	if err != nil {
		return nil, err
	}
	username, password := textField(m, "username"), textField(m, "password")
	level := int64(policy.User)
	if v, given := m["level"]; given {
		n, isInt := resources.AsInt(v)
		if !isInt || n <= int64(p.Level) || n > resources.GuestLevel {
			return nil, resources.Errorf(resources.EVALUE, "level must be a whole number from %d to %d: above your own", p.Level+1, resources.GuestLevel)
		}
		level = n
	}
	if username == "" {
		return nil, resources.Errorf(resources.ECREATION, "username is required for creating profile")
	}
	invite := password == ""
	if invite {
		if a.mailer == nil {
			return nil, resources.Errorf(resources.EUNAVAILABLE, "no mail server is configured to invite the user: give a password")
		}
		if textField(m, fieldEmail) == "" {
			return nil, resources.Errorf(resources.ECREATION, "an invitation goes to the user's email: give email, or a password")
		}
	}
	profile, err := a.newAccount(m, username, password, "level")
	if err != nil {
		return nil, err
	}
	u, err := a.accounts.createAudited(ctx, username, password, int(level), profile, resources.AuditEntry{Actor: p, IP: req.IP, Action: "create_user"})
	if err != nil {
		return nil, takenName(err, username, profile)
	}
	if invite {
		token, err := a.issueToken(ctx, oneTime{userID: u.ID, purpose: purposeReset, stamp: stampOf(u.PasswordHash)},
			&resources.AuditEntry{Actor: p, IP: req.IP, Action: "invite_user", Target: u.ID, Detail: resources.Document{"username": username}})
		if err != nil {
			return nil, err
		}
		if err := a.mailer.Send(mail.Invite, resources.AsString(profile[fieldEmail]), mail.Data{Username: username, Token: token, Minutes: tokenMinutes}); err != nil {
			return nil, resources.Errorf(resources.EUNAVAILABLE, "the user was made but the invitation could not be queued; send a password reset")
		}
	}
	out := u.Document()
	delete(out, resources.FieldPasswordHash)
	out["level_name"] = policy.Level(u.Level).String()
	out[resources.FieldEmailVerified], out["mfa"] = false, map[string]bool{"totp": false}
	return out, nil
}

// createAudited stores a new user and the audit entry of its creation in
// one transaction (the entry's target and detail are filled in here).
func (a *Accounts) createAudited(ctx context.Context, username, password string, level int, profile resources.Document, entry resources.AuditEntry) (resources.User, error) {
	hash := "" // an invited user's: no password signs in until one is chosen
	if password != "" {
		h, err := a.hasher.Hash(ctx, password)
		if err != nil {
			return resources.User{}, busy(err)
		}
		hash = h
	}
	u := a.newUser(username, hash, level, profile)
	entry.Target, entry.At = u.ID, a.now()
	entry.Detail = resources.Document{"username": username, "level": int64(level), "invited": password == ""}
	err := a.store.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error {
		if err := tx.Insert(ctx, resources.UsersCollection, u.Document()); err != nil {
			return err
		}
		return resources.WriteAudit(ctx, tx, entry)
	})
	return u, err
}

// ValidateNewPassword applies the password rules (length, not the
// username, not a common password) to a new password of an account.
func ValidateNewPassword(username, password string) error {
	return loadBlocklist().check(username, password)
}

// ResetPassword sets a new password for the account named username, by an
// operator (the CLI) with no old password, and audits it in the same
// transaction. The caller then ends the account's sessions; a login that
// raced the reset fails its own check of the stored credential.
func (a *Accounts) ResetPassword(ctx context.Context, username, password string, entry resources.AuditEntry) (resources.User, error) {
	u, found, err := resources.FindUser(ctx, a.store, username)
	if err != nil {
		return resources.User{}, err
	}
	if !found {
		return resources.User{}, resources.Errorf(resources.ENOTFOUND, "no user is named %s", resources.QuoteName(username))
	}
	entry.Detail = resources.Document{"username": username}
	return a.replacePassword(ctx, u.ID, password, func(context.Context, resources.Tx, resources.User) error { return nil }, entry)
}

// replacePassword sets a new password for the account userID names, by a
// means other than the old password (a reset token), and audits it, in one
// transaction; check runs in that transaction on the account as stored and
// may refuse. The new password is hashed before the transaction.
func (a *Accounts) replacePassword(ctx context.Context, userID, password string, check func(ctx context.Context, tx resources.Tx, u resources.User) error, entry resources.AuditEntry) (resources.User, error) {
	hash, err := a.hasher.Hash(ctx, password)
	if err != nil {
		return resources.User{}, busy(err)
	}
	var u resources.User
	err = a.store.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error {
		found, err := resources.LoadUser(ctx, tx, userID)
		if errors.Is(err, resources.ErrNotFound) {
			return resources.Errorf(resources.ENOTFOUND, "the account no longer exists")
		}
		if err != nil {
			return err
		}
		if err := check(ctx, tx, found); err != nil {
			return err
		}
		u = found
		if _, err := tx.Update(ctx, resources.UsersCollection, u.ID,
			resources.Document{resources.FieldPasswordHash: hash, resources.FieldUpdatedAt: resources.FormatTime(a.now())}, nil); err != nil {
			return err
		}
		entry.Target, entry.At = u.ID, a.now()
		return resources.WriteAudit(ctx, tx, entry)
	})
	return u, err
}
