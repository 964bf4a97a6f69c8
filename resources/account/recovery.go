package account

import (
	"context"
	"errors"
	"log/slog"
	"slices"

	"github.com/tnt/gateway/policy"
	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/mail"
)

// errNoMail answers a route that must send a mail while no mail server is
// configured.
func errNoMail() error {
	return resources.Errorf(resources.EUNAVAILABLE, "no mail server is configured (GATEWAY_SMTP_URL)")
}

// tokenMinutes is a one-time token's life as mails say it.
const tokenMinutes = int(TokenTTL / 60e9)

// RequestVerification mails the caller a link that proves their email
// address. Each request replaces the last; the mails an account receives
// are bounded like reset mails (429 beyond).
func (a *Service) RequestVerification(ctx context.Context, p resources.Principal) error {
	if err := mustBeUser(p); err != nil {
		return err
	}
	if a.mailer == nil {
		return errNoMail()
	}
	u, err := resources.LoadUser(ctx, a.store, p.UserID)
	if errors.Is(err, resources.ErrNotFound) {
		return resources.Errorf(resources.EAUTHENTICATION, "the account no longer exists")
	}
	if err != nil {
		return err
	}
	email := resources.AsString(u.Profile[fieldEmail])
	if email == "" {
		return resources.Errorf(resources.EVALUE, "the account has no email address to verify: set one on its profile first")
	}
	if n, left, err := a.sessions.Hit(ctx, "mail:v:"+u.ID, a.cfg.ResetWindow); err != nil {
		return err
	} else if n > a.cfg.ResetsPerAccount {
		return &resources.RetryError{Err: resources.Errorf(resources.ERATELIMITED, "too many verification mails; try again later"), After: left}
	}
	token, err := a.issueToken(ctx, oneTime{userID: u.ID, purpose: purposeVerify, email: resources.FoldText(email)}, nil)
	if err != nil {
		return err
	}
	return a.mailer.Send(mail.Verify, email, mail.Data{Username: u.Username, Token: token, Minutes: tokenMinutes})
}

// VerifyEmail spends a verification token: the account's email, if it is
// still the address the token was mailed to, is marked verified. The token
// is the proof; no credentials are needed.
func (a *Service) VerifyEmail(ctx context.Context, token, ip string) error {
	if err := a.tokenThrottle(ctx, ip); err != nil {
		return err
	}
	err := a.store.WithTx(ctx, func(ctx context.Context, tx resources.Tx) error {
		o, hash, err := a.peekToken(ctx, tx, token, purposeVerify)
		if err != nil {
			return err
		}
		if err := tx.Delete(ctx, TokensCollection, hash); err != nil {
			return err
		}
		u, err := resources.LoadUser(ctx, tx, o.userID)
		if errors.Is(err, resources.ErrNotFound) || (err == nil && resources.FoldText(resources.AsString(u.Profile[fieldEmail])) != o.email) {
			return errToken()
		}
		if err != nil {
			return err
		}
		if _, err := tx.Update(ctx, resources.UsersCollection, u.ID, resources.Document{resources.FieldEmailVerified: true}, nil); err != nil {
			return err
		}
		return resources.WriteAudit(ctx, tx, resources.AuditEntry{Actor: principalOf(u), IP: ip, Action: "verify_email", Target: u.ID,
			Detail: resources.Document{"username": u.Username}, At: a.now()})
	})
	if resources.ErrorCode(err) == resources.EAUTHENTICATION {
		a.tokenFailed(ctx, ip)
	}
	return err
}

// ResetRequest asks for a reset mail for the account with this email or
// username (exactly one), from a client address.
type ResetRequest struct {
	Email, Username string
	IP              string
}

// RequestReset takes a reset request and answers at once, the same way
// whether or not the account exists: the account is looked up, and its
// mail sent, by the recovery worker (Run). A client beyond its bound of
// requests, or an account beyond its bound of mails, is answered the same
// and sent nothing; nothing locks an account.
func (a *Service) RequestReset(ctx context.Context, req ResetRequest) error {
	if (req.Email == "") == (req.Username == "") {
		return resources.Errorf(resources.EINVALIDREQUEST, "give either email or username")
	}
	if len(req.Email) > 254 || len(req.Username) > 254 {
		return resources.Errorf(resources.EVALUE, "email or username is too long")
	}
	if a.mailer == nil {
		return errNoMail()
	}
	n, _, err := a.sessions.Hit(ctx, "reset:ip:"+req.IP, a.cfg.ResetWindow)
	if err != nil {
		return err
	}
	if n > a.cfg.ResetsPerClient {
		return nil
	}
	select {
	case a.requests <- req:
	default:
		a.log.Warn("password reset request dropped: too many waiting")
	}
	return nil
}

// Run answers reset requests until ctx ends, one at a time, in the order
// they came.
func (a *Service) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case req := <-a.requests:
			if err := a.answerReset(ctx, req); err != nil && ctx.Err() == nil {
				a.log.Warn("password reset request failed", slog.String("error", err.Error()))
			}
		}
	}
}

// answerReset mails a reset token to the account a request names, if it
// exists, has an email address and is within its bound of mails.
func (a *Service) answerReset(ctx context.Context, req ResetRequest) error {
	id := byUsername(req.Username)
	if req.Email != "" {
		id = byEmail(req.Email)
	}
	if !id.possible() {
		return nil
	}
	u, found, err := resources.FindUserBy(ctx, a.store, id.field, id.value)
	if err != nil || !found {
		return err
	}
	email := resources.AsString(u.Profile[fieldEmail])
	if email == "" {
		return nil
	}
	n, _, err := a.sessions.Hit(ctx, "mail:r:"+u.ID, a.cfg.ResetWindow)
	if err != nil || n > a.cfg.ResetsPerAccount {
		return err
	}
	token, err := a.issueToken(ctx, oneTime{userID: u.ID, purpose: purposeReset, stamp: stampOf(u.PasswordHash)},
		&resources.AuditEntry{Actor: resources.Principal{Level: resources.GuestLevel}, IP: req.IP, Action: "request_password_reset", Target: u.ID,
			Detail: resources.Document{"username": u.Username}})
	if err != nil {
		return err
	}
	return a.mailer.Send(mail.Reset, email, mail.Data{Username: u.Username, Token: token, Minutes: tokenMinutes})
}

// ConfirmReset spends a reset or invitation token from an encrypted
// payload {"token", "new_password"} and sets the new password; every
// session of the account ends. The token must still be the account's
// newest and the password the one it was made under: a password changed
// since spends it. The new password is hashed before the token is spent,
// and the token is checked again where it is spent.
func (a *Service) ConfirmReset(ctx context.Context, payload, ip string) error {
	m, err := a.openPayload(ctx, payload)
	if err != nil {
		return err
	}
	if err := allowOnly(m, "token", "new_password"); err != nil {
		return err
	}
	token, password := textField(m, "token"), textField(m, "new_password")
	if err := a.tokenThrottle(ctx, ip); err != nil {
		return err
	}
	o, _, err := a.peekToken(ctx, a.store, token, purposeReset)
	if err != nil {
		a.tokenFailed(ctx, ip)
		return err
	}
	u, err := resources.LoadUser(ctx, a.store, o.userID)
	if errors.Is(err, resources.ErrNotFound) || (err == nil && stampOf(u.PasswordHash) != o.stamp) {
		a.tokenFailed(ctx, ip)
		return errToken()
	}
	if err != nil {
		return err
	}
	if password == "" {
		return resources.Errorf(resources.EINVALIDREQUEST, "new_password is required for the request")
	}
	if err := a.CheckNewPassword(u.Username, password); err != nil {
		return err
	}
	entry := resources.AuditEntry{Actor: principalOf(u), IP: ip, Action: "reset_password", Detail: resources.Document{"username": u.Username}}
	_, err = a.accounts.replacePassword(ctx, u.ID, password, func(ctx context.Context, tx resources.Tx, now resources.User) error {
		again, hash, err := a.peekToken(ctx, tx, token, purposeReset)
		if err != nil || again.userID != now.ID || stampOf(now.PasswordHash) != o.stamp {
			return errToken()
		}
		return tx.Delete(ctx, TokensCollection, hash)
	}, entry)
	if resources.ErrorCode(err) == resources.ENOTFOUND {
		return errToken() // deleted meanwhile
	}
	if err != nil {
		return err
	}
	_, err = a.sessions.RevokeUser(context.WithoutCancel(ctx), u.ID, "")
	return err
}

// ResetLink is an administrator's reset of a user's password: the link to
// hand over when no mail went.
type ResetLink struct {
	// Mailed is true when the user was mailed the token.
	Mailed bool `json:"mailed"`
	// Link is the one-time link, when no mail went (no mail server, or
	// no email address on the account).
	Link string `json:"link,omitempty"`
}

// AdminReset makes a reset token for a user of a lower level than the
// caller's and mails it to the user, or, without a mail server or an
// address, returns the link for the administrator to hand over. Audited.
func (a *Service) AdminReset(ctx context.Context, p resources.Principal, userID, ip string) (ResetLink, error) {
	if err := a.mayManageUsers(p); err != nil {
		return ResetLink{}, err
	}
	u, err := resources.LoadUser(ctx, a.store, userID)
	if errors.Is(err, resources.ErrNotFound) {
		return ResetLink{}, resources.Errorf(resources.ENOTFOUND, "user %s cannot be found", resources.QuoteName(userID))
	}
	if err != nil {
		return ResetLink{}, err
	}
	if u.Level <= p.Level {
		return ResetLink{}, resources.Errorf(resources.EPERMISSION, "only the password of a lower level than your own may be reset")
	}
	email := resources.AsString(u.Profile[fieldEmail])
	mailed := a.mailer != nil && email != ""
	via := "link"
	if mailed {
		via = "mail"
	}
	token, err := a.issueToken(ctx, oneTime{userID: u.ID, purpose: purposeReset, stamp: stampOf(u.PasswordHash)},
		&resources.AuditEntry{Actor: p, IP: ip, Action: "send_password_reset", Target: u.ID, Detail: resources.Document{"username": u.Username, "via": via}})
	if err != nil {
		return ResetLink{}, err
	}
	if mailed {
		return ResetLink{Mailed: true}, a.mailer.Send(mail.Reset, email, mail.Data{Username: u.Username, Token: token, Minutes: tokenMinutes})
	}
	return ResetLink{Link: mail.LinkOn(a.cfg.PublicURL, mail.Reset, token)}, nil
}

// mayManageUsers refuses a caller whose level may not manage users.
func (a *Service) mayManageUsers(p resources.Principal) error {
	if p.IsGuest() {
		return resources.Errorf(resources.EAUTHENTICATION, "authentication is required")
	}
	if a.rights == nil || !slices.Contains(a.rights.Permissions(p.Role()), policy.ObjUsers+":"+policy.ActManage) {
		return resources.Errorf(resources.EPERMISSION, "level %d may not manage users", p.Level)
	}
	return nil
}

// tokenThrottle refuses a client address that has failed too often (with
// passwords, tokens or codes together: one counter per address).
func (a *Service) tokenThrottle(ctx context.Context, ip string) error {
	_, ipKey := failureKeys(identity{}, ip)
	n, left, err := a.sessions.Count(ctx, ipKey)
	if err != nil {
		return err
	}
	if n >= a.cfg.FailuresPerIP {
		return failed(ReasonThrottled, &resources.RetryError{Err: resources.Errorf(resources.ERATELIMITED, "too many failed attempts; try again later"), After: left})
	}
	return nil
}

// tokenFailed counts a refused token against the client address.
func (a *Service) tokenFailed(ctx context.Context, ip string) {
	_, ipKey := failureKeys(identity{}, ip)
	_, _, _ = a.sessions.Hit(ctx, ipKey, a.cfg.FailWindow)
}
