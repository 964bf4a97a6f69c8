package account

import (
	"context"
	"regexp"

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
	if id.field == fieldEmail {
		return len(id.value) <= 254 && emailPattern.MatchString(id.value)
	}
	return usernamePattern.MatchString(id.value)
}

// failureKeys names the failed-login counters of an attempt: one per client
// address, and one per (identity, client address). Failures are never
// counted per account alone, so nobody can lock an account's owner out from
// elsewhere (NIST SP 800-63B §5.2.2); an identity no account can have (a
// case variant of a username, a malformed email) is counted against the
// client only, and grows no state of its own.
func failureKeys(id identity, ip string) (user, client string) {
	client = "fail:ip:" + ip
	if id.possible() {
		user = "fail:" + id.field[:1] + ":" + id.value + ":" + ip
	}
	return user, client
}

// throttle refuses a login attempt when the client address has failed too
// often in the window, or has failed too often for this username (429 with
// Retry-After). Counters live in the session store, so every replica shares
// them.
func (a *Service) throttle(ctx context.Context, id identity, ip string) error {
	user, client := failureKeys(id, ip)
	for _, c := range []struct {
		key   string
		limit int64
	}{{user, a.cfg.FailuresPerUser}, {client, a.cfg.FailuresPerIP}} {
		if c.key == "" {
			continue
		}
		n, left, err := a.sessions.Count(ctx, c.key)
		if err != nil {
			return err
		}
		if n >= c.limit {
			return failed(ReasonThrottled, &resources.RetryError{Err: resources.Errorf(resources.ERATELIMITED, "too many failed logins; try again later"), After: left})
		}
	}
	return nil
}

func (a *Service) recordFailure(ctx context.Context, id identity, ip string) {
	user, client := failureKeys(id, ip)
	if user != "" {
		_, _, _ = a.sessions.Hit(ctx, user, a.cfg.FailWindow)
	}
	_, _, _ = a.sessions.Hit(ctx, client, a.cfg.FailWindow)
}

// checkPassword authenticates with throttling: refused early when over the
// limit, counted when wrong, the user's count from this client cleared when
// right. Only the admin header (checked on every call of a console) uses the
// credential cache; logins always hash.
func (a *Service) checkPassword(ctx context.Context, id identity, password, ip string) (resources.Principal, error) {
	return a.checkPasswordCached(ctx, id, password, ip, false)
}

func (a *Service) checkPasswordCached(ctx context.Context, id identity, password, ip string, cached bool) (resources.Principal, error) {
	if err := a.throttle(ctx, id, ip); err != nil {
		return resources.Principal{}, err
	}
	p, err := a.accounts.authenticate(ctx, id, password, cached)
	if resources.ErrorCode(err) == resources.EAUTHENTICATION {
		a.recordFailure(ctx, id, ip)
	}
	if err != nil {
		return resources.Principal{}, err
	}
	if user, _ := failureKeys(id, ip); user != "" {
		_ = a.sessions.Reset(ctx, user)
	}
	return p, nil
}
