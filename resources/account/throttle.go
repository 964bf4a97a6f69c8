package account

import (
	"context"
	"regexp"

	"github.com/tnt/gateway/crypto"
	"github.com/tnt/gateway/resources"
)

// identity names an account in credentials: by username, or by email (as
// stored: in lower case).
type identity struct {
	field, value string
}

func byUsername(name string) identity { return identity{resources.FieldUsername, name} }

func byEmail(email string) identity { return identity{fieldEmail, resources.FoldText(email)} }

// fieldEmail is the profile's email, unique across accounts.
const fieldEmail = "email"

var emailPattern = regexp.MustCompile(`^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$`)

// possible reports whether an account could have this identity at all.
func (id identity) possible() bool {
	if id.field == fieldCode {
		return true
	}
	if id.field == fieldEmail {
		return len(id.value) <= 254 && emailPattern.MatchString(id.value)
	}
	return usernamePattern.MatchString(id.value)
}

// failureKeys names the failed-login counters of an attempt: one per client
// address, and one per (identity, client address). An identity no account
// can have (a case variant of a username, a malformed email) is counted
// against the client only, and grows no state of its own.
func failureKeys(id identity, ip string) (user, client string) {
	client = "fail:ip:" + ip
	if id.possible() {
		user = "fail:" + id.field[:1] + ":" + id.value + ":" + ip
	}
	return user, client
}

// accountKey names the counter of an account's failures from clients it
// does not know, from every address together: guessing spread over many
// addresses is throttled by it, while the account's owner, signing in from
// a device that signed in before (its device token), is not (NIST SP
// 800-63B §5.2.2; OWASP's device cookies). "" for an identity no account can
// have.
func accountKey(id identity) string {
	if !id.possible() {
		return ""
	}
	return "fail:a:" + id.field[:1] + ":" + id.value
}

// client is where a password attempt comes from: its address, the device
// token it presents (from an earlier sign-in), and whether it is already
// known to be the account's (an authenticated session confirming its
// password).
type client struct {
	IP          string
	DeviceToken string
	Known       bool
}

// clientOf is the client of a login from dev.
func clientOf(dev Device) client { return client{IP: dev.IP, DeviceToken: dev.DeviceToken} }

// throttle refuses a password attempt (429 with Retry-After) when the
// client address has failed too often in the window, or has failed too often
// for this identity, or, for a client the account does not know, when the
// account has failed too often from unknown clients. Counters live in the
// session store, so every replica shares them.
func (a *Service) throttle(ctx context.Context, id identity, from client) error {
	user, ipKey := failureKeys(id, from.IP)
	acct := accountKey(id)
	for _, c := range []struct {
		key   string
		limit int64
	}{{user, a.cfg.FailuresPerUser}, {ipKey, a.cfg.FailuresPerIP}, {acct, a.cfg.FailuresPerAccount}} {
		if c.key == "" {
			continue
		}
		n, left, err := a.sessions.Count(ctx, c.key)
		if err != nil {
			return err
		}
		if n < c.limit {
			continue
		}
		if c.key == acct && a.knownClient(ctx, id, from) {
			continue
		}
		return failed(ReasonThrottled, &resources.RetryError{Err: resources.Errorf(resources.ERATELIMITED, "too many failed logins; try again later"), After: left})
	}
	return nil
}

// knownClient reports whether the client is known to the account id names:
// an authenticated session of it, or a device token the gateway issued to
// it at an earlier sign-in.
func (a *Service) knownClient(ctx context.Context, id identity, from client) bool {
	if from.Known {
		return true
	}
	if from.DeviceToken == "" || len(from.DeviceToken) > 4096 {
		return false
	}
	c, err := a.tokens.Verify(from.DeviceToken, crypto.KindDevice)
	if err != nil {
		return false
	}
	if id.field == fieldCode {
		return c.Subject == id.value
	}
	u, found, err := resources.FindUserBy(ctx, a.store, id.field, id.value)
	return err == nil && found && u.ID == c.Subject
}

func (a *Service) recordFailure(ctx context.Context, id identity, from client) {
	user, ipKey := failureKeys(id, from.IP)
	if user != "" {
		_, _, _ = a.sessions.Hit(ctx, user, a.cfg.FailWindow)
	}
	_, _, _ = a.sessions.Hit(ctx, ipKey, a.cfg.FailWindow)
	if acct := accountKey(id); acct != "" && !a.knownClient(ctx, id, from) {
		_, _, _ = a.sessions.Hit(ctx, acct, a.cfg.FailWindow)
	}
}

// checkPassword authenticates with throttling: refused early when over the
// limit, counted when wrong, the identity's count from this client cleared
// when right. Only the admin header (checked on every call of a console)
// uses the credential cache; logins always hash.
func (a *Service) checkPassword(ctx context.Context, id identity, password string, from client) (resources.User, error) {
	return a.checkPasswordCached(ctx, id, password, from, false)
}

// checkPasswordCached is checkPassword, through the credential cache when
// cached; it returns the account as the check read it, so that what comes
// next (its second factor) reads it no second time.
func (a *Service) checkPasswordCached(ctx context.Context, id identity, password string, from client, cached bool) (resources.User, error) {
	if err := a.throttle(ctx, id, from); err != nil {
		return resources.User{}, err
	}
	u, err := a.accounts.authenticate(ctx, id, password, cached)
	if resources.ErrorCode(err) == resources.EAUTHENTICATION {
		a.recordFailure(ctx, id, from)
	}
	if err != nil {
		return resources.User{}, err
	}
	if user, _ := failureKeys(id, from.IP); user != "" {
		_ = a.sessions.Reset(ctx, user)
	}
	return u, nil
}
