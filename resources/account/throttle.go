package account

import (
	"context"

	"github.com/tnt/gateway/resources"
)

// failureKeys names the failed-login counters of an attempt: one per client
// address, and one per (canonical username, client address). Failures are
// never counted per username alone, so nobody can lock an account's owner
// out from elsewhere (NIST SP 800-63B §5.2.2); a username that cannot exist
// (it fails the pattern, such as a case variant of a real one) is counted
// against the client only, and grows no state of its own.
func failureKeys(username, ip string) (user, client string) {
	client = "fail:ip:" + ip
	if usernamePattern.MatchString(username) {
		user = "fail:u:" + username + ":" + ip
	}
	return user, client
}

// throttle refuses a login attempt when the client address has failed too
// often in the window, or has failed too often for this username (429 with
// Retry-After). Counters live in the session store, so every replica shares
// them.
func (a *Service) throttle(ctx context.Context, username, ip string) error {
	user, client := failureKeys(username, ip)
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
			return &resources.RetryError{Err: resources.Errorf(resources.ERATELIMITED, "too many failed logins; try again later"), After: left}
		}
	}
	return nil
}

func (a *Service) recordFailure(ctx context.Context, username, ip string) {
	user, client := failureKeys(username, ip)
	if user != "" {
		_, _, _ = a.sessions.Hit(ctx, user, a.cfg.FailWindow)
	}
	_, _, _ = a.sessions.Hit(ctx, client, a.cfg.FailWindow)
}

// checkPassword authenticates with throttling: refused early when over the
// limit, counted when wrong, the user's count from this client cleared when
// right. Only the admin header (checked on every call of a console) uses the
// credential cache; logins always hash.
func (a *Service) checkPassword(ctx context.Context, username, password, ip string) (resources.Principal, error) {
	return a.checkPasswordCached(ctx, username, password, ip, false)
}

func (a *Service) checkPasswordCached(ctx context.Context, username, password, ip string, cached bool) (resources.Principal, error) {
	if err := a.throttle(ctx, username, ip); err != nil {
		return resources.Principal{}, err
	}
	authenticate := a.accounts.AuthenticateFresh
	if cached {
		authenticate = a.accounts.Authenticate
	}
	p, err := authenticate(ctx, username, password)
	if resources.ErrorCode(err) == resources.EAUTHENTICATION {
		a.recordFailure(ctx, username, ip)
	}
	if err != nil {
		return resources.Principal{}, err
	}
	if user, _ := failureKeys(username, ip); user != "" {
		_ = a.sessions.Reset(ctx, user)
	}
	return p, nil
}
