package account

import (
	"context"
	"errors"
	"slices"

	"github.com/tnt/gateway/policy"
	"github.com/tnt/gateway/resources"
)

// ChangePassword checks the old password from an encrypted payload, sets
// the new one and revokes every other session of the user. The new hash is
// written only over the one the old password matched: of two changes racing
// each other, the second finds the password changed and fails.
func (a *Service) ChangePassword(ctx context.Context, p resources.Principal, payload string, ip string) error {
	m, checked, err := a.confirmed(ctx, p, payload, ip, "old_password", "new_password")
	if err != nil {
		return err
	}
	next := textField(m, "new_password")
	if err := a.CheckNewPassword(p.Username, next); err != nil {
		return err
	}
	if err := a.accounts.SetPassword(ctx, checked, next); err != nil {
		return err
	}
	_, err = a.sessions.RevokeUser(ctx, p.UserID, p.SessionID)
	return err
}

// DeleteAccount checks the password from an encrypted payload and removes
// the account and all its sessions, if the password is still the one
// checked. Level-0 accounts are removed with the operator's CLI, so the
// last DBA cannot vanish through the API.
func (a *Service) DeleteAccount(ctx context.Context, p resources.Principal, payload string, ip string) error {
	_, checked, err := a.confirmed(ctx, p, payload, ip, "password")
	if err != nil {
		return err
	}
	if checked.Level == 0 {
		return resources.Errorf(resources.EPERMISSION, "a level-0 account is removed with the operator's CLI")
	}
	if err := a.accounts.Delete(ctx, checked); err != nil {
		return err
	}
	if a.files != nil {
		a.files.Forget(ctx, resources.UsersCollection, p.UserID)
	}
	_, err = a.sessions.RevokeUser(ctx, p.UserID, "")
	return err
}

// confirmed opens an encrypted payload holding the caller's password under
// passwordKey (and the other keys named), and checks the password as a
// login does, throttled. It returns the payload and the principal the
// password matched, stamped with the credential it matched.
func (a *Service) confirmed(ctx context.Context, p resources.Principal, payload, ip, passwordKey string, keys ...string) (map[string]any, resources.Principal, error) {
	if err := mustBeUser(p); err != nil {
		return nil, resources.Principal{}, err
	}
	m, err := a.openPayload(ctx, payload)
	if err != nil {
		return nil, resources.Principal{}, err
	}
	if err := allowOnly(m, append(keys, passwordKey)...); err != nil {
		return nil, resources.Principal{}, err
	}
	u, err := a.checkPassword(ctx, byUsername(p.Username), textField(m, passwordKey), client{IP: ip, Known: true})
	return m, principalOf(u), err
}

// Me returns the caller's account: id, username, email, level and its
// name, balance, creation time and profile fields, never a credential; and
// what the caller may do under the policy in force (roles, and permissions
// as "resource:action"), so an app shows only what will not answer 403.
func (a *Service) Me(ctx context.Context, p resources.Principal) (resources.Document, error) {
	if err := mustBeUser(p); err != nil {
		return nil, err
	}
	u, err := resources.LoadUser(ctx, a.store, p.UserID)
	if errors.Is(err, resources.ErrNotFound) {
		return nil, resources.Errorf(resources.EAUTHENTICATION, "the account no longer exists")
	}
	if err != nil {
		return nil, err
	}
	stored := u.Document()
	role := policy.Level(u.Level)
	permissions := []string{}
	if a.rights != nil {
		permissions = append(permissions, a.rights.Permissions(role)...)
	}
	out := resources.Document{resources.FieldID: u.ID, resources.FieldCreatedAt: u.CreatedAt, "level_name": role.String(),
		"roles": []string{role.String()}, "permissions": permissions}
	for _, name := range a.profile.FieldNames() {
		if v, ok := stored[name]; ok {
			out[name] = v
		}
	}
	out[resources.FieldEmailVerified] = stored[resources.FieldEmailVerified] == true
	out["mfa"] = MFAState{TOTP: hasTOTP(u), Required: a.mfaRequired(u.Level),
		RecoveryCodesLeft: len(recoveryHashes(stored[fieldMFARecovery]))}
	return out, nil
}

// MFAState is what /api/account/me says of the account's second factor.
type MFAState struct {
	// TOTP is true when an authenticator is enrolled.
	TOTP bool `json:"totp"`
	// Required is true when the account's level must have a second factor.
	Required bool `json:"required"`
	// RecoveryCodesLeft counts the unused recovery codes.
	RecoveryCodesLeft int `json:"recovery_codes_left"`
}

// Available reports whether a username is free (and well-formed).
func (a *Service) Available(ctx context.Context, username string) (bool, error) {
	if !usernamePattern.MatchString(username) {
		return false, resources.Errorf(resources.EVALUE, "username must be 4 to 32 characters of a-z, 0-9 and _")
	}
	if reservedForm(username) || slices.Contains(a.cfg.ReservedNames, username) {
		return false, nil
	}
	_, found, err := resources.FindUser(ctx, a.store, username)
	return !found, err
}
